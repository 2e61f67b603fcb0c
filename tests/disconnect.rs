//! Graceful disconnect (`MiniportTcpOffloadDisconnect` with
//! `TCP_DISCONNECT_GRACEFUL_CLOSE`, spec §6.8), through the registered
//! handler: the request's data and FIN follow the queued sends without
//! waiting for ACKs, the sends complete first, the request succeeds only
//! once data and FIN are acknowledged, and it fails only on upload or abort.
//! Also the TCP states the FINs leave behind, as the upload reports them.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::builders::NblChain;
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::harness::TcpIoKind;
use ndis_sim::peer::flags;
use ndis_sim::{AckPolicy, Simulator, StateOpKind};

const MANUAL: AckPolicy = AckPolicy::Manual;

fn graceful(sim: &Simulator, c: &Conn, req: &NblChain) -> NDIS_STATUS {
    sim.call_tcp_io(
        TcpIoKind::Disconnect(TCP_DISCONNECT_GRACEFUL_CLOSE),
        c.slot_ptr(),
        req.head(),
    )
}

/// Index in the call log and status of the request's disconnect completion.
fn disconnect_done(sim: &Simulator, req: &NblChain) -> Option<(usize, NDIS_STATUS)> {
    let calls = sim.chimney_calls();
    let mut found = None;
    for (i, x) in calls.iter().enumerate() {
        if let ChimneyCall::DisconnectComplete(p, st) = x
            && *p == req.head() as usize
        {
            assert!(found.is_none(), "completed twice");
            found = Some((i, *st));
        }
    }
    found
}

fn status_of(sim: &Simulator, req: &NblChain) -> Option<NDIS_STATUS> {
    disconnect_done(sim, req).map(|x| x.1)
}

/// Index in the call log of the last send completion.
fn last_send_completion(sim: &Simulator) -> Option<usize> {
    sim.chimney_calls()
        .iter()
        .rposition(|x| matches!(x, ChimneyCall::SendComplete(_)))
}

fn fins_sent(sim: &Simulator, c: &Conn) -> Vec<(u32, u32)> {
    sim.peer_state(c.key)
        .segments
        .iter()
        .filter(|s| s.flags & flags::FIN != 0)
        .map(|s| (s.seq, s.len))
        .collect()
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i * 7) as u8 ^ seed).collect()
}

