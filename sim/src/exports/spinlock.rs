//! `NDIS_SPIN_LOCK` exports with real mutual exclusion between host threads,
//! IRQL raising, and misuse detection (double acquire, release of a lock not
//! held, a lock held across a call into NDIS).

use super::{check_irql_dispatch, check_irql_max};
use crate::irql;
use crate::state::report;
use crate::verifier::Violation;
use chimney_miniport::ffi::{DISPATCH_LEVEL, NDIS_SPIN_LOCK, PNDIS_SPIN_LOCK};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    /// Locks held by this "processor", innermost last.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// A non-zero token identifying this thread as a lock owner.
    static TOKEN: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

/// Number of driver spin locks the current thread holds.
pub fn held_count() -> usize {
    HELD.with(|h| h.borrow().len())
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
    let me = TOKEN.with(|t| *t);
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
    HELD.with(|h| h.borrow_mut().push(lock as usize));
    true
}

fn release(lock: PNDIS_SPIN_LOCK) -> bool {
    let Some(w) = word(lock) else { return false };
    let me = TOKEN.with(|t| *t);
    if w.load(Ordering::Relaxed) != me {
        report(Violation::SpinLockNotHeld {
            lock: lock as usize,
        });
        return false;
    }
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        if let Some(i) = h.iter().rposition(|&l| l == lock as usize) {
            h.remove(i);
        }
    });
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
