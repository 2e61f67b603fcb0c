//! The send path per NBL: queue + segment + acknowledge + complete.
//!
//! Three families, all measured in the same run:
//!
//! * `queue/driver_*`: the driver's own structures — `SpinLock<SendQueue>`
//!   (the NDIS spin lock, here the simulator's export; NBLs linked through
//!   `MiniportReserved`, no allocation), segments gathered from the MDLs with
//!   the driver's cursor (no payload copy), the cumulative ACK retiring NBLs
//!   into one completion list with `TcpOffloadBytesTransferred` set and the
//!   NET_BUFFERs advanced.
//! * `queue/baseline_*`: the same work with a `Mutex<VecDeque<Box<Desc>>>`
//!   queue: one boxed descriptor per NBL, completions collected in a `Vec`.
//!   Same cursor, same accounting: only the queueing differs.
//! * `e2e/*`: the whole path through the registered `MiniportTcpOffloadSend`,
//!   the software NIC (frame built, payload copied once), the simulated
//!   wire, the scripted peer's parsing and ACKs, and
//!   `NdisTcpOffloadSendComplete`. The simulator's wire and peer dominate
//!   this figure; it is the end-to-end cost here, not a driver-only cost.
//! * `queue/lock_floor_1t`: two bare compare-and-swap/release-store pairs
//!   per NBL and nothing else, the least any design with a lock on the send
//!   side and one on the ACK side pays, for comparison with the 1/3 target.
//! * `queue/mandated_floor_1t`: that floor plus the work no conforming
//!   design can skip: each NBL checked against its MDL chain, and at its
//!   acknowledgement its status, `TcpOffloadBytesTransferred` and NET_BUFFER
//!   advance (rule 58). No queue and no segmentation.
//!
//! `_1t` runs one thread on one connection; `_2t` runs two threads, each on
//! its own connection, and reports their combined NBLs.
//!
//! cargo bench --bench send_path

// Benchmark code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/send_kernels.rs"]
mod kernels;

use chimney_miniport::ffi::*;
use chimney_miniport::ndis::SpinLock;
use chimney_miniport::ndis::sendq::SendQueue;
use common::send::{AUTO, chain_of, no_nagle, offload_with};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kernels::{
    Done, MSS, new_baseline, restore_addrs, run_baseline, run_baseline_unlocked, run_driver,
    run_driver_unlocked, run_mandated, save_addrs,
};
use ndis_sim::Simulator;
use ndis_sim::builders::NblChain;
use ndis_sim::state::SimCore;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// NBLs per iteration, one MSS each.
const N: usize = 64;

/// The NET_BUFFER fields completion changes, to put back between iterations.
struct Saved(Vec<(PNET_BUFFER, NET_BUFFER_DATA)>);

fn save(chain: &NblChain) -> Saved {
    let mut v = Vec::new();
    for p in chain.nbls() {
        // SAFETY: NBLs this benchmark built.
        unsafe {
            let mut nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
            while !nb.is_null() {
                v.push((nb, (*nb).NetBufferHeader.NetBufferData));
                nb = (*nb).NetBufferHeader.NetBufferData.Next;
            }
        }
    }
    Saved(v)
}

impl Saved {
    /// Restore the NET_BUFFERs and the chain links (completion relinks).
    fn restore(&self, chain: &NblChain) {
        for &(nb, d) in &self.0 {
            // SAFETY: as in `save`; the NBLs are not queued anywhere now.
            unsafe { (*nb).NetBufferHeader.NetBufferData = d };
        }
        let nbls = chain.nbls();
        for (i, &p) in nbls.iter().enumerate() {
            let next = nbls.get(i + 1).copied().unwrap_or(std::ptr::null_mut());
            // SAFETY: as above.
            unsafe { (*p).NetBufferListHeader.NetBufferListData.Next = next };
        }
    }
}

