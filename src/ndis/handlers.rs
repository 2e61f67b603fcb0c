//! The TCP chimney completion and indication entry points. They are not
//! ndis.sys exports: `NdisMGetOffloadHandlers` hands out a table of them at
//! initialization (spec §2.2, rule 5), which we validate and copy here.

use super::NdisHandle;
use crate::ffi::imports::NdisMGetOffloadHandlers;
use crate::ffi::{
    NDIS_OBJECT_TCP_OFFLOAD_REVISION_1, NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1,
    NDIS_STATUS, NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, NDIS_STATUS_SUCCESS,
    NDIS_TCP_OFFLOAD_EVENT_HANDLERS, NdisTcpChimneyOffload, PNDIS_OFFLOAD_EVENT_HANDLERS,
    PNET_BUFFER_LIST, ULONG,
};

/// Why the table was refused (kept for diagnostics and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// NdisMGetOffloadHandlers failed (e.g. STATUS_NOT_SUPPORTED).
    Status(NDIS_STATUS),
    /// The call succeeded but returned no table.
    Null,
    /// `Header.Type` is not the chimney type we asked for.
    Type(u8),
    /// `Header.Revision` is not NDIS_OBJECT_TCP_OFFLOAD_REVISION_1.
    Revision(u8),
    /// `Header.Size` does not reach `NdisTcpOffloadForwardComplete`.
    Size(u16),
    /// A required entry point is NULL.
    MissingEntry,
}

/// A validated copy of NDIS_TCP_OFFLOAD_EVENT_HANDLERS: every entry is non-NULL.
#[derive(Clone, Copy)]
pub struct TcpOffloadHandlers {
    table: NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
}

impl TcpOffloadHandlers {
    /// Ask NDIS for the TCP chimney table of this adapter and validate it.
    pub fn fetch(adapter: NdisHandle) -> Option<Self> {
        Self::try_fetch(adapter).ok()
    }

    pub fn try_fetch(adapter: NdisHandle) -> Result<Self, TableError> {
        let mut p: PNDIS_OFFLOAD_EVENT_HANDLERS = core::ptr::null_mut();
        // SAFETY: valid out pointer; NDIS validates the handle.
        let status =
            unsafe { NdisMGetOffloadHandlers(adapter.raw(), NdisTcpChimneyOffload, &mut p) };
        if status != NDIS_STATUS_SUCCESS {
            return Err(TableError::Status(status));
        }
        if p.is_null() {
            return Err(TableError::Null);
        }
        // SAFETY: NDIS returned a pointer to a table that starts with a header.
        let header = unsafe { (*p).Header };
        if u32::from(header.Type) != NdisTcpChimneyOffload as u32 {
            return Err(TableError::Type(header.Type));
        }
        if header.Revision != NDIS_OBJECT_TCP_OFFLOAD_REVISION_1 {
            return Err(TableError::Revision(header.Revision));
        }
        if header.Size < NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1 {
            return Err(TableError::Size(header.Size));
        }
        // SAFETY: the header says the table is a TCP table at least this large.
        let table = unsafe { p.cast::<NDIS_TCP_OFFLOAD_EVENT_HANDLERS>().read_unaligned() };
        let complete = table.NdisTcpOffloadEventHandler.is_some()
            && table.NdisTcpOffloadReceiveHandler.is_some()
            && table.NdisTcpOffloadSendComplete.is_some()
            && table.NdisTcpOffloadReceiveComplete.is_some()
            && table.NdisTcpOffloadDisconnectComplete.is_some()
            && table.NdisTcpOffloadForwardComplete.is_some();
        if !complete {
            return Err(TableError::MissingEntry);
        }
        Ok(TcpOffloadHandlers { table })
    }

    /// `NdisTcpOffloadSendComplete(adapter, chain)`. No driver lock may be held.
    ///
    /// # Safety
    /// `chain` must be NBLs NDIS gave this driver, all of them completed by this call.
    pub unsafe fn send_complete(&self, adapter: NdisHandle, chain: PNET_BUFFER_LIST) {
        if let Some(f) = self.table.NdisTcpOffloadSendComplete {
            // SAFETY: validated entry point; the chain is ours to hand back.
            unsafe { f(adapter.raw(), chain) }
        }
    }

    /// `NdisTcpOffloadReceiveComplete(adapter, chain)`.
    ///
    /// # Safety
    /// `chain` must be NBLs NDIS gave this driver, all of them completed by this call.
    pub unsafe fn receive_complete(&self, adapter: NdisHandle, chain: PNET_BUFFER_LIST) {
        if let Some(f) = self.table.NdisTcpOffloadReceiveComplete {
            // SAFETY: as above.
            unsafe { f(adapter.raw(), chain) }
        }
    }

    /// `NdisTcpOffloadDisconnectComplete(adapter, nbl)` — one NBL per call.
    ///
    /// # Safety
    /// `nbl` must be the disconnect NBL NDIS gave this driver.
    pub unsafe fn disconnect_complete(&self, adapter: NdisHandle, nbl: PNET_BUFFER_LIST) {
        if let Some(f) = self.table.NdisTcpOffloadDisconnectComplete {
            // SAFETY: as above.
            unsafe { f(adapter.raw(), nbl) }
        }
    }

    /// `NdisTcpOffloadForwardComplete(adapter, chain)`.
    ///
    /// # Safety
    /// `chain` must be NBLs NDIS gave this driver, all of them completed by this call.
    pub unsafe fn forward_complete(&self, adapter: NdisHandle, chain: PNET_BUFFER_LIST) {
        if let Some(f) = self.table.NdisTcpOffloadForwardComplete {
            // SAFETY: as above.
            unsafe { f(adapter.raw(), chain) }
        }
    }

    /// `NdisTcpOffloadReceiveHandler(offload_handle, nbl, SUCCESS, &consumed)`
    /// at DISPATCH_LEVEL: returns the host's status and the bytes it consumed.
    ///
    /// # Safety
    /// `nbl` must be one of our receive NBLs describing buffered data; on
    /// SUCCESS NDIS owns it until `MiniportTcpOffloadReceiveReturn`.
    pub unsafe fn receive_indicate(
        &self,
        offload_handle: NdisHandle,
        nbl: PNET_BUFFER_LIST,
    ) -> (NDIS_STATUS, ULONG) {
        let mut consumed: ULONG = 0;
        let Some(f) = self.table.NdisTcpOffloadReceiveHandler else {
            return (NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, 0);
        };
        // SAFETY: validated entry point; caller contract for the NBL; the
        // out pointer is a local that outlives the call.
        let st = unsafe {
            f(
                offload_handle.raw(),
                nbl,
                NDIS_STATUS_SUCCESS,
                &mut consumed,
            )
        };
        (st, consumed)
    }

    /// `NdisTcpOffloadEventHandler(offload_handle, event, info)` at DISPATCH_LEVEL.
    pub fn event(&self, offload_handle: NdisHandle, event: ULONG, info: ULONG) {
        if let Some(f) = self.table.NdisTcpOffloadEventHandler {
            // SAFETY: validated entry point; handle saved from the block list.
            unsafe { f(offload_handle.raw(), event, info) }
        }
    }
}
