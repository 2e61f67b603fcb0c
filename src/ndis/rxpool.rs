//! Receive buffers: a fixed set allocated at InitializeEx, each one buffer
//! of [`RX_BUF_BYTES`] with its own MDL and NET_BUFFER_LIST (one NET_BUFFER)
//! from an NDIS NBL pool (spec §2.7), so a buffer can be lent to NDIS as it
//! is: indicated on the ordinary receive path, indicated to the chimney
//! host, or handed back in `BufferedData` at terminate.
//!
//! Ownership: every buffer is at any moment in exactly one place — the free
//! list, one owner's queue (a connection's receive queue, under that
//! connection's lock), or lent to NDIS (until `MiniportReturnNetBufferLists`
//! / `MiniportTcpOffloadReceiveReturn`). Only the owner writes a buffer; the
//! pool checks every NBL that comes back against its own table, so a
//! foreign or doubly returned NBL is refused, not reused.
//!
//! No allocation happens after [`RxPool::new`]; the free list is a stack of
//! indices under a spin lock that is only ever the innermost lock taken.

use super::pool::PoolSlice;
use super::spinlock::SpinLock;
use super::{NdisHandle, nbl};
use crate::ffi::imports::{
    NdisAllocateMdl, NdisAllocateNetBufferAndNetBufferList, NdisAllocateNetBufferListPool,
    NdisFreeMdl, NdisFreeNetBufferList, NdisFreeNetBufferListPool,
};
use crate::ffi::*;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

/// Bytes per receive buffer: a whole VLAN-tagged 1500-byte-MTU frame fits.
pub const RX_BUF_BYTES: usize = 2048;
/// "No buffer" in a queue link.
pub const NO_BUF: u32 = u32::MAX;

pub const TAG_RX_DATA: ULONG = u32::from_le_bytes(*b"CmRb");
pub const TAG_RX_DESC: ULONG = u32::from_le_bytes(*b"CmRd");
pub const TAG_RX_FREE: ULONG = u32::from_le_bytes(*b"CmRf");
pub const TAG_RX_NBL_POOL: ULONG = u32::from_le_bytes(*b"CmRn");

/// Marks our NBLs in `MiniportReserved[1]` (index + 1 sits in slot 0).
const RX_MAGIC: usize = 0x4368_6d52_7842_7566;

/// One buffer's bookkeeping. `nbl`/`mdl` are fixed after initialization;
/// `next`, `len` and `head` are written only by the buffer's owner.
struct Desc {
    nbl: AtomicPtr<NET_BUFFER_LIST>,
    mdl: AtomicPtr<MDL>,
    /// Next buffer in the owner's queue, or [`NO_BUF`].
    next: AtomicU32,
    /// Bytes filled, from offset 0.
    len: AtomicU32,
    /// Bytes already consumed from the front (delivered elsewhere).
    head: AtomicU32,
    /// True while the buffer is on the free list.
    free: AtomicU32,
    /// Sequence number of the first byte and the TCP flags of an
    /// out-of-order segment held in this buffer (see `offload::rx`).
    seq: AtomicU32,
    flags: AtomicU32,
}

struct FreeStack {
    ids: PoolSlice<u32>,
    top: usize,
}

/// The receive buffers of one adapter.
pub struct RxPool {
    nbl_pool: AtomicUsize,
    /// Owns the buffer memory `base` points into.
    _data: PoolSlice<u8>,
    base: AtomicPtr<u8>,
    descs: PoolSlice<Desc>,
    free: SpinLock<FreeStack>,
    /// Buffers currently lent to NDIS.
    lent: AtomicU32,
}

/// Why an NBL handed back to the pool was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnError {
    /// Not one of this pool's NBLs.
    Foreign,
    /// One of ours, but already free.
    AlreadyFree,
}

