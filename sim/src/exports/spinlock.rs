//! `NDIS_SPIN_LOCK` exports with real mutual exclusion between host threads,
//! IRQL raising, and misuse detection (double acquire, release of a lock not
//! held, a lock held across a call into NDIS).

use crate::checker::{Word, fresh_word, lock_word, spin};
use crate::irql::{Processor, with_cpu};
use crate::state::report;
use crate::verifier::Violation;
use chimney_miniport::ffi::{DISPATCH_LEVEL, KIRQL, NDIS_SPIN_LOCK, PNDIS_SPIN_LOCK};
use std::sync::atomic::Ordering;

/// A non-zero token identifying a processor (host thread) as a lock owner:
/// the address of its processor state, distinct for every live thread.
fn token(cpu: &Processor) -> usize {
    cpu as *const Processor as usize
}

/// Number of driver spin locks the current thread holds.
pub fn held_count() -> usize {
    with_cpu(|c| c.held.get())
}

// The misuse reports are out of line, so the checks on the hot path are a
// compare and a not-taken branch each.

#[cold]
#[inline(never)]
fn bad_lock_pointer(lock: PNDIS_SPIN_LOCK) {
    report(Violation::BadArgument {
        export: "NdisAcquireSpinLock",
        detail: format!("bad spin lock pointer {lock:p}"),
    });
}

#[cold]
#[inline(never)]
fn irql_too_high(export: &'static str, irql: KIRQL) {
    report(Violation::IrqlTooHigh {
        export,
        irql,
        max: DISPATCH_LEVEL,
    });
}

#[cold]
#[inline(never)]
fn irql_not_dispatch(export: &'static str, irql: KIRQL) {
    report(Violation::IrqlNotDispatch { export, irql });
}

#[cold]
#[inline(never)]
fn double_acquire(lock: PNDIS_SPIN_LOCK) {
    report(Violation::SpinLockDoubleAcquire {
        lock: lock as usize,
    });
}

#[cold]
#[inline(never)]
fn not_held(lock: PNDIS_SPIN_LOCK) {
    report(Violation::SpinLockNotHeld {
        lock: lock as usize,
    });
}

#[cold]
#[inline(never)]
fn contended(w: &Word, me: usize) {
    if let Some(sim) = crate::state::current() {
        sim.contended_acquires.fetch_add(1, Ordering::Relaxed);
    }
    while w
        .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        spin();
    }
}

/// Record a violation if the caller holds a spin lock while calling `export`,
/// an NDIS function that may call back into the driver.
pub(crate) fn check_no_lock_held(export: &'static str) {
    let locks = held_count();
    if locks != 0 {
        report(Violation::SpinLockHeldAcrossCall { export, locks });
    }
}

fn word(lock: PNDIS_SPIN_LOCK) -> Option<Word> {
    if lock.is_null() || !(lock as usize).is_multiple_of(align_of::<usize>()) {
        bad_lock_pointer(lock);
        return None;
    }
    Some(lock_word(lock))
}

#[inline(always)]
fn acquire(cpu: &Processor, lock: PNDIS_SPIN_LOCK) -> bool {
    let Some(w) = word(lock) else { return false };
    let me = token(cpu);
    // A free lock is taken at once; only a failed attempt looks at who
    // holds it (this processor already: misuse; another: spin).
    if let Err(owner) = w.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
        if owner == me {
            double_acquire(lock);
            return false; // on Windows this processor would deadlock; carry on
        }
        contended(&w, me);
    }
    cpu.held.set(cpu.held.get() + 1);
    true
}

#[inline(always)]
fn release(cpu: &Processor, lock: PNDIS_SPIN_LOCK) -> bool {
    let Some(w) = word(lock) else { return false };
    if w.load(Ordering::Relaxed) != token(cpu) {
        not_held(lock);
        return false;
    }
    cpu.held.set(cpu.held.get().saturating_sub(1));
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
    if SpinLock.is_aligned() {
        fresh_word(SpinLock);
    }
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
    with_cpu(|cpu| {
        let old = cpu.irql.get();
        if old > DISPATCH_LEVEL {
            irql_too_high("NdisAcquireSpinLock", old);
        }
        if acquire(cpu, SpinLock) {
            cpu.irql.set(DISPATCH_LEVEL);
            // SAFETY: we hold the lock now; OldIrql belongs to the holder.
            unsafe { (*SpinLock).OldIrql = old };
        }
    })
}

/// `NdisReleaseSpinLock` (ndis.sys): restores the IRQL saved by the acquire.
#[unsafe(no_mangle)]
pub extern "system" fn NdisReleaseSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    if SpinLock.is_null() {
        not_held(SpinLock);
        return;
    }
    // SAFETY: read by the holder before releasing; checked below that we hold it.
    let old = unsafe { (*SpinLock).OldIrql };
    with_cpu(|cpu| {
        if release(cpu, SpinLock) {
            cpu.irql.set(old);
        }
    })
}

/// `NdisDprAcquireSpinLock` (ndis.sys): caller is already at DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisDprAcquireSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    with_cpu(|cpu| {
        let irql = cpu.irql.get();
        if irql != DISPATCH_LEVEL {
            irql_not_dispatch("NdisDprAcquireSpinLock", irql);
        }
        acquire(cpu, SpinLock);
    })
}

/// `NdisDprReleaseSpinLock` (ndis.sys): IRQL stays at DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisDprReleaseSpinLock(SpinLock: PNDIS_SPIN_LOCK) {
    with_cpu(|cpu| {
        let irql = cpu.irql.get();
        if irql != DISPATCH_LEVEL {
            irql_not_dispatch("NdisDprReleaseSpinLock", irql);
        }
        release(cpu, SpinLock);
    })
}
