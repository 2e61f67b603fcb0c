//! Retransmission (spec §7.3, rule 97): the RTO from the host's estimates
//! and from measurements, exponential backoff, go-back-N from SND.UNA with
//! the very bytes sent before, and the limit (`TcpMaximumRetransmissions`
//! attempts, or `MaxRT` ticks) after which the target stops and asks for
//! the upload with `TimeoutExpiration`.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::{AckPolicy, Simulator};

/// 100 ns units per millisecond (the simulator's clock).
const MS: u64 = 10_000;

/// (virtual ms, seq, len) of each segment the peer received.
fn arrivals(sim: &Simulator, c: &Conn) -> Vec<(u64, u32, u32)> {
    timed_segments(sim, c)
        .into_iter()
        .map(|(t, s)| (t, s.seq, s.len))
        .collect()
}

fn tcp4(sim: &Simulator) -> TCP_OFFLOAD_STATS {
    let r = sim.oid_query(OID_TCP4_OFFLOAD_STATS, size_of::<TCP_OFFLOAD_STATS>());
    read(&r.data)
}

#[test]
fn rule_097_retransmission_backs_off_and_stops_after_tcp_maximum_retransmissions() {
    let sim = with_adapter();
    // The host's estimates (SRTT 20 ticks, RTTVAR 5) give the 1 s minimum.
    let c = offload_manual(&sim, |_| {});
    let ch = chain_of(&[1000], 3);
    let t0 = sim.core.now_100ns.load(std::sync::atomic::Ordering::SeqCst) / MS;
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.advance_ms(60_000);
    // Sent at 0, then again at 1, 3, 7 and 15 s (RTO 1, 2, 4, 8): the
    // default limit is 5 retransmissions; the 6th timeout (at 31 s) gives
    // up and asks for the upload.
    let a = arrivals(&sim, &c);
    let when: Vec<u64> = a.iter().map(|x| x.0 - t0).collect();
    assert_eq!(when, vec![0, 1_000, 3_000, 7_000, 15_000, 31_000]);
    assert!(a.iter().all(|x| x.1 == SND_UNA && x.2 == 1000));
    assert_eq!(sim.peer_state(c.key).retransmitted_bytes, 5 * 1000);
    sim.advance_ms(600_000);
    assert_eq!(timeouts(&sim), 1);
    assert_eq!(arrivals(&sim, &c).len(), 6, "nothing after giving up");
    let st = tcp4(&sim);
    assert_eq!((st.OutSegments, st.RetransmittedSegments), (1, 5));
    // The upload reports the retransmission state and hands the data back.
    let (term, d) = uploaded_state(&sim, &c);
    assert_eq!(d.Retransmit.Count, 5);
    assert_eq!(term.chain(2), ch.head(), "the TCP block is block 2");
    finish(sim);
}

