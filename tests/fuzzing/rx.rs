//! Received frames are untrusted: random bytes, well-formed segments with
//! random fields, and corrupted copies of them reach the driver's receive
//! upcall while sends are outstanding, with the clock moving between them.
//! Whatever arrives, nothing crashes, the verifier stays clean, and every
//! send NBL still completes exactly once (SUCCESS, or REQUEST_ABORTED when an
//! acceptable RST got through) with the bytes on the wire intact.

use crate::common::send::*;
use crate::common::*;
use arbitrary::{Arbitrary, Unstructured};
use chimney_miniport::ffi::*;
use etherparse::PacketBuilder;
use ndis_sim::AckPolicy;
use ndis_sim::builders::NblChain;
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::exports::phy::DEFAULT_MAC;

/// One thing that happens at the receive side.
#[derive(Arbitrary, Clone, Debug)]
pub enum Rx {
    /// Arbitrary bytes.
    Junk(Vec<u8>),
    /// A checksummed TCP segment of the connection's 4-tuple, random fields
    /// (sequence numbers relative to the connection's own).
    Seg {
        seq_off: i32,
        ack_off: i32,
        flags: u8,
        window: u16,
        payload: Vec<u8>,
    },
    /// Such a segment with bytes overwritten.
    Corrupt {
        seq_off: i32,
        ack_off: i32,
        flags: u8,
        flips: Vec<(u8, u8)>,
        truncate: Option<u8>,
    },
    /// The clock moves on (4 ms units): retransmission, delayed-ACK and
    /// persist timers fire between frames.
    Advance(u8),
}

/// A frame from the peer to the target on `c`'s 4-tuple.
pub fn segment(c: &Conn, seq: u32, ack: u32, flags: u8, window: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(peer_mac(1), DEFAULT_MAC)
        .ipv4([10, 0, 1, 1], [10, 0, 0, 1], 64)
        .tcp(c.key.peer_port, c.key.target_port, seq, window);
    let b = if flags & 0x10 != 0 { b.ack(ack) } else { b };
    let b = if flags & 0x08 != 0 { b.psh() } else { b };
    let b = if flags & 0x04 != 0 { b.rst() } else { b };
    let b = if flags & 0x02 != 0 { b.syn() } else { b };
    let b = if flags & 0x01 != 0 { b.fin() } else { b };
    let b = if flags & 0x20 != 0 { b.urg(1) } else { b };
    let mut out = Vec::new();
    b.write(&mut out, payload).expect("frame");
    out
}

/// Longest script a fuzz input runs (keeps one execution in milliseconds).
const MAX_STEPS: usize = 64;

/// The fuzz entry: send-chain sizes, then the frames.
pub fn fuzz(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(sizes) = <[u16; 3]>::arbitrary(&mut u) else {
        return;
    };
    if let Some(frames) = super::script::<Rx>(u, MAX_STEPS) {
        let sizes: Vec<usize> = sizes.iter().map(|&s| 1 + usize::from(s) % 4000).collect();
        run(&sizes, frames);
    }
}

/// Offload one connection, queue NBLs of `sizes`, deliver `frames`, let the
/// peer acknowledge what it really received, then check every invariant.
pub fn run(sizes: &[usize], frames: Vec<Rx>) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let ch: NblChain = chain_of(sizes, 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let peer_seq = RCV_NXT; // the peer's own sequence (the target's RcvNxt)
    for f in frames {
        let bytes = match f {
            Rx::Junk(b) => b,
            Rx::Seg {
                seq_off,
                ack_off,
                flags,
                window,
                payload,
            } => segment(
                &c,
                peer_seq.wrapping_add(seq_off as u32),
                SND_UNA.wrapping_add(ack_off as u32),
                flags,
                window,
                &payload,
            ),
            Rx::Corrupt {
                seq_off,
                ack_off,
                flags,
                flips,
                truncate,
            } => {
                let mut b = segment(
                    &c,
                    peer_seq.wrapping_add(seq_off as u32),
                    SND_UNA.wrapping_add(ack_off as u32),
                    flags,
                    1000,
                    b"x",
                );
                for (i, v) in flips {
                    if let Some(x) = b.get_mut(usize::from(i)) {
                        *x = v;
                    }
                }
                if let Some(t) = truncate {
                    b.truncate(usize::from(t));
                }
                b
            }
            Rx::Advance(units) => {
                sim.advance_ms(4 * u64::from(units));
                continue;
            }
        };
        sim.inject_frame(bytes);
        sim.run_until_idle();
    }
    settle_sends(&sim, &c, &ch, sizes, 4);
    sim.assert_clean();
    finish(sim);
}

/// The send side's end, shared by the harnesses that send on the connection
/// while untrusted segments arrive: the peer acknowledges everything it
/// really received, as often as the window and Nagle need, time passing
/// while sends are left (a window a forged segment closed is probed open
/// again, persist); then the connection is uploaded. Every NBL of `ch`
/// (payloads `pattern(k, sizes[k], tag)`) went exactly once, in order:
/// completed SUCCESS or (after an acceptable RST) REQUEST_ABORTED, then,
/// only if urgent data or a SYN at RCV.NXT stopped the connection, handed
/// back. The wire carried a prefix of the payload, all of it unless the
/// connection was reset or stopped.
pub fn settle_sends(sim: &ndis_sim::Simulator, c: &Conn, ch: &NblChain, sizes: &[usize], tag: u8) {
    let nbls: Vec<usize> = ch.nbls().into_iter().map(|p| p as usize).collect();
    for _ in 0..12 {
        ack_all(sim, c);
        if completed(sim).len() == nbls.len() {
            break;
        }
        sim.advance_ms(10_000);
    }
    let done = completed(sim);
    let stopped = sim
        .chimney_calls()
        .iter()
        .any(|x| matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateRetrieve));
    let aborted = done.iter().any(|x| x.1 == NDIS_STATUS_REQUEST_ABORTED);
    for (k, &(_, st)) in done.iter().enumerate() {
        assert!(
            st == NDIS_STATUS_SUCCESS || st == NDIS_STATUS_REQUEST_ABORTED,
            "NBL {k}: {st:#x}"
        );
    }
    let mut want = Vec::new();
    for (k, &len) in sizes.iter().enumerate() {
        want.extend(pattern(k, len, tag));
    }
    let stream = sim.peer_state(c.key).stream;
    assert!(
        want.starts_with(&stream),
        "the wire carries the payload in order"
    );
    if !aborted && !stopped {
        assert!(stream == want, "all of it");
    }
    let (term, tcp) = terminate(sim, c);
    let back = chain_nbls(term.chain(tcp));
    assert!(
        stopped || back.is_empty(),
        "only a stopped connection hands sends back"
    );
    let mut all: Vec<usize> = done.iter().map(|x| x.0).collect();
    all.extend(back);
    assert_eq!(
        all, nbls,
        "every NBL exactly once, in order: completed, then handed back"
    );
}
