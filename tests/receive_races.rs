//! Receive completions of one connection from two processors (rule 72:
//! `NdisTcpOffloadReceiveComplete` and the receive indication are
//! serialized per connection). Each test holds one processor inside a
//! receive completion (the host's hook waits there) while the other makes
//! the connection complete more requests: a reset arriving, a post refused
//! after a reset or after the disconnect indication. The simulator reports
//! a completion that starts while another for the same connection runs on
//! another processor; besides that, the requests must complete once each,
//! in posting order, with the status their fate gives them.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::builders::NblChain;
use ndis_sim::exports::chimney::ChimneyCall as Call;
use ndis_sim::harness::TcpIoKind;
use ndis_sim::state::SimCore;
use ndis_sim::{AckPolicy, Simulator};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

const MANUAL: AckPolicy = AckPolicy::Manual;
const PATIENCE: Duration = Duration::from_secs(10);

fn request(size: usize) -> NblChain {
    one_mdl_each(&[size], |_| vec![0xCC; size])
}

fn post(sim: &Simulator, c: &Conn, chain: &NblChain) -> NDIS_STATUS {
    sim.call_tcp_io(TcpIoKind::Receive, c.slot_ptr(), chain.head())
}

/// The receive DPC of whatever the peer sent, frame by frame.
fn wire(core: &SimCore) {
    while ndis_sim::peer::wire_step(core) {}
}

/// The timers that are due, the completion timer among them.
fn timers(core: &SimCore) {
    while ndis_sim::exports::timer::fire_one_due_timer(core) {}
}

/// Run the wire on a processor of its own until it is inside a receive
/// completion; hold it there while `second` runs on this processor, then
/// let it finish. False if the wire never got inside one.
fn while_completing(sim: &Simulator, second: impl FnOnce()) -> bool {
    held_while(sim, PATIENCE, wire, second)
}

/// [`while_completing`]: the host posts `request` on the other processor
/// (the handler pends, rule 65) and runs everything due there.
fn post_while_completing(sim: &Simulator, c: &Conn, request: &NblChain) -> bool {
    while_completing(sim, || {
        assert_eq!(post(sim, c, request), NDIS_STATUS_PENDING, "rule 65");
        sim.run_until_idle();
    })
}

/// Run `first` on a processor of its own until it is inside a receive
/// completion and hold it there while `second` runs on this one; it lets
/// go when `second` returns or after `hold`, whichever comes first (a
/// `second` may have to wait for it).
fn held_while(
    sim: &Simulator,
    hold: Duration,
    first: impl FnOnce(&SimCore) + Send,
    second: impl FnOnce(),
) -> bool {
    let (inside_tx, inside_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (inside_tx, release_rx) = (Mutex::new(inside_tx), Mutex::new(release_rx));
    let once = AtomicBool::new(false);
    let hook = move || {
        // Only the first completion waits; later ones (this processor's
        // or the other's) go straight through.
        if once.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = inside_tx.lock().unwrap().send(());
        let _ = release_rx.lock().unwrap().recv_timeout(hold);
    };
    *sim.core.on_receive_complete.lock().unwrap() = Some(Box::new(hook));
    let core = sim.core.clone();
    let entered = std::thread::scope(|s| {
        let first = s.spawn(move || {
            ndis_sim::state::set_current(Some(core.clone()));
            first(&core);
            ndis_sim::state::set_current(None);
        });
        let entered = inside_rx.recv_timeout(PATIENCE).is_ok();
        if entered {
            second();
        }
        let _ = release_tx.send(());
        first.join().expect("the first processor's work");
        entered
    });
    *sim.core.on_receive_complete.lock().unwrap() = None;
    entered
}

/// A connection with two receive requests of `sizes`: the first posted,
/// the second too if `both`; the machine idle.
fn with_requests(sim: &Simulator, sizes: [usize; 2], both: bool) -> (Conn, NblChain, NblChain) {
    let c = offload(sim, 1, 4000, MANUAL);
    let (r1, r2) = (request(sizes[0]), request(sizes[1]));
    assert_eq!(post(sim, &c, &r1), NDIS_STATUS_PENDING);
    if both {
        assert_eq!(post(sim, &c, &r2), NDIS_STATUS_PENDING);
    }
    sim.run_until_idle();
    (c, r1, r2)
}

/// Completions for one connection that overlapped across processors.
fn overlaps(sim: &Simulator) -> usize {
    sim.violations()
        .iter()
        .filter(|v| format!("{v:?}").contains("on another processor (rule 72"))
        .count()
}

/// Once the race is over: no overlap was reported, and the requests
/// completed once each, in posting order, with these statuses.
fn assert_settled(sim: &Simulator, want: &[(&NblChain, NDIS_STATUS)], rules: &str) {
    sim.run_until_idle();
    assert_eq!(overlaps(sim), 0, "{:#?}", sim.violations());
    let want: Vec<_> = want
        .iter()
        .map(|(r, st)| (r.head() as usize, *st))
        .collect();
    assert_eq!(
        receives_completed(sim),
        want,
        "each once, in posting order ({rules})"
    );
}

/// Where in the simulator's record the terminate's completion is.
fn terminated(sim: &Simulator) -> usize {
    call_at(
        sim,
        "terminate completion",
        |x| matches!(x, Call::StateComplete { export, .. } if export.contains("Terminate")),
    )
}

/// Disconnect `c` abortively with `request` (the handler pends, rule 55).
fn abort(sim: &Simulator, c: &Conn, request: &NblChain) {
    let kind = TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE);
    assert_eq!(
        sim.call_tcp_io(kind, c.slot_ptr(), request.head()),
        NDIS_STATUS_PENDING
    );
}

