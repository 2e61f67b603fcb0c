//! Deterministic simulation: one offloaded connection, data both ways, over
//! a scripted wire with seeded loss, duplication, reordering and delay, all
//! in virtual time; odd seeds negotiate SACK. Each seed is a whole run: random NBL / NET_BUFFER / MDL
//! shapes, random reply sizes, the impairment decisions. Invariants: every
//! byte reaches the far end once and in order, each way; every send NBL
//! completes once, with SUCCESS, in order; the verifier saw nothing; and the
//! same seed gives the same run, frame for frame.
//!
//! `SIM_SEEDS` sets how many seeds run (32 unless set).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::chimney::receive_indications;
use ndis_sim::link::{Impairment, LinkConfig, SplitMix64};
use ndis_sim::{AckPolicy, Simulator};

/// The peer's largest segment payload.
const PEER_MSS: usize = 1448;
/// Bytes the peer sends before it waits for them to be acknowledged (well
/// inside the driver's 64 KiB window: the scripted peer does not read it).
const PEER_BURST: usize = 16 * 1024;

fn seeds() -> u64 {
    std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

fn impairment(rng: &mut SplitMix64) -> Impairment {
    Impairment {
        loss_ppm: (rng.next_u64() % 40_000) as u32,
        dup_ppm: (rng.next_u64() % 20_000) as u32,
        reorder_ppm: (rng.next_u64() % 50_000) as u32,
        reorder_ms: 1 + (rng.next_u64() % 5) as u32,
        delay_ms: (rng.next_u64() % 3) as u32,
    }
}

/// What one run produced.
#[derive(PartialEq, Eq, Debug)]
struct Run {
    capture: Vec<u8>,
    /// Completion statuses, in completion order (NBL addresses differ
    /// from run to run; their order is checked against submission).
    completions: Vec<NDIS_STATUS>,
    sent: Vec<u8>,
    to_peer: Vec<u8>,
    reply: Vec<u8>,
    delivered: Vec<u8>,
    /// Frames the impairments dropped, duplicated and held back (both ways).
    impaired: [u64; 3],
    /// The driver's retransmitted segments.
    retransmitted: u32,
}

/// The peer sends `reply[from..to]` in segments of random sizes, so a
/// burst sent again is cut differently: its segments overlap the held ones.
fn peer_burst(
    sim: &Simulator,
    c: &Conn,
    reply: &[u8],
    from: usize,
    to: usize,
    rng: &mut SplitMix64,
) {
    let mut at = from;
    while at < to {
        let len = 200 + rng.next_u64() as usize % (PEER_MSS - 199);
        let end = (at + len).min(to);
        sim.peer_send_at(c.key, RCV_NXT + at as u32, &reply[at..end], end == to);
        at = end;
    }
}

fn run(seed: u64) -> Run {
    let mut rng = SplitMix64::new(seed);
    let sim = with_adapter();
    let c = offload_with(
        &sim,
        1,
        (5000 + seed as u16).to_be(),
        AckPolicy::Auto {
            delay_ms: 1,
            max_step: None,
        },
        |s, t| {
            no_nagle(s, t);
            // Odd seeds negotiate SACK: the peer then keeps out-of-order
            // data and reports it, and the driver recovers hole by hole
            // (and probes lost tails).
            if seed % 2 == 1 {
                s.konst.Flags |= TCP_FLAG_SACK_ENABLED;
            }
        },
        |s| s.delegated.SndUna,
    );
    // The peer's data may be lost too: the loop below resends it.
    sim.impair_wire(
        Some(LinkConfig {
            seed,
            outbound: impairment(&mut rng),
            inbound: impairment(&mut rng),
        }),
        false,
    );
    // Random send shapes: 1–12 NBLs, 1–3 NET_BUFFERs each, 1–3 MDLs each.
    let nbls = 1 + rng.next_u64() as usize % 12;
    let shape: Vec<Vec<NbSpec>> = (0..nbls)
        .map(|_| {
            (0..1 + rng.next_u64() as usize % 3)
                .map(|_| NbSpec {
                    mdl_sizes: (0..1 + rng.next_u64() as usize % 3)
                        .map(|_| 1 + rng.next_u64() as usize % 6000)
                        .collect(),
                    offset: rng.next_u64() as usize % 64,
                })
                .collect()
        })
        .collect();
    let chain = NblChain::build(&shape, |k, j| pattern(k * 7 + j, 1 << 16, seed as u8));
    let sent = chain_bytes(&chain, &shape);
    send(&sim, &c, &chain);
    // The reply: the peer sends in bursts, each once the driver acknowledged
    // the last; a burst not acknowledged after 300 ms goes again (the
    // scripted peer has no timers of its own).
    let reply_len = rng.next_u64() as usize % 100_000;
    let reply: Vec<u8> = (0..reply_len)
        .map(|i| (i * 11 + seed as usize) as u8)
        .collect();
    let mut burst_at = 0usize; // stream offset of the burst in flight
    let mut next = 0usize; // stream offset after it
    let mut waited = 0u32;
    let acked_by_driver = |sim: &Simulator| -> usize {
        let segs = sim.peer_state(c.key).segments;
        segs.iter()
            .map(|s| s.ack.wrapping_sub(RCV_NXT) as usize)
            .filter(|&a| a <= reply_len)
            .max()
            .unwrap_or(0)
    };
    // Done: the peer has every byte, the driver acknowledged the whole
    // reply, and every send completed (its last ACK may need the driver's
    // retransmission timer to be drawn again).
    let done = |sim: &Simulator| {
        sim.peer_state(c.key).stream.len() == sent.len()
            && acked_by_driver(sim) == reply_len
            && completed(sim).len() == nbls
    };
    let mut ms = 0u64;
    while !done(&sim) {
        assert!(
            ms < 300_000,
            "seed {seed}: no progress after {ms} ms of virtual time"
        );
        let acked = acked_by_driver(&sim);
        if acked >= next && next < reply_len {
            burst_at = next;
            next = (next + PEER_BURST).min(reply_len);
            waited = 0;
            peer_burst(&sim, &c, &reply, burst_at, next, &mut rng);
        } else if acked < next {
            waited += 10;
            if waited >= 300 {
                waited = 0;
                peer_burst(&sim, &c, &reply, acked.max(burst_at), next, &mut rng);
            }
        }
        sim.advance_ms(10);
        ms += 10;
    }
    sim.advance_ms(1000);
    let delivered: Vec<u8> = receive_indications(&sim.chimney_calls())
        .into_iter()
        .filter(|x| x.2 == NDIS_STATUS_SUCCESS)
        .flat_map(|x| x.1)
        .collect();
    let (o, i) = sim.wire_impairments().expect("impaired wire");
    let stats = sim.oid_query(OID_TCP4_OFFLOAD_STATS, size_of::<TCP_OFFLOAD_STATS>());
    let retransmitted = read::<TCP_OFFLOAD_STATS>(&stats.data).RetransmittedSegments;
    let out = Run {
        impaired: [
            o.dropped + i.dropped,
            o.duplicated + i.duplicated,
            o.reordered + i.reordered,
        ],
        retransmitted,
        capture: sim.pcap(),
        completions: completed(&sim).into_iter().map(|x| x.1).collect(),
        sent,
        to_peer: sim.peer_state(c.key).stream,
        reply,
        delivered,
    };
    let want: Vec<(PNET_BUFFER_LIST, NDIS_STATUS)> = chain
        .nbls()
        .into_iter()
        .map(|p| (p, NDIS_STATUS_SUCCESS))
        .collect();
    assert_completed(&sim, &want);
    terminate(&sim, &c);
    finish(sim);
    out
}

#[test]
fn deterministic_simulation_under_seeded_impairments_delivers_everything_once_in_order() {
    let mut impaired = [0u64; 3];
    let mut retransmitted = 0u32;
    for seed in 0..seeds() {
        let r = run(seed);
        for (t, x) in impaired.iter_mut().zip(r.impaired) {
            *t += x;
        }
        retransmitted += r.retransmitted;
        assert!(
            r.to_peer == r.sent,
            "seed {seed}: the peer's stream differs from what was sent"
        );
        assert!(
            r.delivered == r.reply,
            "seed {seed}: {} of {} reply bytes delivered, or not in order",
            r.delivered.len(),
            r.reply.len()
        );
    }
    // The runs were impaired, and the driver repaired what was lost.
    eprintln!("dropped, duplicated, reordered: {impaired:?}; retransmitted: {retransmitted}");
    assert!(impaired.iter().all(|&n| n > 0), "{impaired:?}");
    assert!(retransmitted > 0);
}

#[test]
fn the_same_seed_gives_the_same_run_frame_for_frame() {
    for seed in [3, 11] {
        let a = run(seed);
        let b = run(seed);
        assert!(a.capture == b.capture, "seed {seed}: the captures differ");
        assert!(a == b, "seed {seed}: two runs differ");
    }
}
