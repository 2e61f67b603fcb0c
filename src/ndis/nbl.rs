//! Raw access to the NET_BUFFER_LIST fields the driver uses, in one place:
//! chain links, `Status`, `MiniportReserved` (our queue links) and the
//! per-NBL info slots. Callers own the NBLs they pass.

use crate::ffi::{
    NDIS_STATUS, NET_BUFFER_LIST, PNET_BUFFER_LIST, PVOID, TcpOffloadBytesTransferred,
};

/// Next NBL in a chain.
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns.
pub unsafe fn next(nbl: PNET_BUFFER_LIST) -> PNET_BUFFER_LIST {
    // SAFETY: caller contract; the header union's Next member is always valid.
    unsafe { (*nbl).NetBufferListHeader.NetBufferListData.Next }
}

/// Set the chain link.
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns.
pub unsafe fn set_next(nbl: PNET_BUFFER_LIST, next: PNET_BUFFER_LIST) {
    // SAFETY: caller contract.
    unsafe { (*nbl).NetBufferListHeader.NetBufferListData.Next = next }
}

/// Set the completion status.
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns.
pub unsafe fn set_status(nbl: PNET_BUFFER_LIST, status: NDIS_STATUS) {
    // SAFETY: caller contract.
    unsafe { (*nbl).Status = status }
}

/// The `Scratch` field: the current owner's (ours while we own the NBL).
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns.
pub unsafe fn scratch(nbl: PNET_BUFFER_LIST) -> PVOID {
    // SAFETY: caller contract.
    unsafe { (*nbl).Scratch }
}

/// Set `Scratch`.
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns.
pub unsafe fn set_scratch(nbl: PNET_BUFFER_LIST, value: PVOID) {
    // SAFETY: caller contract.
    unsafe { (*nbl).Scratch = value }
}

/// The two `MiniportReserved` pointer slots (ours while we own the NBL).
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns, and no other reference to its
/// MiniportReserved may be live.
pub unsafe fn miniport_reserved<'a>(nbl: PNET_BUFFER_LIST) -> &'a mut [PVOID; 2] {
    // SAFETY: caller contract.
    unsafe { &mut (*nbl).MiniportReserved.0 }
}

/// Store a ULONG in `NetBufferListInfo[TcpOffloadBytesTransferred]`.
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns.
pub unsafe fn set_info(nbl: PNET_BUFFER_LIST, id: u32, value: usize) {
    // SAFETY: caller contract; the info slots are pointer-sized.
    if let Some(slot) = unsafe { (*nbl).NetBufferListInfo.get_mut(id as usize) } {
        *slot = value as PVOID;
    }
}

/// Write `TcpOffloadBytesTransferred`.
///
/// # Safety
/// `nbl` must be a valid NBL the caller owns.
pub unsafe fn set_bytes_transferred(nbl: PNET_BUFFER_LIST, bytes: u32) {
    // SAFETY: caller contract; the info slot is pointer-sized and holds a ULONG value.
    if let Some(slot) = unsafe {
        (*nbl)
            .NetBufferListInfo
            .get_mut(TcpOffloadBytesTransferred as usize)
    } {
        *slot = bytes as usize as PVOID;
    }
}

/// Read `NetBufferListInfo[id]` as an integer.
///
/// # Safety
/// `nbl` must be a valid NBL.
pub unsafe fn info(nbl: PNET_BUFFER_LIST, id: u32) -> usize {
    // SAFETY: caller contract.
    unsafe {
        (*nbl)
            .NetBufferListInfo
            .get(id as usize)
            .map_or(0, |p| *p as usize)
    }
}

/// An intrusive FIFO of NBLs linked through `MiniportReserved[0]`, with a
/// per-entry tag in `MiniportReserved[1]`. Pushing allocates nothing.
pub struct NblQueue {
    head: PNET_BUFFER_LIST,
    tail: PNET_BUFFER_LIST,
}

// SAFETY: the queue only holds pointers to NBLs the driver owns; it is always
// used under a spin lock.
unsafe impl Send for NblQueue {}

impl Default for NblQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl NblQueue {
    pub const fn new() -> Self {
        NblQueue {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Append `nbl` with `tag`.
    ///
    /// # Safety
    /// `nbl` must be valid, owned by the driver, and not already queued.
    pub unsafe fn push(&mut self, nbl: PNET_BUFFER_LIST, tag: usize) {
        // SAFETY: caller contract; we own MiniportReserved while queued.
        unsafe {
            let r = miniport_reserved(nbl);
            r[0] = core::ptr::null_mut();
            r[1] = tag as PVOID;
            if self.tail.is_null() {
                self.head = nbl;
            } else {
                miniport_reserved(self.tail)[0] = nbl.cast();
            }
        }
        self.tail = nbl;
    }

    /// Remove the oldest entry and its tag.
    pub fn pop(&mut self) -> Option<(PNET_BUFFER_LIST, usize)> {
        if self.head.is_null() {
            return None;
        }
        let nbl = self.head;
        // SAFETY: queued NBLs are valid and ours (push contract).
        let (next, tag) = unsafe {
            let r = miniport_reserved(nbl);
            (r[0].cast::<NET_BUFFER_LIST>(), r[1] as usize)
        };
        self.head = next;
        if next.is_null() {
            self.tail = core::ptr::null_mut();
        }
        Some((nbl, tag))
    }

    /// The oldest entry and its tag, left in place.
    pub fn peek(&self) -> Option<(PNET_BUFFER_LIST, usize)> {
        if self.head.is_null() {
            return None;
        }
        // SAFETY: queued NBLs are valid and ours (push contract).
        Some((self.head, unsafe { Self::tag_of(self.head) }))
    }

    /// Replace the tag of the oldest entry (nothing when empty).
    pub fn set_head_tag(&mut self, tag: usize) {
        if !self.head.is_null() {
            // SAFETY: queued NBLs are valid and ours (push contract).
            unsafe { miniport_reserved(self.head)[1] = tag as PVOID };
        }
    }

    /// The oldest entry (NULL when empty).
    pub fn head(&self) -> PNET_BUFFER_LIST {
        self.head
    }

    /// The newest entry (NULL when empty).
    pub fn tail(&self) -> PNET_BUFFER_LIST {
        self.tail
    }

    /// The entry after `p`.
    ///
    /// # Safety
    /// `p` must be an entry of a queue (its MiniportReserved is the link).
    pub unsafe fn next_of(p: PNET_BUFFER_LIST) -> PNET_BUFFER_LIST {
        // SAFETY: caller contract.
        unsafe { miniport_reserved(p)[0].cast() }
    }

    /// The tag stored with `p`.
    ///
    /// # Safety
    /// `p` must be an entry of a queue.
    pub unsafe fn tag_of(p: PNET_BUFFER_LIST) -> usize {
        // SAFETY: caller contract.
        unsafe { miniport_reserved(p)[1] as usize }
    }

    /// Replace the tag stored with `p`.
    ///
    /// # Safety
    /// `p` must be an entry of a queue.
    pub unsafe fn set_tag_of(p: PNET_BUFFER_LIST, tag: usize) {
        // SAFETY: caller contract.
        unsafe { miniport_reserved(p)[1] = tag as PVOID };
    }

    /// Move everything out, leaving this queue empty.
    pub fn take(&mut self) -> NblQueue {
        core::mem::take(self)
    }
}