/// Where in the simulator's record the completion of `request` is.
fn disconnected(sim: &Simulator, request: &NblChain) -> usize {
    completed_at(sim, "disconnect completion", request)
}

/// Where in the simulator's record the completion of the head of `chain`
/// is: a send, a receive request or a disconnect request.
fn completed_at(sim: &Simulator, what: &str, chain: &NblChain) -> usize {
    let p = chain.head() as usize;
    call_at(sim, what, |x| match x {
        Call::ReceiveComplete(v) | Call::SendComplete(v) => v.iter().any(|d| d.0 == p),
        Call::DisconnectComplete(q, _) => *q == p,
        _ => false,
    })
}

/// Where in the simulator's record the first call `pick` accepts is.
fn call_at(sim: &Simulator, what: &str, pick: impl Fn(&Call) -> bool) -> usize {
    sim.chimney_calls()
        .iter()
        .position(pick)
        .unwrap_or_else(|| panic!("no {what}"))
}

#[test]
fn rule_072_a_reset_and_a_post_refused_after_it_complete_one_at_a_time() {
    // The reset's receive DPC completes the request it held; meanwhile the
    // host posts another, refused (REQUEST_ABORTED), and the completion
    // timer runs on the host's processor.
    let sim = with_adapter();
    let (c, r1, r2) = with_requests(&sim, [1000, 1000], false);
    sim.peer_rst(c.key);
    let entered = post_while_completing(&sim, &c, &r2);
    assert!(entered, "the reset completed no request");
    assert_settled(
        &sim,
        &[
            (&r1, NDIS_STATUS_REQUEST_ABORTED),
            (&r2, NDIS_STATUS_REQUEST_ABORTED),
        ],
        "rules 62, 65",
    );
    terminate(&sim, &c);
    sim.assert_clean();
}

#[test]
fn rule_072_a_reset_arriving_while_a_filled_request_completes_waits_its_turn() {
    // The first request is filled and completing on one processor when the
    // peer's RST arrives on the other: the second request is aborted, but
    // handed back only after the first's completion returns.
    let sim = with_adapter();
    let (c, r1, r2) = with_requests(&sim, [10, 1000], true);
    sim.peer_send(c.key, &[7; 10], true);
    let entered = while_completing(&sim, || {
        sim.peer_rst(c.key);
        sim.run_wire_only();
    });
    assert!(entered, "the data completed no request");
    assert_settled(
        &sim,
        &[
            (&r1, NDIS_STATUS_SUCCESS),
            (&r2, NDIS_STATUS_REQUEST_ABORTED),
        ],
        "rules 62, 65",
    );
    assert_eq!(bytes_transferred(r1.head()), 10);
    terminate(&sim, &c);
    sim.assert_clean();
}

#[test]
fn rule_072_the_disconnects_completions_and_a_post_refused_after_it_do_not_overlap() {
    // The peer's FIN: the request still posted completes (SUCCESS, no
    // bytes: the end of the stream) before TcpIndicateDisconnect; a post
    // made meanwhile is refused with INVALID_STATE (rule 71).
    let sim = with_adapter();
    let (c, r1, r2) = with_requests(&sim, [1000, 1000], false);
    sim.peer_fin(c.key);
    let entered = post_while_completing(&sim, &c, &r2);
    assert!(entered, "the FIN completed no request");
    assert_settled(
        &sim,
        &[(&r1, NDIS_STATUS_SUCCESS), (&r2, NDIS_STATUS_INVALID_STATE)],
        "rules 71, 86",
    );
    assert_eq!(bytes_transferred(r1.head()), 0);
    assert_eq!(event_infos(&sim, TcpIndicateDisconnect).len(), 1);
    terminate(&sim, &c);
    sim.assert_clean();
}