#[test]
fn rule_079_graceful_disconnect_pends_and_fails_only_while_uploading_or_aborted() {
    let sim = with_adapter();
    // (a) An open connection: PENDING, nothing completes inside the call,
    // SUCCESS once the peer acknowledges the FIN.
    let a = offload(&sim, 1, 4000, AUTO);
    let ra = NblChain::single(&[]);
    assert_eq!(graceful(&sim, &a, &ra), NDIS_STATUS_PENDING);
    assert_eq!(status_of(&sim, &ra), None, "nothing inside the handler");
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &ra), Some(NDIS_STATUS_SUCCESS));
    // (b) Being uploaded: UPLOAD_IN_PROGRESS, and no FIN goes out.
    let b = offload(&sim, 2, 4001, AUTO);
    let (term, root) = terminate_tree(&b);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    let rb = NblChain::single(&[]);
    assert_eq!(graceful(&sim, &b, &rb), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &rb), Some(NDIS_STATUS_UPLOAD_IN_PROGRESS));
    assert!(fins_sent(&sim, &b).is_empty());
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    // (c) Aborted by the peer's RST: REQUEST_ABORTED, no FIN.
    let c = offload(&sim, 3, 4002, AUTO);
    sim.peer_rst(c.key);
    sim.run_until_idle();
    let rc = NblChain::single(&[]);
    assert_eq!(graceful(&sim, &c, &rc), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &rc), Some(NDIS_STATUS_REQUEST_ABORTED));
    assert!(fins_sent(&sim, &c).is_empty());
    terminate(&sim, &a);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_082_graceful_disconnect_sends_data_then_fin_without_waiting_and_completes_sends_first() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let sends = chain_of(&[1000, 2000], 3);
    send(&sim, &c, &sends);
    let tail = data(700, 9);
    let req = NblChain::single(&tail);
    assert_eq!(graceful(&sim, &c, &req), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    // Everything went out with no ACK at all: the sends' bytes, then the
    // request's, and the FIN on the last segment.
    let rec = sim.peer_state(c.key);
    let mut want = pattern(0, 1000, 3);
    want.extend(pattern(1, 2000, 3));
    want.extend(&tail);
    assert_eq!(rec.stream, want);
    assert!(rec.fin_received);
    assert_eq!(fins_sent(&sim, &c).len(), 1);
    let last = rec.segments.last().expect("segments");
    assert_eq!(last.flags & flags::FIN, flags::FIN);
    assert_eq!(last.seq.wrapping_add(last.len), SND_UNA + 3700);
    assert!(completed(&sim).is_empty());
    assert_eq!(status_of(&sim, &req), None);
    // One ACK for everything: the sends complete, then the disconnect.
    sim.peer_ack(c.key, SND_UNA + 3701, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    let sends_done = last_send_completion(&sim).expect("sends completed");
    let (at, st) = disconnect_done(&sim, &req).expect("disconnect completed");
    assert_eq!(st, NDIS_STATUS_SUCCESS);
    assert!(sends_done < at, "the sends complete before the disconnect");
    let n = sends.nbls();
    assert_completed(
        &sim,
        &[(n[0], NDIS_STATUS_SUCCESS), (n[1], NDIS_STATUS_SUCCESS)],
    );
    assert_eq!(bytes_transferred(req.head()), 700);
    assert_eq!(net_buffer_windows(req.head()), vec![(700, 0)]);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_082_the_fin_waits_for_one_sequence_number_of_window_and_then_goes_alone() {
    let sim = with_adapter();
    // The peer's window holds the data exactly: no room for the FIN.
    let c = offload_with(
        &sim,
        1,
        4000,
        MANUAL,
        |s, t| {
            no_nagle(s, t);
            s.delegated.SndWnd = 1500;
        },
        |s| s.delegated.SndUna,
    );
    let req = NblChain::single(&data(1500, 4));
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    assert_eq!(sim.peer_state(c.key).stream.len(), 1500);
    assert!(fins_sent(&sim, &c).is_empty(), "no window for the FIN");
    // The ACK reopens the window: the FIN goes, in a segment of its own.
    sim.peer_ack(c.key, SND_UNA + 1500, 1500);
    sim.run_until_idle();
    assert_eq!(fins_sent(&sim, &c), vec![(SND_UNA + 1500, 0)]);
    assert_eq!(status_of(&sim, &req), None, "the FIN is not acknowledged");
    sim.peer_ack(c.key, SND_UNA + 1501, 1500);
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_SUCCESS));
    assert_eq!(bytes_transferred(req.head()), 1500);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_083_graceful_disconnect_succeeds_only_once_data_and_fin_are_acknowledged() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let req = NblChain::single(&data(500, 1));
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    assert_eq!(fins_sent(&sim, &c), vec![(SND_UNA, 500)]);
    let w = c.spec.delegated.SndWnd;
    // Part of the data, then all of it but not the FIN: still pending,
    // however long it waits.
    sim.peer_ack(c.key, SND_UNA + 499, w);
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &req), None);
    sim.peer_ack(c.key, SND_UNA + 500, w);
    sim.run_until_idle();
    sim.advance_ms(5_000);
    assert_eq!(status_of(&sim, &req), None);
    // The upload now reports FIN_WAIT_1: the FIN is in SND.MAX, not acked.
    let (term, root) = terminate_tree(&c);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
    sim.run_until_idle();
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    // The request did not succeed: UPLOAD_IN_PROGRESS with the 500 data
    // bytes that were acknowledged, its NET_BUFFER advanced past them.
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_UPLOAD_IN_PROGRESS));
    assert_eq!(bytes_transferred(req.head()), 500);
    assert_eq!(net_buffer_windows(req.head()), vec![(500, 0)]);
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(2, 0);
    assert_eq!(d.State, TcpConnectionFinWait1);
    assert_eq!(d.SndUna, SND_UNA + 500);
    assert_eq!(d.SndMax, SND_UNA + 501);
    finish(sim);
}

