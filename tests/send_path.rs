//! MiniportTcpOffloadSend end to end: sends posted through the registered
//! handler, segmented onto the simulated wire, acknowledged by the scripted
//! peer, completed through `NdisTcpOffloadSendComplete` (spec §6.1–6.2,
//! §4.6, rules 55–64).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::tree::run;
use common::*;
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::peer::flags;
use ndis_sim::{AckPolicy, StateOpKind, Violation};

const MANUAL: AckPolicy = AckPolicy::Manual;

/// Halt after uploading the connection, with a clean record.
fn done(sim: ndis_sim::Simulator, c: &Conn) {
    terminate(&sim, c);
    finish(sim);
}

fn statuses(v: &[(usize, NDIS_STATUS)]) -> Vec<NDIS_STATUS> {
    v.iter().map(|x| x.1).collect()
}

fn addrs(chain: &NblChain) -> Vec<usize> {
    chain.nbls().into_iter().map(|p| p as usize).collect()
}

#[test]
fn rule_055_send_returns_pending_and_accepts_every_request() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let chains: Vec<NblChain> = (0..4).map(|i| chain_of(&[100, 200], i)).collect();
    for ch in &chains {
        // Earlier sends are still pending (nothing is acknowledged).
        assert_eq!(send(&sim, &c, ch), NDIS_STATUS_PENDING);
    }
    assert!(
        send_completions(&sim).is_empty(),
        "nothing completes inside the handler"
    );
    sim.run_until_idle();
    assert!(completed(&sim).is_empty(), "nothing acknowledged yet");
    ack_all(&sim, &c);
    assert_eq!(sim.peer_state(c.key).rcv_nxt, SND_UNA + 4 * 300);
    let want: Vec<usize> = chains.iter().flat_map(addrs).collect();
    let got = completed(&sim);
    assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), want);
    assert!(got.iter().all(|x| x.1 == NDIS_STATUS_SUCCESS));

    // A slot holding a context value the driver never issued: still
    // PENDING, then the NBL completes once with a failure.
    let forged: PVOID = (c.tree.context(c.tcp) ^ 0x10) as PVOID;
    let stale = NblChain::single(b"stale");
    let st = sim.call_tcp_io(
        ndis_sim::TcpIoKind::Send,
        (&forged as *const PVOID).cast_mut().cast(),
        stale.head(),
    );
    assert_eq!(st, NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_eq!(
        completed(&sim).last(),
        Some(&(stale.head() as usize, NDIS_STATUS_INVALID_PARAMETER))
    );
    done(sim, &c);
}

#[test]
fn rule_056_posting_order_on_the_wire_after_data_handed_over_at_offload() {
    let sim = with_adapter();
    // 300 bytes handed over at offload, of which the host had sent the
    // first 100 (SndNxt): the peer has them already.
    let handed = chain_of(&[120, 180], 0xA0);
    let nbls = handed.nbls();
    let c = offload_with(
        &sim,
        1,
        4000,
        AUTO,
        |s, _| {
            s.delegated.SndNxt = s.delegated.SndUna + 100;
            s.delegated.SndMax = s.delegated.SndUna + 300;
            s.delegated.Send.SendData = TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA {
                SendDataHead: nbls[0],
                SendDataTail: nbls[1],
            };
        },
        |s| s.delegated.SndUna + 100,
    );
    let a = chain_of(&[1000, 3000], 1);
    let b = chain_of(&[10, 1448, 1449], 2);
    assert_eq!(send(&sim, &c, &a), NDIS_STATUS_PENDING);
    assert_eq!(send(&sim, &c, &b), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    let mut want = Vec::new();
    want.extend(&pattern(0, 120, 0xA0)[100..]);
    want.extend(pattern(1, 180, 0xA0));
    for (sizes, tag) in [(&[1000usize, 3000][..], 1u8), (&[10, 1448, 1449][..], 2)] {
        for (k, &s) in sizes.iter().enumerate() {
            want.extend(pattern(k, s, tag));
        }
    }
    let rec = sim.peer_state(c.key);
    assert_eq!(rec.stream.len(), want.len());
    assert!(rec.stream == want, "bytes in posting order");
    assert_eq!(rec.retransmitted_bytes, 0);
    let order: Vec<usize> = nbls
        .iter()
        .map(|p| *p as usize)
        .chain(addrs(&a))
        .chain(addrs(&b))
        .collect();
    let got = completed(&sim);
    assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), order);
    assert!(got.iter().all(|x| x.1 == NDIS_STATUS_SUCCESS));
    done(sim, &c);
}

