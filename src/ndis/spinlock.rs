//! `SpinLock<T>`: data guarded by an `NDIS_SPIN_LOCK`; holding the lock is a
//! guard value, so the lock cannot be left held on any path.
//!
//! The lock word must not move while in use: a `SpinLock` lives inside a pool
//! object ([`super::PoolBox`]) and is initialised in place with [`SpinLock::init`].

use crate::ffi::NDIS_SPIN_LOCK;
use crate::ffi::imports::{
    NdisAcquireSpinLock, NdisAllocateSpinLock, NdisDprAcquireSpinLock, NdisDprReleaseSpinLock,
    NdisFreeSpinLock, NdisReleaseSpinLock,
};
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

pub struct SpinLock<T> {
    lock: UnsafeCell<NDIS_SPIN_LOCK>,
    data: UnsafeCell<T>,
}

// SAFETY: access to `data` is serialised by the NDIS spin lock.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock between threads moves the data with it.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A lock not yet usable: call [`SpinLock::init`] once it sits at its final address.
    pub const fn new(data: T) -> Self {
        SpinLock {
            lock: UnsafeCell::new(NDIS_SPIN_LOCK {
                SpinLock: 0,
                OldIrql: 0,
            }),
            data: UnsafeCell::new(data),
        }
    }

    /// Initialise the NDIS lock in place (NdisAllocateSpinLock allocates nothing).
    pub fn init(&self) {
        // SAFETY: the lock storage is ours and not in use yet.
        unsafe { NdisAllocateSpinLock(self.lock.get()) };
    }

    /// Acquire from IRQL <= DISPATCH_LEVEL; the guard restores the IRQL on release.
    pub fn lock(&self) -> SpinGuard<'_, T> {
        // SAFETY: the lock was initialised in place and does not move while borrowed.
        unsafe { NdisAcquireSpinLock(self.lock.get()) };
        SpinGuard {
            lock: self,
            dpr: false,
        }
    }

    /// Acquire when already at DISPATCH_LEVEL (timer callbacks, DPCs).
    pub fn lock_at_dispatch(&self) -> SpinGuard<'_, T> {
        // SAFETY: as in `lock`; the caller runs at DISPATCH_LEVEL.
        unsafe { NdisDprAcquireSpinLock(self.lock.get()) };
        SpinGuard {
            lock: self,
            dpr: true,
        }
    }

    /// Exclusive access without locking (we hold `&mut self`).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T> Drop for SpinLock<T> {
    fn drop(&mut self) {
        // SAFETY: nobody holds the lock (we have &mut self).
        unsafe { NdisFreeSpinLock(self.lock.get()) };
    }
}

/// Proof that the lock is held; releases it when dropped.
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
    dpr: bool,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves exclusive access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard acquired the lock, so this processor holds it.
        unsafe {
            if self.dpr {
                NdisDprReleaseSpinLock(self.lock.lock.get());
            } else {
                NdisReleaseSpinLock(self.lock.lock.get());
            }
        }
    }
}
