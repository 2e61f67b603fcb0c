//! Reading send data through NET_BUFFER / MDL chains, and handing NBLs back
//! with their NET_BUFFERs advanced. All raw pointer work on send data lives
//! here; the send logic above sees lengths, byte slices and a cursor.
//!
//! Where a NET_BUFFER's data starts: `CurrentMdl` at `CurrentMdlOffset`, for
//! `DataLength` bytes, possibly across several MDLs. The host's MDLs are
//! locked but need not be mapped; they are mapped (as the
//! `MmGetSystemAddressForMdlSafe` macro does) when an NBL is accepted, so the
//! cursor only ever reads mapped memory.

use crate::ffi::imports::{MmMapLockedPagesSpecifyCache, NdisAdvanceNetBufferDataStart};
use crate::ffi::*;
use core::ptr::null_mut;

/// Upper bound on MDLs walked in one NET_BUFFER (a cyclic `Next` chain in a
/// malformed NBL must not hang the data path).
const MAX_MDLS: usize = 4096;
/// Upper bound on NET_BUFFERs in one NBL, for the same reason.
const MAX_NBS: usize = 4096;
/// Largest NBL accepted (bytes): lengths stay far from 2^31 so sequence
/// arithmetic on them never wraps ambiguously.
pub const MAX_NBL_BYTES: u32 = 1 << 30;

/// Why an NBL cannot be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// No NET_BUFFER at all.
    NoNetBuffer,
    /// A NET_BUFFER with data but a NULL `CurrentMdl`.
    NullMdl,
    /// `DataLength` runs past the end of the MDL chain (or the chain is cyclic).
    ShortMdlChain,
    /// The NBL's data is longer than [`MAX_NBL_BYTES`].
    TooLong,
    /// An MDL could not be mapped into system space.
    Unmapped,
}

impl Malformed {
    /// The completion status for an NBL refused for this reason.
    pub fn status(self) -> NDIS_STATUS {
        match self {
            Malformed::Unmapped => NDIS_STATUS_RESOURCES,
            _ => NDIS_STATUS_INVALID_PARAMETER,
        }
    }
}

/// The system address of an MDL's first byte, mapping it if needed.
///
/// # Safety
/// `mdl` must be a valid MDL describing locked pages.
unsafe fn system_address(mdl: PMDL) -> *mut u8 {
    // SAFETY: caller contract.
    unsafe {
        if (*mdl).MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL) != 0 {
            return (*mdl).MappedSystemVa.cast();
        }
        MmMapLockedPagesSpecifyCache(
            mdl,
            KernelMode,
            MmCached,
            null_mut(),
            0,
            NormalPagePriority | MdlMappingNoExecute,
        )
        .cast()
    }
}

