//! The atomics of the driver's lock-free protocols: the flow index
//! ([`crate::hw::index`]), the upload marks ([`crate::offload::conn`]) and
//! the timer deadline ([`crate::ndis::Deadline`]).
//!
//! Normally these are `core`'s. For the model checks in
//! `tests/model_check.rs` they are swapped, at build time, for checkers'
//! atomics: loom's under `--cfg chimney_loom` (every interleaving, and the
//! values weak memory lets each load see), shuttle's under `--cfg
//! chimney_shuttle` (seeded random schedules, sequentially consistent). The
//! driver code run by the checkers is the code that ships (docs/design.md,
//! "Model checking").

#[cfg(not(any(chimney_loom, chimney_shuttle)))]
pub use core::sync::atomic::{AtomicU64, Ordering};
#[cfg(chimney_loom)]
pub use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(all(chimney_shuttle, not(chimney_loom)))]
pub use shuttle::sync::atomic::{AtomicU64, Ordering};

/// One turn of a wait for another processor (at DISPATCH_LEVEL, where the
/// awaited code runs elsewhere): a pause hint, and under a checker a yield,
/// so that the processor waited for gets to run.
#[inline]
pub fn spin_wait() {
    #[cfg(chimney_loom)]
    loom::thread::yield_now();
    #[cfg(all(chimney_shuttle, not(chimney_loom)))]
    shuttle::thread::yield_now();
    #[cfg(not(any(chimney_loom, chimney_shuttle)))]
    core::hint::spin_loop();
}
