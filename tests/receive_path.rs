//! Received data on offloaded connections, through the registered handlers:
//! buffered data handed over at offload (rules 26, 27, 29), data from the
//! peer held, acknowledged (delayed ACK) and indicated, handed back at
//! terminate and returned through `MiniportTcpOffloadReceiveReturn`
//! (rules 50, 51), and the ordinary receive path for segments that arrive
//! while a terminate is pending (rule 52).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::tree::run;
use common::*;
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::chimney::{ReceiveMode, receive_indications};
use ndis_sim::peer::flags;
use ndis_sim::{AckPolicy, StateOpKind, Violation};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const MANUAL: AckPolicy = AckPolicy::Manual;

/// The bytes of every accepted chimney indication, in order.
fn indicated(sim: &ndis_sim::Simulator) -> Vec<u8> {
    receive_indications(&sim.chimney_calls())
        .into_iter()
        .filter(|x| x.2 == NDIS_STATUS_SUCCESS)
        .flat_map(|x| x.1)
        .collect()
}

/// Pure ACKs (no data, no SYN/FIN/RST) the target sent, as ack numbers.
fn pure_acks(sim: &ndis_sim::Simulator, c: &Conn) -> Vec<u32> {
    sim.peer_state(c.key)
        .segments
        .iter()
        .filter(|s| s.len == 0 && s.flags == flags::ACK)
        .map(|s| s.ack)
        .collect()
}

/// A BufferedData chain of awkward shape: two NBLs, the first with two
/// NET_BUFFERs (an offset and an MDL split), `total` bytes in all.
fn buffered_chain(total: usize) -> (NblChain, Vec<u8>) {
    let a = total / 3;
    let b = total / 4;
    let c = total - a - b;
    let shape = vec![
        vec![
            NbSpec {
                mdl_sizes: vec![a / 2 + 7, a - a / 2 - 7 + 40],
                offset: 40,
            },
            NbSpec {
                mdl_sizes: vec![b],
                offset: 0,
            },
        ],
        vec![NbSpec {
            mdl_sizes: vec![c],
            offset: 0,
        }],
    ];
    let sizes = [a, b, c];
    let chain = NblChain::build(&shape, |k, j| {
        let i = if k == 0 { j } else { 2 };
        pattern(i, sizes[i], 0x5A)
    });
    let bytes = chain_bytes(&chain, &shape);
    assert_eq!(bytes.len(), total);
    (chain, bytes)
}

