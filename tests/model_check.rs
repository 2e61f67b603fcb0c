//! Model checking of the driver's lock-free protocols. The driver's own
//! code runs here with its atomics swapped for a checker's (src/sync.rs),
//! under two checkers built from this one file:
//!
//! - loom (`--cfg chimney_loom`): every interleaving, and every value the
//!   Rust/C++ memory model lets each load see (acquire/release, stale
//!   reads);
//! - shuttle (`--cfg chimney_shuttle`): seeded random schedules by PCT
//!   (see `mc::check`), each atomic operation sequentially consistent,
//!   and no blind spots of loom's search.
//!
//! Loom 0.7 can skip interleavings (tokio-rs/loom#392) and admit
//! impossible ones (tokio-rs/loom#254), so the two check each other; see
//! [`Seen`]. `scripts/test.sh` runs both:
//! `RUSTFLAGS="--cfg chimney_loom" cargo test --release --test model_check`
//! and the same with `chimney_shuttle`. Without either cfg this file is
//! empty.
//!
//! - `Deadline` (the delayed-ACK timer shared by all connections): however
//!   arms race each other and the timer's firing, the timer ends up set no
//!   later than the soonest deadline still owed.
//! - The flow index read by receive processing without a lock: a lookup
//!   never misses a flow that stays offloaded while other flows come and
//!   go around it in the same probe chain.
//! - The upload marks a terminate sets without a lock (rule 61): a mark
//!   never reaches a later connection of the same slot, and a race with
//!   slot reuse never makes the later connection's own terminate be lost.

#![cfg(any(chimney_loom, chimney_shuttle))]
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use chimney_miniport::hw::index::{ConnIndex, FlowKey};
use chimney_miniport::ndis::{Deadline, NdisHandle};
use chimney_miniport::offload::conn::{ConnTable, TxState};
use common::send::{
    AUTO, Conn, Posted, bytes_transferred, chain_nbls, chain_of, completed, host_stream, offload,
    one_mdl_each, pattern, send, terminate, terminate_tree,
};
use mc::atomic::{AtomicU32, Ordering};
use mc::{Arc, thread};
use ndis_sim::Simulator;
use ndis_sim::builders::{BlockId, NbSpec, NblChain, Tree};
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::{StateOpKind, TcpIoKind};
use std::collections::BTreeSet;

/// The checker: its threads, its `Arc`, its atomics, and `check`, which
/// runs a model through the checker's schedules (for loom, every
/// interleaving; `bound`: at most that many preemptions, for models too
/// large to run whole).
#[cfg(chimney_loom)]
mod mc {
    pub use loom::sync::Arc;
    pub use loom::sync::atomic;
    pub use loom::thread;

    pub fn check(bound: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = bound;
        b.max_branches = 1_000_000;
        b.check(f);
    }
}

#[cfg(all(chimney_shuttle, not(chimney_loom)))]
mod mc {
    pub use shuttle::sync::Arc;
    pub use shuttle::sync::atomic;
    pub use shuttle::thread;

    /// Shuttle's exhaustive search takes minutes on these models, so it
    /// runs PCT (probabilistic concurrency testing: random thread
    /// priorities with `DEPTH - 1` change points, which finds a bug that
    /// needs at most `DEPTH` ordering constraints between events with a
    /// known probability per schedule) for
    /// `MC_ITERATIONS` schedules (default 30,000), from seed `MC_SEED`
    /// (default 1): the same seed runs the same schedules.
    pub fn check(bound: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
        const DEPTH: usize = 3;
        let _ = bound; // loom's notion; PCT bounds itself by depth.
        let env = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let seed = env("MC_SEED", 1);
        let iterations = env("MC_ITERATIONS", 30_000) as usize;
        let mut config = shuttle::Config::new();
        // It warns that weaker orderings run as SeqCst: loom covers those.
        config.silence_warnings = true;
        let scheduler = shuttle::scheduler::PctScheduler::new_from_seed(seed, DEPTH, iterations);
        shuttle::Runner::new(scheduler, config).run(f);
    }
}

/// The outcomes a model's executions reached, kept outside the checker.
/// Each test asserts it saw the outcomes that only some interleavings
/// produce, so a checker that skipped the race fails the test instead of
/// passing it unexamined (loom 0.7 skips some, tokio-rs/loom#392). The
/// tests are shaped the way loom handles best: the threads that change
/// state are spawned before those that observe it, and the main thread
/// only joins.
#[derive(Clone, Default)]
struct Seen(std::sync::Arc<std::sync::Mutex<(usize, BTreeSet<String>)>>);

impl Seen {
    /// One execution ended with `outcome`.
    fn add(&self, outcome: String) {
        let mut g = self.0.lock().unwrap();
        g.0 += 1;
        g.1.insert(outcome);
    }
    fn expect(&self, outcomes: &[&str]) {
        let (runs, all) = self.0.lock().unwrap().clone();
        eprintln!("{runs} executions, outcomes {all:?}");
        for o in outcomes {
            assert!(all.contains(*o), "no interleaving gave {o:?}; saw {all:?}");
        }
    }
}

/// A timer object: the tick it was last set for (0: never set). Setting an
/// NDIS timer replaces its previous setting, so the last set wins. The
/// kernel serializes the settings of one timer object, so each set sees
/// the one before: a swap, acquire and release, models that.
struct FakeTimer(AtomicU32);