#[test]
fn rule_072_an_upload_hands_back_posted_requests_after_a_running_completion_returns() {
    // The first request is filled and completing on one processor when the
    // host terminates the connection on the other: the terminate hands the
    // second request back (UPLOAD_IN_PROGRESS) only once the first's
    // completion has returned (rules 47, 72). The held processor lets go by
    // itself after a while, so the terminate here has to wait for it.
    let sim = with_adapter();
    let (c, r1, r2) = with_requests(&sim, [10, 1000], true);
    sim.peer_send(c.key, &[7; 10], true);
    let mut tree = None;
    let entered = held_while(&sim, Duration::from_millis(500), wire, || {
        tree = Some(terminate(&sim, &c));
    });
    assert!(entered, "the data completed no request");
    assert_settled(
        &sim,
        &[
            (&r1, NDIS_STATUS_SUCCESS),
            (&r2, NDIS_STATUS_UPLOAD_IN_PROGRESS),
        ],
        "rule 65, spec §4.2",
    );
    drop(tree);
    sim.assert_clean();
}

#[test]
fn rule_046_a_terminate_waits_for_completions_another_run_of_the_completion_timer_is_making() {
    // The completion timer runs on one processor, held inside the first of
    // the completions it took (a request refused for a stale context); the
    // abortive disconnect it took with it is still to complete. The host
    // terminates the connection on the other processor and the timer fires
    // there too: the terminate completes only after that disconnect (rule
    // 46), so the second run leaves the work to the first.
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let sends = chain_of(&[1000], 1);
    assert_eq!(send(&sim, &c, &sends), NDIS_STATUS_PENDING);
    sim.run_until_idle();
    let stale = request(100);
    let disconnect = NblChain::single(&[]);
    let none = std::ptr::null_mut();
    assert_eq!(
        sim.call_tcp_io(TcpIoKind::Receive, none, stale.head()),
        NDIS_STATUS_PENDING
    );
    abort(&sim, &c, &disconnect);
    let (term, root) = terminate_tree(&c);
    let entered = held_while(&sim, PATIENCE, timers, || {
        sim.call_state_op(ndis_sim::StateOpKind::Terminate, term.ptr(root));
        sim.run_until_idle();
    });
    assert!(entered, "the timer completed no receive request");
    sim.run_until_idle();
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    let disconnected = disconnected(&sim, &disconnect);
    assert!(
        disconnected < terminated(&sim),
        "rule 46: {:#?}",
        sim.chimney_calls()
    );
    sim.assert_clean();
}

#[test]
fn rule_046_a_post_refused_while_the_terminate_hands_back_requests_completes_before_it() {
    // The terminate's walk has uploaded the connection and is handing back
    // its posted request (held there, on one processor) when the host posts
    // another on the other processor: that one is refused, and completes
    // before the terminate does (rule 46), not in a later timer run.
    let sim = with_adapter();
    let (c, r1, r2) = with_requests(&sim, [1000, 1000], false);
    let (term, root) = terminate_tree(&c);
    sim.call_state_op(ndis_sim::StateOpKind::Terminate, term.ptr(root));
    let entered = held_while(&sim, PATIENCE, timers, || {
        assert_eq!(post(&sim, &c, &r2), NDIS_STATUS_PENDING, "rule 65");
        sim.run_until_idle();
    });
    assert!(entered, "the terminate handed back no request");
    sim.run_until_idle();
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    let r2_done = completed_at(&sim, "completion of the second request", &r2);
    assert!(
        r2_done < terminated(&sim),
        "rule 46: {:#?}",
        sim.chimney_calls()
    );
    assert_eq!(
        receives_completed(&sim)[0],
        (r1.head() as usize, NDIS_STATUS_UPLOAD_IN_PROGRESS)
    );
    sim.assert_clean();
}

#[test]
fn rule_080_an_abortive_disconnect_completes_after_the_receive_requests_it_ended() {
    // The first request is filled and completing on one processor (which
    // holds the connection's receive gate) when the host disconnects
    // abortively on the other: the second request and an unacknowledged
    // send end with REQUEST_ABORTED. The send goes up before the disconnect
    // (rule 80); so does the request, although only the held processor may
    // hand it back, once its completion returns (rule 72): the disconnect
    // waits for it rather than completing from the other processor first.
    let sim = with_adapter();
    let (c, r1, r2) = with_requests(&sim, [10, 1000], true);
    let sends = chain_of(&[1000], 1);
    assert_eq!(send(&sim, &c, &sends), NDIS_STATUS_PENDING);
    let disconnect = NblChain::single(&[]);
    sim.peer_send(c.key, &[7; 10], true);
    let entered = while_completing(&sim, || {
        abort(&sim, &c, &disconnect);
        sim.run_until_idle();
    });
    assert!(entered, "the data completed no request");
    assert_settled(
        &sim,
        &[
            (&r1, NDIS_STATUS_SUCCESS),
            (&r2, NDIS_STATUS_REQUEST_ABORTED),
        ],
        "rules 62, 72",
    );
    let disconnected = disconnected(&sim, &disconnect);
    assert!(
        completed_at(&sim, "completion of the aborted request", &r2) < disconnected,
        "the aborted request before the disconnect: {:#?}",
        sim.chimney_calls()
    );
    assert!(
        completed_at(&sim, "completion of the aborted send", &sends) < disconnected,
        "rule 80: {:#?}",
        sim.chimney_calls()
    );
    assert_eq!(
        completed(&sim),
        vec![(sends.head() as usize, NDIS_STATUS_REQUEST_ABORTED)],
        "rule 62"
    );
    terminate(&sim, &c);
    sim.assert_clean();
}