/// Check one NBL for sending: every NET_BUFFER's `DataLength` must be covered
/// by its MDL chain from `CurrentMdlOffset`, and every MDL that holds data is
/// mapped. Returns the NBL's total data length.
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns (NET_BUFFERs and MDLs included).
pub unsafe fn validate(nbl: PNET_BUFFER_LIST) -> Result<u32, Malformed> {
    // SAFETY: caller contract.
    let mut nb = unsafe { (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer };
    if nb.is_null() {
        return Err(Malformed::NoNetBuffer);
    }
    let mut total: u32 = 0;
    let mut count = 0usize;
    while !nb.is_null() {
        count += 1;
        if count > MAX_NBS {
            return Err(Malformed::ShortMdlChain);
        }
        // SAFETY: NET_BUFFERs reachable from an owned NBL are valid.
        let d = unsafe { (*nb).NetBufferHeader.NetBufferData };
        // SAFETY: reading the ULONG member of the length union.
        let len = unsafe { d.NbDataLength.DataLength };
        // SAFETY: as above; the MDLs belong to this NET_BUFFER.
        unsafe { validate_mdls(d.CurrentMdl, d.CurrentMdlOffset, len)? };
        total = total
            .checked_add(len)
            .filter(|t| *t <= MAX_NBL_BYTES)
            .ok_or(Malformed::TooLong)?;
        nb = d.Next;
    }
    Ok(total)
}

/// # Safety
/// `mdl` must be NULL or the head of a valid MDL chain.
unsafe fn validate_mdls(mut mdl: PMDL, offset: u32, len: u32) -> Result<(), Malformed> {
    if len == 0 {
        return Ok(());
    }
    if mdl.is_null() {
        return Err(Malformed::NullMdl);
    }
    let mut need = u64::from(len);
    let mut skip = u64::from(offset);
    for _ in 0..MAX_MDLS {
        if mdl.is_null() {
            return Err(Malformed::ShortMdlChain);
        }
        // SAFETY: `mdl` is non-NULL and part of the chain.
        let count = u64::from(unsafe { (*mdl).ByteCount });
        let avail = count.saturating_sub(skip);
        if avail > 0 {
            // SAFETY: as above.
            if unsafe { system_address(mdl) }.is_null() {
                return Err(Malformed::Unmapped);
            }
            need = need.saturating_sub(avail);
            if need == 0 {
                return Ok(());
            }
        }
        skip = skip.saturating_sub(count);
        // SAFETY: as above.
        mdl = unsafe { (*mdl).Next };
    }
    Err(Malformed::ShortMdlChain)
}

/// A read position inside a validated NBL: the next unread byte.
#[derive(Clone, Copy, Debug)]
pub struct Cursor {
    nb: PNET_BUFFER,
    mdl: PMDL,
    /// Offset inside `mdl`.
    offset: u32,
    /// Bytes of `nb` not yet read.
    nb_left: u32,
}

// SAFETY: a cursor is plain position data into NBLs the driver owns; it is
// only used under the owning connection's lock.
unsafe impl Send for Cursor {}

impl Cursor {
    /// A cursor that reads nothing.
    pub const EMPTY: Cursor = Cursor {
        nb: null_mut(),
        mdl: null_mut(),
        offset: 0,
        nb_left: 0,
    };

    /// A cursor at the first data byte of `nbl`.
    ///
    /// # Safety
    /// `nbl` must have passed [`validate`] and still be owned by the caller.
    pub unsafe fn new(nbl: PNET_BUFFER_LIST) -> Cursor {
        // SAFETY: caller contract.
        let nb = unsafe { (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer };
        // SAFETY: validated, so `nb` is non-NULL.
        unsafe { Cursor::at_nb(nb) }
    }

    /// # Safety
    /// `nb` must be NULL or a NET_BUFFER of a validated NBL.
    unsafe fn at_nb(nb: PNET_BUFFER) -> Cursor {
        if nb.is_null() {
            return Cursor {
                nb,
                mdl: null_mut(),
                offset: 0,
                nb_left: 0,
            };
        }
        // SAFETY: caller contract.
        let d = unsafe { (*nb).NetBufferHeader.NetBufferData };
        Cursor {
            nb,
            mdl: d.CurrentMdl,
            offset: d.CurrentMdlOffset,
            // SAFETY: the ULONG member of the length union.
            nb_left: unsafe { d.NbDataLength.DataLength },
        }
    }

    /// Fill `out` with slices of the next bytes, at most `max` in total, and
    /// advance past them. Stops early when `out` is full. Returns (slices,
    /// bytes).
    ///
    /// # Safety
    /// The NBL this cursor reads must have passed [`validate`] and still be
    /// owned by the caller; the slices are valid until the NBL is completed
    /// and must not be kept beyond the caller's critical section.
    pub unsafe fn gather(&mut self, max: u32, out: &mut [&[u8]]) -> (usize, u32) {
        let mut n = 0usize;
        let mut got = 0u32;
        while got < max && n < out.len() {
            // SAFETY: caller contract (validated chain).
            let Some((ptr, avail)) = (unsafe { self.current() }) else {
                break;
            };
            let take = avail.min(max - got);
            // SAFETY: `ptr` points at `avail` >= `take` mapped bytes of an
            // owned MDL (validate checked the chain covers DataLength).
            let s = unsafe { core::slice::from_raw_parts(ptr, take as usize) };
            if let Some(slot) = out.get_mut(n) {
                *slot = s;
            }
            n += 1;
            got += take;
            // SAFETY: as above.
            unsafe { self.skip(take) };
        }
        (n, got)
    }

    /// Move forward `bytes` without reading them (across NET_BUFFERs).
    ///
    /// # Safety
    /// As for [`Cursor::gather`].
    pub unsafe fn skip(&mut self, mut bytes: u32) {
        while bytes > 0 {
            // SAFETY: caller contract.
            let Some((_, avail)) = (unsafe { self.current() }) else {
                return;
            };
            let take = avail.min(bytes);
            self.offset += take;
            self.nb_left -= take;
            bytes -= take;
        }
    }

    /// The contiguous run at the cursor (address, length), stepping over
    /// exhausted MDLs and NET_BUFFERs; `None` at the end of the NBL.
    ///
    /// # Safety
    /// As for [`Cursor::gather`].
    unsafe fn current(&mut self) -> Option<(*const u8, u32)> {
        loop {
            if self.nb.is_null() {
                return None;
            }
            if self.nb_left == 0 {
                // SAFETY: validated NET_BUFFER chain.
                let next = unsafe { (*self.nb).NetBufferHeader.NetBufferData.Next };
                // SAFETY: as above.
                *self = unsafe { Cursor::at_nb(next) };
                continue;
            }
            if self.mdl.is_null() {
                return None;
            }
            // SAFETY: validated MDL chain.
            let count = unsafe { (*self.mdl).ByteCount };
            if self.offset >= count {
                self.offset -= count;
                // SAFETY: as above.
                self.mdl = unsafe { (*self.mdl).Next };
                continue;
            }
            // SAFETY: validate mapped every MDL holding data of this NB.
            let base = unsafe { system_address(self.mdl) };
            if base.is_null() {
                return None;
            }
            let avail = (count - self.offset).min(self.nb_left);
            // SAFETY: offset < ByteCount, inside the mapped buffer.
            return Some((unsafe { base.add(self.offset as usize) }, avail));
        }
    }
}

/// Record how much of `nbl` was sent and acknowledged: set
/// `TcpOffloadBytesTransferred` and advance each NET_BUFFER by its acked
/// part (spec §6.2, rule 58). `acked` covers NET_BUFFERs in order.
///
/// # Safety
/// `nbl` must be a validated NBL the caller owns and is about to complete.
pub unsafe fn account_acked(nbl: PNET_BUFFER_LIST, acked: u32) {
    // SAFETY: caller contract.
    unsafe { super::nbl::set_bytes_transferred(nbl, acked) };
    let mut left = acked;
    // SAFETY: caller contract.
    let mut nb = unsafe { (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer };
    let mut guard = 0usize;
    while left > 0 && !nb.is_null() && guard < MAX_NBS {
        guard += 1;
        // SAFETY: NET_BUFFERs of a validated, owned NBL.
        let (len, next) = unsafe {
            let d = (*nb).NetBufferHeader.NetBufferData;
            (d.NbDataLength.DataLength, d.Next)
        };
        let step = len.min(left);
        if step > 0 {
            // SAFETY: `step` <= DataLength; no MDL is freed (FreeMdl = FALSE).
            unsafe { NdisAdvanceNetBufferDataStart(nb, step, FALSE, null_mut()) };
        }
        left -= step;
        nb = next;
    }
}