#[test]
fn rule_057_success_only_after_every_byte_is_acknowledged() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let ch = chain_of(&[3000], 7);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let lens = |sim: &ndis_sim::Simulator| -> Vec<u32> {
        sim.peer_state(c.key)
            .segments
            .iter()
            .map(|s| s.len)
            .collect()
    };
    // Nagle holds the 104-byte tail (the last queued data) while the two
    // full segments are unacknowledged.
    assert_eq!(lens(&sim), vec![c.mss, c.mss]);
    for partial in [1, c.mss, 2 * c.mss, 2999] {
        sim.peer_ack(c.key, SND_UNA + partial, 64_240);
        sim.run_until_idle();
        assert!(completed(&sim).is_empty(), "{partial} of 3000 acknowledged");
    }
    assert_eq!(lens(&sim), vec![c.mss, c.mss, 3000 - 2 * c.mss]);
    sim.peer_ack(c.key, SND_UNA + 3000, 64_240);
    sim.run_until_idle();
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    done(sim, &c);
}

#[test]
fn rule_058_completed_nbls_carry_bytes_transferred_and_advanced_net_buffers() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let shape = vec![
        vec![
            NbSpec {
                mdl_sizes: vec![300, 200],
                offset: 10,
            },
            NbSpec {
                mdl_sizes: vec![700],
                offset: 3,
            },
        ],
        vec![NbSpec {
            mdl_sizes: vec![2000],
            offset: 0,
        }],
    ];
    let ch = NblChain::build(&shape, |k, j| {
        pattern(k * 2 + j, [[500, 700], [2000, 0]][k][j], 3)
    });
    let nbls = ch.nbls();
    let before = net_buffer_windows(nbls[0]);
    assert_eq!(before, vec![(10, 500), (3, 700)]);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    // All of the first NBL and 800 bytes of the second.
    sim.peer_ack(c.key, SND_UNA + 1200 + 800, 64_240);
    sim.run_until_idle();
    assert_completed(&sim, &[(nbls[0], NDIS_STATUS_SUCCESS)]);
    assert_eq!(bytes_transferred(nbls[0]), 1200);
    assert_eq!(net_buffer_windows(nbls[0]), vec![(510, 0), (703, 0)]);
    // The RST fails the second with its acknowledged part accounted.
    sim.peer_rst(c.key);
    sim.run_until_idle();
    assert_eq!(
        completed(&sim)[1],
        (nbls[1] as usize, NDIS_STATUS_REQUEST_ABORTED)
    );
    assert_eq!(bytes_transferred(nbls[1]), 800);
    assert_eq!(net_buffer_windows(nbls[1]), vec![(800, 1200)]);
    done(sim, &c);
}

#[test]
fn rule_059_one_partial_nbl_at_most_per_completion_and_it_failed() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let ch = chain_of(&[2000, 2000, 2000], 9);
    let n = ch.nbls();
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.peer_ack(c.key, SND_UNA + 2500, 64_240);
    sim.run_until_idle();
    sim.peer_rst(c.key);
    sim.run_until_idle();
    let calls = send_completions(&sim);
    assert_eq!(calls[0], vec![(n[0] as usize, NDIS_STATUS_SUCCESS)]);
    assert_eq!(
        calls[1],
        vec![
            (n[1] as usize, NDIS_STATUS_REQUEST_ABORTED),
            (n[2] as usize, NDIS_STATUS_REQUEST_ABORTED)
        ]
    );
    for call in &calls {
        let partial: Vec<_> = call
            .iter()
            .filter(|(p, _)| {
                let t = bytes_transferred(*p as PNET_BUFFER_LIST);
                t != 0 && t != 2000
            })
            .collect();
        assert!(partial.len() <= 1, "{call:?}");
        assert!(partial.iter().all(|(_, s)| *s != NDIS_STATUS_SUCCESS));
    }
    assert_eq!(bytes_transferred(n[1]), 500);
    assert_eq!(bytes_transferred(n[2]), 0);
    done(sim, &c);
}

/// Break NBL 1 of a three-NBL chain in one of the ways the issue lists.
fn malformed_case(break_it: impl FnOnce(PNET_BUFFER_LIST), want: NDIS_STATUS) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let ch = chain_of(&[700, 900, 1100], 5);
    let n = ch.nbls();
    break_it(n[1]);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    // Later sends on the connection fail too, without transmission.
    let later = chain_of(&[50], 6);
    send(&sim, &c, &later);
    sim.run_until_idle();
    let rec = sim.peer_state(c.key);
    assert!(rec.stream == pattern(0, 700, 5), "only the NBL before");
    assert_completed(
        &sim,
        &[
            (n[0], NDIS_STATUS_SUCCESS),
            (n[1], want),
            (n[2], want),
            (later.head(), want),
        ],
    );
    assert_eq!(bytes_transferred(n[2]), 0);
    done(sim, &c);
}