#[test]
fn graceful_disconnect_then_abortive_aborts_the_graceful_one_first() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let req = NblChain::single(&data(300, 2));
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    sim.peer_ack(c.key, SND_UNA + 100, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    let abort = NblChain::single(&[]);
    sim.call_tcp_io(
        TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE),
        c.slot_ptr(),
        abort.head(),
    );
    sim.run_until_idle();
    let (g_at, g) = disconnect_done(&sim, &req).expect("graceful completed");
    let (a_at, a) = disconnect_done(&sim, &abort).expect("abortive completed");
    assert_eq!(g, NDIS_STATUS_REQUEST_ABORTED);
    assert_eq!(bytes_transferred(req.head()), 100);
    assert_eq!(a, NDIS_STATUS_SUCCESS);
    assert!(g_at < a_at);
    // FIN first, then the RST at the sequence number after it.
    let rec = sim.peer_state(c.key);
    let last = rec.segments.last().expect("segments");
    assert_eq!(last.flags & flags::RST, flags::RST);
    assert_eq!(last.seq, SND_UNA + 301);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn a_reset_ends_a_pending_graceful_disconnect_as_aborted_with_the_acked_bytes() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let earlier = chain_of(&[400], 5);
    send(&sim, &c, &earlier);
    let req = NblChain::single(&data(600, 3));
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    sim.peer_ack(c.key, SND_UNA + 650, c.spec.delegated.SndWnd);
    sim.peer_rst(c.key);
    sim.run_until_idle();
    assert_completed(&sim, &[(earlier.head(), NDIS_STATUS_SUCCESS)]);
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_REQUEST_ABORTED));
    assert_eq!(bytes_transferred(req.head()), 250);
    assert_eq!(net_buffer_windows(req.head()), vec![(250, 350)]);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn after_a_graceful_disconnect_sends_and_a_second_disconnect_fail_with_invalid_state() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let req = NblChain::single(&data(10, 1));
    graceful(&sim, &c, &req);
    let late = chain_of(&[100], 2);
    assert_eq!(send(&sim, &c, &late), NDIS_STATUS_PENDING);
    let again = NblChain::single(&[]);
    assert_eq!(graceful(&sim, &c, &again), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_completed(&sim, &[(late.head(), NDIS_STATUS_INVALID_STATE)]);
    assert_eq!(status_of(&sim, &again), Some(NDIS_STATUS_INVALID_STATE));
    // Nothing of the late send reached the wire; the first request goes on.
    assert_eq!(sim.peer_state(c.key).stream, data(10, 1));
    ack_all(&sim, &c);
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_SUCCESS));
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn a_graceful_disconnect_behind_a_failed_send_is_aborted_in_place_and_sends_no_fin() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let ch = chain_of(&[700, 900], 5);
    let n = ch.nbls();
    let broken = n[1];
    // SAFETY: a test-owned NBL.
    unsafe {
        (*broken)
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer = std::ptr::null_mut()
    };
    send(&sim, &c, &ch);
    let req = NblChain::single(&data(300, 6));
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    assert_completed(
        &sim,
        &[
            (n[0], NDIS_STATUS_SUCCESS),
            (n[1], NDIS_STATUS_INVALID_PARAMETER),
        ],
    );
    let (at, st) = disconnect_done(&sim, &req).expect("completed");
    assert_eq!(st, NDIS_STATUS_REQUEST_ABORTED);
    assert!(last_send_completion(&sim).expect("sends") < at);
    assert_eq!(bytes_transferred(req.head()), 0);
    assert_eq!(sim.peer_state(c.key).stream, pattern(0, 700, 5));
    assert!(fins_sent(&sim, &c).is_empty());
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn a_malformed_graceful_disconnect_fails_in_its_fifo_place_without_a_fin() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let before = chain_of(&[800], 1);
    send(&sim, &c, &before);
    let req = NblChain::single(&data(100, 1));
    // SAFETY: a test-owned NBL and NET_BUFFER: DataLength beyond its MDL.
    unsafe {
        let nb = (*req.head())
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer;
        (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength = 101;
    }
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    assert_eq!(
        status_of(&sim, &req),
        None,
        "behind the unacknowledged send"
    );
    ack_all(&sim, &c);
    assert_completed(&sim, &[(before.head(), NDIS_STATUS_SUCCESS)]);
    let (at, st) = disconnect_done(&sim, &req).expect("completed");
    assert_eq!(st, NDIS_STATUS_INVALID_PARAMETER);
    assert!(last_send_completion(&sim).expect("sends") < at);
    assert!(fins_sent(&sim, &c).is_empty());
    assert_eq!(sim.peer_state(c.key).stream, pattern(0, 800, 1));
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn fin_wait_2_then_time_wait_requests_the_upload() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let req = NblChain::single(&[]);
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_SUCCESS));
    assert!(
        event_infos(&sim, TcpIndicateRetrieve).is_empty(),
        "FIN_WAIT_2 is kept"
    );
    // Data still arrives and is taken (only our half closed).
    sim.peer_send(c.key, b"late data", true);
    sim.run_until_idle();
    sim.advance_ms(500);
    assert_eq!(
        sim.peer_state(c.key).last_ack_sent,
        SND_UNA + 1,
        "the peer saw the FIN acknowledged"
    );
    let acked = sim.peer_state(c.key).segments.last().map(|s| s.ack);
    assert_eq!(acked, Some(RCV_NXT + 9));
    // The peer's FIN: TIME_WAIT, which the host keeps: upload requested.
    sim.peer_fin(c.key);
    sim.run_until_idle();
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![UploadRequested]
    );
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionTimeWait);
    assert_eq!(d.SndMax, SND_UNA + 1);
    assert_eq!(d.RcvNxt, RCV_NXT + 9 + 1);
    finish(sim);
}