impl FakeTimer {
    fn set(&self, due: u32) {
        self.0.swap(due, Ordering::AcqRel);
    }
    fn due(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Run `model` through the checker; each execution returns its outcome,
/// and the outcomes in `expected` must all have been reached. The model
/// gets a handle for pool memory from a simulator of its own execution
/// (its spin locks and per-processor state are the checker's, so the
/// checker also switches threads inside the driver's locks).
fn explore(
    bound: Option<usize>,
    expected: &[&str],
    model: impl Fn(NdisHandle) -> String + Sync + Send + 'static,
) {
    let seen = Seen::default();
    let s = seen.clone();
    mc::check(bound, move || {
        let mut sim = Simulator::new();
        let adapter = sim.bare_adapter();
        s.add(model(NdisHandle::new(adapter)));
        sim.assert_clean();
    });
    seen.expect(expected);
}

#[test]
fn deadline_racing_arms_leave_the_soonest_set() {
    // Three threads: loom runs out of time unbounded (fifteen minutes were
    // not enough), so it takes every interleaving with at most three
    // preemptions. Outcome: which arms set the timer (50 alone when it
    // came first; all three when they came latest first).
    let expected = [
        "[false, true, false]",
        "[true, true, true]",
        "[true, true, false]",
    ];
    explore(Some(3), &expected, |_| {
        let d = Arc::new(Deadline::new());
        let t = Arc::new(FakeTimer(AtomicU32::new(0)));
        let arms: Vec<_> = [100u32, 50, 70]
            .into_iter()
            .map(|due| {
                let (d, t) = (Arc::clone(&d), Arc::clone(&t));
                thread::spawn(move || d.arm(due, |x| t.set(x)))
            })
            .collect();
        let set: Vec<bool> = arms.into_iter().map(|a| a.join().unwrap()).collect();
        assert_eq!(t.due(), 50, "the timer must fire by the soonest deadline");
        assert_eq!(d.armed(), Some(50));
        format!("{set:?}")
    });
}

#[test]
fn deadline_arm_racing_the_timer_callback() {
    // The callback runs `fired` and then arms for what its scan found still
    // owed (30 here); another processor arms for 100 meanwhile. Whatever
    // the order, the timer must be set for 30 at the end: if the arm for
    // 100 came first, the fire covered it (the callback's scan sees every
    // listed connection); otherwise 30 is sooner anyway.
    explore(None, &["(false, true)", "(true, true)"], |_| {
        let d = Arc::new(Deadline::new());
        let t = Arc::new(FakeTimer(AtomicU32::new(0)));
        d.arm(20, |x| t.set(x));
        let other = {
            let (d, t) = (Arc::clone(&d), Arc::clone(&t));
            thread::spawn(move || d.arm(100, |x| t.set(x)))
        };
        let callback = {
            let (d, t) = (Arc::clone(&d), Arc::clone(&t));
            thread::spawn(move || {
                d.fired();
                d.arm(30, |x| t.set(x))
            })
        };
        let set = (other.join().unwrap(), callback.join().unwrap());
        assert_eq!(t.due(), 30);
        assert_eq!(d.armed(), Some(30));
        format!("{set:?}")
    });
}

fn key(n: u16) -> FlowKey {
    let mut k = FlowKey::default();
    k.local[..4].copy_from_slice(&[10, 0, 0, 1]);
    k.remote[..4].copy_from_slice(&[10, 0, 1, 9]);
    k.local_port = 2000 + n;
    k.remote_port = 80;
    k
}

/// `n` flows whose probes start at the same slot of a 4-slot index
/// (capacity 2 → 4 slots), so they share one probe chain.
fn colliding(n: usize) -> Vec<FlowKey> {
    let first = key(0).hash() & 3;
    (0..u16::MAX)
        .map(key)
        .filter(|k| k.hash() & 3 == first)
        .take(n)
        .collect()
}

/// The id a lookup of `k` finds now, if any.
fn id_of(idx: &ConnIndex, k: &FlowKey) -> Option<u32> {
    idx.find(k, |_| true)
}

/// An index of 4 slots holding `entries`, a writer thread running `churn`
/// on it, then a reader that looks up `first`, then `c` (id 3, which must
/// be found whatever the writer is doing), then `last`. Returns the index
/// once both are done, and what the reader found of `first` and `last`.
fn race_reader(
    h: NdisHandle,
    entries: &[(FlowKey, u32)],
    churn: impl FnOnce(&ConnIndex) + Send + 'static,
    [first, c, last]: [FlowKey; 3],
) -> (Arc<ConnIndex>, String) {
    let idx = Arc::new(ConnIndex::new(h, 2).expect("index"));
    for (k, id) in entries {
        idx.insert(k, *id).unwrap();
    }
    let writer = {
        let idx = Arc::clone(&idx);
        thread::spawn(move || churn(&idx))
    };
    let reader = {
        let idx = Arc::clone(&idx);
        thread::spawn(move || {
            let before = id_of(&idx, &first);
            assert_eq!(
                idx.find(&c, |id| id == 3),
                Some(3),
                "a live flow was missed"
            );
            (before, id_of(&idx, &last))
        })
    };
    writer.join().unwrap();
    let saw = reader.join().unwrap();
    (idx, format!("{saw:?}"))
}

#[test]
fn index_lookup_never_misses_a_flow_that_stays() {
    let keys = colliding(4);
    // The reader ran before, amid and after the churn.
    let expected = ["(Some(1), Some(2))", "(None, Some(2))", "(None, None)"];
    explore(None, &expected, move |h| {
        // Chain: a, b, c from the start slot; c stays throughout.
        let (a, b, c, d) = (keys[0], keys[1], keys[2], keys[3]);
        let churn = move |idx: &ConnIndex| {
            // Offloads and uploads around c (writers are serialized by the
            // offload table's lock: one writer thread here).
            idx.remove(&a, 1);
            idx.insert(&d, 4).unwrap();
            idx.remove(&b, 2);
            idx.remove(&d, 4);
        };
        let (idx, saw) = race_reader(h, &[(a, 1), (b, 2), (c, 3)], churn, [a, c, b]);
        assert_eq!(idx.find(&c, |id| id == 3), Some(3));
        assert_eq!(id_of(&idx, &a), None);
        assert_eq!(idx.occupancy().0, 1);
        saw
    });
}

#[test]
fn index_lookup_during_reclaim_behind_it() {
    // The writer empties the chain after c, reclaiming tombstones, while a
    // reader walks to c: reclaiming may only clear slots no chain needs.
    let keys = colliding(4);
    let expected = [
        "(Some(1), Some(5))",
        "(Some(1), None)",
        "(None, None)",
        "(None, Some(6))",
    ];
    explore(None, &expected, move |h| {
        let (a, c, e) = (keys[0], keys[2], keys[1]);
        let churn = move |idx: &ConnIndex| {
            idx.remove(&e, 5); // reclaimed at once: the slot after is empty
            idx.remove(&a, 1); // a tombstone: c still follows it
            idx.insert(&e, 6).unwrap(); // takes a's tombstone
        };
        let (idx, saw) = race_reader(h, &[(a, 1), (c, 3), (e, 5)], churn, [a, c, e]);
        assert_eq!(id_of(&idx, &e), Some(6));
        saw
    });
}

/// Slot 0 of a one-slot table, holding the connection of `generation`.
fn open_slot(table: &ConnTable, generation: u32) {
    let slot = table.get(0).unwrap();
    let mut c = slot.lock();
    c.generation = generation;
    c.state = TxState::Open;
    slot.set_open(generation);
}

/// The slot's connection goes (upload or abort) and the next one, of
/// `generation`, is offloaded into it. Returns the state the closing
/// lock found (a pending mark applies there).
fn reuse_slot(table: &ConnTable, generation: u32) -> TxState {
    let slot = table.get(0).unwrap();
    let was = {
        let mut c = slot.lock();
        let was = c.state;
        c.state = TxState::Free;
        c.generation = 0;
        slot.set_closed();
        was
    };
    open_slot(table, generation);
    was
}

/// The state of the slot's connection once locked (a pending mark applies).
fn locked_state(table: &ConnTable) -> (u32, TxState) {
    let c = table.get(0).unwrap().lock();
    (c.generation, c.state)
}

/// A one-slot table with connection 7 open, a terminate for it running on
/// a thread, and `then` running on another, spawned after it. Returns the
/// table once both are done, and what `then` returned.
fn race_terminate<R: Send + 'static>(
    h: NdisHandle,
    then: impl FnOnce(&ConnTable) -> R + Send + 'static,
) -> (Arc<ConnTable>, R) {
    let table = Arc::new(ConnTable::new(h, 1).expect("table"));
    open_slot(&table, 7);
    let terminate = {
        let table = Arc::clone(&table);
        thread::spawn(move || table.request_upload(0, 7))
    };
    let other = {
        let table = Arc::clone(&table);
        thread::spawn(move || then(&table))
    };
    terminate.join().unwrap();
    let r = other.join().unwrap();
    (table, r)
}

#[test]
fn rule_061_upload_mark_applies_to_its_connection_only() {
    // Outcome: the state the close found; the terminate came before it (7
    // began its upload) or after.
    explore(None, &["Uploading", "Open"], |h| {
        let (table, closing) = race_terminate(h, |t| reuse_slot(t, 8));
        // The stale terminate never touches connection 8...
        assert_eq!(locked_state(&table), (8, TxState::Open));
        // ...and does not stand in the way of 8's own terminate.
        table.request_upload(0, 8);
        assert_eq!(locked_state(&table), (8, TxState::Uploading));
        format!("{closing:?}")
    });
}

#[test]
fn rule_061_upload_mark_racing_the_lock_is_not_lost() {
    // The data path locks the connection meanwhile; the mark may or may not
    // apply that time, and must apply by the next.
    explore(None, &["Uploading", "Open"], |h| {
        let (table, (g, mid)) = race_terminate(h, locked_state);
        assert_eq!(g, 7);
        assert_eq!(locked_state(&table), (7, TxState::Uploading));
        format!("{mid:?}")
    });
}

// ---------------------------------------------------------------------------
// The spin-lock paths. Under a checker the simulator's NDIS_SPIN_LOCK is the
// checker's (sim/src/checker.rs): a thread that finds a lock held yields to
// the holder, and every acquire and release is a point where the checker
// may switch threads, so the critical sections themselves are explored.

#[test]
fn a_spin_lock_held_across_a_switch_excludes_the_other_processor() {
    // Each thread reads the slot's generation under its lock, lets the
    // checker switch threads, then writes it back plus one: with real
    // exclusion no increment is lost. The outcome is which thread locked
    // first; the checker must have found both orders.
    explore(None, &["A first", "B first"], |h| {
        let table = Arc::new(ConnTable::new(h, 1).expect("table"));
        let bump = |name: &'static str, table: Arc<ConnTable>| {
            thread::spawn(move || {
                let mut c = table.get(0).unwrap().lock();
                let was = c.generation;
                thread::yield_now();
                c.generation = was + 1;
                (name, was)
            })
        };
        let a = bump("A", Arc::clone(&table));
        let b = bump("B", Arc::clone(&table));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!(locked_state(&table).0, 2, "an increment was lost");
        let first = if a.1 == 0 { a.0 } else { b.0 };
        format!("{first} first")
    });
}

