//! The ordinary (non-offload) data path: MiniportSendNetBufferLists,
//! MiniportReturnNetBufferLists, MiniportCancelSend. IRQL <= DISPATCH_LEVEL.
//!
//! Ordinary frames go out through the hardware port (`miniport::xmit`).

use super::adapter::{Adapter, RunState};
use crate::ffi::imports::NdisMSendNetBufferListsComplete;
use crate::ffi::*;
use crate::ndis::nbl;

/// MiniportSendNetBufferLists: while running, each NET_BUFFER goes out
/// through the hardware port as one frame (`miniport::xmit`); paused, every
/// NBL completes with NDIS_STATUS_PAUSED. Without a port (no chimney
/// hardware) the frames are counted and completed at once.
///
/// # Safety
/// NDIS contract: live context, a valid NBL chain we own until completion.
pub unsafe extern "system" fn miniport_send_net_buffer_lists(
    MiniportAdapterContext: NDIS_HANDLE,
    NetBufferLists: PNET_BUFFER_LIST,
    _PortNumber: NDIS_PORT_NUMBER,
    SendFlags: ULONG,
) {
    // SAFETY: NDIS passes our live context.
    let Some(adapter) = (unsafe { Adapter::from_context(MiniportAdapterContext) }) else {
        return;
    };
    let dispatch = SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL != 0;
    if let Some(dp) = adapter.data.as_ref() {
        // SAFETY: NDIS contract: the chain is ours until completed.
        unsafe { dp.send_ordinary(adapter, NetBufferLists, dispatch) };
        return;
    }
    let running = adapter.state.lock().run == RunState::Running;
    let mut n = 0u64;
    let mut p = NetBufferLists;
    while !p.is_null() {
        n += 1;
        // SAFETY: the chain is ours until completed.
        p = unsafe { nbl::next(p) };
    }
    let status = if running {
        let mut st = adapter.state.lock();
        st.xmit_ok = st.xmit_ok.wrapping_add(n);
        NDIS_STATUS_SUCCESS
    } else {
        NDIS_STATUS_PAUSED
    };
    let mut p = NetBufferLists;
    while !p.is_null() {
        // SAFETY: as above.
        unsafe {
            nbl::set_status(p, status);
            p = nbl::next(p);
        }
    }
    let flags = if dispatch {
        NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
    } else {
        0
    };
    // SAFETY: completing the chain NDIS gave us, with no lock held.
    unsafe { NdisMSendNetBufferListsComplete(adapter.handle.raw(), NetBufferLists, flags) };
}

/// MiniportReturnNetBufferLists: receive buffers indicated on the ordinary
/// path come back (`miniport::receive`).
///
/// # Safety
/// NDIS contract: our adapter context and NBLs we indicated.
pub unsafe extern "system" fn miniport_return_net_buffer_lists(
    MiniportAdapterContext: NDIS_HANDLE,
    NetBufferLists: PNET_BUFFER_LIST,
    _ReturnFlags: ULONG,
) {
    // SAFETY: NDIS passes our context.
    if let Some(adapter) = unsafe { Adapter::from_context(MiniportAdapterContext.cast()) }
        && let Some(dp) = adapter.data.as_ref()
    {
        // SAFETY: NDIS contract: the NBLs we indicated, handed back once.
        unsafe { super::receive::reclaim(dp, NetBufferLists) };
    }
}

/// MiniportCancelSend: ordinary sends still waiting for ring space whose
/// cancel ID matches complete with NDIS_STATUS_SEND_ABORTED.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_cancel_send(
    MiniportAdapterContext: NDIS_HANDLE,
    CancelId: PVOID,
) {
    // SAFETY: NDIS passes our context.
    if let Some(adapter) = unsafe { Adapter::from_context(MiniportAdapterContext) }
        && let Some(dp) = adapter.data.as_ref()
    {
        dp.cancel_ordinary(adapter, CancelId);
    }
}
