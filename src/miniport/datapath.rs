//! The ordinary (non-offload) data path: MiniportSendNetBufferLists,
//! MiniportReturnNetBufferLists, MiniportCancelSend. IRQL <= DISPATCH_LEVEL.
//!
//! The virtual NIC has no wire yet (the hardware layer comes with the TCP
//! engine): frames handed to it are counted and completed at once.

use super::adapter::{Adapter, RunState};
use crate::ffi::imports::NdisMSendNetBufferListsComplete;
use crate::ffi::*;
use crate::ndis::nbl;

/// MiniportSendNetBufferLists.
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
    let status = {
        let mut st = adapter.state.lock();
        if st.run == RunState::Running {
            let mut n = 0u64;
            let mut p = NetBufferLists;
            while !p.is_null() {
                n += 1;
                // SAFETY: the chain is ours until completed.
                p = unsafe { nbl::next(p) };
            }
            st.xmit_ok = st.xmit_ok.wrapping_add(n);
            NDIS_STATUS_SUCCESS
        } else {
            NDIS_STATUS_PAUSED
        }
    };
    let mut p = NetBufferLists;
    while !p.is_null() {
        // SAFETY: as above.
        unsafe {
            nbl::set_status(p, status);
            p = nbl::next(p);
        }
    }
    let flags = if SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL != 0 {
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

/// MiniportCancelSend: sends complete immediately, so none can be cancelled.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_cancel_send(
    _MiniportAdapterContext: NDIS_HANDLE,
    _CancelId: PVOID,
) {
}