#[test]
fn rule_046_an_abortive_disconnect_waiting_for_its_requests_completes_before_the_terminate() {
    // As above, but the host terminates the connection on the second
    // processor before the first lets go: the upload hands the aborted
    // request back once the running completion returns, then the disconnect
    // that waited for it, and only then does the terminate complete.
    let sim = with_adapter();
    let (c, r1, r2) = with_requests(&sim, [10, 1000], true);
    let disconnect = NblChain::single(&[]);
    sim.peer_send(c.key, &[7; 10], true);
    let mut tree = None;
    let entered = held_while(&sim, Duration::from_millis(500), wire, || {
        abort(&sim, &c, &disconnect);
        tree = Some(terminate(&sim, &c));
    });
    assert!(entered, "the data completed no request");
    assert_settled(
        &sim,
        &[
            (&r1, NDIS_STATUS_SUCCESS),
            (&r2, NDIS_STATUS_REQUEST_ABORTED),
        ],
        "rules 62, 72",
    );
    let r2_done = completed_at(&sim, "completion of the aborted request", &r2);
    let disconnected = disconnected(&sim, &disconnect);
    assert!(
        r2_done < disconnected && disconnected < terminated(&sim),
        "the request, the disconnect, then the terminate (rule 46): {:#?}",
        sim.chimney_calls()
    );
    drop(tree);
    sim.assert_clean();
}

#[test]
fn rule_080_an_abortive_disconnect_waits_for_a_receive_call_still_running() {
    // The only request is filled and completing on one processor when the
    // host disconnects abortively on the other and runs the completion
    // timer there: nothing is left to abort, but receive processing has not
    // stopped while that call runs, so the disconnect completes only once
    // it has returned.
    let sim = with_adapter();
    let (c, r1, _) = with_requests(&sim, [10, 1000], false);
    let disconnect = NblChain::single(&[]);
    sim.peer_send(c.key, &[7; 10], true);
    let is_disconnect =
        |x: &Call| matches!(x, Call::DisconnectComplete(p, _) if *p == disconnect.head() as usize);
    let entered = while_completing(&sim, || {
        abort(&sim, &c, &disconnect);
        sim.run_until_idle();
        assert!(
            !sim.chimney_calls().iter().any(is_disconnect),
            "the disconnect completed during a receive call: {:#?}",
            sim.chimney_calls()
        );
    });
    assert!(entered, "the data completed no request");
    assert_settled(&sim, &[(&r1, NDIS_STATUS_SUCCESS)], "rule 65");
    assert!(sim.chimney_calls().iter().any(is_disconnect), "rule 80");
    terminate(&sim, &c);
    sim.assert_clean();
}

#[test]
fn rule_046_a_disconnect_handed_out_with_its_requests_completes_before_a_racing_terminate() {
    // The receive DPC (data arriving after the abortive disconnect) is
    // handing back the request that disconnect ended, with the disconnect
    // behind it, held inside that call on one processor, when the host
    // terminates the connection on the other. The terminate's walk finds
    // the request queue empty and waits for the running call (the held
    // processor lets go after a while); the disconnect is queued before the
    // receive gate is released, so the terminate completes after it.
    let sim = with_adapter();
    let (c, r1, _) = with_requests(&sim, [1000, 1000], false);
    let disconnect = NblChain::single(&[]);
    abort(&sim, &c, &disconnect);
    let (term, root) = terminate_tree(&c);
    sim.peer_send(c.key, &[7; 10], true);
    let entered = held_while(&sim, Duration::from_millis(300), wire, || {
        sim.call_state_op(ndis_sim::StateOpKind::Terminate, term.ptr(root));
        sim.run_until_idle();
    });
    assert!(entered, "the receive DPC handed back no request");
    assert_settled(&sim, &[(&r1, NDIS_STATUS_REQUEST_ABORTED)], "rule 62");
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    let disconnected = disconnected(&sim, &disconnect);
    assert!(
        disconnected < terminated(&sim),
        "rule 46: {:#?}",
        sim.chimney_calls()
    );
    sim.assert_clean();
}
