//! Per-thread IRQL, as the simulated kernel sees it.
//!
//! Each host thread stands for one processor. Spin-lock acquires raise it to
//! DISPATCH_LEVEL, releases restore it; the harness sets it before calling a
//! driver handler at the level Windows would use.

use chimney_miniport::ffi::{DISPATCH_LEVEL, KIRQL, PASSIVE_LEVEL};
use std::cell::Cell;

thread_local! {
    static IRQL: Cell<KIRQL> = const { Cell::new(PASSIVE_LEVEL) };
}

/// The current thread's IRQL.
pub fn current() -> KIRQL {
    IRQL.with(|c| c.get())
}

/// Set the current thread's IRQL, returning the previous value.
pub fn set(level: KIRQL) -> KIRQL {
    IRQL.with(|c| c.replace(level))
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