#[test]
fn rule_060_after_a_failed_nbl_later_ones_fail_without_transmission() {
    // No NET_BUFFER at all.
    malformed_case(
        // SAFETY: a test-owned NBL.
        |p| unsafe {
            (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer = std::ptr::null_mut()
        },
        NDIS_STATUS_INVALID_PARAMETER,
    );
}

#[test]
fn malformed_nbl_data_length_beyond_its_mdls_fails_in_place() {
    malformed_case(
        // SAFETY: a test-owned NBL and NET_BUFFER.
        |p| unsafe {
            let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
            (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength = 901;
        },
        NDIS_STATUS_INVALID_PARAMETER,
    );
}

#[test]
fn malformed_nbl_with_a_null_mdl_fails_in_place() {
    malformed_case(
        // SAFETY: a test-owned NBL and NET_BUFFER.
        |p| unsafe {
            let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
            (*nb).NetBufferHeader.NetBufferData.CurrentMdl = std::ptr::null_mut();
            (*nb).NetBufferHeader.NetBufferData.MdlChain = std::ptr::null_mut();
        },
        NDIS_STATUS_INVALID_PARAMETER,
    );
}

#[test]
fn unmapped_mdls_are_mapped_and_a_failed_mapping_fails_the_nbl() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let shape = vec![vec![NbSpec {
        mdl_sizes: vec![100, 2000, 5],
        offset: 7,
    }]];
    let ok = NblChain::build_with(&shape, |_, _| pattern(0, 2105, 1), false);
    send(&sim, &c, &ok);
    sim.run_until_idle();
    assert!(sim.peer_state(c.key).stream == pattern(0, 2105, 1));
    sim.fail_mdl_mapping(true);
    let bad = NblChain::build_with(&shape, |_, _| pattern(0, 2105, 2), false);
    send(&sim, &c, &bad);
    sim.run_until_idle();
    sim.fail_mdl_mapping(false);
    assert_completed(
        &sim,
        &[
            (ok.head(), NDIS_STATUS_SUCCESS),
            (bad.head(), NDIS_STATUS_RESOURCES),
        ],
    );
    assert_eq!(sim.peer_state(c.key).stream.len(), 2105);
    done(sim, &c);
}

#[test]
fn rule_061_sends_during_an_upload_complete_upload_in_progress() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let queued = chain_of(&[1000], 1);
    send(&sim, &c, &queued);
    sim.run_until_idle();
    let (term, root) = terminate_tree(&c);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    // The upload is pending: a send now is refused with the upload status.
    let late = chain_of(&[10, 20], 2);
    assert_eq!(send(&sim, &c, &late), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    let n = late.nbls();
    assert_completed(
        &sim,
        &[
            (n[0], NDIS_STATUS_UPLOAD_IN_PROGRESS),
            (n[1], NDIS_STATUS_UPLOAD_IN_PROGRESS),
        ],
    );
    // The unacknowledged send is handed back in the terminate (rule 48).
    assert_eq!(term.chain(2), queued.head());
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    let segs_before = sim.peer_state(c.key).segments.len();
    assert_eq!(segs_before, 1, "the late sends never reached the wire");
    finish(sim);
}

/// The terminate handler flags its connections without locking them; a
/// context the host kept from an earlier connection in the same slot
/// flags nothing: the live connection keeps sending, and the stale block
/// alone fails.
#[test]
fn rule_061_a_stale_context_in_a_terminate_leaves_the_live_connection_sending() {
    let sim = with_adapter();
    let a = offload(&sim, 1, 4000, AUTO);
    let stale = a.tree.context(a.tcp);
    terminate(&sim, &a);
    let b = offload(&sim, 1, 4001, AUTO);
    let live = b.tree.context(b.tcp);
    assert_eq!(
        stale & 0x0FFF_FFFF,
        live & 0x0FFF_FFFF,
        "the same slot again"
    );
    assert_ne!(stale, live, "with a new generation");
    // SAFETY: an all-zero delegated structure with its Length set.
    let mut d: TCP_OFFLOAD_STATE_DELEGATED = unsafe { std::mem::zeroed() };
    d.Header.Length = size_of::<TCP_OFFLOAD_STATE_DELEGATED>() as u32;
    let mut term = ndis_sim::builders::Tree::new();
    let root = term.reference(
        TcpOffloadDelegatedState,
        stale,
        &[&ndis_sim::builders::bytes_of(&d)],
    );
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    let ch = chain_of(&[700], 3);
    assert_eq!(send(&sim, &b, &ch), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_eq!(term.status(root), NDIS_STATUS_FAILURE);
    assert_completed(&sim, &[(ch.nbls()[0], NDIS_STATUS_SUCCESS)]);
    assert_eq!(sim.peer_state(b.key).rcv_nxt, SND_UNA + 700);
    // Now a real terminate of b, then the stale one again, both pending:
    // the stale context does not undo b's mark.
    let (real, real_root) = terminate_tree(&b);
    sim.call_state_op(StateOpKind::Terminate, real.ptr(real_root));
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    let late = chain_of(&[10], 4);
    assert_eq!(send(&sim, &b, &late), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_completed(
        &sim,
        &[
            (ch.nbls()[0], NDIS_STATUS_SUCCESS),
            (late.nbls()[0], NDIS_STATUS_UPLOAD_IN_PROGRESS),
        ],
    );
    assert_eq!(real.status(real_root), NDIS_STATUS_SUCCESS);
    assert_eq!(term.status(root), NDIS_STATUS_FAILURE);
    finish(sim);
}

/// Overwrite a completed tree's links with an unmapped address, so a driver
/// that still read it would fault.
fn poison(t: &ndis_sim::builders::Tree) {
    for id in 0..t.len() {
        // SAFETY: the test's own blocks; the tree was completed (it is the
        // host's again).
        unsafe {
            let b = t.ptr(id);
            (*b).NextBlock = 0x10 as _;
            (*b).DependentBlockList = 0x10 as _;
            (*b).MiniportOffloadContext = 0x10 as _;
        }
    }
}

/// The terminate handler only queues its tree; the first data-path call
/// while terminates are pending marks the connections of all of them, and
/// once a terminate has completed nothing reads its tree again, whether it
/// was marked or walked unraced.
#[test]
fn rule_061_pending_terminates_are_marked_on_first_use_and_forgotten_after_completion() {
    let sim = with_adapter();
    let a = offload(&sim, 1, 4000, AUTO);
    let b = offload(&sim, 2, 4001, AUTO);
    let ta = terminate_tree(&a);
    let tb = terminate_tree(&b);
    sim.call_state_op(StateOpKind::Terminate, ta.0.ptr(ta.1));
    sim.call_state_op(StateOpKind::Terminate, tb.0.ptr(tb.1));
    let on_b = chain_of(&[10], 1);
    let on_a = chain_of(&[10], 2);
    assert_eq!(send(&sim, &b, &on_b), NDIS_STATUS_PENDING);
    assert_eq!(send(&sim, &a, &on_a), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_completed(
        &sim,
        &[
            (on_b.nbls()[0], NDIS_STATUS_UPLOAD_IN_PROGRESS),
            (on_a.nbls()[0], NDIS_STATUS_UPLOAD_IN_PROGRESS),
        ],
    );
    assert_eq!(ta.0.status(ta.1), NDIS_STATUS_SUCCESS);
    assert_eq!(tb.0.status(tb.1), NDIS_STATUS_SUCCESS);
    poison(&ta.0);
    poison(&tb.0);
    // A terminate nobody raced: walked without a marking pass.
    let d = offload(&sim, 3, 4002, AUTO);
    let (td, _) = terminate(&sim, &d);
    poison(&td);
    // Later data-path work reads none of the completed trees.
    let c = offload(&sim, 4, 4003, AUTO);
    let ch = chain_of(&[500], 3);
    assert_eq!(send(&sim, &c, &ch), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_eq!(sim.peer_state(c.key).rcv_nxt, SND_UNA + 500);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_062_an_acceptable_rst_aborts_outstanding_sends_and_indicates_abort() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let ch = chain_of(&[100, 5000, 30], 4);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.peer_rst(c.key);
    sim.run_until_idle();
    let calls = sim.chimney_calls();
    let sends: Vec<_> = send_completions(&sim);
    assert_eq!(sends.len(), 1, "one completion call for the abort");
    assert_eq!(
        statuses(&sends[0]),
        vec![NDIS_STATUS_REQUEST_ABORTED; 3],
        "{calls:?}"
    );
    assert_eq!(sends[0].iter().map(|x| x.0).collect::<Vec<_>>(), addrs(&ch));
    let aborts: Vec<_> = calls
        .iter()
        .filter(|c| matches!(c, ChimneyCall::Event { event, .. } if *event == TcpIndicateAbort))
        .collect();
    assert_eq!(aborts.len(), 1, "{calls:?}");
    // After the abort nothing more is transmitted; later sends fail.
    let segs = sim.peer_state(c.key).segments.len();
    let later = chain_of(&[10], 1);
    send(&sim, &c, &later);
    sim.run_until_idle();
    assert_eq!(sim.peer_state(c.key).segments.len(), segs);
    assert_eq!(
        completed(&sim).last(),
        Some(&(later.head() as usize, NDIS_STATUS_REQUEST_ABORTED))
    );
    done(sim, &c);
}

#[test]
fn rule_063_no_urgent_data_df_set_and_no_fragments() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let ch = chain_of(&[1, 1447, 1448, 1449, 9000, 65_000], 8);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let mut frames = 0;
    for (_, dir, f) in sim.captured_frames() {
        if dir != ndis_sim::Direction::FromTarget {
            continue;
        }
        frames += 1;
        let p = etherparse::SlicedPacket::from_ethernet(&f).expect("parses");
        let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
            panic!("IPv4 expected");
        };
        let h = ip.header();
        assert!(h.dont_fragment(), "DF set");
        assert!(!h.more_fragments());
        assert_eq!(h.fragments_offset().value(), 0);
        assert!(f.len() <= 1514, "no frame beyond the MTU");
        let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
            panic!("TCP expected");
        };
        assert!(!t.urg());
        assert_eq!(t.urgent_pointer(), 0);
    }
    assert!(frames > 50);
    assert!(
        !sim.violations()
            .iter()
            .any(|v| matches!(v, Violation::Wire { .. })),
        "the peer's wire checks passed"
    );
    done(sim, &c);
}

#[test]
fn rule_064_ipv4_ip_ids_stay_in_the_upper_half_across_wrap() {
    let sim = with_adapter();
    // A 64-byte MSS (52 with timestamps) makes 40,000 segments cheap.
    let c = offload_with(
        &sim,
        1,
        4000,
        AUTO,
        |s, _| s.konst.RemoteMss = 64,
        |s| s.delegated.SndUna,
    );
    assert_eq!(c.mss, 52);
    let total = 52 * 40_000;
    let chains: Vec<NblChain> = (0..20).map(|i| chain_of(&[total / 20], i)).collect();
    for ch in &chains {
        send(&sim, &c, ch);
        sim.run_until_idle();
    }
    let rec = sim.peer_state(c.key);
    assert_eq!(rec.stream.len(), total);
    let ids: Vec<u16> = rec
        .segments
        .iter()
        .filter(|s| s.len > 0)
        .map(|s| s.ip_id.expect("IPv4"))
        .collect();
    assert!(ids.len() >= 40_000);
    assert!(
        ids.iter().all(|&id| id >= 0x8000),
        "every IP-ID in 0x8000-0xFFFF"
    );
    // More segments than the range holds: the counter wrapped inside it.
    assert!(ids.windows(2).any(|w| w[1] < w[0]), "wrapped");
    done(sim, &c);
}

#[test]
fn psh_is_set_exactly_at_nbl_boundaries() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let sizes = [1, 1448, 1449, 3000, 17, 4344];
    let ch = chain_of(&sizes, 3);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let rec = sim.peer_state(c.key);
    let ends: Vec<usize> = sizes
        .iter()
        .scan(0, |acc, s| {
            *acc += s;
            Some(*acc)
        })
        .collect();
    assert_eq!(rec.psh_ends, ends);
    for s in rec.segments.iter().filter(|s| s.len > 0) {
        assert!(s.len <= c.mss);
    }
    assert!(rec.segments.iter().all(|s| s.flags & flags::URG == 0));
    done(sim, &c);
}

#[test]
fn nbls_completed_by_one_ack_go_up_in_one_call_in_fifo_order() {
    let sim = with_adapter();
    let c = offload_with(&sim, 1, 4000, MANUAL, no_nagle, |s| s.delegated.SndUna);
    let a = chain_of(&[100, 200], 1);
    let b = chain_of(&[300, 400, 500], 2);
    send(&sim, &c, &a);
    send(&sim, &c, &b);
    sim.run_until_idle();
    sim.peer_ack(c.key, SND_UNA + 1500, 64_240);
    sim.run_until_idle();
    let calls = send_completions(&sim);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let want: Vec<usize> = addrs(&a).into_iter().chain(addrs(&b)).collect();
    assert_eq!(calls[0].iter().map(|x| x.0).collect::<Vec<_>>(), want);
    assert_eq!(statuses(&calls[0]), vec![NDIS_STATUS_SUCCESS; 5]);
    done(sim, &c);
}

#[test]
fn a_full_transmit_ring_keeps_data_queued_until_space_frees() {
    let mut sim = loaded();
    // The depth is read when the driver attaches to the port.
    sim.set_phy_ring_depth(2);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
    let c = offload(&sim, 1, 4000, AUTO);
    sim.hold_wire(true);
    let ch = chain_of(&[1448 * 8], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(sim.ring_len(), 2, "the ring is full");
    assert!(completed(&sim).is_empty());
    sim.hold_wire(false);
    sim.run_until_idle();
    let rec = sim.peer_state(c.key);
    assert!(
        rec.stream == pattern(0, 1448 * 8, 1),
        "every byte, in order"
    );
    assert_eq!(rec.retransmitted_bytes, 0);
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    done(sim, &c);
}

#[test]
fn the_peer_window_bounds_what_is_in_flight() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    // The peer closes its window to 3,000 bytes.
    sim.peer_set_window(c.key, 3000);
    sim.run_until_idle();
    let ch = chain_of(&[10_000], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let rec = sim.peer_state(c.key);
    // Two full segments fill all but 104 bytes of the window; the sender
    // does not shrink a segment to fit a sliver (RFC 1122 4.2.3.4).
    assert_eq!(rec.stream.len() as u32, 2 * c.mss);
    sim.peer_ack(c.key, SND_UNA + 2 * c.mss, 64_240);
    sim.run_until_idle();
    // The window opened: all full segments go; Nagle holds the tail.
    let full = 10_000 / c.mss * c.mss;
    assert_eq!(sim.peer_state(c.key).stream.len() as u32, full);
    ack_all(&sim, &c);
    assert!(sim.peer_state(c.key).stream == pattern(0, 10_000, 1));
    done(sim, &c);
}

/// Invalidate `which` (the path or the connection itself): the connection
/// sends nothing more; its queued sends are handed back at terminate.
fn invalidate_stops_transmit(which: fn(&Conn) -> usize) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let before = chain_of(&[2000], 1);
    send(&sim, &c, &before);
    sim.run_until_idle();
    let on_wire = sim.peer_state(c.key).segments.len();
    assert!(on_wire > 0, "transmitting before the invalidate");
    let mut inv = ndis_sim::builders::Tree::new();
    let b = inv.reference(0, which(&c), &[]);
    run(&sim, StateOpKind::Invalidate, &inv, b);
    assert_eq!(inv.status(b), NDIS_STATUS_SUCCESS);
    // An ACK would open the window for the rest of the first NBL.
    sim.peer_ack(c.key, SND_UNA + c.mss, 64_240);
    let ch = chain_of(&[500], 2);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(
        sim.peer_state(c.key).segments.len(),
        on_wire,
        "nothing sent after the invalidate"
    );
    // The sends are held, then handed back by the terminate, in order.
    let (term, tcp) = terminate(&sim, &c);
    assert_eq!(term.chain(tcp), before.head());
    // SAFETY: our NBL, handed back.
    let next = unsafe { (*before.head()).NetBufferListHeader.NetBufferListData.Next };
    assert_eq!(next, ch.head());
    finish(sim);
}

#[test]
fn rule_037_invalidating_a_path_stops_its_connections_transmitting() {
    invalidate_stops_transmit(|c| c.tree.context(c.path));
}

#[test]
fn rule_037_invalidating_a_connection_stops_it_transmitting() {
    invalidate_stops_transmit(|c| c.tree.context(c.tcp));
}

#[test]
fn rule_090_send_backlog_changes_are_indicated_throttled() {
    let sim = with_adapter();
    let policy = AckPolicy::Auto {
        delay_ms: 5,
        max_step: None,
    };
    let c = offload(&sim, 1, 4000, policy);
    // At offload: two windows of min(cwnd, snd_wnd), whole segments.
    let initial = 30_408;
    // 2 MiB posted at once; slow start grows cwnd ACK by ACK.
    let chains: Vec<NblChain> = (0..32).map(|i| chain_of(&[65_536], i)).collect();
    for ch in &chains {
        send(&sim, &c, ch);
    }
    let elapsed_ms = 1000u64;
    sim.advance_ms(elapsed_ms);
    assert_eq!(sim.peer_state(c.key).stream.len(), 32 * 65_536);
    let events: Vec<(usize, u32)> = sim
        .chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::Event {
                offload_handle,
                event,
                info,
            } if event == TcpIndicateSendBacklogChange => Some((offload_handle, info)),
            _ => None,
        })
        .collect();
    assert!(!events.is_empty(), "the window grew: the backlog changed");
    let mut last = initial;
    for &(_, v) in &events {
        assert!(
            v.abs_diff(last) >= (last / 4).max(2 * c.mss),
            "a small change was indicated: {last} -> {v}"
        );
        assert_eq!(v % c.mss, 0, "whole segments");
        last = v;
    }
    assert!(events[0].1 > initial);
    // At most one per 100 ms: far fewer than the ACKs that changed cwnd.
    assert!(events.len() as u64 <= elapsed_ms / 100 + 1, "{events:?}");
    let acks = sim.peer_state(c.key).acks_sent.len();
    assert!(
        acks > 4 * events.len(),
        "{acks} ACKs, {} events",
        events.len()
    );
    // Every event names the connection's NDIS offload handle.
    // SAFETY: the tree is ours; the handle field is plain data.
    let handle = unsafe { (*c.tree.ptr(c.tcp)).NdisOffloadHandle } as usize;
    assert!(events.iter().all(|e| e.0 == handle));
    done(sim, &c);
}

