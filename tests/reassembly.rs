//! Reassembly: data that arrives beyond RCV.NXT is held (within the
//! advertised window, up to a per-connection limit) and joins the stream
//! once the hole before it fills: every byte delivered once, in order, and
//! acknowledged at once (RFC 5681 §4.2); duplicate ACKs for each segment
//! out of order.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use chimney_miniport::offload::conn::OOO_SEGMENTS;
use common::send::*;
use common::*;
use ndis_sim::Simulator;
use ndis_sim::exports::chimney::receive_indications;
use ndis_sim::peer::flags;

/// The bytes of every accepted chimney indication, in order.
fn indicated(sim: &Simulator) -> Vec<u8> {
    receive_indications(&sim.chimney_calls())
        .into_iter()
        .filter(|x| x.2 == NDIS_STATUS_SUCCESS)
        .flat_map(|x| x.1)
        .collect()
}

/// Ack numbers of the pure ACKs the target sent, in order.
fn acks(sim: &Simulator, c: &Conn) -> Vec<u32> {
    sim.peer_state(c.key)
        .segments
        .iter()
        .filter(|s| s.len == 0 && s.flags == flags::ACK)
        .map(|s| s.ack)
        .collect()
}

fn stream(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 + i / 256) as u8).collect()
}

/// The peer sends `data[from..to]` at its place in the stream.
fn piece(sim: &Simulator, c: &Conn, data: &[u8], from: usize, to: usize) {
    sim.peer_send_at(c.key, RCV_NXT + from as u32, &data[from..to], false);
    sim.run_until_idle();
}

/// Free receive buffers of the adapter's pool.
fn free_buffers(sim: &Simulator) -> usize {
    // SAFETY: the adapter context the driver registered, live until halt.
    let a = unsafe { chimney_miniport::miniport::Adapter::from_context(sim.context()) }
        .expect("adapter");
    a.data.as_ref().expect("data path").rx.available()
}

#[test]
fn held_segments_join_the_stream_when_the_hole_fills() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let data = stream(4000);
    piece(&sim, &c, &data, 1000, 2000);
    piece(&sim, &c, &data, 3000, 4000);
    piece(&sim, &c, &data, 2000, 3000);
    assert!(indicated(&sim).is_empty(), "nothing before the hole fills");
    assert_eq!(acks(&sim, &c), vec![RCV_NXT; 3], "a duplicate ACK for each");
    piece(&sim, &c, &data, 0, 1000);
    assert_eq!(indicated(&sim), data, "every byte once, in order");
    assert_eq!(
        acks(&sim, &c).last(),
        Some(&(RCV_NXT + 4000)),
        "the filling segment is acknowledged at once, with all it joined"
    );
    finish(sim);
}

#[test]
fn overlapping_and_repeated_segments_deliver_each_byte_once() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let data = stream(3000);
    piece(&sim, &c, &data, 1500, 2500);
    piece(&sim, &c, &data, 1000, 2000);
    piece(&sim, &c, &data, 1500, 2500);
    piece(&sim, &c, &data, 2400, 3000);
    piece(&sim, &c, &data, 1100, 1300);
    // The in-order piece reaches into the held ones.
    piece(&sim, &c, &data, 0, 1200);
    assert_eq!(indicated(&sim), data);
    assert_eq!(acks(&sim, &c).last(), Some(&(RCV_NXT + 3000)));
    // Later repeats of anything are old: re-acknowledged, not delivered.
    piece(&sim, &c, &data, 2000, 3000);
    assert_eq!(indicated(&sim), data);
    assert_eq!(acks(&sim, &c).last(), Some(&(RCV_NXT + 3000)));
    finish(sim);
}

#[test]
fn only_data_inside_the_receive_window_is_held() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let data = stream(80_000);
    // The receive window (RFC 9293's RCV.WND: the buffer space the host
    // gave, not its advertisement rounded down to the window scale) ends
    // here, with nothing buffered.
    let edge = c.spec.delegated.RcvWnd as usize;
    assert!(edge > 10_000 && edge < data.len() - 1000, "edge {edge}");
    // A segment straddling the right edge: only its part inside is held.
    piece(&sim, &c, &data, edge - 300, edge + 700);
    let mut at = 0;
    while at < edge - 300 {
        let to = (at + 1000).min(edge - 300);
        piece(&sim, &c, &data, at, to);
        at = to;
    }
    sim.advance_ms(500);
    let got = indicated(&sim);
    assert_eq!(got.len(), edge, "delivered up to the edge, not beyond");
    assert!(got == data[..edge], "the bytes themselves");
    assert_eq!(acks(&sim, &c).last(), Some(&(RCV_NXT + edge as u32)));
    finish(sim);
}

#[test]
fn a_connection_holds_at_most_its_limit_of_segments() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let limit = usize::from(OOO_SEGMENTS);
    let data = stream(1000 + (limit + 6) * 100);
    for i in 0..limit + 6 {
        piece(&sim, &c, &data, 1000 + i * 100, 1100 + i * 100);
    }
    piece(&sim, &c, &data, 0, 1000);
    let joined = 1000 + limit * 100;
    let got = indicated(&sim);
    assert_eq!(got.len(), joined);
    assert!(got == data[..joined]);
    assert_eq!(acks(&sim, &c).last(), Some(&(RCV_NXT + joined as u32)));
    // The peer sends the rest again: now in order.
    piece(&sim, &c, &data, joined, data.len());
    sim.advance_ms(500);
    assert!(indicated(&sim) == data);
    finish(sim);
}

