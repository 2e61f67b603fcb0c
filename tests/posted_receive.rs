//! Posted receive requests (`MiniportTcpOffloadReceive`, spec §6.3–6.6),
//! through the registered handlers: FIFO filling and completion, data into
//! posted requests before any indication, push and non-push modes, the push
//! timer, zero-byte requests, byte counts and NET_BUFFER advance, buffered
//! data from the offload first, and how requests settle at upload, on a
//! reset and when malformed.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::chimney::{ChimneyCall, ReceiveMode, receive_indications};
use ndis_sim::harness::TcpIoKind;
use ndis_sim::{AckPolicy, Simulator};

const MANUAL: AckPolicy = AckPolicy::Manual;

/// Receive requests of the given sizes, one NBL each (one NET_BUFFER, one
/// MDL), their buffers pre-set to 0xCC.
fn requests(sizes: &[usize]) -> NblChain {
    one_mdl_each(sizes, |k| vec![0xCC; sizes[k]])
}

fn post(sim: &Simulator, c: &Conn, chain: &NblChain) -> NDIS_STATUS {
    sim.call_tcp_io(TcpIoKind::Receive, c.slot_ptr(), chain.head())
}

fn nbl(chain: &NblChain, k: usize) -> PNET_BUFFER_LIST {
    chain.nbls()[k]
}

fn set_info(p: PNET_BUFFER_LIST, id: u32, value: usize) {
    // SAFETY: the test's own NBL, before it is posted.
    unsafe { (*p).NetBufferListInfo[id as usize] = value as PVOID };
}

fn stream(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i * 13) as u8 ^ seed).collect()
}