#[test]
fn rule_097_max_rt_limits_the_time_spent_retransmitting() {
    // MaxRT = 5 s: retransmissions at 1 and 3 s; at 7 s, 6 s have passed
    // since the first: stop.
    let sim = with_adapter();
    let c = offload_manual(&sim, |s| s.cached.MaxRT = 5_000);
    let ch = chain_of(&[500], 3);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.advance_ms(6_900);
    assert_eq!(timeouts(&sim), 0);
    assert_eq!(arrivals(&sim, &c).len(), 3);
    sim.advance_ms(200);
    assert_eq!(timeouts(&sim), 1);
    assert_eq!(arrivals(&sim, &c).len(), 3);
    terminate(&sim, &c);
    finish(sim);
    // MaxRT = 0xFFFFFFFF: no limit; the RTO stops doubling at 60 s.
    let sim = with_adapter();
    let c = offload_manual(&sim, |s| s.cached.MaxRT = 0xFFFF_FFFF);
    let ch = chain_of(&[500], 3);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.advance_ms(20 * 60_000);
    assert_eq!(timeouts(&sim), 0);
    let a = arrivals(&sim, &c);
    assert!(a.len() > 20, "{} transmissions in 20 minutes", a.len());
    let gaps: Vec<u64> = a.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert!(gaps.iter().all(|&g| g <= 60_000), "{gaps:?}");
    assert_eq!(gaps.last(), Some(&60_000));
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn a_retransmission_repairs_a_lost_segment_and_the_sends_complete() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let ch = chain_of(&[1448, 1448, 600], 7);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    // The peer got everything but acknowledges only the first segment (as
    // if the second were lost and the third dropped out of order).
    sim.peer_ack(c.key, SND_UNA + 1448, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    let before = arrivals(&sim, &c).len();
    sim.advance_ms(1_100);
    // Back to SND.UNA with a congestion window of one segment (RFC 5681):
    // the second segment again, the same bytes (the peer compares every
    // retransmitted byte).
    let a = arrivals(&sim, &c);
    assert_eq!(
        a[before..].iter().map(|x| (x.1, x.2)).collect::<Vec<_>>(),
        vec![(SND_UNA + 1448, 1448)]
    );
    // Its ACK opens the window: the third follows, again.
    sim.peer_ack(c.key, SND_UNA + 2896, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(a.last().map(|x| (x.1, x.2)), Some((SND_UNA + 2896, 600)));
    ack_all(&sim, &c);
    let n = ch.nbls();
    assert_completed(
        &sim,
        &[
            (n[0], NDIS_STATUS_SUCCESS),
            (n[1], NDIS_STATUS_SUCCESS),
            (n[2], NDIS_STATUS_SUCCESS),
        ],
    );
    sim.advance_ms(120_000);
    assert_eq!(arrivals(&sim, &c).len(), a.len(), "the timer stopped");
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn the_rto_follows_measured_round_trips() {
    let sim = with_adapter();
    // No estimates from the host: RFC 2988's 3 s until a measurement.
    let c = offload_with(
        &sim,
        1,
        4000,
        AckPolicy::Auto {
            delay_ms: 1_500,
            max_step: None,
        },
        |s, t| {
            no_nagle(s, t);
            s.delegated.SRtt = 0;
            s.delegated.RttVar = 0;
        },
        |s| s.delegated.SndUna,
    );
    let ch = chain_of(&[100], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.advance_ms(2_000);
    assert_eq!(arrivals(&sim, &c).len(), 1, "no retransmission at 1.5 s");
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    // One 1.5 s sample (from the echoed timestamp): SRTT 1.5 s, RTTVAR
    // 0.75 s, RTO 4.5 s.
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!((d.SRtt, d.RttVar), (8 * 1_500, 4 * 750));
    assert_eq!(d.Retransmit.Count, 0);
    assert_eq!(
        d.Retransmit.TimeoutDelta, 0xFFFF_FFFF,
        "nothing outstanding"
    );
    finish(sim);
}

#[test]
fn an_upload_while_retransmitting_carries_the_timer_and_count_over() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let ch = chain_of(&[700], 3);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.advance_ms(1_500); // one retransmission at 1 s, the next due at 3 s
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.Retransmit.Count, 1);
    assert_eq!(d.Retransmit.TimeoutDelta, 1_500, "ticks left");
    assert_eq!(d.TotalRT, 500, "retransmitting since 1 s");
    finish(sim);
}

/// A connection whose peer offers a 1,000-byte window, with 3,000 bytes
/// queued; the peer acknowledges the first 1,000 and closes its window.
fn zero_window(sim: &Simulator) -> (Conn, ndis_sim::builders::NblChain) {
    let c = offload_manual(sim, |s| s.delegated.SndWnd = 1000);
    let ch = chain_of(&[3000], 5);
    send(sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(sim.peer_state(c.key).stream.len(), 1000);
    sim.peer_ack(c.key, SND_UNA + 1000, 0);
    sim.run_until_idle();
    (c, ch)
}

#[test]
fn rule_098_persist_probes_back_off_and_a_silent_round_requests_the_upload() {
    let sim = with_adapter();
    let (c, ch) = zero_window(&sim);
    let t0 = sim.core.now_100ns.load(std::sync::atomic::Ordering::SeqCst) / MS;
    sim.advance_ms(120_000);
    // One-byte probes at SND.NXT at 1, 2, 4, 8 and 16 s (the persist timer
    // at RTO, then the probe's retransmit timer at RTO << Retransmit.Count);
    // the sixth would exceed TcpMaximumRetransmissions (5): at 32 s the
    // target gives up and asks for the upload.
    let probes: Vec<(u64, u32, u32)> = arrivals(&sim, &c)[1..].to_vec();
    assert_eq!(
        probes.iter().map(|p| p.0 - t0).collect::<Vec<_>>(),
        vec![1_000, 2_000, 4_000, 8_000, 16_000]
    );
    assert!(probes.iter().all(|p| p.1 == SND_UNA + 1000 && p.2 == 1));
    assert_eq!(timeouts(&sim), 1);
    let (term, tcp) = terminate(&sim, &c);
    assert_eq!(term.chain(tcp), ch.head());
    finish(sim);
}

#[test]
fn rule_098_zero_window_acks_start_new_rounds_and_an_open_window_resumes_sending() {
    let sim = with_adapter();
    let (c, ch) = zero_window(&sim);
    // The peer answers every probe with a zero window: each answer starts
    // a new round (SndWndProbeCount + 1, Retransmit.Count 0), its timer at
    // RTO << SndWndProbeCount, up to the 60 s bound; no round runs out.
    let mut when = Vec::new();
    for _ in 0..10 {
        let before = arrivals(&sim, &c).len();
        let mut waited = 0;
        while arrivals(&sim, &c).len() == before {
            sim.advance_ms(100);
            waited += 100;
            assert!(waited <= 120_000, "no probe");
        }
        when.push(arrivals(&sim, &c).last().map(|a| a.0).unwrap_or(0));
        sim.peer_ack(c.key, SND_UNA + 1000, 0);
        sim.run_until_idle();
    }
    let gaps: Vec<u64> = when.windows(2).map(|w| (w[1] - w[0]) / 100 * 100).collect();
    assert_eq!(
        gaps,
        vec![
            2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000
        ]
    );
    assert_eq!(timeouts(&sim), 0, "the peer keeps answering");
    // The window opens: everything goes, and completes.
    sim.peer_ack(c.key, SND_UNA + 1000, 64_000);
    sim.run_until_idle();
    ack_all(&sim, &c);
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    let mut want = pattern(0, 3000, 5);
    want.truncate(3000);
    assert_eq!(sim.peer_state(c.key).stream, want);
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.SndWndProbeCount, 0, "left persist");
    finish(sim);
}

#[test]
fn three_duplicate_acks_resend_the_lost_segment_at_once_and_recovery_follows() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let w = c.spec.delegated.SndWnd;
    let ch = chain_of(&[1448; 8], 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 8);
    // Segment 2 "lost": the peer acknowledges segment 1, then repeats that
    // ACK for segments 3, 4 and 5. Two duplicates do nothing ...
    sim.peer_ack(c.key, SND_UNA + 1448, w);
    sim.peer_ack(c.key, SND_UNA + 1448, w);
    sim.peer_ack(c.key, SND_UNA + 1448, w);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 8);
    // ... the third resends segment 2 at once, long before any RTO.
    sim.peer_ack(c.key, SND_UNA + 1448, w);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(a.len(), 9);
    assert_eq!((a[8].1, a[8].2), (SND_UNA + 1448, 1448));
    assert_eq!(a[8].0, a[7].0, "no timer waited for");
    assert_eq!(tcp4(&sim).RetransmittedSegments, 1);
    // A partial ACK (up to segment 4) resends the next hole (segment 5).
    sim.peer_ack(c.key, SND_UNA + 4 * 1448, w);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!((a[9].1, a[9].2), (SND_UNA + 4 * 1448, 1448));
    // The full ACK ends recovery; everything completes.
    ack_all(&sim, &c);
    assert_completed(
        &sim,
        &ch.nbls()
            .into_iter()
            .map(|p| (p, NDIS_STATUS_SUCCESS))
            .collect::<Vec<_>>(),
    );
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.SndUna, SND_UNA + 8 * 1448);
    assert_eq!(
        d.CWnd,
        d.SsThresh.max(1448),
        "cwnd = ssthresh after recovery"
    );
    finish(sim);
}