#[test]
fn rule_026_buffered_data_is_copied_before_the_completion_and_not_referenced_after() {
    let sim = with_adapter();
    let (data, want) = buffered_chain(5000);
    let before: Vec<Vec<u8>> = (0..2).map(|k| data.payload(k, 0)).collect();
    // Inside the initiate completion the host wipes its buffers: had the
    // driver kept a reference instead of a copy, it would deliver 0xEE.
    let ranges = data.data_ranges();
    let host_intact = Arc::new(AtomicUsize::new(0));
    let seen = host_intact.clone();
    let expect_first = before.clone();
    let head = data.head() as usize;
    *sim.core.on_state_complete.lock().unwrap() = Some(Box::new(move |export, _| {
        if export != "NdisMInitiateOffloadComplete" {
            return;
        }
        // Rule 25's other half: the host's NBLs are unmodified.
        let chain = head as PNET_BUFFER_LIST;
        // SAFETY: the test's own chain, alive for the whole test.
        let first = unsafe {
            ndis_sim::builders::read_net_buffer(
                (*chain)
                    .NetBufferListHeader
                    .NetBufferListData
                    .FirstNetBuffer,
            )
        };
        if first == expect_first[0] {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        for &(p, len) in &ranges {
            // SAFETY: the test's own data buffers.
            unsafe { std::ptr::write_bytes(p as *mut u8, 0xEE, len) };
        }
    }));
    let c = offload_with(
        &sim,
        1,
        4000,
        MANUAL,
        |s, _| {
            s.delegated.Receive.BufferedData = data.head();
        },
        |s| s.delegated.SndUna,
    );
    *sim.core.on_state_complete.lock().unwrap() = None;
    assert_eq!(host_intact.load(Ordering::SeqCst), 1);
    sim.run_until_idle();
    assert_eq!(indicated(&sim), want, "the copy, not the wiped host bytes");
    // Every indication named this connection's offload handle.
    let handle = c.tree.offload_handle(c.tcp);
    assert!(
        receive_indications(&sim.chimney_calls())
            .iter()
            .all(|x| x.0 == handle)
    );
    drop(data);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_027_unbufferable_received_data_fails_the_tcp_block() {
    let mut sim = loaded();
    sim.set_config("*ReceiveBuffers", 16);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
    let mut t = ndis_sim::builders::Tree::new();
    let n = common::tree::neighbor(&mut t, 1);
    let p = common::tree::path(&mut t, 1);
    t.dependent(n, p);
    // 16 buffers of 2 KiB cannot hold 40,000 bytes.
    let (big, want) = buffered_chain(40_000);
    let mut spec = ndis_sim::builders::TcpSpec::established(1, 2);
    spec.delegated.Receive.BufferedData = big.head();
    let c1 = t.new_tcp(&spec);
    // A malformed BufferedData NBL (NULL MDL) fails the same way.
    let bad = NblChain::single(b"xyz");
    // SAFETY: the test's own NBL.
    unsafe {
        (*(*bad.head())
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer)
            .NetBufferHeader
            .NetBufferData
            .CurrentMdl = std::ptr::null_mut();
    }
    let mut spec2 = ndis_sim::builders::TcpSpec::established(3, 2);
    spec2.delegated.Receive.BufferedData = bad.head();
    let c2 = t.new_tcp(&spec2);
    t.dependent(p, c1);
    t.next(c1, c2);
    run(&sim, StateOpKind::Initiate, &t, n);
    for c in [c1, c2] {
        assert_eq!(t.status(c), NDIS_STATUS_FAILURE);
        assert_eq!(t.context(c), 0);
    }
    assert_eq!(common::tree::live(&sim).2, 0);
    // The host's data is untouched.
    let mut host = big.payload(0, 0);
    host.extend(big.payload(0, 1));
    host.extend(big.payload(1, 0));
    assert_eq!(host, want);
    assert!(indicated(&sim).is_empty());
    // Every buffer came back: a connection whose data fits (20 KiB) now
    // offloads, and its bytes arrive intact.
    let (fits, want_fits) = buffered_chain(20_000);
    let conn = offload_with(
        &sim,
        2,
        4001,
        MANUAL,
        |s, _| s.delegated.Receive.BufferedData = fits.head(),
        |s| s.delegated.SndUna,
    );
    sim.run_until_idle();
    assert_eq!(indicated(&sim), want_fits);
    terminate(&sim, &conn);
    let mut term = ndis_sim::builders::Tree::new();
    let a = common::tree::term_neighbor(&mut term, t.context(n));
    let b = common::tree::term_path(&mut term, t.context(p));
    term.dependent(a, b);
    run(&sim, StateOpKind::Terminate, &term, a);
    assert_eq!(term.status(a), NDIS_STATUS_SUCCESS);
    finish(sim);
}

#[test]
fn rule_029_no_receive_indication_before_the_initiate_completion_returned() {
    let sim = with_adapter();
    let (data, want) = buffered_chain(3000);
    // Inside the completion call: nothing indicated yet.
    let core = sim.core.clone();
    let at_completion = Arc::new(AtomicUsize::new(usize::MAX));
    let seen = at_completion.clone();
    *sim.core.on_state_complete.lock().unwrap() = Some(Box::new(move |export, _| {
        if export == "NdisMInitiateOffloadComplete" {
            let n = receive_indications(&core.chimney.lock().unwrap().calls).len();
            seen.store(n, Ordering::SeqCst);
        }
    }));
    let c = offload_with(
        &sim,
        1,
        4000,
        MANUAL,
        |s, _| s.delegated.Receive.BufferedData = data.head(),
        |s| s.delegated.SndUna,
    );
    *sim.core.on_state_complete.lock().unwrap() = None;
    sim.run_until_idle();
    assert_eq!(at_completion.load(Ordering::SeqCst), 0);
    // Afterwards the data is indicated (the simulator also checks every
    // indication names a handle whose initiate completion has returned).
    assert_eq!(indicated(&sim), want);
    terminate(&sim, &c);
    finish(sim);
}

/// Call the simulator's receive handler directly with `handle`, as a
/// broken driver would, and return the violations it recorded.
fn indicate_directly(sim: &ndis_sim::Simulator, handle: usize) -> Vec<Violation> {
    sim.enter();
    let table = ndis_sim::exports::chimney::tcp_event_handlers();
    let f = table.NdisTcpOffloadReceiveHandler.unwrap();
    let nbl = NblChain::single(b"stray");
    let mut consumed = 0;
    // SAFETY: a well-formed call into the simulator's handler, at DISPATCH_LEVEL.
    ndis_sim::irql::at_dispatch(|| unsafe {
        f(
            handle as NDIS_HANDLE,
            nbl.head(),
            NDIS_STATUS_SUCCESS,
            &mut consumed,
        )
    });
    let mut v = sim.core.take_violations();
    v.extend(ndis_sim::state::ORPHANS.lock().unwrap().drain(..));
    v
}

fn not_offloaded(v: &[Violation]) -> bool {
    v.iter().any(|x| {
        matches!(
            x,
            Violation::BadArgument { export, detail }
                if *export == "NdisTcpOffloadReceiveHandler" && detail.contains("not offloaded")
        )
    })
}

#[test]
fn rule_029_047_the_simulator_catches_indications_outside_the_offloaded_lifetime() {
    let sim = with_adapter();
    // Never offloaded.
    assert!(not_offloaded(&indicate_directly(&sim, 0x0FF1_7777)));
    let c = offload(&sim, 1, 4000, MANUAL);
    let h = c.tree.offload_handle(c.tcp);
    // Offloaded: accepted without complaint (the NBL is not the driver's,
    // which the lending check reports; only the lifetime is asserted here).
    assert!(!not_offloaded(&indicate_directly(&sim, h)));
    terminate(&sim, &c);
    // Terminated (rule 47): the handle is dead.
    assert!(not_offloaded(&indicate_directly(&sim, h)));
    finish(sim);
}

/// Offload a connection whose host refuses indications, so data stays held.
fn refusing(sim: &ndis_sim::Simulator, port: u16) -> Conn {
    sim.set_receive_mode(ReceiveMode::Refuse);
    offload(sim, 1, port, MANUAL)
}

#[test]
fn rule_050_buffered_data_handed_back_stays_untouched_until_returned() {
    let sim = with_adapter();
    let c = refusing(&sim, 4000);
    let data: Vec<u8> = (0..6000u32).map(|i| (i * 7) as u8).collect();
    for part in data.chunks(1400) {
        sim.peer_send(c.key, part, true);
    }
    sim.run_until_idle();
    // One refused indication (the first buffer), then nothing more.
    let ind = receive_indications(&sim.chimney_calls());
    assert_eq!(ind.len(), 1);
    assert_eq!(ind[0].2, NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED);
    // Everything was acknowledged (the last ACK after the delayed-ACK
    // time: five segments), nothing delivered.
    sim.advance_ms(250);
    assert_eq!(
        sim.peer_state(c.key).segments.last().map(|s| s.ack),
        Some(RCV_NXT + 6000)
    );
    let (term, tcp) = terminate(&sim, &c);
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
    assert_eq!(d.RcvNxt, RCV_NXT + 6000);
    // SAFETY: the BufferedData member is what terminate fills.
    let chain = unsafe { d.Receive.BufferedData };
    assert!(!chain.is_null());
    sim.hold_lent(true);
    assert_eq!(sim.host_takes_buffered(chain), data);
    let lent = sim.lent_count();
    assert!(lent >= 3, "{lent} NBLs");
    // More traffic while the host holds them: other frames need buffers
    // (the ordinary path), and none may be the lent ones.
    let c2 = offload(&sim, 2, 4001, MANUAL);
    sim.set_receive_mode(ReceiveMode::Accept);
    for i in 0..40u8 {
        sim.peer_send(c2.key, &[i; 1000], true);
        sim.inject_frame(vec![0xFF; 60]);
    }
    sim.run_until_idle();
    let now_lent = sim.lent_count();
    assert!(
        now_lent > lent,
        "the new traffic was lent from other buffers"
    );
    // Returning them checks each is byte-for-byte what was lent (a reused
    // buffer would show as a changed NBL: a violation at finish).
    assert_eq!(sim.return_lent(), now_lent);
    sim.hold_lent(false);
    terminate(&sim, &c2);
    finish(sim);
}

#[test]
fn rule_051_pending_delayed_ack_is_sent_before_the_terminate_completes() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    // One segment: below TcpAckFrequency (2), so its ACK is delayed.
    sim.peer_send(c.key, &[7u8; 300], true);
    sim.run_until_idle();
    assert!(pure_acks(&sim, &c).is_empty(), "the ACK is delayed");
    assert_eq!(indicated(&sim), vec![7u8; 300]);
    // When the terminate completes, the ACK is already in the NIC's ring.
    let core = sim.core.clone();
    let sent_at_completion = Arc::new(AtomicUsize::new(0));
    let seen = sent_at_completion.clone();
    *sim.core.on_state_complete.lock().unwrap() = Some(Box::new(move |export, _| {
        if export == "NdisMTerminateOffloadComplete" {
            let n = core.phy.lock().unwrap().frames_sent;
            seen.store(n as usize, Ordering::SeqCst);
        }
    }));
    let before = sim.frames_sent();
    terminate(&sim, &c);
    *sim.core.on_state_complete.lock().unwrap() = None;
    assert_eq!(sent_at_completion.load(Ordering::SeqCst) as u64, before + 1);
    assert_eq!(pure_acks(&sim, &c), vec![RCV_NXT + 300]);
    finish(sim);
}

#[test]
fn delayed_ack_fires_after_tcp_delayed_ack_ticks_and_every_second_segment_is_acked_at_once() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    sim.peer_send(c.key, &[1u8; 500], false);
    sim.run_until_idle();
    assert!(pure_acks(&sim, &c).is_empty());
    sim.advance_ms(199);
    assert!(pure_acks(&sim, &c).is_empty(), "not before 200 ms");
    sim.advance_ms(2);
    assert_eq!(pure_acks(&sim, &c), vec![RCV_NXT + 500]);
    // Two segments: the second is acknowledged at once.
    sim.peer_send(c.key, &[2u8; 500], false);
    sim.peer_send(c.key, &[3u8; 500], false);
    sim.run_until_idle();
    assert_eq!(pure_acks(&sim, &c), vec![RCV_NXT + 500, RCV_NXT + 1500]);
    sim.advance_ms(500);
    let acks = pure_acks(&sim, &c).len();
    assert_eq!(acks, 2, "nothing owed");
    assert_eq!(indicated(&sim).len(), 1500);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_052_data_arriving_during_a_terminate_goes_up_the_ordinary_path_unprocessed() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let (term, root) = terminate_tree(&c);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    sim.peer_send(c.key, b"arrives during the terminate", true);
    sim.run_wire_only();
    let from_peer = frames_from_peer(&sim);
    assert_eq!(from_peer.len(), 1);
    // The frame went up whole, as received; nothing was ACKed or indicated.
    assert_eq!(sim.ordinary_frames(), from_peer);
    assert!(sim.peer_state(c.key).segments.is_empty());
    assert!(receive_indications(&sim.chimney_calls()).is_empty());
    sim.run_until_idle();
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(2, 0);
    assert_eq!(d.RcvNxt, RCV_NXT, "the segment was not processed");
    // SAFETY: the BufferedData member is what terminate fills.
    assert!(unsafe { d.Receive.BufferedData }.is_null());
    finish(sim);
}

