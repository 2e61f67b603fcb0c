//! Received frames are untrusted (principle 4). The property test drives
//! the `rx_frames` fuzz harness (tests/fuzzing/rx.rs) with proptest's
//! strategies; the named tests pin the RST and reset-origination rules.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;
mod fuzzing;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use fuzzing::rx::{Rx, run, segment};
use ndis_sim::AckPolicy;
use proptest::prelude::*;

fn rx() -> impl Strategy<Value = Rx> {
    let off = prop_oneof![-3000i32..3000, any::<i32>()];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Rx::Junk),
        (
            off.clone(),
            off.clone(),
            any::<u8>(),
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(seq_off, ack_off, flags, window, payload)| Rx::Seg {
                seq_off,
                ack_off,
                flags,
                window,
                payload
            }),
        (
            off.clone(),
            off,
            any::<u8>(),
            prop::collection::vec((0u8..80, any::<u8>()), 1..6),
            prop::option::of(0u8..80)
        )
            .prop_map(|(seq_off, ack_off, flags, flips, truncate)| Rx::Corrupt {
                seq_off,
                ack_off,
                flags,
                flips,
                truncate
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn received_frames_never_break_the_send_path(frames in prop::collection::vec(rx(), 1..40)) {
        run(&[3000, 500, 1448], frames);
    }
}

#[test]
fn an_acceptable_forged_rst_aborts_and_a_wrong_one_is_ignored() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let ch = chain_of(&[100], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    // Off by one: dropped (RFC 5961 accepts only SEG.SEQ = RCV.NXT).
    sim.inject_frame(segment(&c, RCV_NXT + 1, 0, 0x04, 0, &[]));
    sim.run_until_idle();
    assert!(completed(&sim).is_empty());
    sim.inject_frame(segment(&c, RCV_NXT, 0, 0x04, 0, &[]));
    sim.run_until_idle();
    assert_eq!(
        completed(&sim),
        vec![(ch.head() as usize, NDIS_STATUS_REQUEST_ABORTED)]
    );
    terminate(&sim, &c);
    finish(sim);
}

/// `TcpIndicateAbort` events so far.
fn aborts(sim: &ndis_sim::Simulator) -> usize {
    sim.chimney_calls()
        .iter()
        .filter(|x| {
            matches!(
                x,
                ndis_sim::exports::chimney::ChimneyCall::Event { event, .. }
                    if *event == TcpIndicateAbort
            )
        })
        .count()
}

#[test]
fn rule_087_abort_is_indicated_for_an_acceptable_rst_only() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    // Out of the window, inside it but not at RCV.NXT, and with ACK only
    // (no RST): none is acceptable (RFC 5961 §3, spec §6.15).
    for seq in [
        RCV_NXT.wrapping_sub(1),
        RCV_NXT + 1,
        RCV_NXT + 100,
        RCV_NXT + (1 << 30),
    ] {
        sim.inject_frame(segment(&c, seq, 0, 0x04, 0, &[]));
        sim.inject_frame(segment(&c, seq, 0, 0x14, 0, &[]));
    }
    sim.run_until_idle();
    assert_eq!(aborts(&sim), 0);
    // The exact one aborts, once; a second RST changes nothing.
    sim.inject_frame(segment(&c, RCV_NXT, 0, 0x04, 0, &[]));
    sim.inject_frame(segment(&c, RCV_NXT, 0, 0x04, 0, &[]));
    sim.run_until_idle();
    assert_eq!(aborts(&sim), 1);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_081_the_target_sends_rst_only_for_an_abortive_disconnect() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let ch = chain_of(&[1200], 2);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    // Everything a TCP might answer with a reset: SYNs on the offloaded
    // connection (in the window and outside it; one at RCV.NXT would
    // close the connection, see tests/disconnect.rs), an ACK for data never
    // sent, data far outside the window, a wrong RST, an URG segment, and
    // frames for unknown connections.
    sim.inject_frame(segment(&c, RCV_NXT + 100, 0, 0x02, 1000, &[]));
    sim.inject_frame(segment(&c, RCV_NXT + (1 << 30), 0, 0x02, 1000, &[]));
    sim.inject_frame(segment(&c, RCV_NXT, SND_UNA + 50_000, 0x10, 1000, &[]));
    sim.inject_frame(segment(
        &c,
        RCV_NXT + (1 << 30),
        SND_UNA,
        0x18,
        1000,
        b"far",
    ));
    sim.inject_frame(segment(&c, RCV_NXT + 7, 0, 0x04, 0, &[]));
    sim.inject_frame(segment(&c, RCV_NXT, SND_UNA, 0x30, 1000, b"urgent"));
    let mut other = segment(&c, 5, 0, 0x02, 1000, &[]);
    other[36] ^= 0x55; // another destination port
    sim.inject_frame(other);
    sim.run_until_idle();
    let rsts = |sim: &ndis_sim::Simulator| {
        sim.peer_state(c.key)
            .segments
            .iter()
            .filter(|s| s.flags & 0x04 != 0)
            .count()
    };
    assert_eq!(rsts(&sim), 0, "no RST originated");
    // The one case that sends it.
    let req = ndis_sim::builders::NblChain::single(&[]);
    sim.call_tcp_io(
        ndis_sim::TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE),
        c.slot_ptr(),
        req.head(),
    );
    sim.run_until_idle();
    assert_eq!(rsts(&sim), 1);
    terminate(&sim, &c);
    finish(sim);
}

/// Send NBLs of `sizes`, deliver one forged segment from `forge`, then let
/// the peer acknowledge what it received: every NBL must complete SUCCESS.
fn all_complete_after_forged(sizes: &[usize], forge: impl FnOnce(&Conn) -> Vec<u8>) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let ch = chain_of(sizes, 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.inject_frame(forge(&c));
    sim.run_until_idle();
    ack_all(&sim, &c);
    let done = completed(&sim);
    assert_eq!(done.len(), sizes.len(), "every NBL completes: {done:?}");
    assert!(done.iter().all(|x| x.1 == NDIS_STATUS_SUCCESS));
    terminate(&sim, &c);
    finish(sim);
}

/// Found by the `rx_frames` fuzzer: an ACK far beyond the receive window,
/// advertising a zero window, was processed. Its sequence number became
/// SND.WL1, so every real window update after it looked old, and the last
/// NBL (held back by Nagle, then by the zero window) never went out. Now
/// its ACK and window are ignored and the peer's next ACK moves data.
#[test]
fn an_ack_beyond_the_receive_window_cannot_freeze_the_send_window() {
    // ACK|PSH|FIN, window 0, sequence 4,456,448 bytes past RCV.NXT.
    all_complete_after_forged(&[126, 218, 9], |c| {
        segment(c, RCV_NXT + 4_456_448, SND_UNA, 0x19, 0, &[])
    });
}

/// Found by the `rx_frames` fuzzer: a segment inside the window but ahead
/// of RCV.NXT (data the peer never sent) acknowledging some bytes with a
/// zero window set SND.WL1 ahead of the peer's real sequence. The peer's
/// real ACKs, at its real sequence, then looked older than it, and by RFC
/// 793's rule alone none of them could reopen the window. An ACK of new
/// data now always updates the window (as Linux's tcp_may_update_window).
#[test]
fn an_ack_of_new_data_reopens_a_window_a_segment_from_ahead_closed() {
    all_complete_after_forged(&[1761, 1846, 1846], |c| {
        segment(c, RCV_NXT + 256, SND_UNA + 16, 0x10, 0, &[255, 61, 0])
    });
}
