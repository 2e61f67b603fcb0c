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
use core::mem::MaybeUninit;
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
    unsafe { validate_into(nbl, None) }
}

/// [`validate`], also setting `cursor` (when given) at the NBL's first data
/// byte, as [`Cursor::new`] would, without reading the chain twice. The
/// cursor is written in place: a cursor returned by value would be copied
/// back out of memory just after being stored.
///
/// # Safety
/// As for [`validate`].
#[inline]
pub unsafe fn validate_into(
    nbl: PNET_BUFFER_LIST,
    mut cursor: Option<&mut Cursor>,
) -> Result<u32, Malformed> {
    // SAFETY: caller contract.
    let first = unsafe { (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer };
    if first.is_null() {
        return Err(Malformed::NoNetBuffer);
    }
    let mut nb = first;
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
        let start = unsafe { validate_mdls(d.CurrentMdl, d.CurrentMdlOffset, len)? };
        if let Some(c) = cursor.take() {
            *c = match start {
                Some(DataStart { mdl, ptr, run }) => Cursor {
                    ptr,
                    run,
                    nb_left: len,
                    mdl,
                    nb,
                },
                // No data in the first NET_BUFFER: the cursor moves on at
                // its first read.
                None => Cursor {
                    mdl: d.CurrentMdl,
                    nb,
                    ..Cursor::EMPTY
                },
            };
        }
        total = total
            .checked_add(len)
            .filter(|t| *t <= MAX_NBL_BYTES)
            .ok_or(Malformed::TooLong)?;
        nb = d.Next;
    }
    Ok(total)
}

/// Where a NET_BUFFER's data starts.
struct DataStart {
    /// The MDL holding the first data byte.
    mdl: PMDL,
    /// The first data byte's mapped address.
    ptr: *const u8,
    /// Contiguous data bytes there (at most DataLength).
    run: u32,
}

/// Check that the chain from `mdl` at `offset` covers `len` bytes, all mapped.
/// Returns where the data starts (`None` when `len` is 0).
///
/// # Safety
/// `mdl` must be NULL or the head of a valid MDL chain.
#[inline]
unsafe fn validate_mdls(
    mut mdl: PMDL,
    offset: u32,
    len: u32,
) -> Result<Option<DataStart>, Malformed> {
    if len == 0 {
        return Ok(None);
    }
    if mdl.is_null() {
        return Err(Malformed::NullMdl);
    }
    let mut start = None;
    let mut need = len;
    let mut skip = offset;
    for _ in 0..MAX_MDLS {
        if mdl.is_null() {
            return Err(Malformed::ShortMdlChain);
        }
        // SAFETY: `mdl` is non-NULL and part of the chain.
        let count = unsafe { (*mdl).ByteCount };
        let avail = count.saturating_sub(skip);
        if avail > 0 {
            // SAFETY: as above.
            let base = unsafe { system_address(mdl) };
            if base.is_null() {
                return Err(Malformed::Unmapped);
            }
            if start.is_none() {
                start = Some(DataStart {
                    mdl,
                    // SAFETY: skip < ByteCount here: inside the mapped buffer.
                    ptr: unsafe { base.add(skip as usize) }.cast_const(),
                    run: avail.min(len),
                });
            }
            if avail >= need {
                return Ok(start);
            }
            need -= avail;
        }
        skip = skip.saturating_sub(count);
        // SAFETY: as above.
        mdl = unsafe { (*mdl).Next };
    }
    Err(Malformed::ShortMdlChain)
}