#[test]
fn rule_052_with_sack_data_beyond_the_cumulative_ack_is_dropped_during_a_terminate() {
    let sim = with_adapter();
    let c = offload_with(
        &sim,
        1,
        4000,
        MANUAL,
        |s, _| s.konst.Flags |= TCP_FLAG_SACK_ENABLED,
        |s| s.delegated.SndUna,
    );
    let (term, root) = terminate_tree(&c);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    sim.peer_send(c.key, b"new data", true);
    // A pure ACK (nothing beyond the cumulative ACK) still goes up.
    sim.peer_ack(c.key, SND_UNA, 64_240);
    sim.run_wire_only();
    let frames = sim.ordinary_frames();
    assert_eq!(frames.len(), 1, "only the pure ACK went up");
    let from_peer = frames_from_peer(&sim);
    assert_eq!(frames[0], from_peer[1]);
    sim.run_until_idle();
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    finish(sim);
}

#[test]
fn frames_for_no_offloaded_connection_go_up_the_ordinary_path_and_come_back() {
    let sim = with_adapter();
    let frames: Vec<Vec<u8>> = (0..1000u32)
        .map(|i| {
            let mut f = vec![0u8; 60 + (i as usize % 1400)];
            f[..6].copy_from_slice(&ndis_sim::exports::phy::DEFAULT_MAC);
            f[12] = 0x08;
            f[13] = 0x06; // ARP
            f[20] = i as u8;
            f
        })
        .collect();
    for f in &frames {
        sim.inject_frame(f.clone());
        sim.run_until_idle();
    }
    assert_eq!(sim.ordinary_frames(), frames);
    // 1000 frames through a 512-buffer pool: every buffer came back.
    assert_eq!(sim.lent_count(), 0);
    finish(sim);
}