#[test]
fn the_upload_reports_fin_wait_2_once_the_fin_is_acknowledged() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let req = NblChain::single(&[]);
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionFinWait2);
    assert_eq!((d.SndUna, d.SndMax), (SND_UNA + 1, SND_UNA + 1));
    finish(sim);
}

/// A connection whose peer closed first (CLOSE_WAIT), then a graceful
/// disconnect of ours, its FIN out (LAST_ACK).
fn close_after_peer(sim: &Simulator) -> (Conn, NblChain) {
    let c = offload(sim, 1, 4000, MANUAL);
    sim.peer_fin(c.key);
    sim.run_until_idle();
    let req = NblChain::single(&[]);
    graceful(sim, &c, &req);
    sim.run_until_idle();
    (c, req)
}

#[test]
fn closing_after_the_peer_closed_goes_through_last_ack_to_closed() {
    let sim = with_adapter();
    let (c, req) = close_after_peer(&sim);
    assert_eq!(fins_sent(&sim, &c), vec![(SND_UNA, 0)]);
    assert_eq!(status_of(&sim, &req), None);
    sim.peer_ack(c.key, SND_UNA + 1, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_SUCCESS));
    // CLOSED, not TIME_WAIT: no upload request (the host closes it).
    assert!(event_infos(&sim, TcpIndicateRetrieve).is_empty());
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionClosed);
    finish(sim);
}

#[test]
fn the_upload_reports_last_ack_while_our_fin_after_the_peers_is_unacknowledged() {
    let sim = with_adapter();
    let (c, req) = close_after_peer(&sim);
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionLastAck);
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_UPLOAD_IN_PROGRESS));
    finish(sim);
}

#[test]
fn the_upload_reports_closing_when_the_fins_cross() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let req = NblChain::single(&[]);
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    // The peer's FIN arrives before it acknowledged ours.
    sim.peer_fin(c.key);
    sim.run_until_idle();
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionClosing);
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_UPLOAD_IN_PROGRESS));
    finish(sim);
}

/// An offloaded connection in `state` (SndUna..SndMax as given, a send
/// chain handed over when it has data), the peer expecting SndUna.
fn offload_in(
    sim: &Simulator,
    state: i32,
    fin_in_snd_max: bool,
    data: Option<&NblChain>,
    timeout_delta: u32,
) -> Conn {
    let head = data.map(|d| d.head());
    let len = data.map_or(0, |d| {
        // SAFETY: the test's own NBL: one NET_BUFFER.
        unsafe {
            let nb = (*d.head())
                .NetBufferListHeader
                .NetBufferListData
                .FirstNetBuffer;
            (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength
        }
    });
    offload_with(
        sim,
        1,
        4000,
        MANUAL,
        |s, t| {
            no_nagle(s, t);
            let d = &mut s.delegated;
            d.State = state;
            d.SndMax = d.SndUna + len + u32::from(fin_in_snd_max);
            d.SndNxt = d.SndMax;
            if [
                TcpConnectionCloseWait,
                TcpConnectionClosing,
                TcpConnectionLastAck,
            ]
            .contains(&state)
            {
                // The peer's FIN is in RcvNxt already.
                d.RcvNxt += 1;
            }
            d.Retransmit.TimeoutDelta = timeout_delta;
            if let Some(h) = head {
                d.Send.SendData.SendDataHead = h;
                d.Send.SendData.SendDataTail = h;
            }
        },
        |s| s.delegated.SndUna,
    )
}

fn ordinary_count(sim: &Simulator) -> usize {
    sim.ordinary_frames().len()
}

#[test]
fn rule_099_fin_wait_2_timer_starts_at_120_s_restarts_on_segments_and_requests_upload() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let req = NblChain::single(&[]);
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_SUCCESS));
    sim.advance_ms(119_000);
    assert!(event_infos(&sim, TcpIndicateRetrieve).is_empty());
    // An acceptable segment restarts the timer from 120 s.
    sim.peer_send(c.key, b"x", true);
    sim.run_until_idle();
    sim.advance_ms(119_000);
    assert!(
        event_infos(&sim, TcpIndicateRetrieve).is_empty(),
        "restarted at 119 s"
    );
    sim.advance_ms(2_000);
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![TimeoutExpiration]
    );
    sim.advance_ms(300_000);
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![TimeoutExpiration],
        "once"
    );
    // CLOSED now: segments go up the ordinary path unprocessed, sends
    // wait for the upload.
    let before = ordinary_count(&sim);
    sim.peer_send(c.key, b"after", true);
    sim.run_until_idle();
    assert_eq!(ordinary_count(&sim), before + 1);
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionClosed);
    assert_eq!(d.Retransmit.TimeoutDelta, 0xFFFF_FFFF);
    finish(sim);
}