#[test]
fn rule_062_an_abortive_disconnect_aborts_outstanding_sends() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let ch = chain_of(&[3000, 40], 2);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let sent = sim.peer_state(c.key).rcv_nxt;
    let req = NblChain::single(&[]);
    let st = sim.call_tcp_io(
        ndis_sim::TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE),
        c.slot_ptr(),
        req.head(),
    );
    assert_eq!(st, NDIS_STATUS_PENDING);
    assert!(
        send_completions(&sim).is_empty(),
        "nothing inside the handler"
    );
    sim.run_until_idle();
    assert_eq!(
        completed(&sim),
        addrs(&ch)
            .into_iter()
            .map(|p| (p, NDIS_STATUS_REQUEST_ABORTED))
            .collect::<Vec<_>>()
    );
    let calls = sim.chimney_calls();
    assert!(calls.contains(&ChimneyCall::DisconnectComplete(
        req.head() as usize,
        NDIS_STATUS_SUCCESS
    )));
    // One RST at SND.NXT reached the peer; nothing after it.
    let rec = sim.peer_state(c.key);
    assert!(rec.rst_received);
    let last = rec.segments.last().expect("segments");
    assert_eq!(last.flags & flags::RST, flags::RST);
    assert_eq!(last.seq, sent);
    let later = chain_of(&[10], 3);
    send(&sim, &c, &later);
    sim.run_until_idle();
    assert_eq!(sim.peer_state(c.key).segments.len(), rec.segments.len());
    assert_eq!(
        completed(&sim).last(),
        Some(&(later.head() as usize, NDIS_STATUS_REQUEST_ABORTED))
    );
    done(sim, &c);
}