#[test]
fn held_segments_go_back_to_the_pool_at_upload() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let before = free_buffers(&sim);
    let data = stream(6000);
    for k in 1..6 {
        piece(&sim, &c, &data, k * 1000, k * 1000 + 1000);
    }
    assert_eq!(
        free_buffers(&sim),
        before - 5,
        "one buffer per held segment"
    );
    let (_term, d) = uploaded_state(&sim, &c);
    assert_eq!(d.RcvNxt, RCV_NXT, "held data was never acknowledged");
    assert_eq!(free_buffers(&sim), before);
    finish(sim);
}

#[test]
fn filling_the_hole_is_acknowledged_at_once_not_delayed() {
    let sim = with_adapter();
    // The host refuses indications: the data stays buffered, so no window
    // update can stand in for the ACK the fill itself owes.
    sim.set_receive_mode(ndis_sim::exports::chimney::ReceiveMode::Refuse);
    let c = offload_manual(&sim, |_| {});
    let data = stream(2000);
    piece(&sim, &c, &data, 1000, 2000);
    piece(&sim, &c, &data, 0, 1000);
    assert_eq!(acks(&sim, &c), vec![RCV_NXT, RCV_NXT + 2000]);
    finish(sim);
}

/// The SACK blocks (relative to RCV.NXT at offload) of each pure ACK the
/// target sent, in order; an empty list for an ACK without the option.
fn sack_blocks(sim: &Simulator) -> Vec<Vec<(u32, u32)>> {
    use etherparse::{SlicedPacket, TcpOptionElement, TransportSlice};
    sim.captured_frames()
        .into_iter()
        .filter(|f| f.1 == ndis_sim::Direction::FromTarget)
        .filter_map(|(_, _, f)| {
            let p = SlicedPacket::from_ethernet(&f).ok()?;
            let Some(TransportSlice::Tcp(t)) = p.transport else {
                return None;
            };
            if !t.payload().is_empty() || t.syn() || t.fin() || t.rst() {
                return None;
            }
            let mut out = Vec::new();
            for o in t.options_iterator().flatten() {
                if let TcpOptionElement::SelectiveAcknowledgement(first, rest) = o {
                    out.push(first);
                    out.extend(rest.iter().flatten().copied());
                }
            }
            Some(
                out.into_iter()
                    .map(|(l, r)| (l.wrapping_sub(RCV_NXT), r.wrapping_sub(RCV_NXT)))
                    .collect(),
            )
        })
        .collect()
}

fn offload_sack(sim: &Simulator) -> Conn {
    offload_manual(sim, |s| s.konst.Flags |= TCP_FLAG_SACK_ENABLED)
}

#[test]
fn with_sack_the_acks_report_held_data_the_latest_block_first() {
    let sim = with_adapter();
    // Refused indications keep the data buffered: no window updates come
    // between the ACKs this test reads.
    sim.set_receive_mode(ndis_sim::exports::chimney::ReceiveMode::Refuse);
    let c = offload_sack(&sim);
    let data = stream(7000);
    piece(&sim, &c, &data, 1000, 2000);
    piece(&sim, &c, &data, 3000, 4000);
    piece(&sim, &c, &data, 5000, 6000);
    // The block that joins two others, then the hole at the front.
    piece(&sim, &c, &data, 2000, 3000);
    piece(&sim, &c, &data, 0, 1000);
    piece(&sim, &c, &data, 4000, 5000);
    assert_eq!(
        sack_blocks(&sim),
        vec![
            vec![(1000, 2000)],
            vec![(3000, 4000), (1000, 2000)],
            vec![(5000, 6000), (1000, 2000), (3000, 4000)],
            vec![(1000, 4000), (5000, 6000)],
            // RCV.NXT moved to 4000: the latest held went in; the rest is listed.
            vec![(5000, 6000)],
            // Nothing held any more: no SACK option.
            vec![],
        ]
    );
    assert_eq!(
        acks(&sim, &c),
        vec![
            RCV_NXT,
            RCV_NXT,
            RCV_NXT,
            RCV_NXT,
            RCV_NXT + 4000,
            RCV_NXT + 6000
        ]
    );
    finish(sim);
}

#[test]
fn without_sack_no_ack_carries_the_option() {
    let sim = with_adapter();
    sim.set_receive_mode(ndis_sim::exports::chimney::ReceiveMode::Refuse);
    let c = offload_manual(&sim, |_| {});
    let data = stream(3000);
    piece(&sim, &c, &data, 1000, 2000);
    piece(&sim, &c, &data, 2000, 3000);
    piece(&sim, &c, &data, 0, 1000);
    assert_eq!(sack_blocks(&sim), vec![Vec::<(u32, u32)>::new(); 3]);
    finish(sim);
}

#[test]
fn a_segment_filling_part_of_a_gap_is_acknowledged_at_once() {
    let sim = with_adapter();
    sim.set_receive_mode(ndis_sim::exports::chimney::ReceiveMode::Refuse);
    let c = offload_sack(&sim);
    let data = stream(3000);
    piece(&sim, &c, &data, 2000, 3000);
    // In order, but the hole at 1000..2000 remains: ACK now, not delayed.
    piece(&sim, &c, &data, 0, 1000);
    assert_eq!(acks(&sim, &c), vec![RCV_NXT, RCV_NXT + 1000]);
    assert_eq!(sack_blocks(&sim)[1], vec![(2000, 3000)]);
    finish(sim);
}
