//! A checked view of an `NDIS_OID_REQUEST`: every read of the caller's
//! buffer is length-checked and every answer sets `BytesWritten`/`BytesRead`
//! and `BytesNeeded`, so no OID can make the driver touch memory outside the
//! buffer NDIS gave it.

use crate::ffi::{
    NDIS_OID, NDIS_OID_REQUEST, NDIS_STATUS, NDIS_STATUS_BUFFER_TOO_SHORT,
    NDIS_STATUS_INVALID_LENGTH, NDIS_STATUS_SUCCESS, NdisRequestMethod,
    NdisRequestQueryInformation, NdisRequestQueryStatistics, NdisRequestSetInformation,
    PNDIS_OID_REQUEST,
};

/// Marker for plain C structures that are valid for every bit pattern and may
/// be copied to/from OID buffers byte-wise.
///
/// # Safety
/// Implement only for `#[repr(C)]` types made of integers and arrays of
/// integers (no pointers, references, bools or enums with invalid values).
pub unsafe trait Pod: Copy {}

// SAFETY: integers are valid for every bit pattern.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u16 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: arrays of Pod are Pod.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// One OID request, decoded.
pub enum Oid {
    Query(Query),
    Set(Set),
    /// Method and anything else: not supported by this miniport.
    Other(NDIS_OID),
}

/// A query: answer into the caller's buffer.
pub struct Query {
    pub oid: NDIS_OID,
    req: PNDIS_OID_REQUEST,
}

/// A set: read the caller's buffer.
pub struct Set {
    pub oid: NDIS_OID,
    req: PNDIS_OID_REQUEST,
}

/// Decode a request NDIS passed to MiniportOidRequest.
///
/// # Safety
/// `req` must be a valid NDIS_OID_REQUEST owned by the caller for the
/// duration of the handler, with `InformationBuffer` valid for its length.
pub unsafe fn decode(req: PNDIS_OID_REQUEST) -> Option<Oid> {
    if req.is_null() {
        return None;
    }
    // SAFETY: per the contract the request is valid; the union member read
    // matches RequestType.
    unsafe {
        let r: &NDIS_OID_REQUEST = &*req;
        match r.RequestType {
            t if t == NdisRequestQueryInformation || t == NdisRequestQueryStatistics => {
                Some(Oid::Query(Query {
                    oid: r.DATA.QUERY_INFORMATION.Oid,
                    req,
                }))
            }
            t if t == NdisRequestSetInformation => Some(Oid::Set(Set {
                oid: r.DATA.SET_INFORMATION.Oid,
                req,
            })),
            t if t == NdisRequestMethod => Some(Oid::Other(r.DATA.METHOD_INFORMATION.Oid)),
            _ => None,
        }
    }
}

impl Query {
    /// Copy `bytes` to the caller's buffer, or report how many are needed.
    pub fn answer_bytes(&self, bytes: &[u8]) -> NDIS_STATUS {
        // SAFETY: decode()'s contract: the request and its buffer are valid now.
        unsafe {
            let q = &mut (*self.req).DATA.QUERY_INFORMATION;
            let needed = bytes.len() as u32;
            if q.InformationBufferLength < needed || (needed != 0 && q.InformationBuffer.is_null())
            {
                q.BytesWritten = 0;
                q.BytesNeeded = needed;
                return NDIS_STATUS_BUFFER_TOO_SHORT;
            }
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                q.InformationBuffer.cast::<u8>(),
                bytes.len(),
            );
            q.BytesWritten = needed;
            q.BytesNeeded = 0;
        }
        NDIS_STATUS_SUCCESS
    }

    /// Answer with a plain C value.
    pub fn answer<T: Pod>(&self, value: &T) -> NDIS_STATUS {
        // SAFETY: decode()'s contract; copying a Pod value's bytes into raw
        // caller memory (no Rust reference to the destination is formed).
        unsafe {
            let q = &mut (*self.req).DATA.QUERY_INFORMATION;
            let needed = size_of::<T>() as u32;
            if q.InformationBufferLength < needed || q.InformationBuffer.is_null() {
                q.BytesWritten = 0;
                q.BytesNeeded = needed;
                return NDIS_STATUS_BUFFER_TOO_SHORT;
            }
            core::ptr::copy_nonoverlapping(
                (value as *const T).cast::<u8>(),
                q.InformationBuffer.cast::<u8>(),
                size_of::<T>(),
            );
            q.BytesWritten = needed;
            q.BytesNeeded = 0;
        }
        NDIS_STATUS_SUCCESS
    }

    /// Answer a counter as ULONG64, or as ULONG if the caller's buffer only
    /// holds four bytes (the NDIS convention for statistics OIDs).
    pub fn answer_counter(&self, value: u64) -> NDIS_STATUS {
        // SAFETY: decode()'s contract.
        let len = unsafe { (*self.req).DATA.QUERY_INFORMATION.InformationBufferLength };
        if (4..8).contains(&len) {
            self.answer(&(value as u32))
        } else {
            self.answer(&value)
        }
    }
}