/// An abortive disconnect that arrives while the connection's terminate is
/// pending sends no RST: the connection counts as uploading from the
/// terminate call on (the request fails; the upload proceeds).
#[test]
fn abortive_disconnect_while_an_upload_is_pending_sends_nothing() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let ch = chain_of(&[500], 2);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let segments = sim.peer_state(c.key).segments.len();
    let (term, root) = terminate_tree(&c);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    let req = NblChain::single(&[]);
    let st = sim.call_tcp_io(
        ndis_sim::TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE),
        c.slot_ptr(),
        req.head(),
    );
    assert_eq!(st, NDIS_STATUS_PENDING);
    sim.run_until_idle();
    let rec = sim.peer_state(c.key);
    assert!(!rec.rst_received, "no RST for a connection being uploaded");
    assert_eq!(rec.segments.len(), segments);
    assert!(
        sim.chimney_calls()
            .contains(&ChimneyCall::DisconnectComplete(
                req.head() as usize,
                NDIS_STATUS_REQUEST_ABORTED
            ))
    );
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    // The unacknowledged send goes back with the upload (rule 48).
    assert_eq!(term.chain(2), ch.head());
    finish(sim);
}

#[test]
fn rule_054_hardware_corruption_sequence() {
    let sim = with_adapter();
    let c = offload_with(&sim, 1, 4000, MANUAL, no_nagle, |s| s.delegated.SndUna);
    let sent = chain_of(&[1000], 1);
    send(&sim, &c, &sent);
    sim.run_until_idle();
    assert_eq!(sim.peer_state(c.key).stream.len(), 1000);
    // The port breaks: the next segment is refused, the connection's
    // hardware state is corrupt from here on.
    sim.set_phy_hardware_error(true);
    let stuck = chain_of(&[500], 2);
    send(&sim, &c, &stuck);
    sim.run_until_idle();
    let handle = || -> usize {
        // SAFETY: the tree is ours; the handle field is plain data.
        unsafe { (*c.tree.ptr(c.tcp)).NdisOffloadHandle as usize }
    };
    // (a) The terminate completes with the block failed; nothing handed back.
    let mut first = ndis_sim::builders::Tree::new();
    let b = common::tree::term_tcp(&mut first, c.tree.context(c.tcp));
    run(&sim, StateOpKind::Terminate, &first, b);
    assert_eq!(first.status(b), NDIS_STATUS_FAILURE);
    assert!(first.chain(b).is_null());
    assert!(
        completed(&sim).is_empty(),
        "the sends are still outstanding"
    );
    // (b) Retrieve / HardwareFailure, then (c) Abort, after that completion.
    let calls = sim.chimney_calls();
    let at = |want: &dyn Fn(&ChimneyCall) -> bool| calls.iter().position(want);
    let term_done = at(&|x| {
        matches!(x, ChimneyCall::StateComplete { export, .. } if *export == "NdisMTerminateOffloadComplete")
    })
    .expect("terminate completed");
    let retrieve = at(&|x| {
        *x == ChimneyCall::Event {
            offload_handle: handle(),
            event: TcpIndicateRetrieve,
            info: HardwareFailure,
        }
    })
    .expect("retrieve indicated");
    let abort = at(&|x| {
        matches!(x, ChimneyCall::Event { offload_handle, event, .. }
            if *offload_handle == handle() && *event == TcpIndicateAbort)
    })
    .expect("abort indicated");
    assert!(term_done < retrieve && retrieve < abort, "{calls:?}");
    // (d) The next terminate aborts every outstanding send, (e) completes.
    sim.set_phy_hardware_error(false);
    let before = sim.chimney_calls().len();
    let (term, tcp) = terminate(&sim, &c);
    assert_eq!(term.status(tcp), NDIS_STATUS_SUCCESS);
    assert!(term.chain(tcp).is_null(), "nothing handed back");
    let after = sim.chimney_calls()[before..].to_vec();
    let want: Vec<usize> = addrs(&sent).into_iter().chain(addrs(&stuck)).collect();
    let sends = ndis_sim::exports::chimney::sends_completed(&after);
    assert_eq!(
        sends,
        want.iter()
            .map(|&p| (p, NDIS_STATUS_REQUEST_ABORTED))
            .collect::<Vec<_>>()
    );
    let send_at = after
        .iter()
        .position(|x| matches!(x, ChimneyCall::SendComplete(_)))
        .expect("sends completed");
    let done_at = after
        .iter()
        .position(|x| matches!(x, ChimneyCall::StateComplete { .. }))
        .expect("terminate completed");
    assert!(send_at < done_at);
    finish(sim);
}