/// Copy one NET_BUFFER's data (`DataLength` bytes from `CurrentMdl` at
/// `CurrentMdlOffset`) into `out`: an ordinary send's frame. Returns the
/// length copied. Fails, copying nothing useful, when the MDL chain does not
/// cover the data, an MDL cannot be mapped, or the data is longer than `out`.
///
/// # Safety
/// `nb` must be a valid NET_BUFFER the caller owns, with a valid MDL chain.
pub unsafe fn copy_net_buffer(nb: PNET_BUFFER, out: &mut [u8]) -> Result<usize, Malformed> {
    // SAFETY: caller contract.
    let d = unsafe { (*nb).NetBufferHeader.NetBufferData };
    // SAFETY: reading the ULONG member of the length union.
    let len = unsafe { d.NbDataLength.DataLength } as usize;
    let dst = out.get_mut(..len).ok_or(Malformed::TooLong)?;
    if len == 0 {
        return Ok(0);
    }
    let mut mdl = d.CurrentMdl;
    if mdl.is_null() {
        return Err(Malformed::NullMdl);
    }
    let mut skip = d.CurrentMdlOffset as usize;
    let mut done = 0usize;
    for _ in 0..MAX_MDLS {
        if mdl.is_null() {
            return Err(Malformed::ShortMdlChain);
        }
        // SAFETY: `mdl` is non-NULL and part of the caller's chain.
        let count = unsafe { (*mdl).ByteCount } as usize;
        if count > skip {
            // SAFETY: as above.
            let base = unsafe { system_address(mdl) };
            if base.is_null() {
                return Err(Malformed::Unmapped);
            }
            let n = (count - skip).min(len - done);
            // SAFETY: the MDL maps `count` bytes at `base`; skip + n <= count.
            let src = unsafe { core::slice::from_raw_parts(base.add(skip).cast_const(), n) };
            if let Some(d) = dst.get_mut(done..done + n) {
                d.copy_from_slice(src);
            }
            done += n;
            if done == len {
                return Ok(len);
            }
        }
        skip = skip.saturating_sub(count);
        // SAFETY: as above.
        mdl = unsafe { (*mdl).Next };
    }
    Err(Malformed::ShortMdlChain)
}

/// A read position inside a validated NBL: the next unread byte.
///
/// The cursor keeps the mapped address of the next byte and the length of
/// the contiguous run there, so reading a segment out of one MDL (the common
/// case) is pointer arithmetic; the MDL and NET_BUFFER chains are only
/// walked when a run is used up.
#[derive(Clone, Copy, Debug)]
pub struct Cursor {
    /// The next byte (mapped system address); meaningful while `run > 0`.
    ptr: *const u8,
    /// Contiguous bytes at `ptr` that belong to `nb` (never more than
    /// `nb_left`).
    run: u32,
    /// Bytes of `nb` not yet read, `run` included.
    nb_left: u32,
    /// The MDL `ptr` points into.
    mdl: PMDL,
    nb: PNET_BUFFER,
}

// SAFETY: a cursor is plain position data into NBLs the driver owns; it is
// only used under the owning connection's lock.
unsafe impl Send for Cursor {}

impl Cursor {
    /// A cursor that reads nothing.
    pub const EMPTY: Cursor = Cursor {
        ptr: core::ptr::null(),
        run: 0,
        nb_left: 0,
        mdl: null_mut(),
        nb: null_mut(),
    };

