//! `MiniportTcpOffloadForward` (spec §6.9, rule 85) through the registered
//! handler: each NET_BUFFER is one TCP segment starting at its TCP header,
//! processed as if received from the wire; completions through
//! `NdisTcpOffloadForwardComplete` with the statuses of docs/decisions.md.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use etherparse::{TcpHeader, TcpOptionElement};
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::chimney::{ChimneyCall, ReceiveMode};
use ndis_sim::harness::TcpIoKind;
use ndis_sim::{AckPolicy, Simulator, StateOpKind};

const MANUAL: AckPolicy = AckPolicy::Manual;

/// The bytes of a TCP segment of `c` from the peer: header (with a
/// timestamps option) and payload.
fn tcp_segment(c: &Conn, seq: u32, ack: u32, psh: bool, fin: bool, data: &[u8]) -> Vec<u8> {
    let mut h = TcpHeader::new(c.key.peer_port, c.key.target_port, seq, 1000);
    h.ack = true;
    h.acknowledgment_number = ack;
    h.psh = psh;
    h.fin = fin;
    h.set_options(&[
        TcpOptionElement::Noop,
        TcpOptionElement::Noop,
        TcpOptionElement::Timestamp(4242, 777),
    ])
    .expect("options");
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(data);
    out
}

/// One NBL per segment, each one NET_BUFFER cut into MDLs of `mdl` bytes
/// (the header itself split across MDLs when `mdl` is small).
fn forwarded(segments: &[Vec<u8>], mdl: usize) -> NblChain {
    let shape: Vec<Vec<NbSpec>> = segments
        .iter()
        .map(|s| {
            let mut sizes = vec![mdl; s.len() / mdl];
            if s.len() % mdl != 0 {
                sizes.push(s.len() % mdl);
            }
            vec![NbSpec {
                mdl_sizes: sizes,
                offset: 3,
            }]
        })
        .collect();
    NblChain::build(&shape, |k, _| segments[k].clone())
}

fn forward(sim: &Simulator, c: &Conn, chain: &NblChain) -> NDIS_STATUS {
    sim.call_tcp_io(TcpIoKind::Forward, c.slot_ptr(), chain.head())
}

fn forward_completions(sim: &Simulator) -> Vec<(usize, NDIS_STATUS)> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::ForwardComplete(v) => Some(v),
            _ => None,
        })
        .flatten()
        .collect()
}

fn indicated(sim: &Simulator) -> Vec<u8> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::ReceiveIndicate { data, .. } => Some(data),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn rule_085_forward_pends_and_processes_each_net_buffer_as_one_segment_from_its_tcp_header() {
    for mdl in [7usize, 13, 2048] {
        let sim = with_adapter();
        let c = offload_with(&sim, 1, 4000, MANUAL, no_nagle, |s| s.delegated.SndUna);
        // Data the peer sent, acknowledged by nobody yet: two segments, the
        // second with PSH, then a FIN.
        let a: Vec<u8> = (0..600).map(|i| i as u8).collect();
        let b: Vec<u8> = (0..300).map(|i| (i * 3) as u8).collect();
        let segs = vec![
            tcp_segment(&c, RCV_NXT, SND_UNA, false, false, &a),
            tcp_segment(&c, RCV_NXT + 600, SND_UNA, true, false, &b),
            tcp_segment(&c, RCV_NXT + 900, SND_UNA, false, true, &[]),
        ];
        let chain = forwarded(&segs, mdl);
        assert_eq!(forward(&sim, &c, &chain), NDIS_STATUS_PENDING);
        assert!(
            forward_completions(&sim).is_empty(),
            "nothing inside the handler"
        );
        sim.run_until_idle();
        sim.advance_ms(1_000);
        // All three processed, completed in order (one call may carry all).
        let want: Vec<(usize, NDIS_STATUS)> = chain
            .nbls()
            .iter()
            .map(|&p| (p as usize, NDIS_STATUS_SUCCESS))
            .collect();
        assert_eq!(forward_completions(&sim), want, "MDLs of {mdl}");
        // The data reached the host, in order; the FIN was acknowledged
        // and indicated after it; the timestamp was taken.
        let mut stream = a.clone();
        stream.extend(&b);
        assert_eq!(indicated(&sim), stream);
        let rec = sim.peer_state(c.key);
        assert_eq!(rec.segments.last().map(|s| s.ack), Some(RCV_NXT + 901));
        assert!(sim.chimney_calls().iter().any(
            |x| matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateDisconnect)
        ));
        let (term, tcp) = terminate(&sim, &c);
        let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
        assert_eq!(d.RcvNxt, RCV_NXT + 901);
        assert_eq!(d.TsRecent, 4242);
        finish(sim);
    }
}

