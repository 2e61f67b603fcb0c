//! Instruction counts per NBL for the send kernels, under callgrind:
//!
//! ```text
//! cargo build --release --example send_path_count
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     --toggle-collect='*run_driver*' target/release/examples/send_path_count driver 1000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     --toggle-collect='*run_baseline*' target/release/examples/send_path_count baseline 1000
//! ```
//!
//! Each run prints callgrind's "Collected" total for the toggled function;
//! divide by `rounds × 64` NBLs (`scripts/send-path-count.sh` does this).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

#[path = "../benches/support/send_kernels.rs"]
mod kernels;

use chimney_miniport::ndis::SpinLock;
use chimney_miniport::ndis::sendq::SendQueue;
use kernels::{MSS, new_baseline, restore_addrs, run_baseline, run_driver, save_addrs};
use ndis_sim::builders::{NbSpec, NblChain};

const N: usize = 64;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "driver".into());
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let _sim = ndis_sim::Simulator::new();
    let shape: Vec<Vec<NbSpec>> = (0..N)
        .map(|_| {
            vec![NbSpec {
                mdl_sizes: vec![MSS as usize],
                offset: 0,
            }]
        })
        .collect();
    let chain = NblChain::build(&shape, |k, _| vec![k as u8; MSS as usize]);
    let nbls = chain.nbls();
    let saved = save_addrs(&nbls);
    let q = Box::new(SpinLock::new(SendQueue::new()));
    q.init();
    let m = new_baseline();
    let mut qn = SendQueue::new();
    let mut mn = new_baseline().into_inner().expect("fresh mutex");
    let mut done = kernels::Done::new();
    let word = std::sync::atomic::AtomicUsize::new(0);
    let mut completed = 0usize;
    for _ in 0..rounds {
        restore_addrs(&nbls, &saved);
        completed += match variant.as_str() {
            "driver" => run_driver(&q, &nbls),
            "baseline" => run_baseline(&m, &nbls, &mut done),
            "driver_unlocked" => kernels::run_driver_unlocked(&mut qn, &nbls),
            "baseline_unlocked" => kernels::run_baseline_unlocked(&mut mn, &nbls, &mut done),
            "mandated" => kernels::run_mandated(&word, &nbls),
            other => panic!(
                "unknown variant {other} (driver | baseline | driver_unlocked | \
                 baseline_unlocked | mandated)"
            ),
        };
    }
    assert_eq!(completed, rounds * N);
    println!("{variant}: {} NBLs", rounds * N);
}
