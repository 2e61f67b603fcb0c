//! Initiate and terminate of a 100,000-connection state tree through the
//! registered handlers (one neighbor → one path → 100,000 TCP blocks), run
//! in the simulator on one core. Tree construction is outside the timing;
//! the measured part is handler + walk + completion.
//!
//! cargo bench --bench state_tree

// Benchmark code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use chimney_miniport::ffi::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndis_sim::builders::{BlockId, TcpSpec, Tree, bytes_of};
use ndis_sim::{Simulator, StateOpKind};
use std::time::{Duration, Instant};

const N: usize = 100_000;

fn offload_tree() -> (Tree, BlockId) {
    let mut t = Tree::new();
    let n = t.new_neighbor([0; 6], 0, [0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    let p = t.new_path4([10, 0, 0, 1], [10, 0, 1, 1], 1500);
    t.dependent(n, p);
    let mut prev = None;
    for i in 0..N {
        let c = t.new_tcp(&TcpSpec::established((i % 60_000) as u16 + 1, 443));
        match prev {
            None => t.dependent(p, c),
            Some(x) => t.next(x, c),
        }
        prev = Some(c);
    }
    (t, n)
}

fn terminate_tree(offloaded: &Tree) -> (Tree, BlockId) {
    // SAFETY: all-zero delegated structures with their Length set.
    let mut d: TCP_OFFLOAD_STATE_DELEGATED = unsafe { std::mem::zeroed() };
    d.Header.Length = size_of::<TCP_OFFLOAD_STATE_DELEGATED>() as u32;
    let dbytes = bytes_of(&d);
    let mut t = Tree::new();
    let n = t.reference(0, offloaded.context(0), &[]);
    let p = t.reference(0, offloaded.context(1), &[]);
    t.dependent(n, p);
    let mut prev = None;
    for i in 0..N {
        let c = t.reference(
            TcpOffloadDelegatedState,
            offloaded.context(2 + i),
            &[&dbytes],
        );
        match prev {
            None => t.dependent(p, c),
            Some(x) => t.next(x, c),
        }
        prev = Some(c);
    }
    (t, n)
}

/// Time of one operation: (everything, the simulator's tree bookkeeping).
fn run(sim: &Simulator, op: StateOpKind, t: &Tree, root: BlockId) -> (Duration, Duration) {
    let kept = sim.tree_bookkeeping();
    let start = Instant::now();
    sim.call_state_op(op, t.ptr(root));
    sim.run_until_idle();
    let all = start.elapsed();
    (all, sim.tree_bookkeeping() - kept)
}

/// What a sample reports: the whole time, or the driver's share (the
/// simulator's own bookkeeping of the tree subtracted).
#[derive(Clone, Copy)]
enum Count {
    All,
    Driver,
}

fn counted((all, sim): (Duration, Duration), what: Count) -> Duration {
    match what {
        Count::All => all,
        Count::Driver => all.saturating_sub(sim),
    }
}

fn bench(c: &mut Criterion) {
    let mut sim = Simulator::new();
    sim.set_config("TcpConnectionOffloadCapacity", N as u32);
    assert_eq!(sim.load(), STATUS_SUCCESS);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);

    let mut g = c.benchmark_group("state_tree");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    for (name, what) in [("", Count::All), ("_driver_only", Count::Driver)] {
        g.bench_function(format!("initiate_100k_tcp_blocks{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (t, root) = offload_tree();
                    total += counted(run(&sim, StateOpKind::Initiate, &t, root), what);
                    assert_eq!(t.status(2), NDIS_STATUS_SUCCESS);
                    let (term, troot) = terminate_tree(&t);
                    run(&sim, StateOpKind::Terminate, &term, troot);
                }
                total
            })
        });
        g.bench_function(format!("terminate_100k_tcp_blocks{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (t, root) = offload_tree();
                    run(&sim, StateOpKind::Initiate, &t, root);
                    let (term, troot) = terminate_tree(&t);
                    total += counted(run(&sim, StateOpKind::Terminate, &term, troot), what);
                    assert_eq!(term.status(2), NDIS_STATUS_SUCCESS);
                }
                total
            })
        });
    }
    g.finish();
    sim.halt();
    sim.unload();
    sim.assert_clean();
}

criterion_group!(benches, bench);
criterion_main!(benches);
