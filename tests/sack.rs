//! The sender's side of SACK (RFC 2018, RFC 6675 recovery) on a connection
//! that negotiated it: holes below SACKed data are resent without waiting
//! for partial ACKs, each once per recovery, as the pipe allows; loss is
//! inferred from SACKed data even when duplicate ACKs go missing; blocks
//! outside the window are ignored; a connection without SACK ignores them.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::Simulator;

const SEG: u32 = 1448;

/// (seq, len) of each segment the peer received, relative to SND.UNA at offload.
fn arrivals(sim: &Simulator, c: &Conn) -> Vec<(u32, u32)> {
    sim.peer_state(c.key)
        .segments
        .iter()
        .filter(|s| s.len > 0)
        .map(|s| (s.seq - SND_UNA, s.len))
        .collect()
}

/// Segment `k` (0-based) as a SACK block's bounds.
fn seg(k: u32) -> u32 {
    SND_UNA + k * SEG
}

/// A SACK connection with `n` full segments sent; its peer window is a
/// multiple of its scale so repeated ACKs are exact duplicates.
fn sending(sim: &Simulator, sack: bool, n: usize) -> (Conn, ndis_sim::builders::NblChain) {
    let c = offload_manual(sim, |s| {
        s.delegated.SndWnd = 500 << 7;
        s.delegated.CWnd = 12 * SEG;
        if sack {
            s.konst.Flags |= TCP_FLAG_SACK_ENABLED;
        }
    });
    let ch = chain_of(&vec![SEG as usize; n], 4);
    send(sim, &c, &ch);
    sim.run_until_idle();
    (c, ch)
}

#[test]
fn sack_recovery_resends_every_hole_without_waiting_for_partial_acks() {
    let sim = with_adapter();
    let (c, ch) = sending(&sim, true, 10);
    assert_eq!(arrivals(&sim, &c).len(), 10);
    // Segments 0 and 3 lost: three duplicate ACKs report 1-2 and 4-9.
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(1), seg(3))]);
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(4), seg(5)), (seg(1), seg(3))]);
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(4), seg(10)), (seg(1), seg(3))]);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(
        a[10..].to_vec(),
        vec![(0, SEG), (3 * SEG, SEG)],
        "both holes resent at once, in order"
    );
    // More duplicates resend nothing twice.
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(4), seg(10)), (seg(1), seg(3))]);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 12);
    // The holes arrive: everything is acknowledged, recovery ends.
    sim.peer_ack(c.key, seg(10), 500 << 7);
    sim.run_until_idle();
    assert_completed(
        &sim,
        &ch.nbls()
            .into_iter()
            .map(|p| (p, NDIS_STATUS_SUCCESS))
            .collect::<Vec<_>>(),
    );
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.CWnd, d.SsThresh, "cwnd = ssthresh after recovery");
    finish(sim);
}

#[test]
fn sacked_data_beyond_the_threshold_means_loss_without_three_duplicates() {
    let sim = with_adapter();
    let (c, _ch) = sending(&sim, true, 8);
    // One ACK (the others lost) SACKing four segments past a hole.
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(1), seg(5))]);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(a.get(8), Some(&(0, SEG)), "the hole resent at once");
    ack_all(&sim, &c);
    finish(sim);
}

#[test]
fn blocks_outside_the_window_are_ignored() {
    let sim = with_adapter();
    let (c, _ch) = sending(&sim, true, 6);
    // Beyond SND.MAX, wrapped, empty, below SND.UNA: none counts.
    for blocks in [
        vec![(seg(7), seg(20))],
        vec![(seg(3), seg(2))],
        vec![(seg(2), seg(2))],
        vec![(SND_UNA - 5000, SND_UNA - 1000)],
    ] {
        sim.peer_ack_sack(c.key, SND_UNA, &blocks);
        sim.run_until_idle();
    }
    // Four ACKs at SND.UNA are duplicates: fast retransmit of segment 0
    // only (nothing was SACKed, so no other hole).
    let a = arrivals(&sim, &c);
    assert_eq!(a[6..].to_vec(), vec![(0, SEG)]);
    ack_all(&sim, &c);
    finish(sim);
}

