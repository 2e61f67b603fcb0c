//! What the simulator enforces, in the spirit of Driver Verifier.
//!
//! A check never panics inside an export (a panic cannot cross the
//! `extern "system"` boundary); it records a [`Violation`] on the simulator,
//! and the test that drives the driver asserts the list is empty — or, for the
//! deliberately broken cases, that exactly the expected violation is there.

use std::fmt;

/// One broken rule, with enough detail to find the offending call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// An export was called above the highest IRQL it allows.
    IrqlTooHigh {
        export: &'static str,
        irql: u8,
        max: u8,
    },
    /// An export that must run at exactly DISPATCH_LEVEL was called elsewhere.
    IrqlNotDispatch { export: &'static str, irql: u8 },
    /// A spin lock already held by this processor was acquired again.
    SpinLockDoubleAcquire { lock: usize },
    /// A spin lock was released by a processor that does not hold it.
    SpinLockNotHeld { lock: usize },
    /// A driver spin lock was held across a call into NDIS that may call back.
    SpinLockHeldAcrossCall { export: &'static str, locks: usize },
    /// A completion arrived while the handler that received the request was still running.
    CompletedBeforeReturn { export: &'static str, object: usize },
    /// A request was completed twice.
    CompletedTwice { export: &'static str, object: usize },
    /// A completion named an object NDIS never handed to the driver.
    CompletedNeverGiven { export: &'static str, object: usize },
    /// A completion passed the wrong handle.
    BadHandle { export: &'static str, handle: usize },
    /// Memory freed that was never allocated (or freed twice).
    BadFree { address: usize },
    /// Resources still allocated when the driver finished halting/unloading.
    Leak { what: String },
    /// An argument broke a documented rule of the export.
    BadArgument {
        export: &'static str,
        detail: String,
    },
    /// A handler wrote outside the memory the caller gave it.
    WroteOutside {
        handler: &'static str,
        detail: String,
    },
    /// A handler returned a status its contract does not allow.
    BadReturn { handler: &'static str, status: i32 },
    /// A frame the driver put on the wire breaks a protocol rule (checked by
    /// the simulated peer with its own parser).
    Wire { detail: String },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
