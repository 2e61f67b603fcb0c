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

use chimney_miniport::hw::index::{ConnIndex, FlowKey};
use chimney_miniport::ndis::{Deadline, NdisHandle};
use chimney_miniport::offload::conn::{ConnTable, TxState};
use mc::atomic::{AtomicU32, Ordering};
use mc::{Arc, thread};
use ndis_sim::Simulator;
use std::collections::BTreeSet;

/// The checker: its threads, its `Arc`, its atomics, and `check`, which
/// runs a model through every interleaving (`bound`: at most that many
/// preemptions, for models too large to run whole).
#[cfg(chimney_loom)]
mod mc {
    pub use loom::sync::Arc;
    pub use loom::sync::atomic;
    pub use loom::thread;

    pub fn check(bound: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = bound;
        b.check(f);
    }
}

#[cfg(all(chimney_shuttle, not(chimney_loom)))]
mod mc {
    pub use shuttle::sync::Arc;
    pub use shuttle::sync::atomic;
    pub use shuttle::thread;

    /// Shuttle's exhaustive search takes minutes on these models, so it
    /// runs PCT (probabilistic concurrency testing: random priorities with
    /// `DEPTH - 1` priority changes, which finds any bug needing at most
    /// that many ordering constraints with known probability per run) for
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
/// kernel serializes the settings of one timer object (under the timer
/// table's lock), so each set sees the one before: a swap, acquire and
/// release, models that.
struct FakeTimer(AtomicU32);

impl FakeTimer {
    fn set(&self, due: u32) {
        self.0.swap(due, Ordering::AcqRel);
    }
    fn due(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn deadline_racing_arms_leave_the_soonest_set() {
    let seen = Seen::default();
    let s = seen.clone();
    // Three threads: loom runs out of time unbounded (fifteen minutes were not
    // enough), so it takes every interleaving with at most three
    // preemptions; shuttle runs them all.
    mc::check(Some(3), move || {
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
        s.add(format!("{set:?}"));
    });
    // Arms that set the timer: 50 alone when it came first; all three when
    // they came latest first.
    seen.expect(&[
        "[false, true, false]",
        "[true, true, true]",
        "[true, true, false]",
    ]);
}

#[test]
fn deadline_arm_racing_the_timer_callback() {
    // The callback runs `fired` and then arms for what its scan found still
    // owed (30 here); another processor arms for 100 meanwhile. Whatever
    // the order, the timer must be set for 30 at the end: if the arm for
    // 100 came first, the fire covered it (the callback's scan sees every
    // listed connection); otherwise 30 is sooner anyway.
    let seen = Seen::default();
    let s = seen.clone();
    mc::check(None, move || {
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
        s.add(format!("{set:?}"));
    });
    seen.expect(&["(false, true)", "(true, true)"]);
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

/// Look `c` (id 3) up: it must be found whatever the writer is doing.
fn find_c(idx: &ConnIndex, c: &FlowKey) {
    assert_eq!(idx.find(c, |id| id == 3), Some(3), "a live flow was missed");
}

#[test]
fn index_lookup_never_misses_a_flow_that_stays() {
    let keys = colliding(4);
    let seen = Seen::default();
    let s = seen.clone();
    // The simulator provides the pool the structures live in; it stays
    // outside the checker, which sees only the driver's atomics.
    let mut sim = Simulator::new();
    let adapter = sim.bare_adapter() as usize;
    mc::check(None, move || {
        let h = NdisHandle::new(adapter as _);
        let idx = Arc::new(ConnIndex::new(h, 2).expect("index"));
        // Chain: a, b, c from the start slot; c stays throughout.
        let (a, b, c, d) = (keys[0], keys[1], keys[2], keys[3]);
        idx.insert(&a, 1).unwrap();
        idx.insert(&b, 2).unwrap();
        idx.insert(&c, 3).unwrap();
        let writer = {
            let idx = Arc::clone(&idx);
            thread::spawn(move || {
                // Offloads and uploads around c (writers are serialized
                // by the offload table's lock: one writer thread here).
                idx.remove(&a, 1);
                idx.insert(&d, 4).unwrap();
                idx.remove(&b, 2);
                idx.remove(&d, 4);
            })
        };
        let reader = {
            let idx = Arc::clone(&idx);
            thread::spawn(move || {
                let before = id_of(&idx, &a);
                find_c(&idx, &c);
                let after = id_of(&idx, &b);
                (before, after)
            })
        };
        writer.join().unwrap();
        let saw = reader.join().unwrap();
        find_c(&idx, &c);
        assert_eq!(id_of(&idx, &a), None);
        assert_eq!(idx.occupancy().0, 1);
        s.add(format!("{saw:?}"));
        drop(idx);
    });
    // The reader ran before, amid and after the churn.
    seen.expect(&["(Some(1), Some(2))", "(None, Some(2))", "(None, None)"]);
    drop(sim);
}

#[test]
fn index_lookup_during_reclaim_behind_it() {
    // The writer empties the chain after c, reclaiming tombstones, while a
    // reader walks to c: reclaiming may only clear slots no chain needs.
    let keys = colliding(4);
    let seen = Seen::default();
    let s = seen.clone();
    let mut sim = Simulator::new();
    let adapter = sim.bare_adapter() as usize;
    mc::check(None, move || {
        let h = NdisHandle::new(adapter as _);
        let idx = Arc::new(ConnIndex::new(h, 2).expect("index"));
        let (a, c, e) = (keys[0], keys[2], keys[1]);
        idx.insert(&a, 1).unwrap();
        idx.insert(&c, 3).unwrap();
        idx.insert(&e, 5).unwrap();
        let writer = {
            let idx = Arc::clone(&idx);
            thread::spawn(move || {
                idx.remove(&e, 5); // reclaimed at once: the slot after is empty
                idx.remove(&a, 1); // a tombstone: c still follows it
                idx.insert(&e, 6).unwrap(); // takes a's tombstone
            })
        };
        let reader = {
            let idx = Arc::clone(&idx);
            thread::spawn(move || {
                let before = id_of(&idx, &a);
                find_c(&idx, &c);
                let after = id_of(&idx, &e);
                (before, after)
            })
        };
        writer.join().unwrap();
        let saw = reader.join().unwrap();
        assert_eq!(id_of(&idx, &e), Some(6));
        s.add(format!("{saw:?}"));
        drop(idx);
    });
    seen.expect(&[
        "(Some(1), Some(5))",
        "(Some(1), None)",
        "(None, None)",
        "(None, Some(6))",
    ]);
    drop(sim);
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

#[test]
fn rule_061_upload_mark_applies_to_its_connection_only() {
    let seen = Seen::default();
    let s = seen.clone();
    // The simulator provides the pool the structures live in; it
    // stays outside the checker, which sees only the driver's atomics.
    let mut sim = Simulator::new();
    let adapter = sim.bare_adapter() as usize;
    mc::check(None, move || {
        let h = NdisHandle::new(adapter as _);
        let table = Arc::new(ConnTable::new(h, 1).expect("table"));
        open_slot(&table, 7);
        let terminate = {
            let table = Arc::clone(&table);
            thread::spawn(move || table.request_upload(0, 7))
        };
        let reuse = {
            let table = Arc::clone(&table);
            thread::spawn(move || reuse_slot(&table, 8))
        };
        terminate.join().unwrap();
        let closing = reuse.join().unwrap();
        // The stale terminate never touches connection 8...
        assert_eq!(locked_state(&table), (8, TxState::Open));
        // ...and does not stand in the way of 8's own terminate.
        table.request_upload(0, 8);
        assert_eq!(locked_state(&table), (8, TxState::Uploading));
        s.add(format!("{closing:?}"));
        drop(table);
    });
    // The terminate came before the close (7 began its upload) or after.
    seen.expect(&["Uploading", "Open"]);
}

#[test]
fn rule_061_upload_mark_racing_the_lock_is_not_lost() {
    let seen = Seen::default();
    let s = seen.clone();
    // The simulator provides the pool the structures live in; it
    // stays outside the checker, which sees only the driver's atomics.
    let mut sim = Simulator::new();
    let adapter = sim.bare_adapter() as usize;
    mc::check(None, move || {
        let h = NdisHandle::new(adapter as _);
        let table = Arc::new(ConnTable::new(h, 1).expect("table"));
        open_slot(&table, 7);
        let terminate = {
            let table = Arc::clone(&table);
            thread::spawn(move || table.request_upload(0, 7))
        };
        // The data path locks the connection meanwhile (the mark may or
        // may not apply this time).
        let datapath = {
            let table = Arc::clone(&table);
            thread::spawn(move || locked_state(&table))
        };
        terminate.join().unwrap();
        let (g, mid) = datapath.join().unwrap();
        assert_eq!(g, 7);
        assert_eq!(locked_state(&table), (7, TxState::Uploading));
        s.add(format!("{mid:?}"));
        drop(table);
    });
    seen.expect(&["Uploading", "Open"]);
}