/// One of the driver's registered data-path handlers (send or receive),
/// called from a checker thread as a processor would: at DISPATCH_LEVEL,
/// each NBL given to the driver in the simulator's tracker.
struct Poster {
    core: std::sync::Arc<ndis_sim::state::SimCore>,
    handler: W_TCP_OFFLOAD_SEND_HANDLER,
    name: &'static str,
    ctx: usize,
    slot: usize,
}

impl Poster {
    fn new(sim: &Simulator, c: &Conn, op: TcpIoKind) -> Poster {
        // One statement per simulator call: each holds its lock until the
        // statement ends.
        let table = sim.driver().tcp.expect("tcp table").0;
        let handler = match op {
            TcpIoKind::Send => table.TcpOffloadSendHandler,
            TcpIoKind::Receive => table.TcpOffloadReceiveHandler,
            _ => unreachable!("only sends and receives are posted here"),
        };
        let ctx = sim.context() as usize;
        Poster {
            core: sim.core.clone(),
            handler,
            name: op.handler(),
            ctx,
            slot: c.slot_ptr() as usize,
        }
    }

    /// The same, posting on the context slot at `slot` instead.
    fn on_slot(self, slot: usize) -> Poster {
        Poster { slot, ..self }
    }

    /// Post the chain of `nbls` (linked, head first).
    fn post(&self, nbls: &[usize]) {
        for &p in nbls {
            ndis_sim::tracker::give(&self.core, p, self.name);
            if self.name == TcpIoKind::Receive.handler() {
                // SAFETY: the connection's slot, kept alive by the model.
                let context = unsafe { *(self.slot as *const usize) };
                ndis_sim::exports::chimney::note_receive_post(&self.core, p, context);
            }
        }
        // SAFETY: the registered handler, its adapter context, the
        // connection's slot, and a chain the model keeps alive until the
        // driver completes or hands it back.
        let st = ndis_sim::irql::at_dispatch(|| unsafe {
            (self.handler.expect("handler"))(self.ctx as _, self.slot as _, nbls[0] as _)
        });
        assert_eq!(st, NDIS_STATUS_PENDING, "rules 55, 65");
        for &p in nbls {
            ndis_sim::tracker::handler_returned(&self.core, p);
        }
    }

    /// On a thread of its own, post each of `chains` in turn, then set
    /// `posted` to 1.
    fn spawn(self, chains: Vec<Vec<usize>>, posted: Arc<AtomicU32>) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            ndis_sim::state::set_current(Some(self.core.clone()));
            for chain in &chains {
                self.post(chain);
            }
            posted.store(1, Ordering::SeqCst);
            ndis_sim::state::set_current(None);
        })
    }
}

/// The NBLs of each chain, head first.
fn nbls_of(chains: &[NblChain]) -> Vec<Vec<usize>> {
    chains
        .iter()
        .map(|ch| ch.nbls().into_iter().map(|p| p as usize).collect())
        .collect()
}

/// On a processor of its own, run the wire until it is quiet: the peer
/// takes what was sent and answers, and the receive DPC takes the answers.
fn run_wire_apart(sim: &Simulator) -> thread::JoinHandle<()> {
    let core = sim.core.clone();
    thread::spawn(move || {
        ndis_sim::state::set_current(Some(core.clone()));
        while ndis_sim::peer::wire_step(&core) {}
        ndis_sim::state::set_current(None);
    })
}

/// Disconnect `c` abortively (the handler pends, rule 55); the request.
fn abort(sim: &Simulator, c: &Conn) -> NblChain {
    let disconnect = NblChain::single(&[]);
    let kind = TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE);
    assert_eq!(
        sim.call_tcp_io(kind, c.slot_ptr(), disconnect.head()),
        NDIS_STATUS_PENDING
    );
    disconnect
}

