//! Sends racing the state machine: two processors keep posting sends while
//! a third drains the wire and, meanwhile, uploads some connections, resets
//! others from the peer and aborts others with an abortive disconnect.
//! Whatever the interleaving: every NBL is completed or handed back exactly
//! once (the simulator's tracker reports anything else), no lock is misused,
//! nothing leaks, and the undisturbed connections deliver every byte in order.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::{AUTO, Conn, Mine, chain_of, completed, offload, pattern, terminate};
use common::tree::run;
use common::*;
use ndis_sim::builders::NblChain;
use ndis_sim::{StateOpKind, TcpIoKind};
use std::sync::atomic::{AtomicUsize, Ordering};

const THREADS: usize = 2;
const PER_THREAD: usize = 16;
const ROUNDS: usize = 12;

/// What a connection goes through while its sends are in flight.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Uploaded,
    Reset,
    Aborted,
    Undisturbed,
}

fn fate(i: usize) -> Fate {
    match i % 4 {
        0 => Fate::Uploaded,
        1 => Fate::Reset,
        2 => Fate::Aborted,
        _ => Fate::Undisturbed,
    }
}

struct Work {
    slot: usize,
    chains: Vec<NblChain>,
}

#[test]
fn sends_race_uploads_resets_and_aborts() {
    let sim = with_adapter();
    let mut conns: Vec<Conn> = Vec::new();
    let mut work: Vec<Vec<Work>> = Vec::new();
    for t in 0..THREADS {
        let mut list = Vec::new();
        for i in 0..PER_THREAD {
            let n = (t * PER_THREAD + i) as u8 + 1;
            let c = offload(&sim, n, 2000 + u16::from(n), AUTO);
            let chains = (0..ROUNDS)
                .map(|r| chain_of(&[100 + 37 * r, 1448, 7], n ^ r as u8))
                .collect();
            list.push(Work {
                slot: c.slot_ptr() as usize,
                chains,
            });
            conns.push(c);
        }
        work.push(list);
    }
    let send = sim
        .driver()
        .tcp
        .expect("tcp table")
        .0
        .TcpOffloadSendHandler
        .expect("send");
    let ctx = sim.context() as usize;
    let posted = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let gate = AtomicUsize::new(0);
    let requests: Vec<NblChain> = (0..conns.len()).map(|_| NblChain::single(&[])).collect();
    std::thread::scope(|s| {
        for list in &work {
            let core = sim.core.clone();
            let (posted, finished, gate) = (&posted, &finished, &gate);
            let mine = Mine(list);
            s.spawn(move || {
                let list = mine.get();
                ndis_sim::state::set_current(Some(core.clone()));
                for r in 0..ROUNDS {
                    // Round r starts when the main thread opens it.
                    while gate.load(Ordering::SeqCst) <= r {
                        std::thread::yield_now();
                    }
                    for w in list {
                        let chain = &w.chains[r];
                        let given: Vec<usize> =
                            chain.nbls().into_iter().map(|p| p as usize).collect();
                        for &p in &given {
                            ndis_sim::tracker::give(&core, p, "MiniportTcpOffloadSend");
                        }
                        // SAFETY: the registered handler, its context, the
                        // connection's slot and a chain owned until completion.
                        let st = ndis_sim::irql::at_dispatch(|| unsafe {
                            send(ctx as NDIS_HANDLE, w.slot as PVOID, chain.head())
                        });
                        for p in given {
                            ndis_sim::tracker::handler_returned(&core, p);
                        }
                        assert_eq!(st, NDIS_STATUS_PENDING);
                        posted.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::yield_now();
                }
                finished.fetch_add(1, Ordering::SeqCst);
                ndis_sim::state::set_current(None);
            });
        }
        // Open the rounds one by one; from round 3 on, disturb four
        // connections right after opening each round, while both threads
        // are posting it.
        let total = THREADS * PER_THREAD * ROUNDS;
        let per_round = THREADS * PER_THREAD;
        let victims: Vec<usize> = (0..conns.len())
            .filter(|&i| fate(i) != Fate::Undisturbed)
            .collect();
        // If this thread fails an assertion, open every gate so the posting
        // threads finish and the scope can report the failure.
        struct OpenOnPanic<'a>(&'a AtomicUsize);
        impl Drop for OpenOnPanic<'_> {
            fn drop(&mut self) {
                self.0.store(usize::MAX, Ordering::SeqCst);
            }
        }
        let _open = OpenOnPanic(&gate);
        let mut overlapped = 0;
        for r in 0..ROUNDS {
            gate.store(r + 1, Ordering::SeqCst);
            let batch = victims
                .iter()
                .skip(r.saturating_sub(3) * 4)
                .take(if r >= 3 { 4 } else { 0 });
            for &i in batch {
                let c = &conns[i];
                let before = posted.load(Ordering::SeqCst);
                match fate(i) {
                    Fate::Uploaded => {
                        let (term, root) = common::tree::term_connection(
                            c.tree.context(c.neighbor),
                            c.tree.context(c.path),
                            c.tree.context(c.tcp),
                        );
                        run(&sim, StateOpKind::Terminate, &term, root);
                        assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
                    }
                    Fate::Reset => {
                        sim.peer_rst(c.key);
                        sim.run_until_idle();
                    }
                    Fate::Aborted => {
                        let st = sim.call_tcp_io(
                            TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE),
                            c.slot_ptr(),
                            requests[i].head(),
                        );
                        assert_eq!(st, NDIS_STATUS_PENDING);
                        sim.run_until_idle();
                    }
                    Fate::Undisturbed => {}
                }
                let after = posted.load(Ordering::SeqCst);
                if after > before && after < per_round * (r + 1) {
                    overlapped += 1;
                }
            }
            while posted.load(Ordering::SeqCst) < per_round * (r + 1) {
                sim.run_until_idle();
                std::thread::yield_now();
            }
            sim.run_until_idle();
        }
        assert_eq!(posted.load(Ordering::SeqCst), total);
        eprintln!(
            "{overlapped} of {} disturbances ran while sends were being posted",
            victims.len()
        );
    });
    for _ in 0..20 {
        sim.advance_ms(10);
    }
    sim.assert_clean();

    // Statuses by fate; the undisturbed connections delivered everything.
    let done = completed(&sim);
    let status_of = |p: usize| done.iter().find(|x| x.0 == p).map(|x| x.1);
    for (i, (c, w)) in conns
        .iter()
        .zip(work.iter().flat_map(|l| l.iter()))
        .enumerate()
    {
        let nbls: Vec<usize> = w
            .chains
            .iter()
            .flat_map(|ch| ch.nbls())
            .map(|p| p as usize)
            .collect();
        match fate(i) {
            Fate::Undisturbed => {
                assert!(
                    nbls.iter()
                        .all(|&p| status_of(p) == Some(NDIS_STATUS_SUCCESS)),
                    "connection {i}"
                );
                let mut want = Vec::new();
                for (r, _) in w.chains.iter().enumerate() {
                    for (k, len) in [100 + 37 * r, 1448, 7].into_iter().enumerate() {
                        want.extend(pattern(k, len, (i as u8 + 1) ^ r as u8));
                    }
                }
                assert!(sim.peer_state(c.key).stream == want, "connection {i}");
            }
            Fate::Reset | Fate::Aborted => {
                // Completed before the reset with success, after it aborted.
                let allowed = [NDIS_STATUS_SUCCESS, NDIS_STATUS_REQUEST_ABORTED];
                assert!(
                    nbls.iter()
                        .all(|&p| status_of(p).is_some_and(|s| allowed.contains(&s))),
                    "connection {i} ({:?})",
                    fate(i)
                );
            }
            Fate::Uploaded => {
                // Completed before the upload, handed back by it, or refused
                // afterwards (the context is stale): each NBL one way.
                let allowed = [
                    NDIS_STATUS_SUCCESS,
                    NDIS_STATUS_UPLOAD_IN_PROGRESS,
                    NDIS_STATUS_INVALID_PARAMETER,
                ];
                assert!(
                    nbls.iter()
                        .all(|&p| status_of(p).is_none_or(|s| allowed.contains(&s))),
                    "connection {i}"
                );
            }
        }
    }
    // Upload what is still offloaded, then a clean halt: the tracker would
    // report any NBL never completed nor handed back.
    for (i, c) in conns.iter().enumerate() {
        if fate(i) != Fate::Uploaded {
            terminate(&sim, c);
        }
    }
    drop(work);
    drop(requests);
    finish(sim);
}