impl RxPool {
    /// Allocate `count` buffers with their MDLs and NBLs (PASSIVE_LEVEL).
    /// On failure everything allocated so far is released.
    pub fn new(handle: NdisHandle, count: usize) -> Result<Self, NDIS_STATUS> {
        let count = count.clamp(1, (u32::MAX / 2) as usize);
        let bytes = count
            .checked_mul(RX_BUF_BYTES)
            .ok_or(NDIS_STATUS_RESOURCES)?;
        let mut data = PoolSlice::try_new_with(handle, TAG_RX_DATA, bytes, |_| 0u8)?;
        let base = data.as_mut_ptr();
        let descs = PoolSlice::try_new_with(handle, TAG_RX_DESC, count, |_| Desc {
            nbl: AtomicPtr::new(core::ptr::null_mut()),
            mdl: AtomicPtr::new(core::ptr::null_mut()),
            next: AtomicU32::new(NO_BUF),
            len: AtomicU32::new(0),
            head: AtomicU32::new(0),
            free: AtomicU32::new(1),
            seq: AtomicU32::new(0),
            flags: AtomicU32::new(0),
        })?;
        let ids = PoolSlice::try_new_with(handle, TAG_RX_FREE, count, |i| {
            // Pop order: buffer 0 first.
            (count - 1 - i) as u32
        })?;
        let params = NET_BUFFER_LIST_POOL_PARAMETERS {
            Header: NDIS_OBJECT_HEADER {
                Type: NDIS_OBJECT_TYPE_DEFAULT,
                Revision: NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
                Size: NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
            },
            ProtocolId: NDIS_PROTOCOL_ID_DEFAULT,
            fAllocateNetBuffer: 1,
            ContextSize: 0,
            PoolTag: TAG_RX_NBL_POOL,
            DataSize: 0,
        };
        // SAFETY: valid parameters for the duration of the call; PASSIVE_LEVEL.
        let nbl_pool = unsafe { NdisAllocateNetBufferListPool(handle.raw(), &params) };
        if nbl_pool.is_null() {
            return Err(NDIS_STATUS_RESOURCES);
        }
        let pool = RxPool {
            nbl_pool: AtomicUsize::new(nbl_pool as usize),
            _data: data,
            base: AtomicPtr::new(base),
            descs,
            free: SpinLock::new(FreeStack { ids, top: count }),
            lent: AtomicU32::new(0),
        };
        for (i, d) in pool.descs.iter().enumerate() {
            // SAFETY: `i < count`, so the buffer lies inside `data`.
            let va = unsafe { base.add(i * RX_BUF_BYTES) };
            // SAFETY: nonpaged pool memory we own, RX_BUF_BYTES long.
            let mdl = unsafe { NdisAllocateMdl(handle.raw(), va.cast(), RX_BUF_BYTES as UINT) };
            if mdl.is_null() {
                return Err(NDIS_STATUS_RESOURCES); // Drop frees what exists.
            }
            d.mdl.store(mdl, Ordering::Relaxed);
            // SAFETY: our pool, our MDL; the NBL describes no data yet.
            let n = unsafe { NdisAllocateNetBufferAndNetBufferList(nbl_pool, 0, 0, mdl, 0, 0) };
            if n.is_null() {
                return Err(NDIS_STATUS_RESOURCES);
            }
            // SAFETY: a fresh NBL we own.
            let r = unsafe { nbl::miniport_reserved(n) };
            *r = [(i + 1) as PVOID, RX_MAGIC as PVOID];
            d.nbl.store(n, Ordering::Relaxed);
        }
        Ok(pool)
    }

    /// Initialise the free-list lock in place (the pool must not move afterwards).
    pub fn init(&self) {
        self.free.init();
    }

    pub fn capacity(&self) -> usize {
        self.descs.len()
    }

    /// Buffers on the free list now.
    pub fn available(&self) -> usize {
        self.free.lock().top
    }

    /// Buffers lent to NDIS now.
    pub fn lent(&self) -> u32 {
        self.lent.load(Ordering::Relaxed)
    }

    /// Take a free buffer (empty, unlinked). Any IRQL <= DISPATCH_LEVEL.
    pub fn take(&self) -> Option<u32> {
        let id = {
            let mut f = self.free.lock();
            let top = f.top.checked_sub(1)?;
            let id = f.ids.get(top).copied()?;
            f.top = top;
            id
        };
        let d = self.descs.get(id as usize)?;
        d.free.store(0, Ordering::Relaxed);
        d.next.store(NO_BUF, Ordering::Relaxed);
        d.len.store(0, Ordering::Relaxed);
        d.head.store(0, Ordering::Relaxed);
        Some(id)
    }

    /// Put an owned buffer back on the free list.
    pub fn give(&self, id: u32) {
        let Some(d) = self.descs.get(id as usize) else {
            return;
        };
        if d.free.swap(1, Ordering::Relaxed) == 1 {
            return;
        }
        let mut f = self.free.lock();
        let top = f.top;
        if let Some(slot) = f.ids.get_mut(top) {
            *slot = id;
            f.top = top + 1;
        }
    }