/// Post one receive request of `size` bytes on `c` (it pends, rule 65).
fn post_request(sim: &Simulator, c: &Conn, size: usize) -> NblChain {
    let request = one_mdl_each(&[size], |_| vec![0xCC; size]);
    assert_eq!(
        sim.call_tcp_io(TcpIoKind::Receive, c.slot_ptr(), request.head()),
        NDIS_STATUS_PENDING
    );
    request
}

/// Where in the simulator's record `calls` the completion of disconnect
/// request `p` is, and its status.
fn disconnect_completed(calls: &[ChimneyCall], p: usize) -> (usize, NDIS_STATUS) {
    calls
        .iter()
        .enumerate()
        .find_map(|(i, x)| match x {
            ChimneyCall::DisconnectComplete(q, st) if *q == p => Some((i, *st)),
            _ => None,
        })
        .expect("disconnect completed")
}

/// Where in `calls` the first terminate completion is.
fn terminate_completed(calls: &[ChimneyCall]) -> usize {
    calls
        .iter()
        .position(|x| matches!(x, ChimneyCall::StateComplete { export, .. } if export.contains("Terminate")))
        .expect("terminate completed")
}

/// The sends every machine model posts: two chains (two NBLs, then one).
const SIZES: [&[usize]; 2] = [&[300, 1448], &[700]];

/// One processor posting [`SIZES`] on the connection; `posted` turns 1
/// once it is done.
struct Sender {
    chains: Vec<NblChain>,
    /// Every NBL, in posting order.
    nbls: Vec<usize>,
    posted: Arc<AtomicU32>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sender {
    /// [`SIZES`] built, for this processor to post itself.
    fn unposted() -> Sender {
        let chains: Vec<NblChain> = SIZES
            .iter()
            .enumerate()
            .map(|(i, s)| chain_of(s, i as u8))
            .collect();
        Sender {
            nbls: nbls_of(&chains).concat(),
            chains,
            posted: Arc::new(AtomicU32::new(1)),
            thread: None,
        }
    }

    fn start(sim: &Simulator, c: &Conn) -> Sender {
        let mut s = Sender::unposted();
        s.posted.store(0, Ordering::SeqCst);
        let per_chain = nbls_of(&s.chains);
        let thread = Poster::new(sim, c, TcpIoKind::Send).spawn(per_chain, Arc::clone(&s.posted));
        s.thread = Some(thread);
        s
    }

    /// Once the upload of tree `term` was started: every NBL succeeded,
    /// came back in the uploaded state (the TCP block's chain) or completed
    /// UPLOAD_IN_PROGRESS, in that order along the posting order (rule 61).
    fn upload_fates(mut self, sim: &Simulator, c: &Conn, term: &Tree, root: BlockId) -> String {
        self.join();
        sim.run_until_idle();
        assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
        let fates = self.fates(sim, c, term.chain(2));
        assert!(in_order(&fates, "SHU"), "{fates}");
        fates
    }

    fn done(&self) -> bool {
        self.posted.load(Ordering::SeqCst) == 1
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    /// The payload of every NBL, in posting order.
    fn payloads(&self) -> Vec<Vec<u8>> {
        SIZES
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.iter()
                    .enumerate()
                    .map(move |(k, &len)| pattern(k, len, i as u8))
            })
            .collect()
    }

    /// What became of each NBL, in posting order: `S` completed with
    /// success, `H` handed back in the chain at `handed_back`, `U`
    /// completed UPLOAD_IN_PROGRESS, `A` completed REQUEST_ABORTED. Each
    /// NBL exactly one way; completions in posting order (rule 56); each
    /// success with all its bytes counted (rules 57, 58); the peer's
    /// stream a prefix of the payloads that covers every success.
    fn fates(&self, sim: &Simulator, c: &Conn, handed_back: PNET_BUFFER_LIST) -> String {
        let done = completed(sim);
        let back = chain_nbls(handed_back);
        let order: Vec<usize> = done.iter().map(|d| d.0).collect();
        let mut expect_order = self.nbls.clone();
        expect_order.retain(|p| order.contains(p));
        assert_eq!(order, expect_order, "completions out of posting order");
        let mut expect_back = self.nbls.clone();
        expect_back.retain(|p| back.contains(p));
        assert_eq!(back, expect_back, "hand-back out of posting order");
        let payloads = self.payloads();
        let mut covered = 0;
        let mut fates = String::new();
        for (k, p) in self.nbls.iter().enumerate() {
            let status = done.iter().find(|d| d.0 == *p).map(|d| d.1);
            let fate = match (status, back.contains(p)) {
                (Some(NDIS_STATUS_SUCCESS), false) => {
                    assert_eq!(bytes_transferred(*p as _), payloads[k].len());
                    covered = payloads[..=k].iter().map(Vec::len).sum();
                    'S'
                }
                (None, true) => 'H',
                (Some(NDIS_STATUS_UPLOAD_IN_PROGRESS), false) => 'U',
                (Some(NDIS_STATUS_REQUEST_ABORTED), false) => 'A',
                other => panic!("NBL {k}: {other:?}"),
            };
            fates.push(fate);
        }
        let all: Vec<u8> = payloads.concat();
        let stream = sim.peer_state(c.key).stream;
        assert!(
            stream.len() >= covered && all.starts_with(&stream),
            "the peer's stream is not a prefix covering every success"
        );
        fates
    }
}

/// As [`explore`], with a whole simulated machine per execution: the driver
/// loaded and its adapter initialised (with a transmit ring of `ring`
/// frames, if given). The model runs on the thread that owns the
/// simulator (the one that runs the wire, the DPCs, the work items and the
/// state operations); then the adapter is halted and the simulator must
/// have a clean record: no NBL lost or returned twice, no lock misused, no
/// leak. The outcome gets `, contended` if a processor found one of the
/// driver's spin locks held by another in that execution.
fn explore_sim(
    bound: Option<usize>,
    expected: &[&str],
    ring: Option<u32>,
    model: impl Fn(&Simulator) -> String + Sync + Send + 'static,
) {
    let seen = Seen::default();
    let s = seen.clone();
    mc::check(bound, move || {
        let mut sim = common::loaded();
        if let Some(depth) = ring {
            sim.set_phy_ring_depth(depth);
        }
        assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
        let outcome = model(&sim);
        let waited = sim.core.contended_acquires.load(Ordering::SeqCst) > 0;
        s.add(if waited {
            format!("{outcome}, contended")
        } else {
            outcome
        });
        common::finish(sim);
    });
    seen.expect(expected);
}