#[test]
fn duplicate_acks_below_the_threshold_or_with_a_changed_window_resend_nothing() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let w = c.spec.delegated.SndWnd;
    let ch = chain_of(&[1448; 4], 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    // Window updates are not duplicates; two duplicates are not enough.
    sim.peer_ack(c.key, SND_UNA, w - 1000);
    sim.peer_ack(c.key, SND_UNA, w - 2000);
    sim.peer_ack(c.key, SND_UNA, w - 3000);
    sim.peer_ack(c.key, SND_UNA, w - 3000);
    sim.peer_ack(c.key, SND_UNA, w - 3000);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 4);
    ack_all(&sim, &c);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn limited_transmit_sends_one_new_segment_for_each_of_the_first_two_duplicates() {
    let sim = with_adapter();
    // cwnd of four segments, twelve queued: the window, not the data,
    // limits. The peer's window is a multiple of its scale (2^7), so its
    // repeated ACKs carry exactly the window the target holds.
    let c = offload_manual(&sim, |s| {
        s.delegated.CWnd = 4 * 1448;
        s.delegated.SndWnd = 500 << 7;
    });
    let w = c.spec.delegated.SndWnd;
    let ch = chain_of(&[1448; 12], 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 4);
    // Segment 1 lost: each duplicate ACK lets one new segment go (RFC 3042).
    sim.peer_ack(c.key, SND_UNA, w);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(a.len(), 5);
    assert_eq!((a[4].1, a[4].2), (SND_UNA + 4 * 1448, 1448), "new data");
    sim.peer_ack(c.key, SND_UNA, w);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(a.len(), 6);
    assert_eq!(a[5].1, SND_UNA + 5 * 1448);
    // The third is the fast retransmit: segment 1 again, nothing new
    // (cwnd = ssthresh + 3 SMSS is no larger than what is in flight).
    sim.peer_ack(c.key, SND_UNA, w);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(a.len(), 7);
    assert_eq!((a[6].1, a[6].2), (SND_UNA, 1448));
    ack_all(&sim, &c);
    assert_completed(
        &sim,
        &ch.nbls()
            .into_iter()
            .map(|p| (p, NDIS_STATUS_SUCCESS))
            .collect::<Vec<_>>(),
    );
    finish(sim);
}