    /// A cursor at the first data byte of `nbl`.
    ///
    /// # Safety
    /// `nbl` must have passed [`validate`] and still be owned by the caller.
    pub unsafe fn new(nbl: PNET_BUFFER_LIST) -> Cursor {
        // SAFETY: caller contract.
        let nb = unsafe { (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer };
        // SAFETY: validated, so `nb` is a NET_BUFFER of a validated NBL.
        unsafe { Cursor::at_nb(nb) }
    }

    /// A cursor at the first data byte of `nb` (an exhausted cursor when
    /// `nb` is NULL).
    ///
    /// # Safety
    /// `nb` must be NULL or a NET_BUFFER of a validated NBL.
    unsafe fn at_nb(nb: PNET_BUFFER) -> Cursor {
        if nb.is_null() {
            return Cursor::EMPTY;
        }
        // SAFETY: caller contract.
        let d = unsafe { (*nb).NetBufferHeader.NetBufferData };
        let mut c = Cursor {
            ptr: core::ptr::null(),
            run: 0,
            // SAFETY: the ULONG member of the length union.
            nb_left: unsafe { d.NbDataLength.DataLength },
            mdl: d.CurrentMdl,
            nb,
        };
        // SAFETY: caller contract (validated chain).
        unsafe { c.map_run(d.CurrentMdlOffset) };
        c
    }

    /// Set up the run at `offset` into `self.mdl`, stepping over MDLs that
    /// end before it. Leaves `run` 0 when `nb` has no bytes left (or, on a
    /// chain that validation would have refused, when the MDLs run out).
    ///
    /// # Safety
    /// `self.mdl` must be NULL or an MDL of a validated NET_BUFFER's chain.
    unsafe fn map_run(&mut self, mut offset: u32) {
        self.run = 0;
        if self.nb_left == 0 {
            return;
        }
        for _ in 0..MAX_MDLS {
            if self.mdl.is_null() {
                return;
            }
            // SAFETY: a non-NULL MDL of the validated chain.
            let count = unsafe { (*self.mdl).ByteCount };
            if offset < count {
                // SAFETY: validate mapped every MDL holding data of this NB.
                let base = unsafe { system_address(self.mdl) };
                if base.is_null() {
                    return;
                }
                // SAFETY: offset < ByteCount, inside the mapped buffer.
                self.ptr = unsafe { base.add(offset as usize) };
                self.run = (count - offset).min(self.nb_left);
                return;
            }
            offset -= count;
            // SAFETY: as above.
            self.mdl = unsafe { (*self.mdl).Next };
        }
    }

    /// Make `run` non-zero, moving to the next MDL or NET_BUFFER as needed.
    /// Returns false at the end of the NBL.
    ///
    /// # Safety
    /// As for [`Cursor::gather`].
    #[cold]
    unsafe fn refill(&mut self) -> bool {
        for _ in 0..MAX_NBS {
            if self.run > 0 {
                return true;
            }
            if self.nb.is_null() {
                return false;
            }
            if self.nb_left == 0 {
                // SAFETY: validated NET_BUFFER chain.
                let next = unsafe { (*self.nb).NetBufferHeader.NetBufferData.Next };
                // SAFETY: as above.
                *self = unsafe { Cursor::at_nb(next) };
                continue;
            }
            if self.mdl.is_null() {
                return false;
            }
            // The current MDL is used up: the run continues at the start of
            // the next one.
            // SAFETY: validated MDL chain.
            self.mdl = unsafe { (*self.mdl).Next };
            // SAFETY: as above.
            unsafe { self.map_run(0) };
            if self.run == 0 {
                // Unmappable or missing MDL: validation would have refused it.
                return false;
            }
        }
        false
    }

    /// Fill `out` with slices of the next bytes, at most `max` in total, and
    /// advance past them. Stops early when `out` is full. Returns (slices,
    /// bytes).
    ///
    /// # Safety
    /// The NBL this cursor reads must have passed [`validate`] and still be
    /// owned by the caller; the slices are valid until the NBL is completed
    /// and must not be kept beyond the caller's critical section.
    #[inline]
    pub unsafe fn gather<'a>(&mut self, max: u32, out: &mut [&'a [u8]]) -> (usize, u32) {
        // SAFETY: `MaybeUninit<T>` has `T`'s layout, and only initialised
        // values are written through the view, so `out` stays initialised.
        let out = unsafe { &mut *(out as *mut [&'a [u8]] as *mut [MaybeUninit<&'a [u8]>]) };
        // SAFETY: caller contract.
        unsafe { self.gather_into(max, out) }
    }

    /// As [`Cursor::gather`], into slots that need not be initialised: the
    /// first (returned) count of them are written.
    ///
    /// # Safety
    /// As for [`Cursor::gather`].
    #[inline]
    pub unsafe fn gather_into(&mut self, max: u32, out: &mut [MaybeUninit<&[u8]>]) -> (usize, u32) {
        let mut n = 0usize;
        let mut got = 0u32;
        while got < max {
            // SAFETY: caller contract (validated chain).
            if self.run == 0 && !unsafe { self.refill() } {
                break;
            }
            let Some(slot) = out.get_mut(n) else {
                break;
            };
            let take = self.run.min(max - got);
            // SAFETY: `ptr` points at `run` >= `take` mapped bytes of an
            // owned MDL (validate checked the chain covers DataLength).
            slot.write(unsafe { core::slice::from_raw_parts(self.ptr, take as usize) });
            // SAFETY: take <= run: stays inside (or one past) the run.
            unsafe { self.consume(take) };
            n += 1;
            got += take;
        }
        (n, got)
    }

    /// The next `len` bytes as one slice, when they are contiguous at the
    /// cursor (the common case: a segment inside one MDL); the cursor does
    /// not move. Reads the position field by field, so a cursor just stored
    /// is not reloaded as a whole.
    ///
    /// # Safety
    /// As for [`Cursor::gather`].
    #[inline(always)]
    pub unsafe fn contiguous<'a>(&self, len: u32) -> Option<&'a [u8]> {
        if len == 0 || self.run < len {
            return None;
        }
        // SAFETY: `ptr` points at `run` >= `len` mapped bytes of an owned MDL.
        Some(unsafe { core::slice::from_raw_parts(self.ptr, len as usize) })
    }

    /// Move forward `bytes` without reading them (across NET_BUFFERs).
    ///
    /// # Safety
    /// As for [`Cursor::gather`].
    #[inline]
    pub unsafe fn skip(&mut self, mut bytes: u32) {
        while bytes > 0 {
            // SAFETY: caller contract.
            if self.run == 0 && !unsafe { self.refill() } {
                return;
            }
            let take = self.run.min(bytes);
            // SAFETY: take <= run.
            unsafe { self.consume(take) };
            bytes -= take;
        }
    }

    /// # Safety
    /// `take` must be at most `self.run`.
    #[inline(always)]
    unsafe fn consume(&mut self, take: u32) {
        // SAFETY: caller contract: the result stays inside the mapped run or
        // one past its end.
        self.ptr = unsafe { self.ptr.add(take as usize) };
        self.run -= take;
        self.nb_left -= take;
    }
}

