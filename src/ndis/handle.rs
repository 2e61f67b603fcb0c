//! A copyable, thread-safe wrapper for an `NDIS_HANDLE` value.

use crate::ffi::NDIS_HANDLE;

/// An opaque handle NDIS gave us. NDIS handles are valid from any processor,
/// so the wrapper is `Send + Sync`; it never dereferences the pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct NdisHandle(NDIS_HANDLE);

// SAFETY: an NDIS handle is an opaque token, usable from any thread; we never
// dereference it in Rust.
unsafe impl Send for NdisHandle {}
// SAFETY: as above, sharing the token between threads is harmless.
unsafe impl Sync for NdisHandle {}

impl NdisHandle {
    pub const NULL: NdisHandle = NdisHandle(core::ptr::null_mut());

    pub const fn new(h: NDIS_HANDLE) -> Self {
        NdisHandle(h)
    }

    pub const fn raw(self) -> NDIS_HANDLE {
        self.0
    }

    pub fn is_null(self) -> bool {
        self.0.is_null()
    }
}
