//! The ordinary transmit path: frames the host's own stack sends through
//! MiniportSendNetBufferLists (ARP, handshakes, connections not offloaded)
//! go out through the same hardware port as offloaded segments.
//!
//! Each NET_BUFFER is one Ethernet frame. NBLs wait in an intrusive FIFO
//! (linked through `MiniportReserved`, so queueing allocates nothing) under
//! the data path's `ordinary` spin lock; the head is transmitted one
//! NET_BUFFER at a time, its progress kept in the queue tag, until the ring
//! is full; the port's transmit-ready upcall resumes it. An NBL completes
//! with SUCCESS once all its frames are on the ring, with the malformed
//! status of the first frame that cannot be sent (the frames before it
//! stay sent), with PAUSED when the adapter pauses, or with SEND_ABORTED
//! when the host cancels it. Completions go up with no driver lock held.

use super::adapter::{Adapter, RunState};
use super::send::DataPath;
use crate::ffi::imports::NdisMSendNetBufferListsComplete;
use crate::ffi::phy::CHIMNEY_PHY_MAX_FRAME;
use crate::ffi::*;
use crate::hw::NicError;
use crate::ndis::nbdata::{self, Malformed};
use crate::ndis::nbl::{self, NblQueue};
use core::sync::atomic::Ordering;

/// `NDIS_STATUS_SEND_ABORTED` (ndis.h: the value of STATUS_NDIS_REQUEST_ABORTED).
pub const NDIS_STATUS_SEND_ABORTED: NDIS_STATUS = NDIS_STATUS_REQUEST_ABORTED;

/// The shortest Ethernet frame on the wire (FCS excluded): shorter frames
/// are padded with zeros.
const ETH_MIN_FRAME: usize = 60;
/// Bytes of an 802.1Q tag.
const VLAN_TAG: usize = 4;

/// Completed NBLs, linked through `Next` in completion order.
struct Done {
    head: PNET_BUFFER_LIST,
    tail: PNET_BUFFER_LIST,
    ok: u64,
}

impl Done {
    const fn new() -> Self {
        Done {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
            ok: 0,
        }
    }

    /// Append `p` with `status`.
    ///
    /// # Safety
    /// `p` must be an NBL the driver owns and has taken off every queue.
    unsafe fn push(&mut self, p: PNET_BUFFER_LIST, status: NDIS_STATUS) {
        // SAFETY: caller contract: the NBL is ours.
        unsafe {
            nbl::set_status(p, status);
            nbl::set_next(p, core::ptr::null_mut());
            if self.tail.is_null() {
                self.head = p;
            } else {
                nbl::set_next(self.tail, p);
            }
        }
        self.tail = p;
        if status == NDIS_STATUS_SUCCESS {
            self.ok += 1;
        }
    }

    /// Hand everything back to NDIS (no driver lock may be held).
    fn complete(self, adapter: &Adapter, dp: &DataPath, dispatch: bool) {
        if self.head.is_null() {
            return;
        }
        let mut n = 0u64;
        let mut p = self.head;
        while !p.is_null() {
            n += 1;
            // SAFETY: the chain was built by `push` from NBLs we own.
            p = unsafe { nbl::next(p) };
        }
        dp.xmit_error.fetch_add(n - self.ok, Ordering::Relaxed);
        if self.ok > 0 {
            let mut st = adapter.state.lock();
            st.xmit_ok = st.xmit_ok.wrapping_add(self.ok);
        }
        let flags = if dispatch {
            NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
        } else {
            0
        };
        // SAFETY: completing NBLs NDIS gave us, each once, with no lock held.
        unsafe { NdisMSendNetBufferListsComplete(adapter.handle.raw(), self.head, flags) };
    }
}

/// The 802.1Q TCI an NBL asks for: its `Ieee8021QNetBufferListInfo`
/// (UserPriority in bits 0–2, VlanId in bits 4–15 of the ULONG), the
/// adapter's `*VlanID` when the NBL names none. None: send untagged.
fn vlan_tci(info: usize, adapter_vlan: u16) -> Option<u16> {
    let priority = (info & 0x7) as u16;
    let vlan = match ((info >> 4) & 0xFFF) as u16 {
        0 => adapter_vlan,
        v => v,
    };
    (priority != 0 || vlan != 0).then_some((priority << 13) | vlan)
}

