//! Received frames are untrusted: random bytes, well-formed segments with
//! random fields, and corrupted copies of them reach the driver's receive
//! upcall while sends are outstanding. Whatever arrives, nothing crashes,
//! the verifier stays clean, and every send NBL still completes exactly once
//! (SUCCESS, or REQUEST_ABORTED when an acceptable RST got through) with
//! the bytes on the wire intact (principle 4).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use etherparse::PacketBuilder;
use ndis_sim::AckPolicy;
use ndis_sim::builders::NblChain;
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::exports::phy::DEFAULT_MAC;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Rx {
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
        flips: Vec<(usize, u8)>,
        truncate: Option<usize>,
    },
}

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
            prop::collection::vec((0usize..80, any::<u8>()), 1..6),
            prop::option::of(0usize..80)
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

/// A frame from the peer to the target on `c`'s 4-tuple.
fn segment(c: &Conn, seq: u32, ack: u32, flags: u8, window: u16, payload: &[u8]) -> Vec<u8> {
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

fn run(frames: Vec<Rx>) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let sizes = [3000usize, 500, 1448];
    let ch: NblChain = chain_of(&sizes, 4);
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
                    if let Some(x) = b.get_mut(i) {
                        *x = v;
                    }
                }
                if let Some(t) = truncate {
                    b.truncate(t);
                }
                b
            }
        };
        sim.inject_frame(bytes);
        sim.run_until_idle();
    }
    // The peer acknowledges everything it really received, as often as
    // the window and Nagle need.
    ack_all(&sim, &c);
    let done = completed(&sim);
    let nbls: Vec<usize> = ch.nbls().into_iter().map(|p| p as usize).collect();
    // Urgent data or a SYN at RCV.NXT stops the connection until its upload
    // (which it requests): the rest of the sends then go back with it.
    let stopped = sim
        .chimney_calls()
        .iter()
        .any(|x| matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateRetrieve));
    let completed_ids: Vec<usize> = done.iter().map(|x| x.0).collect();
    if stopped {
        assert!(nbls.starts_with(&completed_ids), "completions in order");
        let (term, tcp) = terminate(&sim, &c);
        let mut back = Vec::new();
        let mut p = term.chain(tcp);
        while !p.is_null() {
            back.push(p as usize);
            // SAFETY: NBLs of the test's chain, handed back by the terminate.
            p = unsafe { (*p).NetBufferListHeader.NetBufferListData.Next };
        }
        let mut all = completed_ids.clone();
        all.extend(back);
        assert_eq!(
            all, nbls,
            "every NBL exactly once: completed, then handed back"
        );
        sim.assert_clean();
        finish(sim);
        return;
    }
    assert_eq!(completed_ids, nbls, "every NBL exactly once, in order");
    let aborted = done.iter().any(|x| x.1 == NDIS_STATUS_REQUEST_ABORTED);
    for (k, &(_, st)) in done.iter().enumerate() {
        assert!(
            st == NDIS_STATUS_SUCCESS || st == NDIS_STATUS_REQUEST_ABORTED,
            "NBL {k}: {st:#x}"
        );
    }
    // What reached the peer is a prefix of the payload, in order, once.
    let mut want = Vec::new();
    for (k, &len) in sizes.iter().enumerate() {
        want.extend(pattern(k, len, 4));
    }
    let rec = sim.peer_state(c.key);
    assert!(
        want.starts_with(&rec.stream),
        "the wire carries the payload in order"
    );
    if !aborted {
        assert!(rec.stream == want, "all of it");
    }
    sim.assert_clean();
    terminate(&sim, &c);
    finish(sim);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn received_frames_never_break_the_send_path(frames in prop::collection::vec(rx(), 1..40)) {
        run(frames);
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
    let req = NblChain::single(&[]);
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