/// The hardware floor of two spin-lock acquisitions per NBL: two bare
/// compare-and-swap + release-store pairs on a private word, nothing else
/// (no IRQL, no checks). What any design taking a lock on the send side and
/// on the ACK side pays at least.
fn lock_floor(w: &AtomicUsize, n: usize) -> usize {
    for i in 0..n {
        for _ in 0..2 {
            while w
                .compare_exchange(0, i | 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {}
            std::hint::black_box(w);
            w.store(0, Ordering::Release);
        }
    }
    n
}

/// `DataLength` of the first NBL's first NET_BUFFER.
fn first_data_length(nbls: &[PNET_BUFFER_LIST]) -> u32 {
    let Some(&p) = nbls.first() else {
        return 0;
    };
    // SAFETY: NBLs this benchmark built, owned by this thread now.
    unsafe {
        let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
        (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength
    }
}

/// One thread's share of a `queue` benchmark: `iters` rounds of `kind` on
/// its own connection and NBLs; returns the time spent in the kernel.
fn run_thread(core: Arc<SimCore>, addrs: &[usize], kind: u8, iters: u64) -> Duration {
    ndis_sim::state::set_current(Some(core));
    let nbls: Vec<PNET_BUFFER_LIST> = addrs.iter().map(|&a| a as PNET_BUFFER_LIST).collect();
    let q = Box::new(SpinLock::new(SendQueue::new()));
    q.init();
    let m = new_baseline();
    let mut unlocked = SendQueue::new();
    let mut unlocked_base = new_baseline().into_inner().expect("fresh mutex");
    let saved = save_addrs(&nbls);
    // Every NBL starts whole: one MSS to send (see the restore at the end).
    assert!(
        saved
            .iter()
            // SAFETY: reading the ULONG member of the length union.
            .all(|(_, d)| unsafe { d.NbDataLength.DataLength } == MSS),
        "NBLs must start with one MSS each"
    );
    let mut done = Done::new();
    let floor = AtomicUsize::new(0);
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        restore_addrs(&nbls, &saved);
        let t = Instant::now();
        let n = match kind {
            0 => run_driver(&q, &nbls),
            1 => run_baseline(&m, &nbls, &mut done),
            2 => run_driver_unlocked(&mut unlocked, &nbls),
            3 => run_baseline_unlocked(&mut unlocked_base, &nbls, &mut done),
            4 => lock_floor(&floor, nbls.len()),
            _ => run_mandated(&floor, &nbls),
        };
        spent += t.elapsed();
        assert_eq!(n, N);
        if kind != 4 {
            // The kernel acknowledged every byte: the NET_BUFFERs were
            // advanced to their ends (rule 58).
            assert_eq!(first_data_length(&nbls), 0, "kernel {kind} sent nothing");
        }
    }
    // Leave the NBLs as they were found: completion advanced their
    // NET_BUFFERs, and the next call saves what it finds. Without this every
    // call after the first ran on NBLs of zero bytes.
    restore_addrs(&nbls, &saved);
    ndis_sim::state::set_current(None);
    spent
}

fn queue_benches(c: &mut Criterion) {
    let sim = Simulator::new();
    let mut g = c.benchmark_group("send_path/queue");
    // One connection per thread, each with its own queue and NBLs; the same
    // harness for one and two threads, so the scaling compares like with like.
    let chains = [
        chain_of(&[MSS as usize; N], 2),
        chain_of(&[MSS as usize; N], 3),
    ];
    let addrs: Vec<Vec<usize>> = chains
        .iter()
        .map(|c| c.nbls().iter().map(|p| *p as usize).collect())
        .collect();
    let core = sim.core.clone();
    // (name, threads, kernel): 0 driver, 1 baseline, 2 driver without its
    // locks, 3 baseline without its mutex (what the locks cost), 4 two bare
    // atomic lock/unlock pairs per NBL (the floor any two-lock design pays),
    // 5 that floor plus the NBL check and the rule-58 completion fields.
    let cases = [
        ("driver_1t", 1, 0),
        ("baseline_1t", 1, 1),
        ("driver_2t", 2, 0),
        ("baseline_2t", 2, 1),
        ("driver_unlocked_1t", 1, 2),
        ("baseline_unlocked_1t", 1, 3),
        ("lock_floor_1t", 1, 4),
        ("mandated_floor_1t", 1, 5),
    ];
    for (name, threads, kind) in cases {
        g.throughput(Throughput::Elements((threads * N) as u64));
        g.bench_function(name, |b| {
            // Only the kernels are timed: putting the NBLs back between
            // iterations is harness work. With two threads running at once,
            // the slower thread's time is the iteration time.
            b.iter_custom(|iters| {
                std::thread::scope(|s| {
                    let handles: Vec<_> = addrs
                        .iter()
                        .take(threads)
                        .map(|l| {
                            let core = core.clone();
                            s.spawn(move || run_thread(core, l, kind, iters))
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("bench thread"))
                        .max()
                        .unwrap_or_default()
                })
            })
        });
    }
    g.finish();
}

fn e2e_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("send_path/e2e");
    g.throughput(Throughput::Elements(N as u64));
    let sim = common::with_adapter();
    let conn = offload_with(&sim, 1, 4000, AUTO, no_nagle, |s| s.delegated.SndUna);
    let chain = chain_of(&[MSS as usize; N], 1);
    let saved = save(&chain);
    let count = |sim: &Simulator| -> usize {
        common::send::completed(sim)
            .iter()
            .filter(|x| x.1 == NDIS_STATUS_SUCCESS)
            .count()
    };
    g.bench_function("driver_1t", |b| {
        b.iter(|| {
            saved.restore(&chain);
            common::send::send(&sim, &conn, &chain);
            sim.run_until_idle();
            assert_eq!(count(&sim), N);
            sim.forget_history();
        })
    });
    g.finish();
    // The connection stays offloaded: the simulator is dropped with it
    // (no halt), which is fine for a benchmark process.
    std::mem::forget(sim);
    std::mem::forget(conn);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = queue_benches, e2e_benches
}
criterion_main!(benches);