/// Why a frame did not go out.
enum FrameError {
    /// The ring is full: try again on transmit-ready.
    Full,
    /// The frame cannot be sent: fail the NBL with this status.
    Bad(NDIS_STATUS),
}

/// Transmit one NET_BUFFER as a frame (tagged when `tci` is set).
///
/// # Safety
/// `nb` must be a valid NET_BUFFER of an NBL the driver owns.
unsafe fn transmit_nb(dp: &DataPath, nb: PNET_BUFFER, tci: Option<u16>) -> Result<(), FrameError> {
    let mut frame = [0u8; CHIMNEY_PHY_MAX_FRAME];
    let room = CHIMNEY_PHY_MAX_FRAME - if tci.is_some() { VLAN_TAG } else { 0 };
    let body = frame
        .get_mut(..room)
        .ok_or(FrameError::Bad(NDIS_STATUS_FAILURE))?;
    // SAFETY: caller contract.
    let len = unsafe { nbdata::copy_net_buffer(nb, body) }.map_err(|m| {
        FrameError::Bad(match m {
            Malformed::TooLong => NDIS_STATUS_INVALID_LENGTH,
            other => other.status(),
        })
    })?;
    if len < 14 {
        // Not even an Ethernet header.
        return Err(FrameError::Bad(NDIS_STATUS_INVALID_LENGTH));
    }
    let mut len = len;
    if let Some(tci) = tci {
        // Open a gap after the two MAC addresses for TPID 0x8100 + TCI.
        frame.copy_within(12..len, 12 + VLAN_TAG);
        if let Some(tag) = frame.get_mut(12..12 + VLAN_TAG) {
            tag.copy_from_slice(&[0x81, 0x00, (tci >> 8) as u8, tci as u8]);
        }
        len += VLAN_TAG;
    }
    let bytes = frame
        .get(..len.max(ETH_MIN_FRAME))
        .ok_or(FrameError::Bad(NDIS_STATUS_INVALID_LENGTH))?;
    match dp.nic.transmit_frame(bytes) {
        Ok(()) => Ok(()),
        Err(NicError::RingFull) => Err(FrameError::Full),
        Err(NicError::Refused) => Err(FrameError::Bad(NDIS_STATUS_FAILURE)),
    }
}

