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
use kernels::{MSS, new_baseline, restore_addrs, run_baseline, run_driver, save_addrs};
use ndis_sim::Simulator;
use ndis_sim::builders::NblChain;

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
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements((threads * N) as u64));
        for driver in [true, false] {
            let name = format!("{}_{threads}t", if driver { "driver" } else { "baseline" });
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let start = std::time::Instant::now();
                    std::thread::scope(|s| {
                        for l in addrs.iter().take(threads) {
                            let core = core.clone();
                            s.spawn(move || {
                                ndis_sim::state::set_current(Some(core));
                                let nbls: Vec<PNET_BUFFER_LIST> =
                                    l.iter().map(|&a| a as PNET_BUFFER_LIST).collect();
                                let q = Box::new(SpinLock::new(SendQueue::new()));
                                q.init();
                                let m = new_baseline();
                                let saved_here = save_addrs(&nbls);
                                for _ in 0..iters {
                                    restore_addrs(&nbls, &saved_here);
                                    let n = if driver {
                                        run_driver(&q, &nbls)
                                    } else {
                                        run_baseline(&m, &nbls)
                                    };
                                    assert_eq!(n, N);
                                }
                                ndis_sim::state::set_current(None);
                            });
                        }
                    });
                    start.elapsed()
                })
            });
        }
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
