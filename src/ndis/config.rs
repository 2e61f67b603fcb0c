//! Reading the adapter's registry keywords (written by the INF) at
//! initialization: `NdisOpenConfigurationEx` / `NdisReadConfiguration`.

use super::NdisHandle;
use crate::ffi::imports::{NdisCloseConfiguration, NdisOpenConfigurationEx, NdisReadConfiguration};
use crate::ffi::{
    NDIS_CONFIGURATION_OBJECT, NDIS_CONFIGURATION_OBJECT_REVISION_1, NDIS_HANDLE,
    NDIS_OBJECT_HEADER, NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT,
    NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1, NDIS_STATUS, NDIS_STATUS_FAILURE, NDIS_STRING,
    NdisParameterInteger, PNDIS_CONFIGURATION_PARAMETER, ULONG, nt_success,
};

/// A UTF-16 keyword without terminator, built at compile time from ASCII.
pub struct Keyword<const N: usize>(pub [u16; N]);

impl<const N: usize> Keyword<N> {
    /// Used through `kw!` in const context only, where `N == ascii.len()`
    /// and an out-of-range index would be a compile error, not a panic.
    #[allow(clippy::indexing_slicing)]
    pub const fn new(ascii: &str) -> Self {
        let b = ascii.as_bytes();
        let mut out = [0u16; N];
        let mut i = 0;
        while i < N {
            out[i] = b[i] as u16;
            i += 1;
        }
        Keyword(out)
    }
}

/// `Keyword` from a string literal: `kw!("*TCPConnectionOffloadIPv4")`.
#[macro_export]
macro_rules! kw {
    ($s:literal) => {{
        const K: $crate::ndis::config::Keyword<{ $s.len() }> =
            $crate::ndis::config::Keyword::new($s);
        &K.0
    }};
}

/// An open configuration handle, closed on drop.
pub struct Config {
    handle: NdisHandle,
}

impl Config {
    /// Open the adapter's configuration (PASSIVE_LEVEL, during InitializeEx).
    pub fn open(adapter: NdisHandle) -> Result<Config, NDIS_STATUS> {
        let mut obj = NDIS_CONFIGURATION_OBJECT {
            Header: NDIS_OBJECT_HEADER {
                Type: NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT,
                Revision: NDIS_CONFIGURATION_OBJECT_REVISION_1,
                Size: NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1,
            },
            NdisHandle: adapter.raw(),
            Flags: 0,
        };
        let mut h: NDIS_HANDLE = core::ptr::null_mut();
        // SAFETY: valid object and out pointer for the call.
        let st = unsafe { NdisOpenConfigurationEx(&mut obj, &mut h) };
        if !nt_success(st) {
            return Err(st);
        }
        if h.is_null() {
            return Err(NDIS_STATUS_FAILURE);
        }
        Ok(Config {
            handle: NdisHandle::new(h),
        })
    }

    /// Read an integer keyword; `None` if absent or not an integer.
    pub fn read_u32(&self, keyword: &[u16]) -> Option<ULONG> {
        let bytes = u16::try_from(keyword.len() * 2).ok()?;
        let mut name = NDIS_STRING {
            Length: bytes,
            MaximumLength: bytes,
            Buffer: keyword.as_ptr().cast_mut(),
        };
        let mut status: NDIS_STATUS = NDIS_STATUS_FAILURE;
        let mut value: PNDIS_CONFIGURATION_PARAMETER = core::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; NDIS only reads `name`.
        unsafe {
            NdisReadConfiguration(
                &mut status,
                &mut value,
                self.handle.raw(),
                &mut name,
                NdisParameterInteger,
            )
        };
        if !nt_success(status) || value.is_null() {
            return None;
        }
        // SAFETY: on success NDIS returns a parameter valid until the handle is closed.
        let p = unsafe { &*value };
        if p.ParameterType != NdisParameterInteger {
            return None;
        }
        // SAFETY: an integer parameter's union holds IntegerData.
        Some(unsafe { p.ParameterData.IntegerData })
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: opened by NdisOpenConfigurationEx and not closed before.
        unsafe { NdisCloseConfiguration(self.handle.raw()) };
    }
}