/// Transmit the NET_BUFFERs of `p` from index `from` on. Ok when all went
/// out; Err((sent so far, why)) otherwise.
///
/// # Safety
/// `p` must be a valid NBL the driver owns.
unsafe fn transmit_nbl(
    dp: &DataPath,
    p: PNET_BUFFER_LIST,
    from: usize,
    adapter_vlan: u16,
) -> Result<(), (usize, FrameError)> {
    // SAFETY: caller contract.
    let info = unsafe { nbl::info(p, Ieee8021QNetBufferListInfo) };
    let tci = vlan_tci(info, adapter_vlan);
    // SAFETY: caller contract.
    let mut nb = unsafe { (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer };
    if nb.is_null() {
        return Err((0, FrameError::Bad(NDIS_STATUS_INVALID_PARAMETER)));
    }
    let mut i = 0usize;
    while !nb.is_null() {
        if i >= from {
            // SAFETY: NET_BUFFERs of an owned NBL are valid.
            unsafe { transmit_nb(dp, nb, tci) }.map_err(|e| (i, e))?;
        }
        i += 1;
        if i > MAX_FRAMES_PER_NBL {
            return Err((i, FrameError::Bad(NDIS_STATUS_INVALID_PARAMETER)));
        }
        // SAFETY: as above.
        nb = unsafe { (*nb).NetBufferHeader.NetBufferData.Next };
    }
    Ok(())
}

/// Upper bound on NET_BUFFERs in one ordinary NBL (a cyclic chain must not
/// hang the transmit path).
const MAX_FRAMES_PER_NBL: usize = 4096;

impl DataPath {
    /// MiniportSendNetBufferLists while running: queue the chain in order
    /// and transmit what the ring takes.
    ///
    /// # Safety
    /// `chain` is an NBL chain NDIS handed us, ours until completed.
    pub unsafe fn send_ordinary(&self, adapter: &Adapter, chain: PNET_BUFFER_LIST, dispatch: bool) {
        let mut refused = Done::new();
        {
            let mut q = self.ordinary.lock();
            // Checked under the queue lock: a pause sets Paused before it
            // flushes the queue under this lock, so nothing queued here is
            // left behind by a pause.
            let running = adapter.state.lock().run == RunState::Running;
            let mut p = chain;
            while !p.is_null() {
                // SAFETY: caller contract: the chain is ours.
                let next = unsafe { nbl::next(p) };
                if running {
                    // SAFETY: as above; each NBL is queued once.
                    unsafe { q.push(p, 0) };
                } else {
                    // SAFETY: as above.
                    unsafe { refused.push(p, NDIS_STATUS_PAUSED) };
                }
                p = next;
            }
        }
        refused.complete(adapter, self, dispatch);
        self.service_ordinary(adapter, dispatch);
    }

    /// Transmit queued ordinary frames until the ring is full, then
    /// complete the NBLs that are done.
    pub fn service_ordinary(&self, adapter: &Adapter, dispatch: bool) {
        let vlan = adapter.registry.vlan_id;
        let mut done = Done::new();
        {
            let mut q = self.ordinary.lock();
            while let Some((p, from)) = q.peek() {
                // SAFETY: queued NBLs are ours until completed.
                match unsafe { transmit_nbl(self, p, from, vlan) } {
                    Ok(()) => {
                        q.pop();
                        // SAFETY: just taken off the queue.
                        unsafe { done.push(p, NDIS_STATUS_SUCCESS) };
                    }
                    Err((sent, FrameError::Full)) => {
                        q.set_head_tag(sent);
                        break;
                    }
                    Err((_, FrameError::Bad(status))) => {
                        q.pop();
                        // SAFETY: as above.
                        unsafe { done.push(p, status) };
                    }
                }
            }
        }
        done.complete(adapter, self, dispatch);
    }

    /// Complete every queued ordinary send with `status` (pause, halt).
    pub fn flush_ordinary(&self, adapter: &Adapter, status: NDIS_STATUS, dispatch: bool) {
        let mut queued = self.ordinary.lock().take();
        let mut done = Done::new();
        while let Some((p, _)) = queued.pop() {
            // SAFETY: taken off the queue; ours until completed.
            unsafe { done.push(p, status) };
        }
        done.complete(adapter, self, dispatch);
    }

    /// MiniportCancelSend: complete with SEND_ABORTED every queued NBL
    /// whose cancel ID is `id`; the others keep their order.
    pub fn cancel_ordinary(&self, adapter: &Adapter, id: PVOID) {
        let mut done = Done::new();
        {
            let mut q = self.ordinary.lock();
            let mut kept = NblQueue::new();
            while let Some((p, tag)) = q.pop() {
                // SAFETY: queued NBLs are ours until completed.
                if unsafe { nbl::info(p, NetBufferListCancelId) } == id as usize {
                    // SAFETY: taken off the queue.
                    unsafe { done.push(p, NDIS_STATUS_SEND_ABORTED) };
                } else {
                    // SAFETY: ours, now in no queue.
                    unsafe { kept.push(p, tag) };
                }
            }
            *q = kept;
        }
        // MiniportCancelSend runs at IRQL <= DISPATCH_LEVEL: report the
        // completion without the DISPATCH flag.
        done.complete(adapter, self, false);
    }
}

#[cfg(test)]
mod tests {
    use super::vlan_tci;

    #[test]
    fn vlan_tci_from_nbl_info_or_adapter() {
        assert_eq!(vlan_tci(0, 0), None);
        assert_eq!(vlan_tci(0, 5), Some(5));
        // UserPriority 3, VlanId 0x123.
        assert_eq!(vlan_tci(3 | (0x123 << 4), 5), Some((3 << 13) | 0x123));
        assert_eq!(vlan_tci(6, 0), Some(6 << 13));
    }
}