/// [`explore_sim`] with one connection offloaded to a scripted peer that
/// acknowledges at once; the model uploads it before it returns.
fn explore_machine(
    bound: Option<usize>,
    expected: &[&str],
    model: impl Fn(&Simulator, &Conn) -> String + Sync + Send + 'static,
) {
    explore_sim(bound, expected, None, move |sim| {
        let c = offload(sim, 1, 2001, AUTO);
        model(sim, &c)
    });
}

#[test]
fn rule_056_sends_racing_the_ack_dpc_complete_in_posting_order() {
    // One processor posts while this one runs the receive side: the wire,
    // the peer's ACKs and the DPC that completes what they cover, until
    // the sender is done. The outcome is how many NBLs had completed by
    // then.
    explore_machine(
        Some(4),
        &["0 early", "2 early", "3 early, contended"],
        |sim, c| {
            let mut sender = Sender::start(sim, c);
            let early = loop {
                let done = sender.done();
                let early = completed(sim).len();
                sim.run_until_idle();
                if done {
                    break early;
                }
                thread::yield_now();
            };
            sender.join();
            sim.run_until_idle();
            assert_eq!(sender.fates(sim, c, std::ptr::null_mut()), "SSS");
            terminate(sim, c);
            drop(sender.chains);
            format!("{early} early")
        },
    );
}

/// `fates` goes through the letters of `order` in order (each any number
/// of times): e.g. `SHU`, what succeeded first, then what was handed
/// back, then what was refused.
fn in_order(fates: &str, order: &str) -> bool {
    let rank = |f: char| order.find(f);
    fates
        .chars()
        .map(rank)
        .collect::<Option<Vec<_>>>()
        .is_some_and(|r| r.is_sorted())
}

#[test]
fn rule_061_sends_racing_an_upload_complete_or_come_back_once_in_order() {
    // This processor initiates the upload while the other posts. The
    // upload completes in deferred work, which waits until the sender is
    // done (the host never sends on a context whose upload it has seen
    // complete); the wire runs meanwhile. Each NBL succeeded (acknowledged
    // before the upload), came back in the uploaded state, or completed
    // UPLOAD_IN_PROGRESS (posted after the upload began), in that order.
    explore_machine(Some(5), &["SSS", "SSH", "HHU, contended"], |sim, c| {
        let sender = Sender::start(sim, c);
        thread::yield_now();
        sim.run_until_idle();
        let (term, root) = terminate_tree(c);
        sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
        loop {
            let done = sender.done();
            sim.run_wire_only();
            if done {
                break;
            }
            thread::yield_now();
        }
        sender.upload_fates(sim, c, &term, root)
    });
}

#[test]
fn rule_062_sends_racing_a_peer_reset_succeed_or_abort_once_in_order() {
    // The peer resets the connection while the other processor posts;
    // this one runs the wire and the DPCs until the sender is done. Each
    // NBL succeeded (acknowledged before the reset) or completed
    // REQUEST_ABORTED, in that order (rules 60, 62).
    explore_machine(Some(5), &["SSS", "SSA, contended", "AAA"], |sim, c| {
        let mut sender = Sender::start(sim, c);
        thread::yield_now();
        sim.run_until_idle();
        sim.peer_rst(c.key);
        loop {
            let done = sender.done();
            sim.run_until_idle();
            if done {
                break;
            }
            thread::yield_now();
        }
        sender.join();
        sim.run_until_idle();
        let fates = sender.fates(sim, c, std::ptr::null_mut());
        assert!(in_order(&fates, "SA"), "{fates}");
        terminate(sim, c);
        drop(sender.chains);
        fates
    });
}

#[test]
fn rule_065_receives_posted_racing_arriving_data_lose_and_reorder_nothing() {
    // The peer sends three segments (the last with PSH) while the other
    // processor posts two chains of receive requests (600 and 400 bytes,
    // then 1,000). What arrives before a request is posted is indicated
    // (the host accepts it); the rest is placed in the requests, oldest
    // first. Whatever the interleaving, the host gets the peer's bytes
    // exactly once and in order, reading indications and completed
    // requests in the order the driver made them; requests complete in
    // posting order (rules 65, 66, 70, 76). The outcome is how many bytes
    // went into requests.
    // Loom: three preemptions (five take 190,000 executions, 5 minutes).
    explore_machine(
        Some(3),
        &["placed 500", "placed 1000, contended", "placed 1500"],
        |sim, c| {
            let chains = [
                one_mdl_each(&[600, 400], |k| vec![0xCC; [600, 400][k]]),
                one_mdl_each(&[1000], |_| vec![0xCC; 1000]),
            ];
            let posted_copy: Vec<Posted> = chains.iter().map(Posted::of).collect();
            let requests: Vec<usize> = nbls_of(&chains).concat();
            let posted = Arc::new(AtomicU32::new(0));
            let poster = Poster::new(sim, c, TcpIoKind::Receive);
            let receiver = poster.spawn(nbls_of(&chains), Arc::clone(&posted));
            let data: Vec<u8> = (0..1500).map(|i| (i * 7 % 251) as u8).collect();
            let mut segments = data.chunks(500).enumerate();
            loop {
                let done = posted.load(Ordering::SeqCst) == 1;
                if let Some((i, part)) = segments.next() {
                    sim.peer_send(c.key, part, i == 2);
                }
                sim.run_until_idle();
                if done && segments.len() == 0 {
                    break;
                }
                thread::yield_now();
            }
            receiver.join().unwrap();
            sim.run_until_idle();
            terminate(sim, c);
            // The host's view: indications and completed requests, in the
            // order the driver made them.
            let index: Vec<(usize, &Posted, usize)> = requests
                .iter()
                .enumerate()
                .map(|(i, &p)| match i {
                    0 | 1 => (p, &posted_copy[0], i),
                    _ => (p, &posted_copy[1], 0),
                })
                .collect();
            let host = host_stream(sim, &index);
            assert!(host == data, "the host's stream is not the peer's");
            let order: Vec<usize> = common::send::receives_completed(sim)
                .into_iter()
                .map(|r| r.0)
                .collect();
            assert_eq!(order, requests, "requests completed out of posting order");
            let placed: usize = requests.iter().map(|&p| bytes_transferred(p as _)).sum();
            drop(chains);
            format!("placed {placed}")
        },
    );
}

