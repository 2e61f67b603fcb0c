//! Bookkeeping of requests handed to the driver: which handler got an object,
//! whether that handler has returned, and whether the object was completed.

use crate::state::{SimCore, lock};
use crate::verifier::Violation;

/// A request the driver owns until it completes it.
#[derive(Clone, Debug)]
pub struct Request {
    /// The handler that received it, e.g. "MiniportInitiateOffload".
    pub handler: &'static str,
    /// False while that handler is still running.
    pub handler_returned: bool,
    /// The processor that delivered it ([`crate::irql::processor_token`]:
    /// per checker thread under a checker, whose threads share host ones).
    pub thread: usize,
}

/// Record that `object` is being handed to `handler`.
pub fn give(sim: &SimCore, object: usize, handler: &'static str) {
    lock(&sim.completed).remove(&object);
    lock(&sim.outstanding).insert(
        object,
        Request {
            handler,
            handler_returned: false,
            thread: crate::irql::processor_token(),
        },
    );
}

/// Record that the handler that received `object` has returned.
pub fn handler_returned(sim: &SimCore, object: usize) {
    if let Some(r) = lock(&sim.outstanding).get_mut(&object) {
        r.handler_returned = true;
    }
}

/// Forget `object` without a completion (a handler that consumed it synchronously).
pub fn retire(sim: &SimCore, object: usize) {
    lock(&sim.outstanding).remove(&object);
}

/// Check and record a completion of `object` through `export`.
/// Returns the request when the completion is legitimate.
pub fn complete(sim: &SimCore, object: usize, export: &'static str) -> Option<Request> {
    let req = lock(&sim.outstanding).remove(&object);
    match req {
        Some(r) => {
            // Completing inside the call that delivered the request (the
            // same processor, the handler still on its stack) is synchronous
            // completion, which rule 14 forbids; ordinary sends may do it.
            // Another processor completing it while that handler is still
            // unwinding is asynchronous completion racing the return, which
            // no driver can exclude and NDIS cannot observe
            // (docs/decisions.md).
            if !r.handler_returned
                && r.handler != "MiniportSendNetBufferLists"
                && r.thread == crate::irql::processor_token()
            {
                sim.violation(Violation::CompletedBeforeReturn { export, object });
            }
            lock(&sim.completed).insert(object, export);
            Some(r)
        }
        None => {
            if lock(&sim.completed).contains_key(&object) {
                sim.violation(Violation::CompletedTwice { export, object });
            } else {
                sim.violation(Violation::CompletedNeverGiven { export, object });
            }
            None
        }
    }
}

/// Objects still owned by the driver.
pub fn outstanding(sim: &SimCore) -> Vec<(usize, &'static str)> {
    let mut v: Vec<_> = lock(&sim.outstanding)
        .iter()
        .map(|(a, r)| (*a, r.handler))
        .collect();
    v.sort();
    v
}