#[test]
fn rule_073_indications_are_one_nbl_with_one_net_buffer_and_status_success() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 11) as u8).collect();
    for part in data.chunks(1400) {
        sim.peer_send(c.key, part, true);
    }
    sim.run_until_idle();
    // Several indications (one receive buffer each); the simulator checks
    // every one is a single NBL with one NET_BUFFER and SUCCESS status.
    let ind = receive_indications(&sim.chimney_calls());
    assert!(ind.len() >= 3, "{} indications", ind.len());
    assert!(ind.iter().all(|x| x.2 == NDIS_STATUS_SUCCESS));
    assert_eq!(indicated(&sim), data);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_074_indicated_nbls_stay_untouched_until_returned() {
    let sim = with_adapter();
    sim.hold_lent(true);
    let c = offload(&sim, 1, 4000, MANUAL);
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 5) as u8).collect();
    for part in data.chunks(1000) {
        sim.peer_send(c.key, part, true);
    }
    sim.run_until_idle();
    assert_eq!(indicated(&sim), data);
    let held = sim.lent_count();
    assert!(held >= 2, "{held} NBLs held by the host");
    // More traffic needs buffers while the host holds these: none of the
    // held ones may be reused or changed (checked byte for byte at return).
    for i in 0..30u8 {
        sim.peer_send(c.key, &[i; 900], true);
        sim.inject_frame(vec![0xFF; 60]);
    }
    sim.run_until_idle();
    let now_held = sim.lent_count();
    assert!(now_held > held);
    assert_eq!(sim.return_lent(), now_held);
    sim.hold_lent(false);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_078_halt_waits_until_every_lent_receive_nbl_is_back() {
    let mut sim = with_adapter();
    sim.hold_lent(true);
    let c = offload(&sim, 1, 4000, MANUAL);
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 3) as u8).collect();
    for part in data.chunks(1000) {
        sim.peer_send(c.key, part, true);
    }
    // And a frame for the ordinary path, held too.
    sim.inject_frame(vec![0xFF; 60]);
    sim.run_until_idle();
    assert_eq!(indicated(&sim), data);
    let (term, tcp) = terminate(&sim, &c);
    drop((term, tcp));
    let lent = sim.lent_count();
    assert!(lent >= 3, "{lent} NBLs with the host");
    // The host gives them back only while the driver waits in its halt: a
    // driver that freed its receive pool first would free NBLs NDIS still
    // owns (a violation), or halt with them never returned.
    let back = sim.halt_with_lent_outstanding();
    assert_eq!(back, lent);
    sim.unload();
    sim.assert_clean();
    assert!(sim.core.live_resources().is_empty());
}