#[test]
fn ordinary_sends_racing_transmit_ready_and_a_cancel_go_out_once_in_order() {
    // The port's ring holds one frame. One processor sends two chains
    // through MiniportSendNetBufferLists (two NBLs, the second with cancel
    // ID 7; then one); this one runs the wire (each frame out frees the
    // ring, and the port's transmit-ready call moves the next waiting
    // frame) and, once, cancels ID 7. Each NBL completes exactly once:
    // with success, or (only the one with ID 7, if still waiting)
    // SEND_ABORTED; the wire carries the frames of the successful ones,
    // in submission order.
    explore_sim(Some(4), &["SSS", "SAS", "SAS, contended"], Some(1), |sim| {
        let frame = |tag: u8| {
            let mut f = vec![0x33, 0x33, 0, 0, 0, tag];
            f.extend_from_slice(&ndis_sim::exports::phy::DEFAULT_MAC);
            f.extend_from_slice(&[0x88, 0xB5]);
            f.extend((0..86).map(|i| tag.wrapping_add(i)));
            f
        };
        let one = || {
            vec![NbSpec {
                mdl_sizes: vec![100],
                offset: 0,
            }]
        };
        let chains = [
            NblChain::build(&[one(), one()], |i, _| frame(i as u8)),
            NblChain::build(&[one()], |_, _| frame(2)),
        ];
        let nbls: Vec<usize> = nbls_of(&chains).concat();
        // SAFETY: the model's own NBL, before it is sent.
        unsafe {
            (*(nbls[1] as PNET_BUFFER_LIST)).NetBufferListInfo[NetBufferListCancelId as usize] =
                7 as PVOID
        };
        let send = sim
            .driver()
            .characteristics
            .expect("characteristics")
            .0
            .SendNetBufferListsHandler
            .expect("send handler");
        let ctx = sim.context() as usize;
        let core = sim.core.clone();
        let heads: Vec<usize> = chains.iter().map(|c| c.head() as usize).collect();
        let per_chain = nbls_of(&chains);
        let posted = Arc::new(AtomicU32::new(0));
        let sender = {
            let posted = Arc::clone(&posted);
            thread::spawn(move || {
                ndis_sim::state::set_current(Some(core.clone()));
                for (head, chain) in heads.iter().zip(&per_chain) {
                    for &p in chain {
                        ndis_sim::tracker::give(&core, p, "MiniportSendNetBufferLists");
                    }
                    // SAFETY: the registered handler, its context, a
                    // chain the model keeps until it is completed.
                    ndis_sim::irql::at_dispatch(|| unsafe {
                        send(ctx as _, *head as _, 0, NDIS_SEND_FLAGS_DISPATCH_LEVEL)
                    });
                    for &p in chain {
                        ndis_sim::tracker::handler_returned(&core, p);
                    }
                }
                posted.store(1, Ordering::SeqCst);
                ndis_sim::state::set_current(None);
            })
        };
        let mut cancelled = false;
        loop {
            let done = posted.load(Ordering::SeqCst) == 1;
            sim.run_until_idle();
            if !cancelled {
                sim.cancel_send(7);
                cancelled = true;
            }
            if done {
                break;
            }
            thread::yield_now();
        }
        sender.join().unwrap();
        sim.run_until_idle();
        let done = sim.send_completions();
        let mut fates = String::new();
        let mut wire = Vec::new();
        for (k, p) in nbls.iter().enumerate() {
            let mine: Vec<_> = done.iter().filter(|d| d.0 == *p).collect();
            assert_eq!(mine.len(), 1, "NBL {k} completed {} times", mine.len());
            fates.push(match mine[0].1 {
                NDIS_STATUS_SUCCESS => {
                    wire.push(frame(k as u8));
                    'S'
                }
                NDIS_STATUS_REQUEST_ABORTED if k == 1 => 'A',
                other => panic!("NBL {k}: {other:#x}"),
            });
        }
        let sent: Vec<Vec<u8>> = sim
            .captured_frames()
            .into_iter()
            .filter(|(_, d, _)| *d == ndis_sim::Direction::FromTarget)
            .map(|(_, _, f)| f)
            .collect();
        assert!(sent == wire, "frames lost, repeated or out of order");
        // Completions need not come in submission order: an NBL put on
        // the ring inside the send call is completed by that processor once
        // it drops the lock, and the transmit-ready path on another may
        // complete the next one first. NDIS asks no order of ordinary send
        // completions; the wire's order is what is checked.
        drop(chains);
        fates
    });
}

#[test]
#[cfg_attr(
    chimney_loom,
    ignore = "three processors over a whole machine: loom did not finish in 15 minutes"
)]
fn rule_072_receive_completions_after_a_reset_stay_serialized_and_in_fifo_order() {
    // Three processors: one posts two receive requests (one call each);
    // one runs the wire (the peer's RST arrives: the receive DPC aborts
    // the requests it holds); one runs the timers (the completion timer
    // completes requests refused at the door). Whatever the interleaving,
    // the requests complete in posting order, and no two receive
    // completions for the connection overlap (the simulator reports one
    // that starts while another runs on another processor).
    explore_machine(Some(3), &["0xc001000c 0xc001000c, contended"], |sim, c| {
        let chains = [
            one_mdl_each(&[1000], |_| vec![0xCC; 1000]),
            one_mdl_each(&[1000], |_| vec![0xCC; 1000]),
        ];
        let requests: Vec<usize> = nbls_of(&chains).concat();
        let posted = Arc::new(AtomicU32::new(0));
        let poster = Poster::new(sim, c, TcpIoKind::Receive);
        let receiver = poster.spawn(nbls_of(&chains), Arc::clone(&posted));
        let stop = Arc::new(AtomicU32::new(0));
        let timers = {
            let (core, stop) = (sim.core.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                ndis_sim::state::set_current(Some(core.clone()));
                while stop.load(Ordering::SeqCst) == 0 {
                    ndis_sim::exports::timer::fire_one_due_timer(&core);
                    thread::yield_now();
                }
                ndis_sim::state::set_current(None);
            })
        };
        sim.peer_rst(c.key);
        loop {
            let done = posted.load(Ordering::SeqCst) == 1;
            sim.run_wire_only();
            if done {
                break;
            }
            thread::yield_now();
        }
        receiver.join().unwrap();
        stop.store(1, Ordering::SeqCst);
        timers.join().unwrap();
        sim.run_until_idle();
        let done = common::send::receives_completed(sim);
        let order: Vec<usize> = done.iter().map(|d| d.0).collect();
        assert_eq!(
            order, requests,
            "receive requests completed out of FIFO order"
        );
        terminate(sim, c);
        drop(chains);
        let st: Vec<String> = done.iter().map(|d| format!("{:#x}", d.1)).collect();
        st.join(" ")
    });
}