#[test]
fn short_frames_are_padded_to_the_ethernet_minimum() {
    let sim = with_adapter();
    // No timestamps: a 1-byte segment is 55 bytes of headers and data.
    let c = offload_with(
        &sim,
        1,
        4000,
        AUTO,
        |s, _| s.konst.Flags &= !TCP_FLAG_TIMESTAMP_ENABLED,
        |s| s.delegated.SndUna,
    );
    let ch = chain_of(&[1], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let frames: Vec<Vec<u8>> = sim
        .captured_frames()
        .into_iter()
        .filter(|f| f.1 == ndis_sim::Direction::FromTarget)
        .map(|f| f.2)
        .collect();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].len(), 60);
    assert_eq!(sim.peer_state(c.key).stream, pattern(0, 1, 1));
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    done(sim, &c);
}

#[test]
fn rule_052_segments_arriving_during_a_terminate_are_left_unprocessed() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let ch = chain_of(&[1000, 2000], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let (term, root) = terminate_tree(&c);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    // An ACK of the first NBL arrives before the terminate is carried out.
    sim.peer_ack(c.key, SND_UNA + 1000, 64_240);
    sim.run_wire_only();
    assert!(completed(&sim).is_empty(), "the ACK was not processed");
    // It went up the ordinary receive path, as received.
    let from_peer = frames_from_peer(&sim);
    assert_eq!(sim.ordinary_frames(), from_peer);
    sim.run_until_idle();
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    // The upload reports the state before that segment and hands back
    // both NBLs: the host's stack owns the connection and the ACK.
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(2, 0);
    assert_eq!(d.SndUna, SND_UNA);
    assert_eq!(term.chain(2), ch.head());
    finish(sim);
}