#[test]
fn without_sack_blocks_are_ignored_and_recovery_is_newreno() {
    let sim = with_adapter();
    let (c, _ch) = sending(&sim, false, 10);
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(1), seg(8))]);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 10, "one duplicate is not a loss");
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(4), seg(10)), (seg(1), seg(3))]);
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(4), seg(10)), (seg(1), seg(3))]);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    // Limited transmit has nothing new to send; the third duplicate resends
    // segment 0 only (NewReno waits for the partial ACK for the next hole).
    assert_eq!(a[10..].to_vec(), vec![(0, SEG)]);
    ack_all(&sim, &c);
    finish(sim);
}

/// (virtual ms, seq relative to SND.UNA at offload, len) of data segments.
fn timed(sim: &Simulator, c: &Conn) -> Vec<(u64, u32, u32)> {
    timed_segments(sim, c)
        .into_iter()
        .filter(|(_, s)| s.len > 0)
        .map(|(t, s)| (t, s.seq - SND_UNA, s.len))
        .collect()
}

#[test]
fn a_lost_tail_draws_a_probe_of_the_last_segment_after_two_round_trips() {
    let sim = with_adapter();
    // SRTT 20 ms (the host's estimate), so PTO = 40 ms; RTO is 1 s.
    let (c, _ch) = sending(&sim, true, 4);
    let start = sim.now_100ns() / 10_000;
    // Segments 0 and 1 acknowledged; 2 and 3 (the tail) lost, and silence.
    sim.peer_ack(c.key, seg(2), 500 << 7);
    sim.run_until_idle();
    sim.advance_ms(100);
    let t = timed(&sim, &c);
    assert_eq!(t.len(), 5, "one probe: {t:?}");
    assert_eq!((t[4].1, t[4].2), (3 * SEG, SEG), "the last segment again");
    assert_eq!(t[4].0 - start, 40, "at PTO = 2 SRTT");
    // Its ACK SACKs segment 3: segment 2 is resent at once.
    sim.peer_ack_sack(c.key, seg(2), &[(seg(3), seg(4))]);
    sim.run_until_idle();
    let t = timed(&sim, &c);
    assert_eq!((t[5].1, t[5].2), (2 * SEG, SEG));
    ack_all(&sim, &c);
    finish(sim);
}

#[test]
fn with_data_waiting_the_probe_is_new_data() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |s| {
        s.delegated.SndWnd = 500 << 7;
        s.delegated.CWnd = 2 * SEG;
        s.konst.Flags |= TCP_FLAG_SACK_ENABLED;
    });
    let ch = chain_of(&[SEG as usize; 4], 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 2, "cwnd-limited");
    sim.advance_ms(100);
    let a = arrivals(&sim, &c);
    assert_eq!(a.get(2), Some(&(2 * SEG, SEG)), "segment 2, new, past cwnd");
    assert_eq!(a.len(), 3, "one probe per flight");
    ack_all(&sim, &c);
    finish(sim);
}

#[test]
fn without_sack_there_is_no_probe_only_the_rto() {
    let sim = with_adapter();
    let (c, _ch) = sending(&sim, false, 4);
    let start = sim.now_100ns() / 10_000;
    sim.peer_ack(c.key, seg(2), 500 << 7);
    sim.run_until_idle();
    sim.advance_ms(900);
    assert_eq!(timed(&sim, &c).len(), 4, "nothing before the RTO");
    sim.advance_ms(200);
    let t = timed(&sim, &c);
    assert_eq!(
        (t[4].1, t[4].0 - start),
        (2 * SEG, 1000),
        "go-back-N at the 1 s RTO"
    );
    ack_all(&sim, &c);
    finish(sim);
}

/// (virtual ms, seq relative to SND.UNA at offload, len, FIN) of every
/// segment carrying data or a FIN.
fn timed_fin(sim: &Simulator, c: &Conn) -> Vec<(u64, u32, u32, bool)> {
    timed_segments(sim, c)
        .into_iter()
        .filter(|(_, s)| s.len > 0 || s.flags & ndis_sim::peer::flags::FIN != 0)
        .map(|(t, s)| {
            (
                t,
                s.seq - SND_UNA,
                s.len,
                s.flags & ndis_sim::peer::flags::FIN != 0,
            )
        })
        .collect()
}

