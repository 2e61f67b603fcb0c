//! The chimney handlers as the foundation ships them: every request gets a
//! defined spec status, asynchronously, through the right completion.

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::tree::{neighbor, path, tcp};
use common::*;
use ndis_sim::builders::{NblChain, Tree};
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::{StateOpKind, TcpIoKind};

/// Neighbor1 → {Path1 → {TCP1, TCP2}, Path2 → {TCP3}}, under a placeholder root.
fn sample_tree() -> (Tree, Vec<usize>) {
    let mut t = Tree::new();
    let root = t.placeholder();
    let n1 = neighbor(&mut t, 1);
    let p1 = path(&mut t, 1);
    let p2 = path(&mut t, 2);
    let c1 = tcp(&mut t, 1);
    let c2 = tcp(&mut t, 2);
    let c3 = tcp(&mut t, 3);
    t.dependent(root, n1);
    t.dependent(n1, p1);
    t.next(p1, p2);
    t.dependent(p1, c1);
    t.next(c1, c2);
    t.dependent(p2, c3);
    (t, vec![root, n1, p1, p2, c1, c2, c3])
}

#[test]
fn rule_014_state_operations_never_complete_inside_the_call() {
    let sim = with_adapter();
    let completions = |sim: &ndis_sim::Simulator| {
        sim.chimney_calls()
            .iter()
            .filter(|c| matches!(c, ChimneyCall::StateComplete { .. }))
            .count()
    };
    for op in [
        StateOpKind::Initiate,
        StateOpKind::Terminate,
        StateOpKind::Update,
        StateOpKind::Invalidate,
        StateOpKind::Query,
    ] {
        let (t, _) = sample_tree();
        let before = completions(&sim);
        sim.call_state_op(op, t.ptr(0));
        assert_eq!(
            completions(&sim),
            before,
            "{op:?} completed inside the handler"
        );
        sim.run_until_idle();
        assert_eq!(
            completions(&sim),
            before + 1,
            "{op:?} completed once afterwards"
        );
    }
    // The verifier saw no completion before a handler returned.
    assert!(sim.violations().is_empty());
    finish(sim);
}

#[test]
fn rule_015_completion_passes_back_the_root_pointer() {
    let sim = with_adapter();
    let expected = [
        (StateOpKind::Initiate, "NdisMInitiateOffloadComplete"),
        (StateOpKind::Terminate, "NdisMTerminateOffloadComplete"),
        (StateOpKind::Update, "NdisMUpdateOffloadComplete"),
        (StateOpKind::Invalidate, "NdisMInvalidateOffloadComplete"),
        (StateOpKind::Query, "NdisMQueryOffloadStateComplete"),
    ];
    let trees: Vec<(Tree, Vec<usize>)> = expected.iter().map(|_| sample_tree()).collect();
    for ((op, _), (t, _)) in expected.iter().zip(&trees) {
        sim.call_state_op(*op, t.ptr(0));
    }
    sim.run_until_idle();
    let done: Vec<(&str, usize)> = sim
        .chimney_calls()
        .into_iter()
        .filter_map(|c| match c {
            ChimneyCall::StateComplete { export, root } => Some((export, root)),
            _ => None,
        })
        .collect();
    let want: Vec<(&str, usize)> = expected
        .iter()
        .zip(&trees)
        .map(|((_, e), (t, _))| (*e, t.ptr(0) as usize))
        .collect();
    assert_eq!(
        done, want,
        "each operation completed once, through its own completion, with its root"
    );
    finish(sim);
}

#[test]
fn rule_016_every_block_gets_a_status() {
    let sim = with_adapter();
    for op in [
        StateOpKind::Initiate,
        StateOpKind::Terminate,
        StateOpKind::Query,
    ] {
        let (t, ids) = sample_tree();
        sim.call_state_op(op, t.ptr(0));
        sim.run_until_idle();
        for id in ids {
            assert_ne!(
                t.status(id),
                NDIS_STATUS_PENDING,
                "{op:?}: block {id} has no status"
            );
        }
    }
    finish(sim);
}

#[test]
fn data_path_requests_pend_and_complete_through_the_table() {
    let sim = with_adapter();
    let mut slot: PVOID = 0x1234 as PVOID;
    let slot_ptr: PVOID = (&mut slot as *mut PVOID).cast();
    let sends = NblChain::single(b"hello");
    let recvs = NblChain::single(&[0u8; 64]);
    let fwd = NblChain::single(&[0u8; 20]);
    let disc = NblChain::single(&[]);
    for (kind, chain) in [
        (TcpIoKind::Send, &sends),
        (TcpIoKind::Receive, &recvs),
        (TcpIoKind::Forward, &fwd),
        (TcpIoKind::Disconnect(TCP_DISCONNECT_GRACEFUL_CLOSE), &disc),
    ] {
        assert_eq!(
            sim.call_tcp_io(kind, slot_ptr, chain.head()),
            NDIS_STATUS_PENDING,
            "{kind:?}"
        );
    }
    assert!(
        sim.chimney_calls().is_empty(),
        "nothing completes inside the handlers"
    );
    sim.run_until_idle();
    let calls = sim.chimney_calls();
    // A send names its connection by the context slot: one the driver
    // never issued is refused, the NBL still completes exactly once.
    assert!(calls.contains(&ChimneyCall::SendComplete(vec![(
        sends.head() as usize,
        NDIS_STATUS_INVALID_PARAMETER
    )])));
    // So does a receive request.
    assert!(calls.contains(&ChimneyCall::ReceiveComplete(vec![(
        recvs.head() as usize,
        NDIS_STATUS_INVALID_PARAMETER
    )])));
    // And a forwarded segment.
    assert!(calls.contains(&ChimneyCall::ForwardComplete(vec![(
        fwd.head() as usize,
        NDIS_STATUS_INVALID_PARAMETER
    )])));
    // And a graceful disconnect.
    assert!(calls.contains(&ChimneyCall::DisconnectComplete(
        disc.head() as usize,
        NDIS_STATUS_INVALID_PARAMETER
    )));
    finish(sim);
}

#[test]
fn rule_077_receive_return_is_synchronous_success() {
    let sim = with_adapter();
    let t = sim.driver().tcp.expect("tcp").0;
    let chain = NblChain::single(b"x");
    // SAFETY: the driver's handler with its context.
    let st = unsafe { t.TcpOffloadReceiveReturnHandler.unwrap()(sim.context(), chain.head()) };
    assert_eq!(st, NDIS_STATUS_SUCCESS);
    finish(sim);
}

#[test]
fn ordinary_sends_complete_once_with_success_while_running() {
    let sim = with_adapter();
    let chain = NblChain::build(
        &vec![
            vec![ndis_sim::builders::NbSpec {
                mdl_sizes: vec![60],
                offset: 0
            }];
            3
        ],
        |i, _| {
            // Ethernet from the port (EtherType 0x88B5), then filler.
            let mut f = vec![0xFF; 6];
            f.extend_from_slice(&ndis_sim::exports::phy::DEFAULT_MAC);
            f.extend_from_slice(&[0x88, 0xB5]);
            f.resize(60, i as u8);
            f
        },
    );
    sim.send_net_buffer_lists(chain.head());
    let done = sim.driver().adapter.send_completions.clone();
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|(_, s)| *s == NDIS_STATUS_SUCCESS));
    assert_eq!(
        chain.payload(1, 0)[14..],
        [1u8; 46],
        "builder bytes readable through the MDLs"
    );
    finish(sim);
}