#[test]
fn rule_046_two_runs_of_the_completion_timer_keep_the_queued_order() {
    // Queued for the completion timer: an abortive disconnect (its send
    // aborted, then the request itself), then a terminate of the
    // connection. This processor runs the timer; the other posts a receive
    // request on a stale context (refused: queued, and the timer set
    // again) and runs the timer too, so two runs of its callback may
    // overlap. Whatever the interleaving: the aborted send, then the
    // disconnect, then the terminate (rules 46, 80); the refused request
    // completes once.
    explore_machine(
        Some(4),
        &["one run at a time", "overlapping runs"],
        |sim, c| {
            let sends = chain_of(&[100], 1);
            assert_eq!(send(sim, c, &sends), NDIS_STATUS_PENDING);
            let disconnect = abort(sim, c);
            let (term, root) = terminate_tree(c);
            sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
            let stale = one_mdl_each(&[100], |_| vec![0; 100]);
            let zero = Box::new(0usize);
            let poster =
                Poster::new(sim, c, TcpIoKind::Receive).on_slot(&*zero as *const usize as usize);
            let nbls = nbls_of(std::slice::from_ref(&stale));
            let other = {
                let core = sim.core.clone();
                thread::spawn(move || {
                    ndis_sim::state::set_current(Some(core.clone()));
                    poster.post(&nbls[0]);
                    while ndis_sim::exports::timer::fire_one_due_timer(&core) {}
                    ndis_sim::state::set_current(None);
                })
            };
            while ndis_sim::exports::timer::fire_one_due_timer(&sim.core) {}
            other.join().unwrap();
            sim.run_until_idle();
            assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
            let calls = sim.chimney_calls();
            let at = |f: &dyn Fn(&ChimneyCall) -> bool| calls.iter().position(f).expect("made");
            let send_nbl = sends.head() as usize;
            let aborted = at(
                &|x| matches!(x, ChimneyCall::SendComplete(v) if v.contains(&(send_nbl, NDIS_STATUS_REQUEST_ABORTED))),
            );
            let disconnected = disconnect_completed(&calls, disconnect.head() as usize).0;
            let terminated = terminate_completed(&calls);
            assert!(
                aborted < disconnected && disconnected < terminated,
                "{calls:#?}"
            );
            let refused: Vec<_> = common::send::receives_completed(sim)
                .into_iter()
                .filter(|d| d.0 == stale.head() as usize)
                .collect();
            assert_eq!(
                refused,
                [(stale.head() as usize, NDIS_STATUS_INVALID_PARAMETER)]
            );
            drop((sends, disconnect, stale, zero));
            if sim
                .core
                .overlapping_timer_runs
                .load(std::sync::atomic::Ordering::SeqCst)
                > 0
            {
                "overlapping runs".into()
            } else {
                "one run at a time".into()
            }
        },
    );
}

#[test]
fn rule_080_sends_acknowledged_racing_an_abortive_disconnect_complete_in_posting_order() {
    // The sends are out; the other processor runs the wire, so the peer's
    // ACKs reach the receive DPC, which completes what they cover. This
    // one performs an abortive disconnect, then runs the completion timer
    // (the aborted sends and the request itself). Each NBL succeeded or was
    // aborted, in posting order, and the disconnect completes after every
    // send (rules 56, 62, 80).
    explore_machine(Some(4), &["SSS", "AAA"], |sim, c| {
        let mut sender = Sender::start(sim, c);
        sender.join();
        let wire = run_wire_apart(sim);
        let disconnect = abort(sim, c);
        while ndis_sim::exports::timer::fire_one_due_timer(&sim.core) {}
        wire.join().unwrap();
        sim.run_until_idle();
        let fates = sender.fates(sim, c, std::ptr::null_mut());
        assert!(in_order(&fates, "SA"), "{fates}");
        let calls = sim.chimney_calls();
        let last_send = calls
            .iter()
            .rposition(|x| {
                matches!(x, ChimneyCall::SendComplete(v) if v.iter().any(|d| sender.nbls.contains(&d.0)))
            })
            .expect("sends completed");
        let disconnected = disconnect_completed(&calls, disconnect.head() as usize).0;
        assert!(last_send < disconnected, "rule 80: {calls:#?}");
        terminate(sim, c);
        drop((sender.chains, disconnect));
        fates
    });
}

#[test]
fn rule_061_sends_acknowledged_on_one_processor_and_refused_on_another_complete_in_order() {
    // The first chain is out, and the other processor runs the wire, so
    // the peer's ACKs reach the receive DPC, while this one begins the
    // upload, posts the second chain (refused: UPLOAD_IN_PROGRESS) and
    // runs the completion timer (the refusal, then the terminate's walk;
    // once the terminate is pending, segments go up the ordinary path,
    // rule 52). Each NBL succeeded, came back in the uploaded state, or
    // was refused, and completions keep posting order (rules 56, 61).
    explore_machine(Some(3), &["SSU", "HHU"], |sim, c| {
        let sender = Sender::unposted();
        assert_eq!(send(sim, c, &sender.chains[0]), NDIS_STATUS_PENDING);
        let wire = run_wire_apart(sim);
        let (term, root) = terminate_tree(c);
        sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
        assert_eq!(send(sim, c, &sender.chains[1]), NDIS_STATUS_PENDING);
        while ndis_sim::exports::timer::fire_one_due_timer(&sim.core) {}
        wire.join().unwrap();
        sender.upload_fates(sim, c, &term, root)
    });
}

#[test]
fn rule_080_receive_requests_an_abortive_disconnect_ends_go_back_before_it() {
    // Two receive requests are posted and the peer's data for the first is
    // on the wire. The other processor runs the wire: the receive DPC fills
    // the first request and completes it, holding the connection's receive
    // gate for that call. This one performs an abortive disconnect (the
    // second request, and the first if its data has not arrived, end with
    // REQUEST_ABORTED, and so does a send if the peer's ACK has not
    // arrived), then runs the completion timer. Whatever the interleaving:
    // the requests go back once each in posting order, one call at a time
    // (rule 72, the simulator's check), and the disconnect completes only
    // after the send and the requests it ended (rule 80).
    explore_machine(
        Some(4),
        &["0x0 0xc001000c", "0xc001000c 0xc001000c"],
        |sim, c| {
            let chains = [post_request(sim, c, 10), post_request(sim, c, 1000)];
            sim.run_until_idle();
            // A send the peer has yet to acknowledge: acknowledged by the
            // wire's DPC or aborted, it completes before the disconnect.
            let sends = chain_of(&[100], 1);
            assert_eq!(send(sim, c, &sends), NDIS_STATUS_PENDING);
            sim.peer_send(c.key, &[7; 10], true);
            let wire = run_wire_apart(sim);
            let disconnect = abort(sim, c);
            while ndis_sim::exports::timer::fire_one_due_timer(&sim.core) {}
            wire.join().unwrap();
            sim.run_until_idle();
            let done = common::send::receives_completed(sim);
            let order: Vec<usize> = done.iter().map(|d| d.0).collect();
            assert_eq!(
                order,
                nbls_of(&chains).concat(),
                "rule 72: FIFO: {:#?}",
                sim.chimney_calls()
            );
            let calls = sim.chimney_calls();
            let last_request = calls
                .iter()
                .rposition(|x| matches!(x, ChimneyCall::ReceiveComplete(_)))
                .expect("requests completed");
            let disconnected = disconnect_completed(&calls, disconnect.head() as usize).0;
            assert!(last_request < disconnected, "rule 80: {calls:#?}");
            let sent = calls
                .iter()
                .position(|x| matches!(x, ChimneyCall::SendComplete(v) if v.iter().any(|d| d.0 == sends.head() as usize)))
                .expect("send completed");
            assert!(sent < disconnected, "rule 80: {calls:#?}");
            terminate(sim, c);
            drop((chains, sends, disconnect));
            let st: Vec<String> = done.iter().map(|d| format!("{:#x}", d.1)).collect();
            st.join(" ")
        },
    );
}