#[test]
fn rule_088_retrieve_names_one_connection_with_a_reason_never_a_neighbor_or_path() {
    use common::tree::{neighbor, path, tcp};
    let sim = with_adapter();
    let mut t = ndis_sim::builders::Tree::new();
    let n = neighbor(&mut t, 1);
    let p = path(&mut t, 1);
    let a = tcp(&mut t, 1);
    let b = tcp(&mut t, 2);
    t.dependent(n, p);
    t.dependent(p, a);
    t.next(a, b);
    run(&sim, StateOpKind::Initiate, &t, n);
    // Invalidating the neighbor asks for both connections, one call each.
    let mut inv = ndis_sim::builders::Tree::new();
    let root = inv.reference(0, t.context(n), &[]);
    run(&sim, StateOpKind::Invalidate, &inv, root);
    let retrieves: Vec<(usize, u32)> = sim
        .chimney_calls()
        .iter()
        .filter_map(|x| match x {
            ChimneyCall::Event {
                offload_handle,
                event,
                info,
            } if *event == TcpIndicateRetrieve => Some((*offload_handle, *info)),
            _ => None,
        })
        .collect();
    let tcp_handles = [t.offload_handle(a), t.offload_handle(b)];
    assert_eq!(
        retrieves,
        vec![
            (tcp_handles[0], InvalidState),
            (tcp_handles[1], InvalidState)
        ]
    );
    // No event of any kind names the neighbor or the path.
    let others = [t.offload_handle(n), t.offload_handle(p)];
    assert!(sim.chimney_calls().iter().all(|x| match x {
        ChimneyCall::Event { offload_handle, .. } => !others.contains(offload_handle),
        _ => true,
    }));
    let mut term = ndis_sim::builders::Tree::new();
    let tn = common::tree::term_neighbor(&mut term, t.context(n));
    let tp = common::tree::term_path(&mut term, t.context(p));
    let ta = common::tree::term_tcp(&mut term, t.context(a));
    let tb = common::tree::term_tcp(&mut term, t.context(b));
    term.dependent(tn, tp);
    term.dependent(tp, ta);
    term.next(ta, tb);
    run(&sim, StateOpKind::Terminate, &term, tn);
    finish(sim);
}