#[test]
fn rule_065_receive_requests_pend_and_are_filled_and_completed_in_fifo_order() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let first = requests(&[1000, 1000, 1000]);
    let second = requests(&[2000]);
    let (p1, p2) = (Posted::of(&first), Posted::of(&second));
    assert_eq!(post(&sim, &c, &first), NDIS_STATUS_PENDING);
    assert_eq!(post(&sim, &c, &second), NDIS_STATUS_PENDING);
    assert!(
        receives_completed(&sim).is_empty(),
        "nothing inside the calls"
    );
    let data = stream(3500, 1);
    for (i, part) in data.chunks(1400).enumerate() {
        sim.peer_send(c.key, part, i == 2);
    }
    sim.run_until_idle();
    let ok = NDIS_STATUS_SUCCESS;
    let want = vec![
        (nbl(&first, 0) as usize, ok),
        (nbl(&first, 1) as usize, ok),
        (nbl(&first, 2) as usize, ok),
        (nbl(&second, 0) as usize, ok),
    ];
    assert_eq!(receives_completed(&sim), want);
    // Oldest data into the oldest request.
    let mut got = Vec::new();
    for k in 0..3 {
        assert_eq!(bytes_transferred(nbl(&first, k)), 1000);
        got.extend(p1.data(k, 1000));
    }
    assert_eq!(bytes_transferred(nbl(&second, 0)), 500);
    got.extend(p2.data(0, 500));
    assert_eq!(got, data);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_066_data_goes_into_posted_requests_before_any_indication() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let reqs = requests(&[3000]);
    let p = Posted::of(&reqs);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    let data = stream(2800, 2);
    sim.peer_send(c.key, &data[..1400], false);
    sim.peer_send(c.key, &data[1400..], true);
    sim.run_until_idle();
    assert!(
        receive_indications(&sim.chimney_calls()).is_empty(),
        "no indication while a posted request has room"
    );
    assert_eq!(
        receives_completed(&sim),
        vec![(nbl(&reqs, 0) as usize, NDIS_STATUS_SUCCESS)]
    );
    assert_eq!(p.data(0, 2800), data);
    // With no request left, more data is indicated.
    sim.peer_send(c.key, b"after", true);
    sim.run_until_idle();
    let ind = receive_indications(&sim.chimney_calls());
    assert_eq!(ind.len(), 1);
    assert_eq!(ind[0].1, b"after");
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_067_full_requests_complete_at_once_partial_push_ones_on_psh_non_push_only_when_full() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    // Push mode: 600 bytes without PSH leave it waiting; the next 600 fill
    // it (complete at once) and spill 200 into the second, whose PSH
    // completes it partly filled.
    let push = requests(&[1000, 1000]);
    post(&sim, &c, &push);
    sim.run_until_idle();
    sim.peer_send(c.key, &[1; 600], false);
    sim.run_until_idle();
    assert!(receives_completed(&sim).is_empty());
    sim.peer_send(c.key, &[2; 600], true);
    sim.run_until_idle();
    assert_eq!(
        receives_completed(&sim),
        vec![
            (nbl(&push, 0) as usize, NDIS_STATUS_SUCCESS),
            (nbl(&push, 1) as usize, NDIS_STATUS_SUCCESS)
        ]
    );
    assert_eq!(bytes_transferred(nbl(&push, 1)), 200);
    // Non-push mode: PSH and time do not complete it; only full does.
    let no_push = requests(&[1000]);
    set_info(nbl(&no_push, 0), TcpReceiveNoPush, 1);
    post(&sim, &c, &no_push);
    sim.run_until_idle();
    sim.peer_send(c.key, &[3; 600], true);
    sim.run_until_idle();
    sim.advance_ms(2000);
    assert_eq!(receives_completed(&sim).len(), 2, "waits until full");
    sim.peer_send(c.key, &[4; 400], false);
    sim.run_until_idle();
    assert_eq!(receives_completed(&sim).len(), 3);
    assert_eq!(bytes_transferred(nbl(&no_push, 0)), 1000);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_068_the_push_timer_starts_at_the_first_byte_and_restarts_on_new_data() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let reqs = requests(&[4000]);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    sim.advance_ms(400);
    sim.peer_send(c.key, &[1; 100], false);
    sim.run_until_idle();
    sim.advance_ms(300);
    sim.peer_send(c.key, &[2; 100], false);
    sim.run_until_idle();
    // 600 ms after posting, 300 after the first byte: nothing yet; the new
    // data restarted the timer, so 400 ms later still nothing.
    sim.advance_ms(400);
    assert!(receives_completed(&sim).is_empty());
    sim.advance_ms(150);
    assert_eq!(
        receives_completed(&sim),
        vec![(nbl(&reqs, 0) as usize, NDIS_STATUS_SUCCESS)]
    );
    assert_eq!(bytes_transferred(nbl(&reqs, 0)), 200);
    // A request the host already put bytes in: its timer runs from the post.
    let pre = requests(&[1000]);
    set_info(nbl(&pre, 0), TcpReceiveBytesTransferred, 10);
    post(&sim, &c, &pre);
    sim.run_until_idle();
    sim.advance_ms(450);
    assert_eq!(receives_completed(&sim).len(), 1);
    sim.advance_ms(100);
    assert_eq!(receives_completed(&sim).len(), 2);
    assert_eq!(bytes_transferred(nbl(&pre, 0)), 10);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_069_zero_byte_requests_complete_and_let_refused_data_be_indicated() {
    let sim = with_adapter();
    sim.set_receive_mode(ReceiveMode::Refuse);
    let c = offload(&sim, 1, 4000, MANUAL);
    let data = stream(1200, 3);
    sim.peer_send(c.key, &data, true);
    sim.run_until_idle();
    let ind = receive_indications(&sim.chimney_calls());
    assert_eq!(ind.len(), 1);
    assert_eq!(ind[0].2, NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED);
    // Refused: no second indication on its own.
    sim.advance_ms(1000);
    assert_eq!(receive_indications(&sim.chimney_calls()).len(), 1);
    sim.set_receive_mode(ReceiveMode::Accept);
    let zero = requests(&[0]);
    assert_eq!(post(&sim, &c, &zero), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_eq!(
        receives_completed(&sim),
        vec![(nbl(&zero, 0) as usize, NDIS_STATUS_SUCCESS)]
    );
    assert_eq!(bytes_transferred(nbl(&zero, 0)), 0);
    let ind = receive_indications(&sim.chimney_calls());
    assert_eq!(ind.len(), 2);
    assert_eq!((ind[1].1.clone(), ind[1].2), (data, NDIS_STATUS_SUCCESS));
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_070_receive_completions_carry_the_bytes_placed_and_advance_the_net_buffer() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    // One request over three MDLs with a data offset.
    let shape = vec![vec![NbSpec {
        mdl_sizes: vec![100, 700, 1200],
        offset: 40,
    }]];
    let req = NblChain::build(&shape, |_, _| vec![0xCC; 1960]);
    let posted = Posted::of(&req);
    // SAFETY: the test's own NBL.
    let before = unsafe {
        (*(*req.head())
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer)
            .NetBufferHeader
            .NetBufferData
    };
    post(&sim, &c, &req);
    sim.run_until_idle();
    let data = stream(1500, 4);
    sim.peer_send(c.key, &data, true);
    sim.run_until_idle();
    assert_eq!(receives_completed(&sim).len(), 1);
    assert_eq!(bytes_transferred(req.head()), 1500);
    // SAFETY: as above; completed, so the test owns it again.
    let after = unsafe {
        (*(*req.head())
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer)
            .NetBufferHeader
            .NetBufferData
    };
    assert_eq!(after.DataOffset, before.DataOffset + 1500);
    // SAFETY: the ULONG member of the length union.
    unsafe {
        assert_eq!(
            after.NbDataLength.DataLength,
            before.NbDataLength.DataLength - 1500
        );
    }
    assert_eq!(posted.data(0, 1500), data);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_076_data_buffered_at_offload_is_delivered_before_newer_data() {
    let sim = with_adapter();
    // Refused, so the buffered data is still held when the peer's data
    // arrives and the request is posted.
    sim.set_receive_mode(ReceiveMode::Refuse);
    let buffered = NblChain::single(&stream(700, 5));
    let c = offload_with(
        &sim,
        1,
        4000,
        MANUAL,
        |s, _| {
            s.delegated.Receive.BufferedData = buffered.head();
        },
        |s| s.delegated.SndUna,
    );
    sim.run_until_idle();
    let newer = stream(900, 6);
    sim.peer_send(c.key, &newer, true);
    sim.run_until_idle();
    let reqs = requests(&[2000]);
    let p = Posted::of(&reqs);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    assert_eq!(receives_completed(&sim).len(), 1);
    let mut want = stream(700, 5);
    want.extend(&newer);
    assert_eq!(bytes_transferred(reqs.head()), 1600);
    assert_eq!(p.data(0, 1600), want);
    sim.set_receive_mode(ReceiveMode::Accept);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn posted_requests_settle_before_the_terminate_completes() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let reqs = requests(&[1000, 1000]);
    set_info(nbl(&reqs, 0), TcpReceiveNoPush, 1);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    sim.peer_send(c.key, &[7; 300], true);
    sim.run_until_idle();
    assert!(receives_completed(&sim).is_empty(), "non-push, not full");
    terminate(&sim, &c);
    let calls = sim.chimney_calls();
    let recv_at = calls
        .iter()
        .position(|x| matches!(x, ChimneyCall::ReceiveComplete(_)))
        .expect("the requests completed");
    let term_at = calls
        .iter()
        .rposition(|x| matches!(x, ChimneyCall::StateComplete { .. }))
        .expect("the terminate completed");
    assert!(recv_at < term_at, "receives settle first");
    assert_eq!(
        receives_completed(&sim),
        vec![
            (nbl(&reqs, 0) as usize, NDIS_STATUS_SUCCESS),
            (nbl(&reqs, 1) as usize, NDIS_STATUS_UPLOAD_IN_PROGRESS)
        ]
    );
    assert_eq!(bytes_transferred(nbl(&reqs, 0)), 300);
    finish(sim);
}

#[test]
fn an_acceptable_reset_aborts_posted_requests_and_malformed_ones_fail_in_place() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    // The middle request has two NET_BUFFERs: not a receive request.
    let shape = vec![
        vec![NbSpec {
            mdl_sizes: vec![500],
            offset: 0,
        }],
        vec![
            NbSpec {
                mdl_sizes: vec![100],
                offset: 0,
            },
            NbSpec {
                mdl_sizes: vec![100],
                offset: 0,
            },
        ],
        vec![NbSpec {
            mdl_sizes: vec![500],
            offset: 0,
        }],
    ];
    let reqs = NblChain::build(&shape, |_, _| vec![0xCC; 100]);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    // 500 bytes fill the first; the malformed one fails at the head; the
    // third takes 200 with PSH.
    sim.peer_send(c.key, &[1; 700], true);
    sim.run_until_idle();
    assert_eq!(
        receives_completed(&sim),
        vec![
            (nbl(&reqs, 0) as usize, NDIS_STATUS_SUCCESS),
            (nbl(&reqs, 1) as usize, NDIS_STATUS_INVALID_PARAMETER),
            (nbl(&reqs, 2) as usize, NDIS_STATUS_SUCCESS)
        ]
    );
    let more = requests(&[800]);
    post(&sim, &c, &more);
    sim.run_until_idle();
    sim.peer_send(c.key, &[2; 100], false);
    sim.run_until_idle();
    sim.peer_rst(c.key);
    sim.run_until_idle();
    let done = receives_completed(&sim);
    assert_eq!(
        done.last(),
        Some(&(nbl(&more, 0) as usize, NDIS_STATUS_REQUEST_ABORTED))
    );
    assert_eq!(bytes_transferred(nbl(&more, 0)), 100);
    // After the reset a new request is refused.
    let late = requests(&[100]);
    post(&sim, &c, &late);
    sim.run_until_idle();
    assert_eq!(
        receives_completed(&sim).last(),
        Some(&(late.head() as usize, NDIS_STATUS_REQUEST_ABORTED))
    );
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_072_a_request_posted_inside_a_completion_is_served_after_it_without_nesting() {
    let sim = with_adapter();
    sim.set_receive_mode(ReceiveMode::Refuse);
    let c = offload(&sim, 1, 4000, MANUAL);
    let first = requests(&[1000]);
    let second = requests(&[1000]);
    let p2 = Posted::of(&second);
    // All the data is held (the indication was refused) when the first
    // request is posted.
    let data = stream(1500, 7);
    sim.peer_send(c.key, &data[..1400], false);
    sim.peer_send(c.key, &data[1400..], true);
    sim.run_until_idle();
    // The host posts the second request from inside the first one's
    // completion (spec §6.3 allows it). The simulator reports any receive
    // completion or indication made from inside another.
    let t = sim.driver().tcp.expect("tcp").0;
    let handler = t.TcpOffloadReceiveHandler.expect("receive handler");
    let (core, ctx, slot, head) = (
        sim.core.clone(),
        sim.context() as usize,
        c.slot_ptr() as usize,
        second.head() as usize,
    );
    let mut once = true;
    *sim.core.on_receive_complete.lock().unwrap() = Some(Box::new(move || {
        if std::mem::take(&mut once) {
            ndis_sim::tracker::give(&core, head, "MiniportTcpOffloadReceive");
            // SAFETY: the driver's handler with its context, the
            // connection's slot and a request the test owns.
            let st =
                unsafe { handler(ctx as NDIS_HANDLE, slot as PVOID, head as PNET_BUFFER_LIST) };
            assert_eq!(st, NDIS_STATUS_PENDING);
            ndis_sim::tracker::handler_returned(&core, head);
        }
    }));
    post(&sim, &c, &first);
    sim.run_until_idle();
    *sim.core.on_receive_complete.lock().unwrap() = None;
    assert_eq!(
        receives_completed(&sim),
        vec![
            (first.head() as usize, NDIS_STATUS_SUCCESS),
            (second.head() as usize, NDIS_STATUS_SUCCESS)
        ]
    );
    assert_eq!(bytes_transferred(second.head()), 500);
    assert_eq!(p2.data(0, 500), data[1000..]);
    sim.set_receive_mode(ReceiveMode::Accept);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_075_after_a_partial_acceptance_the_rest_is_kept_and_waits_for_a_post() {
    let sim = with_adapter();
    sim.set_receive_mode(ReceiveMode::Partial(300));
    let c = offload(&sim, 1, 4000, MANUAL);
    let data = stream(1000, 8);
    sim.peer_send(c.key, &data, true);
    sim.run_until_idle();
    let ind = receive_indications(&sim.chimney_calls());
    assert_eq!(ind.len(), 1);
    assert_eq!(ind[0].1, data[..300], "the host took the first 300 bytes");
    // No second indication without a post, whatever arrives.
    sim.peer_send(c.key, &[9; 50], true);
    sim.run_until_idle();
    sim.advance_ms(1000);
    assert_eq!(receive_indications(&sim.chimney_calls()).len(), 1);
    // A posted request takes the rest, from byte 300 on, then the newer
    // bytes.
    let reqs = requests(&[2000]);
    let p = Posted::of(&reqs);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    assert_eq!(bytes_transferred(reqs.head()), 750);
    let mut want = data[300..].to_vec();
    want.extend([9; 50]);
    assert_eq!(p.data(0, 750), want);
    sim.set_receive_mode(ReceiveMode::Accept);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_080_an_abortive_disconnect_stops_receiving_and_aborts_sends_before_it_completes() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let sends = chain_of(&[2000, 10], 3);
    send(&sim, &c, &sends);
    let reqs = requests(&[1000]);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    sim.peer_send(c.key, &[1; 100], false);
    sim.run_until_idle();
    let req = NblChain::single(&[]);
    sim.call_tcp_io(
        TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE),
        c.slot_ptr(),
        req.head(),
    );
    sim.run_until_idle();
    let calls = sim.chimney_calls();
    let pos = |f: &dyn Fn(&ChimneyCall) -> bool| calls.iter().position(f);
    let sends_done = pos(&|x| matches!(x, ChimneyCall::SendComplete(v) if v.iter().all(|s| s.1 == NDIS_STATUS_REQUEST_ABORTED)))
        .expect("sends aborted");
    let recv_done = pos(&|x| {
        *x == ChimneyCall::ReceiveComplete(vec![(
            reqs.head() as usize,
            NDIS_STATUS_REQUEST_ABORTED,
        )])
    })
    .expect("the posted request aborted");
    let disc_done =
        pos(&|x| *x == ChimneyCall::DisconnectComplete(req.head() as usize, NDIS_STATUS_SUCCESS))
            .expect("disconnect completed");
    assert!(sends_done < disc_done && recv_done < disc_done, "{calls:?}");
    assert_eq!(bytes_transferred(reqs.head()), 100);
    // From now on nothing is received: no ACK, no indication, no fill.
    let segs = sim.peer_state(c.key).segments.len();
    let more = requests(&[500]);
    post(&sim, &c, &more);
    sim.peer_send(c.key, &[2; 300], true);
    sim.run_until_idle();
    sim.advance_ms(1000);
    assert_eq!(sim.peer_state(c.key).segments.len(), segs, "nothing sent");
    assert!(receive_indications(&sim.chimney_calls()).is_empty());
    assert_eq!(
        receives_completed(&sim).last(),
        Some(&(more.head() as usize, NDIS_STATUS_REQUEST_ABORTED))
    );
    terminate(&sim, &c);
    finish(sim);
}

/// `TcpIndicateDisconnect` events so far.
fn disconnects(sim: &Simulator) -> usize {
    sim.chimney_calls()
        .iter()
        .filter(
            |x| matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateDisconnect),
        )
        .count()
}

#[test]
fn rule_086_disconnect_is_indicated_after_the_fin_and_all_data_before_it_was_consumed() {
    let sim = with_adapter();
    sim.set_receive_mode(ReceiveMode::Refuse);
    let c = offload(&sim, 1, 4000, MANUAL);
    let data = stream(1500, 9);
    sim.peer_send(c.key, &data, true);
    sim.peer_fin(c.key);
    sim.run_until_idle();
    // The FIN is acknowledged at once (RCV.NXT counts it) ...
    let last_ack = sim.peer_state(c.key).segments.last().map(|s| s.ack);
    assert_eq!(last_ack, Some(RCV_NXT + 1500 + 1));
    // ... but the host has not consumed the data: no disconnect yet.
    sim.advance_ms(1000);
    assert_eq!(disconnects(&sim), 0);
    // A posted request takes the data; then the disconnect follows.
    let reqs = requests(&[1000, 1000]);
    let p = Posted::of(&reqs);
    post(&sim, &c, &reqs);
    sim.run_until_idle();
    assert_eq!(disconnects(&sim), 1);
    let calls = sim.chimney_calls();
    let last_recv = calls
        .iter()
        .rposition(|x| matches!(x, ChimneyCall::ReceiveComplete(_)))
        .expect("requests completed");
    let disc = calls
        .iter()
        .position(
            |x| matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateDisconnect),
        )
        .expect("disconnect indicated");
    assert!(last_recv < disc, "the data goes up before the disconnect");
    let mut got = p.data(0, 1000);
    got.extend(p.data(1, bytes_transferred(nbl(&reqs, 1))));
    assert_eq!(got, data);
    // The terminate reports the half-closed connection.
    let (term, tcp) = terminate(&sim, &c);
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
    assert_eq!(d.RcvNxt, RCV_NXT + 1500 + 1);
    assert_eq!(d.State, TcpConnectionCloseWait);
    sim.set_receive_mode(ReceiveMode::Accept);
    finish(sim);
}