    /// Give back every buffer of a queue starting at `head`.
    pub fn give_queue(&self, mut head: u32) {
        let mut guard = self.descs.len();
        while head != NO_BUF && guard > 0 {
            let next = self.next(head);
            self.give(head);
            head = next;
            guard -= 1;
        }
    }

    pub fn next(&self, id: u32) -> u32 {
        self.descs
            .get(id as usize)
            .map_or(NO_BUF, |d| d.next.load(Ordering::Relaxed))
    }

    pub fn set_next(&self, id: u32, next: u32) {
        if let Some(d) = self.descs.get(id as usize) {
            d.next.store(next, Ordering::Relaxed);
        }
    }

    /// Label buffer `id` with the sequence number of its first byte (as
    /// filled, before any consume) and the segment's TCP flags.
    pub fn set_seq(&self, id: u32, seq: u32, flags: u8) {
        if let Some(d) = self.descs.get(id as usize) {
            d.seq.store(seq, Ordering::Relaxed);
            d.flags.store(u32::from(flags), Ordering::Relaxed);
        }
    }

    /// The sequence number of the first unconsumed byte of `id` and the
    /// flags it was labelled with ([`RxPool::set_seq`]).
    pub fn seq(&self, id: u32) -> (u32, u8) {
        self.descs.get(id as usize).map_or((0, 0), |d| {
            (
                d.seq
                    .load(Ordering::Relaxed)
                    .wrapping_add(d.head.load(Ordering::Relaxed)),
                d.flags.load(Ordering::Relaxed) as u8,
            )
        })
    }

    /// Replace the flags buffer `id` was labelled with.
    pub fn set_flags(&self, id: u32, flags: u8) {
        if let Some(d) = self.descs.get(id as usize) {
            d.flags.store(u32::from(flags), Ordering::Relaxed);
        }
    }

    /// Bytes filled in `id` and not yet consumed.
    pub fn pending(&self, id: u32) -> u32 {
        self.descs.get(id as usize).map_or(0, |d| {
            d.len
                .load(Ordering::Relaxed)
                .saturating_sub(d.head.load(Ordering::Relaxed))
        })
    }

    /// Room left at the end of `id`.
    pub fn room(&self, id: u32) -> u32 {
        self.descs.get(id as usize).map_or(0, |d| {
            (RX_BUF_BYTES as u32).saturating_sub(d.len.load(Ordering::Relaxed))
        })
    }