impl Set {
    /// Length of the caller's buffer.
    pub fn len(&self) -> usize {
        // SAFETY: decode()'s contract.
        unsafe { (*self.req).DATA.SET_INFORMATION.InformationBufferLength as usize }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read a `T` from the start of the buffer; `BytesNeeded` on a short buffer.
    pub fn read<T: Pod>(&self) -> Result<T, NDIS_STATUS> {
        // SAFETY: decode()'s contract; unaligned read of a Pod within the length.
        unsafe {
            let s = &mut (*self.req).DATA.SET_INFORMATION;
            let needed = size_of::<T>() as u32;
            if s.InformationBufferLength < needed || s.InformationBuffer.is_null() {
                s.BytesRead = 0;
                s.BytesNeeded = needed;
                return Err(NDIS_STATUS_INVALID_LENGTH);
            }
            Ok(s.InformationBuffer.cast::<T>().read_unaligned())
        }
    }

    /// Read a `T` of which at least `min` leading bytes must be present (an
    /// older, shorter revision); missing trailing bytes read as zero.
    pub fn read_prefix<T: Pod>(&self, min: usize) -> Result<T, NDIS_STATUS> {
        // SAFETY: decode()'s contract; T is Pod, so all-zero is a valid T and
        // any bytes copied over it keep it valid; we copy within both bounds.
        unsafe {
            let s = &mut (*self.req).DATA.SET_INFORMATION;
            let len = s.InformationBufferLength as usize;
            if len < min || s.InformationBuffer.is_null() {
                s.BytesRead = 0;
                s.BytesNeeded = min as u32;
                return Err(NDIS_STATUS_INVALID_LENGTH);
            }
            let mut v = core::mem::MaybeUninit::<T>::zeroed();
            let n = len.min(size_of::<T>());
            core::ptr::copy_nonoverlapping(
                s.InformationBuffer.cast::<u8>(),
                v.as_mut_ptr().cast::<u8>(),
                n,
            );
            Ok(v.assume_init())
        }
    }

    /// Copy up to `out.len()` bytes of the buffer; returns how many.
    pub fn read_bytes(&self, out: &mut [u8]) -> usize {
        // SAFETY: decode()'s contract; we copy at most the buffer length.
        unsafe {
            let s = &(*self.req).DATA.SET_INFORMATION;
            if s.InformationBuffer.is_null() {
                return 0;
            }
            let n = out.len().min(s.InformationBufferLength as usize);
            core::ptr::copy_nonoverlapping(s.InformationBuffer.cast::<u8>(), out.as_mut_ptr(), n);
            n
        }
    }

    /// The request itself (to complete it later with NdisMOidRequestComplete).
    pub fn request(&self) -> PNDIS_OID_REQUEST {
        self.req
    }

    /// Record that `n` bytes were consumed.
    pub fn done(&self, n: usize) -> NDIS_STATUS {
        // SAFETY: decode()'s contract.
        unsafe {
            let s = &mut (*self.req).DATA.SET_INFORMATION;
            s.BytesRead = n as u32;
            s.BytesNeeded = 0;
        }
        NDIS_STATUS_SUCCESS
    }
}

// SAFETY (all below): `#[repr(C)]` structures of integers and integer arrays
// (an NDIS_OBJECT_HEADER is three integers); every bit pattern is valid.
macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: see the comment above the macro.
        unsafe impl Pod for $t {}
    )* };
}
pod!(
    crate::ffi::TCP_OFFLOAD_STATS,
    crate::ffi::IP_OFFLOAD_STATS,
    crate::ffi::NDIS_TCP_CONNECTION_OFFLOAD,
    crate::ffi::NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
    crate::ffi::NDIS_OFFLOAD_ENCAPSULATION,
    crate::ffi::NDIS_OFFLOAD_PARAMETERS
);