#[test]
fn rule_046_a_terminate_racing_the_hand_back_of_an_abortive_disconnects_request_completes_last() {
    // An abortive disconnect has ended the posted request, and the
    // disconnect waits behind it. The other processor runs the wire: data
    // arriving for the connection makes the receive DPC hand the request
    // back, then queue the disconnect. This one terminates the connection
    // and runs the completion timer (the upload hands back whatever is
    // still queued, after any running receive call returns). Whatever the
    // interleaving: the request goes back once, then the disconnect, then
    // the terminate completes (rules 46, 80).
    explore_machine(
        Some(3),
        &["request back before the timer ran", "request back after"],
        |sim, c| {
            let request = post_request(sim, c, 1000);
            sim.run_until_idle();
            let disconnect = abort(sim, c);
            sim.peer_send(c.key, &[7; 10], true);
            let wire = run_wire_apart(sim);
            let (term, root) = terminate_tree(c);
            sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
            let before = common::send::receives_completed(sim).len();
            while ndis_sim::exports::timer::fire_one_due_timer(&sim.core) {}
            wire.join().unwrap();
            sim.run_until_idle();
            assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
            assert_eq!(
                common::send::receives_completed(sim),
                [(request.head() as usize, NDIS_STATUS_REQUEST_ABORTED)],
                "rule 62: once"
            );
            let calls = sim.chimney_calls();
            let at = |f: &dyn Fn(&ChimneyCall) -> bool| calls.iter().position(f).expect("made");
            let returned = at(&|x| matches!(x, ChimneyCall::ReceiveComplete(_)));
            let disconnected = disconnect_completed(&calls, disconnect.head() as usize).0;
            let terminated = terminate_completed(&calls);
            assert!(
                returned < disconnected && disconnected < terminated,
                "rules 46, 80: {calls:#?}"
            );
            drop((request, disconnect));
            if before == 1 {
                "request back before the timer ran".into()
            } else {
                "request back after".into()
            }
        },
    );
}

#[test]
fn rule_046_an_abortive_disconnect_racing_a_terminate_completes_before_it() {
    // A receive request is posted. The other processor calls the disconnect
    // handler (abortive) while this one terminates the connection and runs
    // the completion timer. If the disconnect found the connection open (it
    // succeeds), everything it ended — the request, then the disconnect
    // itself — completes before the terminate does (rules 46, 80); if the
    // upload came first, the disconnect fails, and each request still
    // completes exactly once (the simulator's record).
    explore_machine(Some(4), &["disconnect first", "upload first"], |sim, c| {
        let request = post_request(sim, c, 1000);
        sim.run_until_idle();
        let disconnect = NblChain::single(&[]);
        let handler = sim
            .driver()
            .tcp
            .expect("tcp table")
            .0
            .TcpOffloadDisconnectHandler
            .expect("disconnect handler");
        let (core, ctx, slot) = (
            sim.core.clone(),
            sim.context() as usize,
            c.slot_ptr() as usize,
        );
        let nbl = disconnect.head() as usize;
        let other = thread::spawn(move || {
            ndis_sim::state::set_current(Some(core.clone()));
            ndis_sim::tracker::give(&core, nbl, TcpIoKind::Disconnect(0).handler());
            // SAFETY: the registered handler, its adapter context, the
            // connection's slot and a request the model keeps alive until
            // the driver completes it.
            let st = ndis_sim::irql::at_dispatch(|| unsafe {
                handler(ctx as _, slot as _, nbl as _, TCP_DISCONNECT_ABORTIVE_CLOSE)
            });
            assert_eq!(st, NDIS_STATUS_PENDING, "rule 55");
            ndis_sim::tracker::handler_returned(&core, nbl);
            ndis_sim::state::set_current(None);
        });
        let (term, root) = terminate_tree(c);
        sim.call_state_op(StateOpKind::Terminate, term.ptr(root));
        while ndis_sim::exports::timer::fire_one_due_timer(&sim.core) {}
        other.join().unwrap();
        sim.run_until_idle();
        assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
        let calls = sim.chimney_calls();
        let at = |f: &dyn Fn(&ChimneyCall) -> bool| calls.iter().position(f).expect("made");
        let (disconnected, status) = disconnect_completed(&calls, nbl);
        let returned = at(&|x| matches!(x, ChimneyCall::ReceiveComplete(_)));
        let terminated = terminate_completed(&calls);
        drop((request, disconnect));
        if status == NDIS_STATUS_SUCCESS {
            assert!(
                returned < disconnected && disconnected < terminated,
                "rules 46, 80: {calls:#?}"
            );
            "disconnect first".into()
        } else {
            "upload first".into()
        }
    });
}

#[test]
fn rule_080_the_peers_fin_indicated_racing_an_abortive_disconnect_goes_up_before_it_completes() {
    // The peer's FIN is on the wire. The other processor runs the wire: the
    // receive DPC acknowledges it and, everything before it having reached
    // the host, makes the TcpIndicateDisconnect event. This one performs an
    // abortive disconnect and runs the completion timer. If the event is
    // made at all (the FIN was taken before the abort), it is made before
    // the disconnect completes: receive processing has stopped by then
    // (rule 80), and the host never hears of the peer's FIN on a
    // connection it has already reset.
    explore_machine(
        Some(5),
        &["event, then the disconnect", "no event"],
        |sim, c| {
            sim.peer_fin(c.key);
            let wire = run_wire_apart(sim);
            let disconnect = abort(sim, c);
            while ndis_sim::exports::timer::fire_one_due_timer(&sim.core) {}
            wire.join().unwrap();
            sim.run_until_idle();
            let calls = sim.chimney_calls();
            let (disconnected, status) = disconnect_completed(&calls, disconnect.head() as usize);
            assert_eq!(status, NDIS_STATUS_SUCCESS);
            let event = calls.iter().position(|x| {
            matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateDisconnect as ULONG)
        });
            terminate(sim, c);
            drop(disconnect);
            match event {
                Some(at) => {
                    assert!(at < disconnected, "rule 80: {calls:#?}");
                    "event, then the disconnect".into()
                }
                None => "no event".into(),
            }
        },
    );
}
