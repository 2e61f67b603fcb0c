//! The ordinary transmit path: MiniportSendNetBufferLists puts the host's
//! own frames on the wire through the hardware port, one frame per
//! NET_BUFFER, in order, and completes each NBL once, with a defined status.

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::*;
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::phy::DEFAULT_MAC;
use ndis_sim::{Direction, Simulator};

/// `NDIS_STATUS_SEND_ABORTED` (ndis.h).
const SEND_ABORTED: NDIS_STATUS = NDIS_STATUS_REQUEST_ABORTED;

/// An Ethernet frame from the port (local experimental EtherType 0x88B5)
/// of `len` bytes in all, its body tagged with `tag`.
fn frame(tag: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0x33, 0x33, 0, 0, 0, tag];
    f.extend_from_slice(&DEFAULT_MAC);
    f.extend_from_slice(&[0x88, 0xB5]);
    f.extend((0..len.saturating_sub(14)).map(|i| tag.wrapping_add(i as u8)));
    f
}

/// One NBL per entry, each with that many frames (`frame(nbl * 16 + nb)`),
/// each frame split across two MDLs after an 8-byte offset.
fn chain(nbls: &[usize], len: usize) -> NblChain {
    let shape: Vec<Vec<NbSpec>> = nbls
        .iter()
        .map(|&n| {
            vec![
                NbSpec {
                    mdl_sizes: vec![len / 2, len - len / 2],
                    offset: 8,
                };
                n
            ]
        })
        .collect();
    NblChain::build(&shape, |i, j| frame((i * 16 + j) as u8, len))
}

/// An adapter whose port's transmit ring holds `depth` frames.
fn with_ring(depth: u32) -> Simulator {
    let mut sim = loaded();
    sim.set_phy_ring_depth(depth);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
    sim
}

fn wire_frames(sim: &Simulator) -> Vec<Vec<u8>> {
    sim.captured_frames()
        .into_iter()
        .filter(|(_, d, _)| *d == Direction::FromTarget)
        .map(|(_, _, f)| f)
        .collect()
}

fn statuses(sim: &Simulator, c: &NblChain) -> Vec<Option<NDIS_STATUS>> {
    let done = sim.send_completions();
    c.nbls()
        .iter()
        .map(|p| {
            let mine: Vec<_> = done.iter().filter(|(a, _)| *a == *p as usize).collect();
            assert!(mine.len() <= 1, "NBL {p:?} completed {} times", mine.len());
            mine.first().map(|(_, s)| *s)
        })
        .collect()
}

fn counter(sim: &Simulator, oid: NDIS_OID) -> u64 {
    let r = sim.oid_query(oid, 8);
    assert_eq!(r.status, NDIS_STATUS_SUCCESS);
    u64::from_le_bytes(r.data[..8].try_into().unwrap())
}

#[test]
fn ordinary_frames_reach_the_wire_in_order_byte_for_byte() {
    let sim = with_adapter();
    let c = chain(&[1, 3, 2], 200);
    sim.send_net_buffer_lists(c.head());
    sim.run_until_idle();
    let want: Vec<Vec<u8>> = [(0, 1), (1, 3), (2, 2)]
        .iter()
        .flat_map(|&(i, n)| (0..n).map(move |j| frame((i * 16 + j) as u8, 200)))
        .collect();
    assert_eq!(wire_frames(&sim), want);
    assert_eq!(statuses(&sim, &c), vec![Some(NDIS_STATUS_SUCCESS); 3]);
    assert_eq!(counter(&sim, OID_GEN_XMIT_OK), 3);
    assert_eq!(counter(&sim, OID_GEN_XMIT_ERROR), 0);
    finish(sim);
}

#[test]
fn short_frames_are_padded_to_the_ethernet_minimum() {
    let sim = with_adapter();
    let c = chain(&[1], 42);
    sim.send_net_buffer_lists(c.head());
    sim.run_until_idle();
    let mut want = frame(0, 42);
    want.resize(60, 0);
    assert_eq!(wire_frames(&sim), vec![want]);
    finish(sim);
}

#[test]
fn a_full_ring_holds_frames_until_transmit_ready_then_completes_in_order() {
    let sim = with_ring(2);
    sim.hold_wire(true);
    let c = chain(&[2, 2, 1], 100);
    sim.send_net_buffer_lists(c.head());
    // Two frames fit: the first NBL is done, the second waits half sent.
    assert_eq!(
        statuses(&sim, &c),
        vec![Some(NDIS_STATUS_SUCCESS), None, None]
    );
    assert_eq!(sim.ring_len(), 2);
    // A later call queues behind the waiting NBLs.
    let later = chain(&[1], 100);
    sim.send_net_buffer_lists(later.head());
    assert_eq!(statuses(&sim, &later), vec![None]);
    sim.hold_wire(false);
    sim.run_until_idle();
    assert_eq!(statuses(&sim, &c), vec![Some(NDIS_STATUS_SUCCESS); 3]);
    assert_eq!(statuses(&sim, &later), vec![Some(NDIS_STATUS_SUCCESS)]);
    let want: Vec<Vec<u8>> = [0u8, 1, 16, 17, 32, 0]
        .iter()
        .map(|&t| frame(t, 100))
        .collect();
    assert_eq!(
        wire_frames(&sim),
        want,
        "no frame lost, repeated or reordered"
    );
    // The completion order is the submission order.
    let order: Vec<usize> = sim.send_completions().iter().map(|(a, _)| *a).collect();
    let submitted: Vec<usize> = c
        .nbls()
        .iter()
        .chain(later.nbls().iter())
        .map(|p| *p as usize)
        .collect();
    assert_eq!(order, submitted);
    finish(sim);
}