/// An ARP-like frame to the port, tagged with `tci` if given.
fn ordinary_frame(tag: u8, tci: Option<u16>) -> Vec<u8> {
    let mut f = ndis_sim::exports::phy::DEFAULT_MAC.to_vec();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 9]);
    if let Some(t) = tci {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&t.to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x06]);
    f.extend((0..50).map(|i| tag.wrapping_add(i)));
    f
}

#[test]
fn tagged_frames_go_up_untagged_with_the_tag_out_of_band() {
    let sim = with_adapter();
    sim.inject_frame(ordinary_frame(1, None));
    sim.inject_frame(ordinary_frame(2, Some((5 << 13) | 0x123)));
    sim.inject_frame(ordinary_frame(3, Some(6 << 13)));
    sim.run_until_idle();
    assert_eq!(
        sim.ordinary_frames(),
        vec![
            ordinary_frame(1, None),
            ordinary_frame(2, None),
            ordinary_frame(3, None)
        ]
    );
    // UserPriority in bits 0-2, VlanId in bits 4-15.
    assert_eq!(sim.ordinary_8021q(), vec![0, 5 | (0x123 << 4), 6]);
    finish(sim);
}

#[test]
fn with_a_vlan_id_frames_of_other_vlans_are_dropped() {
    let mut sim = loaded();
    sim.set_config("*VlanID", 5);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
    sim.inject_frame(ordinary_frame(1, Some(7)));
    sim.inject_frame(ordinary_frame(2, Some(5)));
    sim.inject_frame(ordinary_frame(3, Some(3 << 13)));
    sim.inject_frame(ordinary_frame(4, None));
    sim.run_until_idle();
    assert_eq!(
        sim.ordinary_frames(),
        vec![
            ordinary_frame(2, None),
            ordinary_frame(3, None),
            ordinary_frame(4, None)
        ]
    );
    assert_eq!(sim.ordinary_8021q(), vec![5 << 4, 3, 0]);
    finish(sim);
}