fn graceful(sim: &Simulator, c: &Conn, req: &ndis_sim::builders::NblChain) {
    sim.call_tcp_io(
        ndis_sim::TcpIoKind::Disconnect(TCP_DISCONNECT_GRACEFUL_CLOSE),
        c.slot_ptr(),
        req.head(),
    );
    sim.run_until_idle();
}

#[test]
fn a_lost_fin_alone_is_probed_before_the_rto() {
    let sim = with_adapter();
    let (c, _ch) = sending(&sim, true, 2);
    sim.peer_ack(c.key, seg(2), 500 << 7);
    sim.run_until_idle();
    let req = ndis_sim::builders::NblChain::single(&[]);
    graceful(&sim, &c, &req);
    let start = sim.now_100ns() / 10_000;
    // The FIN is lost: no ACK. One sequence number out: PTO = 2 SRTT + 200 ms.
    sim.advance_ms(300);
    let t = timed_fin(&sim, &c);
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!(t[2], (start, 2 * SEG, 0, true));
    assert_eq!(
        (t[3].1, t[3].2, t[3].3),
        (2 * SEG, 0, true),
        "the FIN again"
    );
    // 2 SRTT (SRTT has taken the ACK's sample) + 200 ms: well before the 1 s RTO.
    assert!((200..300).contains(&(t[3].0 - start)), "{}", t[3].0 - start);
    finish_closing(&sim, &c);
    finish(sim);
}

#[test]
fn a_lost_last_segment_with_the_fin_is_probed_with_the_fin() {
    let sim = with_adapter();
    let (c, _ch) = sending(&sim, true, 2);
    sim.peer_ack(c.key, seg(2), 500 << 7);
    sim.run_until_idle();
    // The close carries 1,000 bytes: the FIN rides on them.
    let req = ndis_sim::builders::NblChain::single(&[7u8; 1000]);
    graceful(&sim, &c, &req);
    sim.advance_ms(300);
    let t = timed_fin(&sim, &c);
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!((t[2].1, t[2].2, t[2].3), (2 * SEG, 1000, true));
    assert_eq!(
        (t[3].1, t[3].2, t[3].3),
        (2 * SEG, 1000, true),
        "data and FIN again"
    );
    finish_closing(&sim, &c);
    finish(sim);
}

/// The peer acknowledges everything, FIN included, and closes its side;
/// the connection is uploaded.
fn finish_closing(sim: &Simulator, c: &Conn) {
    let r = sim.peer_state(c.key).rcv_nxt;
    sim.peer_ack(c.key, r, 500 << 7);
    sim.run_until_idle();
    terminate(sim, c);
}

#[test]
fn a_lost_retransmission_is_resent_once_later_data_is_sacked() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |s| {
        s.delegated.SndWnd = 500 << 7;
        s.delegated.CWnd = 10 * SEG;
        s.konst.Flags |= TCP_FLAG_SACK_ENABLED;
    });
    let ch = chain_of(&[SEG as usize; 16], 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(arrivals(&sim, &c).len(), 10);
    // Segment 0 lost; 1-9 SACKed: recovery resends 0, and the pipe lets
    // new data (10 onwards) go.
    for k in 2..=4 {
        sim.peer_ack_sack(c.key, SND_UNA, &[(seg(1), seg(k + 5))]);
    }
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(1), seg(10))]);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    let zeros = |a: &[(u32, u32)]| a.iter().filter(|x| x.0 == 0).count();
    assert_eq!(zeros(&a), 2, "sent, then the fast retransmit: {a:?}");
    let new_data = a.iter().filter(|x| x.0 >= 10 * SEG).count();
    assert!(new_data > 0, "new data in recovery: {a:?}");
    // That retransmission is lost too: the new data is SACKed while 0 is
    // still missing, so 0 goes a third time, with no RTO waited for.
    let before = sim.now_100ns();
    sim.peer_ack_sack(c.key, SND_UNA, &[(seg(1), seg(10 + new_data as u32))]);
    sim.run_until_idle();
    let a = arrivals(&sim, &c);
    assert_eq!(zeros(&a), 3, "{a:?}");
    assert_eq!(sim.now_100ns(), before, "at once");
    ack_all(&sim, &c);
    finish(sim);
}