#[test]
fn pause_fails_waiting_frames_with_paused_and_sends_while_paused_too() {
    let sim = with_ring(1);
    sim.hold_wire(true);
    let c = chain(&[1, 1, 1], 80);
    sim.send_net_buffer_lists(c.head());
    assert_eq!(
        statuses(&sim, &c),
        vec![Some(NDIS_STATUS_SUCCESS), None, None]
    );
    assert_eq!(sim.pause(), NDIS_STATUS_SUCCESS);
    assert_eq!(
        statuses(&sim, &c),
        vec![
            Some(NDIS_STATUS_SUCCESS),
            Some(NDIS_STATUS_PAUSED),
            Some(NDIS_STATUS_PAUSED)
        ]
    );
    let during = chain(&[1], 80);
    sim.send_net_buffer_lists(during.head());
    assert_eq!(statuses(&sim, &during), vec![Some(NDIS_STATUS_PAUSED)]);
    sim.hold_wire(false);
    sim.run_until_idle();
    assert_eq!(wire_frames(&sim), vec![frame(0, 80)]);
    assert_eq!(counter(&sim, OID_GEN_XMIT_ERROR), 3);
    assert_eq!(sim.restart(), NDIS_STATUS_SUCCESS);
    let after = chain(&[1], 80);
    sim.send_net_buffer_lists(after.head());
    sim.run_until_idle();
    assert_eq!(statuses(&sim, &after), vec![Some(NDIS_STATUS_SUCCESS)]);
    finish(sim);
}

#[test]
fn cancel_send_aborts_only_the_waiting_nbls_with_that_id() {
    let sim = with_ring(1);
    sim.hold_wire(true);
    let c = chain(&[1, 1, 1, 1], 80);
    let nbls = c.nbls();
    for (i, id) in [(0usize, 7usize), (1, 7), (2, 9), (3, 7)] {
        let p = nbls[i];
        // SAFETY: the builder's live NBLs; the test owns them until sent.
        unsafe { (*p).NetBufferListInfo[NetBufferListCancelId as usize] = id as PVOID };
    }
    sim.send_net_buffer_lists(c.head());
    sim.cancel_send(7);
    assert_eq!(
        statuses(&sim, &c),
        vec![
            Some(NDIS_STATUS_SUCCESS),
            Some(SEND_ABORTED),
            None,
            Some(SEND_ABORTED)
        ],
        "the first was on the ring already; the one with another id waits on"
    );
    sim.hold_wire(false);
    sim.run_until_idle();
    assert_eq!(statuses(&sim, &c)[2], Some(NDIS_STATUS_SUCCESS));
    assert_eq!(wire_frames(&sim), vec![frame(0, 80), frame(32, 80)]);
    finish(sim);
}

#[test]
fn malformed_ordinary_nbls_fail_alone_and_are_counted() {
    let sim = with_adapter();
    let c = chain(&[1, 1, 1, 1, 1, 1], 100);
    let nbls = c.nbls();
    // SAFETY: the builder's live NBLs, changed before they are sent.
    unsafe {
        let nb = |i: usize| {
            (*nbls[i])
                .NetBufferListHeader
                .NetBufferListData
                .FirstNetBuffer
        };
        (*nb(1))
            .NetBufferHeader
            .NetBufferData
            .NbDataLength
            .DataLength = 300;
        (*nb(2)).NetBufferHeader.NetBufferData.CurrentMdl = std::ptr::null_mut();
        (*nb(4))
            .NetBufferHeader
            .NetBufferData
            .NbDataLength
            .DataLength = 10;
        let third = nbls[3];
        (*third)
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer = std::ptr::null_mut();
    }
    let big = chain(&[1], 1600);
    // Link the oversized frame's NBL after the others.
    let last = nbls[5];
    // SAFETY: both chains are live; the last NBL of `c` gets a successor.
    unsafe { (*last).NetBufferListHeader.NetBufferListData.Next = big.head() };
    sim.send_net_buffer_lists(c.head());
    sim.run_until_idle();
    assert_eq!(
        statuses(&sim, &c),
        vec![
            Some(NDIS_STATUS_SUCCESS),
            Some(NDIS_STATUS_INVALID_PARAMETER),
            Some(NDIS_STATUS_INVALID_PARAMETER),
            Some(NDIS_STATUS_INVALID_PARAMETER),
            Some(NDIS_STATUS_INVALID_LENGTH),
            Some(NDIS_STATUS_SUCCESS)
        ]
    );
    assert_eq!(statuses(&sim, &big), vec![Some(NDIS_STATUS_INVALID_LENGTH)]);
    assert_eq!(wire_frames(&sim), vec![frame(0, 100), frame(80, 100)]);
    assert_eq!(counter(&sim, OID_GEN_XMIT_OK), 2);
    assert_eq!(counter(&sim, OID_GEN_XMIT_ERROR), 5);
    finish(sim);
}

#[test]
fn an_nbl_with_8021q_info_goes_out_tagged() {
    let sim = with_adapter();
    let c = chain(&[1], 100);
    // UserPriority 5, VlanId 0x2A (bits 0-2 and 4-15 of the info ULONG).
    // SAFETY: the builder's live NBL, before it is sent.
    unsafe {
        (*c.head()).NetBufferListInfo[Ieee8021QNetBufferListInfo as usize] =
            (5usize | (0x2A << 4)) as PVOID;
    }
    sim.send_net_buffer_lists(c.head());
    sim.run_until_idle();
    let plain = frame(0, 100);
    let mut want = plain[..12].to_vec();
    want.extend_from_slice(&[0x81, 0x00, 0xA0, 0x2A]);
    want.extend_from_slice(&plain[12..]);
    assert_eq!(wire_frames(&sim), vec![want]);
    finish(sim);
}