#[test]
fn rule_071_receive_posts_after_the_disconnect_indication_fail_with_invalid_state() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    // A request posted before the FIN ends with the stream: SUCCESS, 0 bytes.
    let before = requests(&[500]);
    post(&sim, &c, &before);
    sim.run_until_idle();
    sim.peer_fin(c.key);
    sim.run_until_idle();
    assert_eq!(disconnects(&sim), 1);
    let after = requests(&[500]);
    assert_eq!(post(&sim, &c, &after), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    assert_eq!(
        receives_completed(&sim),
        vec![
            (before.head() as usize, NDIS_STATUS_SUCCESS),
            (after.head() as usize, NDIS_STATUS_INVALID_STATE)
        ]
    );
    assert_eq!(bytes_transferred(before.head()), 0);
    // Only the receive half closed: sending still works.
    let ch = chain_of(&[300], 5);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_eq!(sim.peer_state(c.key).rcv_nxt, SND_UNA + 300);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_084_a_connection_persists_after_fin_or_rst_until_the_host_terminates_it() {
    let sim = with_adapter();
    let a = offload(
        &sim,
        1,
        4000,
        AckPolicy::Auto {
            delay_ms: 0,
            max_step: None,
        },
    );
    let b = offload(&sim, 2, 4001, MANUAL);
    sim.peer_send(a.key, b"bye", true);
    sim.peer_fin(a.key);
    sim.peer_rst(b.key);
    sim.run_until_idle();
    sim.advance_ms(10_000);
    // A (FIN received) still sends, and its sends complete normally.
    let ch = chain_of(&[700], 6);
    send(&sim, &a, &ch);
    sim.run_until_idle();
    assert_eq!(
        completed(&sim).last(),
        Some(&(ch.head() as usize, NDIS_STATUS_SUCCESS))
    );
    // B (reset) still exists: a send is refused as aborted, not as an
    // unknown context (which a freed connection would give).
    let cb = chain_of(&[10], 7);
    send(&sim, &b, &cb);
    sim.run_until_idle();
    assert_eq!(
        completed(&sim).last(),
        Some(&(cb.head() as usize, NDIS_STATUS_REQUEST_ABORTED))
    );
    // Both terminate normally, with their state.
    let (term, tcp) = terminate(&sim, &a);
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
    assert_eq!(d.RcvNxt, RCV_NXT + 3 + 1);
    let (term, tcp) = terminate(&sim, &b);
    assert_eq!(term.status(tcp), NDIS_STATUS_SUCCESS);
    finish(sim);
}

#[test]
fn rule_086_the_stream_ends_at_the_peers_fin_and_text_after_it_is_ignored() {
    // Found by fuzzing MiniportTcpOffloadForward: data beyond an accepted
    // FIN joined the stream, shifted by the FIN's sequence number.
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let data = stream(500, 3);
    sim.peer_send(c.key, &data, true);
    sim.peer_fin(c.key);
    sim.run_until_idle();
    // Text after the FIN: ignored, and answered with an ACK of the
    // stream's end.
    sim.peer_send_at(c.key, RCV_NXT + 501, &stream(200, 5), true);
    sim.run_until_idle();
    sim.advance_ms(1000);
    let got: Vec<u8> = receive_indications(&sim.chimney_calls())
        .into_iter()
        .flat_map(|(_, d, _)| d)
        .collect();
    assert_eq!(got, data, "the host reads the stream up to the FIN only");
    assert_eq!(disconnects(&sim), 1);
    let last_ack = sim.peer_state(c.key).segments.last().map(|s| s.ack);
    assert_eq!(last_ack, Some(RCV_NXT + 501));
    let (term, tcp) = terminate(&sim, &c);
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
    assert_eq!(d.RcvNxt, RCV_NXT + 501);
    finish(sim);
}

#[test]
fn a_waiting_abortive_disconnect_keeps_its_place_among_settled_requests() {
    // The receive queue itself (no handler): requests settled by an abortive
    // disconnect, the disconnect request behind them, a post refused after
    // it. A second settling (a reset) keeps the disconnect where it is;
    // taking the settled requests stops after it and hands it out apart;
    // emptying the queue at upload hands it out apart too.
    use chimney_miniport::ndis::recvq::{Head, RecvQueue};
    use chimney_miniport::ndis::sendq::Completions;
    let _sim = with_adapter();
    let reqs = requests(&[100, 200, 300]);
    let (a, b, late) = (nbl(&reqs, 0), nbl(&reqs, 1), nbl(&reqs, 2));
    let disconnect = NblChain::single(&[]);
    let order = |done: &Completions| {
        let mut v = Vec::new();
        let mut p = done.head();
        while !p.is_null() {
            // SAFETY: NBLs this test built, linked by the completion list.
            unsafe {
                v.push((p as usize, (*p).Status));
                p = (*p).NetBufferListHeader.NetBufferListData.Next;
            }
        }
        v
    };
    for upload in [false, true] {
        let mut q = RecvQueue::new();
        // SAFETY: NBLs this test owns, each in one list at a time.
        unsafe {
            q.post(a);
            q.post(b);
            q.settle_all(NDIS_STATUS_REQUEST_ABORTED, false);
            q.hold_disconnect(disconnect.head());
            q.park(late, NDIS_STATUS_INVALID_STATE);
        }
        q.settle_all(NDIS_STATUS_REQUEST_ABORTED, false);
        assert_eq!(q.head(), Head::Settled);
        let mut done = Completions::new();
        if upload {
            let held = q.complete_all(NDIS_STATUS_UPLOAD_IN_PROGRESS, true, &mut done);
            assert!(q.is_empty());
            assert_eq!(order(&held), vec![(disconnect.head() as usize, 0)]);
            assert_eq!(
                order(&done),
                vec![
                    (a as usize, NDIS_STATUS_REQUEST_ABORTED),
                    (b as usize, NDIS_STATUS_REQUEST_ABORTED),
                    (late as usize, NDIS_STATUS_INVALID_STATE),
                ]
            );
        } else {
            let held = q.take_settled(&mut done);
            assert_eq!(held, disconnect.head(), "handed out after the requests");
            assert_eq!(
                order(&done),
                vec![
                    (a as usize, NDIS_STATUS_REQUEST_ABORTED),
                    (b as usize, NDIS_STATUS_REQUEST_ABORTED),
                ]
            );
            let mut rest = Completions::new();
            assert!(q.take_settled(&mut rest).is_null());
            assert_eq!(
                order(&rest),
                vec![(late as usize, NDIS_STATUS_INVALID_STATE)]
            );
            assert_eq!(q.head(), Head::None);
        }
    }
}
