//! Fallible, tagged pool memory: the driver's only way to allocate.
//!
//! Nothing here can panic on exhaustion: allocation returns
//! `Err(NDIS_STATUS_RESOURCES)`, and callers fail the request that needed it.

use super::NdisHandle;
use crate::ffi::imports::{NdisAllocateMemoryWithTagPriority, NdisFreeMemory};
use crate::ffi::{NDIS_STATUS, NDIS_STATUS_RESOURCES, NormalPoolPriority, ULONG};
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

/// Pool blocks are aligned to MEMORY_ALLOCATION_ALIGNMENT (16 on 64-bit).
pub const POOL_ALIGNMENT: usize = 16;

fn allocate(handle: NdisHandle, bytes: usize, tag: ULONG) -> Result<NonNull<u8>, NDIS_STATUS> {
    let len = u32::try_from(bytes.max(1)).map_err(|_| NDIS_STATUS_RESOURCES)?;
    // SAFETY: a plain allocation call; NDIS validates the handle.
    let p =
        unsafe { NdisAllocateMemoryWithTagPriority(handle.raw(), len, tag, NormalPoolPriority) };
    let p = NonNull::new(p.cast::<u8>()).ok_or(NDIS_STATUS_RESOURCES)?;
    if !(p.as_ptr() as usize).is_multiple_of(POOL_ALIGNMENT) {
        // SAFETY: `p` came from NdisAllocateMemoryWithTagPriority just above.
        unsafe { NdisFreeMemory(p.as_ptr().cast(), 0, 0) };
        return Err(NDIS_STATUS_RESOURCES);
    }
    Ok(p)
}

/// One `T` in pool memory, dropped and freed with the box.
pub struct PoolBox<T> {
    ptr: NonNull<T>,
    _own: PhantomData<T>,
}

// SAFETY: PoolBox owns its T like Box does.
unsafe impl<T: Send> Send for PoolBox<T> {}
// SAFETY: shared access only hands out &T.
unsafe impl<T: Sync> Sync for PoolBox<T> {}

impl<T> PoolBox<T> {
    /// Allocate and move `value` into pool memory tagged `tag`.
    pub fn try_new(handle: NdisHandle, tag: ULONG, value: T) -> Result<Self, NDIS_STATUS> {
        const { assert!(align_of::<T>() <= POOL_ALIGNMENT) };
        let p = allocate(handle, size_of::<T>(), tag)?.cast::<T>();
        // SAFETY: fresh allocation of size_of::<T>() bytes, suitably aligned.
        unsafe { p.as_ptr().write(value) };
        Ok(PoolBox {
            ptr: p,
            _own: PhantomData,
        })
    }

    /// Give up ownership; the pointer must come back through [`PoolBox::from_raw`].
    pub fn into_raw(self) -> *mut T {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }

    /// Take back ownership of a pointer made by [`PoolBox::into_raw`].
    ///
    /// # Safety
    /// `p` must come from `into_raw` and not have been reclaimed before.
    pub unsafe fn from_raw(p: *mut T) -> Option<Self> {
        NonNull::new(p).map(|ptr| PoolBox {
            ptr,
            _own: PhantomData,
        })
    }

    pub fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> Deref for PoolBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the box owns an initialised T.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for PoolBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: unique access through &mut self.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for PoolBox<T> {
    fn drop(&mut self) {
        // SAFETY: we own an initialised T in memory from NdisAllocateMemoryWithTagPriority.
        unsafe {
            core::ptr::drop_in_place(self.ptr.as_ptr());
            NdisFreeMemory(self.ptr.as_ptr().cast(), 0, 0);
        }
    }
}

/// A fixed-length array of `T` in pool memory, sized once (at initialization).
pub struct PoolSlice<T> {
    ptr: NonNull<T>,
    len: usize,
    _own: PhantomData<T>,
}

// SAFETY: owns its elements like Box<[T]>.
unsafe impl<T: Send> Send for PoolSlice<T> {}
// SAFETY: shared access only hands out &[T].
unsafe impl<T: Sync> Sync for PoolSlice<T> {}

impl<T> PoolSlice<T> {
    /// Allocate `len` elements, each made by `init(index)`.
    pub fn try_new_with(
        handle: NdisHandle,
        tag: ULONG,
        len: usize,
        mut init: impl FnMut(usize) -> T,
    ) -> Result<Self, NDIS_STATUS> {
        const { assert!(align_of::<T>() <= POOL_ALIGNMENT) };
        let bytes = size_of::<T>()
            .checked_mul(len)
            .ok_or(NDIS_STATUS_RESOURCES)?;
        let p = allocate(handle, bytes, tag)?.cast::<T>();
        for i in 0..len {
            // SAFETY: `i < len` and the block holds `len` elements.
            unsafe { p.as_ptr().add(i).write(init(i)) };
        }
        Ok(PoolSlice {
            ptr: p,
            len,
            _own: PhantomData,
        })
    }
}

impl<T> Deref for PoolSlice<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised elements.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> DerefMut for PoolSlice<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: unique access, `len` initialised elements.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Drop for PoolSlice<T> {
    fn drop(&mut self) {
        // SAFETY: we own `len` initialised elements in pool memory.
        unsafe {
            core::ptr::drop_in_place(core::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len,
            ));
            NdisFreeMemory(self.ptr.as_ptr().cast(), 0, 0);
        }
    }
}