    /// Append as much of `bytes` as fits to buffer `id` (the caller owns it).
    /// Returns the number of bytes copied.
    pub fn append(&self, id: u32, bytes: &[u8]) -> usize {
        let Some(d) = self.descs.get(id as usize) else {
            return 0;
        };
        let len = d.len.load(Ordering::Relaxed) as usize;
        let n = bytes.len().min(RX_BUF_BYTES.saturating_sub(len));
        if n == 0 {
            return 0;
        }
        let base = self.base.load(Ordering::Relaxed);
        // SAFETY: `id < count` and `len + n <= RX_BUF_BYTES`, so the range
        // lies inside buffer `id`; the caller owns the buffer, so nobody else
        // reads or writes it now; `bytes` is not pool memory of this buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                base.add(id as usize * RX_BUF_BYTES + len),
                n,
            )
        };
        d.len.store((len + n) as u32, Ordering::Relaxed);
        n
    }

    /// Run `f` on the unconsumed bytes of `id` (the caller owns the buffer,
    /// so they do not change during the call).
    pub fn with_pending<R>(&self, id: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        let Some(d) = self.descs.get(id as usize) else {
            return f(&[]);
        };
        let len = (d.len.load(Ordering::Relaxed) as usize).min(RX_BUF_BYTES);
        let head = (d.head.load(Ordering::Relaxed) as usize).min(len);
        let base = self.base.load(Ordering::Relaxed);
        // SAFETY: `id < count` and `head <= len <= RX_BUF_BYTES`: the range
        // lies inside buffer `id`, filled by `append`; the caller owns the
        // buffer, so nobody writes it while `f` runs.
        let bytes = unsafe {
            core::slice::from_raw_parts(base.add(id as usize * RX_BUF_BYTES + head), len - head)
        };
        f(bytes)
    }

    /// Mark `n` bytes at the front of `id` as consumed.
    pub fn consume(&self, id: u32, n: u32) {
        if let Some(d) = self.descs.get(id as usize) {
            let len = d.len.load(Ordering::Relaxed);
            let head = d.head.load(Ordering::Relaxed).saturating_add(n).min(len);
            d.head.store(head, Ordering::Relaxed);
        }
    }

    /// Lend buffer `id` to NDIS: its NBL describes the unconsumed bytes (one
    /// NET_BUFFER, one MDL), `Next` is NULL. Returns the NBL.
    pub fn lend(&self, id: u32) -> PNET_BUFFER_LIST {
        self.lend_tagged(id, 0)
    }

    /// [`RxPool::lend`], with `Ieee8021QNetBufferListInfo` set to `info`
    /// (the 802.1Q tag the hardware took off the frame; 0: none).
    pub fn lend_tagged(&self, id: u32, info: usize) -> PNET_BUFFER_LIST {
        let Some(d) = self.descs.get(id as usize) else {
            return core::ptr::null_mut();
        };
        let n = d.nbl.load(Ordering::Relaxed);
        let mdl = d.mdl.load(Ordering::Relaxed);
        let head = d.head.load(Ordering::Relaxed);
        let len = d.len.load(Ordering::Relaxed).saturating_sub(head);
        // SAFETY: our NBL (one NET_BUFFER, allocated with it), owned by the
        // caller until lent; the MDL describes this buffer.
        unsafe {
            nbl::set_next(n, core::ptr::null_mut());
            nbl::set_status(n, NDIS_STATUS_SUCCESS);
            nbl::set_bytes_transferred(n, 0);
            nbl::set_info(n, Ieee8021QNetBufferListInfo, info);
            let nb = (*n).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
            if !nb.is_null() {
                let data = &mut (*nb).NetBufferHeader.NetBufferData;
                data.Next = core::ptr::null_mut();
                data.MdlChain = mdl;
                data.CurrentMdl = mdl;
                data.CurrentMdlOffset = head;
                data.DataOffset = head;
                data.NbDataLength.stDataLength = len as SIZE_T;
            }
        }
        self.lent.fetch_add(1, Ordering::Relaxed);
        n
    }

    /// Which buffer an NBL is, if it is one of ours and not free.
    ///
    /// # Safety
    /// `n` must be NULL or a valid NBL (NDIS returns NBLs it got from us).
    pub unsafe fn identify(&self, n: PNET_BUFFER_LIST) -> Result<u32, ReturnError> {
        if n.is_null() {
            return Err(ReturnError::Foreign);
        }
        // Read the tag without trusting it: it is only an index hint, checked
        // against the pool's own table below.
        // SAFETY: caller contract: a valid NBL, whose MiniportReserved we
        // may read even if it is not ours.
        let (idx, magic) = unsafe {
            let [a, b] = *nbl::miniport_reserved(n);
            (a as usize, b as usize)
        };
        if magic != RX_MAGIC || idx == 0 {
            return Err(ReturnError::Foreign);
        }
        let id = idx - 1;
        let d = self.descs.get(id).ok_or(ReturnError::Foreign)?;
        if d.nbl.load(Ordering::Relaxed) != n {
            return Err(ReturnError::Foreign);
        }
        if d.free.load(Ordering::Relaxed) == 1 {
            return Err(ReturnError::AlreadyFree);
        }
        Ok(id as u32)
    }

    /// NDIS gave a lent NBL back: the caller owns buffer `id` again.
    pub fn returned(&self) {
        let _ = self
            .lent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
    }
}

impl Drop for RxPool {
    fn drop(&mut self) {
        for d in self.descs.iter() {
            let n = d.nbl.swap(core::ptr::null_mut(), Ordering::Relaxed);
            if !n.is_null() {
                // SAFETY: our NBL from our pool; halting means nothing is lent
                // (NDIS returns every indicated NBL before MiniportHaltEx).
                unsafe { NdisFreeNetBufferList(n) };
            }
            let m = d.mdl.swap(core::ptr::null_mut(), Ordering::Relaxed);
            if !m.is_null() {
                // SAFETY: our MDL from NdisAllocateMdl, no NBL refers to it now.
                unsafe { NdisFreeMdl(m) };
            }
        }
        let p = self.nbl_pool.swap(0, Ordering::Relaxed);
        if p != 0 {
            // SAFETY: our pool; every NBL from it was freed above.
            unsafe { NdisFreeNetBufferListPool(p as NDIS_HANDLE) };
        }
    }
}