/// Copy `data` into the data of `nbl`'s first NET_BUFFER, starting `offset`
/// bytes after its data start; stops at its `DataLength`. Returns the bytes
/// copied.
///
/// # Safety
/// `nbl` must have passed [`validate`] (so its MDLs are mapped and cover
/// `DataLength`) and be owned by the caller, which may write its buffers (a
/// posted receive request).
pub unsafe fn write_at(nbl: PNET_BUFFER_LIST, offset: u32, data: &[u8]) -> u32 {
    // SAFETY: caller contract.
    let nb = unsafe { (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer };
    // SAFETY: as above: a validated NET_BUFFER (or NULL).
    let mut cursor = unsafe { Cursor::at_nb(nb) };
    // Stay inside this NET_BUFFER: the cursor would move on to the next.
    let room = cursor.nb_left.saturating_sub(offset);
    // SAFETY: as above.
    unsafe { cursor.skip(offset) };
    let mut left = data.len().min(room as usize) as u32;
    let mut copied = 0u32;
    while left > 0 {
        // SAFETY: a validated chain.
        if cursor.run == 0 && !unsafe { cursor.refill() } {
            break;
        }
        let take = cursor.run.min(left);
        let src = data
            .get(copied as usize..(copied + take) as usize)
            .unwrap_or(&[]);
        // SAFETY: `ptr` points at `run` >= `take` mapped bytes of a buffer
        // the caller may write; `src` is the caller's memory, not that buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), cursor.ptr.cast_mut(), src.len());
            cursor.consume(take);
        }
        copied += take;
        left -= take;
    }
    copied
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