#[test]
fn a_forwarded_ack_completes_sends() {
    let sim = with_adapter();
    let c = offload_with(&sim, 1, 4000, MANUAL, no_nagle, |s| s.delegated.SndUna);
    let ch = chain_of(&[1000], 2);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let chain = forwarded(
        &[tcp_segment(&c, RCV_NXT, SND_UNA + 1000, false, false, &[])],
        64,
    );
    forward(&sim, &c, &chain);
    sim.run_until_idle();
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    assert_eq!(
        forward_completions(&sim),
        vec![(chain.head() as usize, NDIS_STATUS_SUCCESS)]
    );
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn forwarded_segments_that_cannot_be_processed_complete_with_their_status() {
    let sim = with_adapter();
    sim.set_receive_mode(ReceiveMode::Accept);
    // Being uploaded: the host processes them itself.
    let up = offload(&sim, 1, 4000, MANUAL);
    let (term, root) = terminate_tree(&up);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    let f1 = forwarded(&[tcp_segment(&up, RCV_NXT, SND_UNA, true, false, b"x")], 64);
    forward(&sim, &up, &f1);
    // Reset: the host drops them.
    let rst = offload(&sim, 2, 4001, MANUAL);
    sim.peer_rst(rst.key);
    sim.run_until_idle();
    let f2 = forwarded(
        &[tcp_segment(&rst, RCV_NXT, SND_UNA, true, false, b"y")],
        64,
    );
    forward(&sim, &rst, &f2);
    // Malformed: a header cut short, two NET_BUFFERs, a bad context.
    let ok = offload(&sim, 3, 4002, MANUAL);
    let short = forwarded(
        &[tcp_segment(&ok, RCV_NXT, SND_UNA, true, false, &[])[..12].to_vec()],
        64,
    );
    forward(&sim, &ok, &short);
    let two = NblChain::build(
        &[vec![
            NbSpec {
                mdl_sizes: vec![64],
                offset: 0,
            },
            NbSpec {
                mdl_sizes: vec![64],
                offset: 0,
            },
        ]],
        |_, _| tcp_segment(&ok, RCV_NXT, SND_UNA, true, false, b"zz"),
    );
    forward(&sim, &ok, &two);
    let stray = forwarded(&[tcp_segment(&ok, RCV_NXT, SND_UNA, true, false, b"w")], 64);
    let mut bogus: PVOID = 0x5151 as PVOID;
    sim.call_tcp_io(
        TcpIoKind::Forward,
        (&mut bogus as *mut PVOID).cast(),
        stray.head(),
    );
    sim.run_until_idle();
    assert_eq!(
        forward_completions(&sim),
        vec![
            (f1.head() as usize, NDIS_STATUS_UPLOAD_IN_PROGRESS),
            (f2.head() as usize, NDIS_STATUS_REQUEST_ABORTED),
            (short.head() as usize, NDIS_STATUS_INVALID_PARAMETER),
            (two.head() as usize, NDIS_STATUS_INVALID_PARAMETER),
            (stray.head() as usize, NDIS_STATUS_INVALID_PARAMETER),
        ]
    );
    // Nothing of them was taken.
    assert!(indicated(&sim).is_empty());
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    terminate(&sim, &rst);
    terminate(&sim, &ok);
    finish(sim);
}
