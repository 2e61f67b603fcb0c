//! `NDIS_SPIN_LOCK` exports with real mutual exclusion between host threads,
//! IRQL raising, and misuse detection (double acquire, release of a lock not
//! held, a lock held across a call into NDIS).

use super::{check_irql_dispatch, check_irql_max};
use crate::irql;
use crate::state::report;
use crate::verifier::Violation;
use chimney_miniport::ffi::{DISPATCH_LEVEL, NDIS_SPIN_LOCK, PNDIS_SPIN_LOCK};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// More spin locks than any driver needs at once (nesting depth).
const MAX_HELD: usize = 32;

/// The locks one "processor" holds, innermost last. No destructor, so the
/// thread-local is a plain per-thread slot (the exports are on every
/// driver's hot path, so their own cost should stay small).
struct Held {
    len: Cell<usize>,
    locks: [Cell<usize>; MAX_HELD],
}

thread_local! {
    static HELD: Held = const {
        Held {
            len: Cell::new(0),
            locks: [const { Cell::new(0) }; MAX_HELD],
        }
    };
}

/// A non-zero token identifying this thread as a lock owner: the address
/// of its `HELD`, distinct for every live thread.
fn token() -> usize {
    HELD.with(|h| h as *const Held as usize)
}

/// Number of driver spin locks the current thread holds.
pub fn held_count() -> usize {
    HELD.with(|h| h.len.get())
}

fn push_held(lock: usize) {
    HELD.with(|h| {
        let n = h.len.get();
        match h.locks.get(n) {
            Some(slot) => {
                slot.set(lock);
                h.len.set(n + 1);
            }
            None => report(Violation::BadArgument {
                export: "NdisAcquireSpinLock",
                detail: format!("more than {MAX_HELD} spin locks held at once"),
            }),
        }
    });
}

fn pop_held(lock: usize) {
    HELD.with(|h| {
        let n = h.len.get();
        // Usually the innermost lock goes first.
        if n > 0 && h.locks[n - 1].get() == lock {
            h.len.set(n - 1);
            return;
        }
        let Some(i) = (0..n).rev().find(|&i| h.locks[i].get() == lock) else {
            return;
        };
        for j in i..n - 1 {
            h.locks[j].set(h.locks[j + 1].get());
        }
        h.len.set(n - 1);
    });
}

/// Record a violation if the caller holds a spin lock while calling `export`,
/// an NDIS function that may call back into the driver.
pub(crate) fn check_no_lock_held(export: &'static str) {
    let locks = held_count();
    if locks != 0 {
        report(Violation::SpinLockHeldAcrossCall { export, locks });
    }
}

fn word(lock: PNDIS_SPIN_LOCK) -> Option<&'static AtomicUsize> {
    if lock.is_null() || !(lock as usize).is_multiple_of(align_of::<usize>()) {
        report(Violation::BadArgument {
            export: "NdisAcquireSpinLock",
            detail: format!("bad spin lock pointer {lock:p}"),
        });
        return None;
    }
    // SAFETY: the driver passes a pointer to an NDIS_SPIN_LOCK it owns, live while
    // the lock is used; its `SpinLock` word is only ever accessed atomically here.
    Some(unsafe { AtomicUsize::from_ptr(&raw mut (*lock).SpinLock) })
}

fn acquire(lock: PNDIS_SPIN_LOCK) -> bool {
    let Some(w) = word(lock) else { return false };
    let me = token();
    if w.load(Ordering::Relaxed) == me {
        report(Violation::SpinLockDoubleAcquire {
            lock: lock as usize,
        });
        return false; // on Windows this processor would deadlock; carry on
    }
    while w
        .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
    push_held(lock as usize);
    true
}

fn release(lock: PNDIS_SPIN_LOCK) -> bool {
    let Some(w) = word(lock) else { return false };
    let me = token();
    if w.load(Ordering::Relaxed) != me {
        report(Violation::SpinLockNotHeld {
            lock: lock as usize,
        });
        return false;
    }
    pop_held(lock as usize);
    w.store(0, Ordering::Release);
    true
}

/// `NdisAllocateSpinLock` (ndis.sys): initialise the lock (no memory is allocated).
#[unsafe(no_mangle)]
pub extern "system" fn NdisAllocateSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    if SpinLock.is_null() {
        report(Violation::BadArgument {
            export: "NdisAllocateSpinLock",
            detail: "NULL lock".into(),
        });
        return;
    }
    // SAFETY: the caller passes storage for an NDIS_SPIN_LOCK it owns.
    unsafe { SpinLock.write(NDIS_SPIN_LOCK::default()) };
}

/// `NdisFreeSpinLock` (ndis.sys). Freeing a held lock is misuse.
#[unsafe(no_mangle)]
pub extern "system" fn NdisFreeSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    if let Some(w) = word(SpinLock)
        && w.load(Ordering::Relaxed) != 0
    {
        report(Violation::BadArgument {
            export: "NdisFreeSpinLock",
            detail: "lock freed while held".into(),
        });
    }
}

/// `NdisAcquireSpinLock` (ndis.sys): IRQL <= DISPATCH_LEVEL, raises to DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisAcquireSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    check_irql_max("NdisAcquireSpinLock", DISPATCH_LEVEL);
    let old = irql::current();
    if acquire(SpinLock) {
        irql::set(DISPATCH_LEVEL);
        // SAFETY: we hold the lock now; OldIrql belongs to the holder.
        unsafe { (*SpinLock).OldIrql = old };
    }
}

/// `NdisReleaseSpinLock` (ndis.sys): restores the IRQL saved by the acquire.
#[unsafe(no_mangle)]
pub extern "system" fn NdisReleaseSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    if SpinLock.is_null() {
        report(Violation::SpinLockNotHeld { lock: 0 });
        return;
    }
    // SAFETY: read by the holder before releasing; checked below that we hold it.
    let old = unsafe { (*SpinLock).OldIrql };
    if release(SpinLock) {
        irql::set(old);
    }
}

/// `NdisDprAcquireSpinLock` (ndis.sys): caller is already at DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisDprAcquireSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    check_irql_dispatch("NdisDprAcquireSpinLock");
    acquire(SpinLock);
}

/// `NdisDprReleaseSpinLock` (ndis.sys): IRQL stays at DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisDprReleaseSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    check_irql_dispatch("NdisDprReleaseSpinLock");
    release(SpinLock);
}
