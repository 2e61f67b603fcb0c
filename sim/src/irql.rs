//! Per-thread IRQL, as the simulated kernel sees it, and the spin locks the
//! thread holds.
//!
//! Each host thread stands for one processor. Spin-lock acquires raise it to
//! DISPATCH_LEVEL, releases restore it; the harness sets it before calling a
//! driver handler at the level Windows would use.

use crate::checker::processor_local;
use chimney_miniport::ffi::{DISPATCH_LEVEL, KIRQL, PASSIVE_LEVEL};
use std::cell::Cell;

/// One simulated processor's state. No destructor, so the thread-local is a
/// plain per-thread slot: the spin-lock exports, on every driver's hot path,
/// reach the IRQL and the held-lock count through one address.
pub(crate) struct Processor {
    pub(crate) irql: Cell<KIRQL>,
    /// Driver spin locks this processor holds. Which ones is recorded in the
    /// locks themselves (their word holds the owner's token), so a count is
    /// all the processor needs.
    pub(crate) held: Cell<usize>,
}

processor_local! {
    static CPU: Processor = Processor {
        irql: Cell::new(PASSIVE_LEVEL),
        held: Cell::new(0),
    };
}

/// Run `f` with this thread's processor state.
#[inline(always)]
pub(crate) fn with_cpu<R>(f: impl FnOnce(&Processor) -> R) -> R {
    CPU.with(f)
}

/// A non-zero token for the current processor (host thread; checker
/// thread under a checker): the address of its processor state, distinct
/// for every live one.
pub(crate) fn processor_token() -> usize {
    CPU.with(|c| c as *const Processor as usize)
}

/// The current thread's IRQL.
pub fn current() -> KIRQL {
    CPU.with(|c| c.irql.get())
}

/// Set the current thread's IRQL, returning the previous value.
pub fn set(level: KIRQL) -> KIRQL {
    CPU.with(|c| c.irql.replace(level))
}

/// Run `f` at `level`, restoring the previous IRQL afterwards.
pub fn at<R>(level: KIRQL, f: impl FnOnce() -> R) -> R {
    let old = set(level);
    let r = f();
    set(old);
    r
}

/// Run `f` at DISPATCH_LEVEL (the level of DPCs and timer callbacks).
pub fn at_dispatch<R>(f: impl FnOnce() -> R) -> R {
    at(DISPATCH_LEVEL, f)
}