#[test]
fn rule_099_fin_wait_2_offloaded_runs_on_from_the_hosts_value() {
    let sim = with_adapter();
    // 5 s left (1,000 ticks per second).
    let c = offload_in(&sim, TcpConnectionFinWait2, false, None, 5_000);
    sim.advance_ms(4_900);
    assert!(event_infos(&sim, TcpIndicateRetrieve).is_empty());
    sim.advance_ms(200);
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![TimeoutExpiration]
    );
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_099_fin_wait_2_upload_hands_back_the_time_left() {
    let sim = with_adapter();
    let c = offload_in(&sim, TcpConnectionFinWait2, false, None, 0xFFFF_FFFF);
    // Not running at offload: it starts at 120 s.
    sim.advance_ms(20_000);
    assert!(event_infos(&sim, TcpIndicateRetrieve).is_empty());
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionFinWait2);
    let left = d.Retransmit.TimeoutDelta;
    assert!((99_000..=100_000).contains(&left), "{left} ticks left");
    finish(sim);
}

#[test]
fn offloaded_in_fin_wait_1_the_fin_after_the_data_is_acknowledged() {
    let sim = with_adapter();
    let chain = chain_of(&[100], 4);
    let c = offload_in(&sim, TcpConnectionFinWait1, true, Some(&chain), 0xFFFF_FFFF);
    // The data only is acknowledged: FIN_WAIT_1 still, the send completes.
    sim.peer_ack(c.key, SND_UNA + 100, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    assert_completed(&sim, &[(chain.head(), NDIS_STATUS_SUCCESS)]);
    // Then the FIN: FIN_WAIT_2.
    sim.peer_ack(c.key, SND_UNA + 101, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionFinWait2);
    assert_eq!(d.SndUna, SND_UNA + 101);
    finish(sim);
}

#[test]
fn offloaded_in_close_wait_the_host_is_not_told_again_and_can_close() {
    let sim = with_adapter();
    let c = offload_in(&sim, TcpConnectionCloseWait, false, None, 0xFFFF_FFFF);
    sim.run_until_idle();
    sim.advance_ms(1_000);
    let disconnect_events = |sim: &Simulator| {
        sim.chimney_calls()
            .iter()
            .filter(|x| {
                matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateDisconnect)
            })
            .count()
    };
    assert_eq!(disconnect_events(&sim), 0, "the host knows of the FIN");
    // It still sends, then closes: LAST_ACK, then CLOSED.
    let ch = chain_of(&[300], 2);
    send(&sim, &c, &ch);
    let req = NblChain::single(&[]);
    graceful(&sim, &c, &req);
    sim.run_until_idle();
    // The data went out with the send call: the FIN follows alone.
    assert_eq!(fins_sent(&sim, &c), vec![(SND_UNA + 300, 0)]);
    ack_all(&sim, &c);
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    assert_eq!(status_of(&sim, &req), Some(NDIS_STATUS_SUCCESS));
    assert!(event_infos(&sim, TcpIndicateRetrieve).is_empty());
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionClosed);
    finish(sim);
}
