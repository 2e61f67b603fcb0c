//! `MiniportTcpOffloadDisconnect` with `TCP_DISCONNECT_GRACEFUL_CLOSE` at the
//! NDIS boundary (spec §6.8): the request joins the end of the connection's
//! send queue, its data and FIN go out behind the data queued before it,
//! and it completes once the peer acknowledges them (see
//! [`crate::offload::close`] for the TCP side).
//!
//! Every completion of a disconnect request goes through [`settle`]: the
//! status, `TcpOffloadBytesTransferred` and the NET_BUFFER advanced by the
//! bytes acknowledged.

use super::adapter::Adapter;
use crate::ffi::*;
use crate::ndis::handlers::TcpOffloadHandlers;
use crate::ndis::sendq::Completions;
use crate::ndis::{NdisHandle, nbdata, nbl};
use crate::offload::close::Finished;

/// Write the outcome of a finished disconnect request into its NBL.
///
/// # Safety
/// `f.request` is a disconnect NBL the driver owns, about to be completed;
/// `f.acked` bytes of it were validated, sent and acknowledged (0 for a
/// request that was never read).
pub unsafe fn settle(f: &Finished) {
    // SAFETY: caller contract; with 0 bytes no NET_BUFFER is touched.
    unsafe {
        nbdata::account_acked(f.request, f.acked);
        nbl::set_status(f.request, f.status);
        nbl::set_next(f.request, core::ptr::null_mut());
    }
}

/// Settle `f` and add it to `list` (to complete later, one call each).
///
/// # Safety
/// As for [`settle`].
pub unsafe fn settle_into(f: &Finished, list: &mut Completions) {
    // SAFETY: caller contract; the request joins exactly one list.
    unsafe {
        settle(f);
        list.push(f.request);
    }
}

/// Complete every disconnect request of `list`, one
/// `NdisTcpOffloadDisconnectComplete` call each (it takes exactly one NBL).
/// At DISPATCH_LEVEL or below, no driver lock held.
pub fn complete_all(adapter: NdisHandle, handlers: &TcpOffloadHandlers, list: Completions) {
    let mut p = list.head();
    while !p.is_null() {
        // SAFETY: the list holds settled disconnect NBLs we own.
        let next = unsafe { nbl::next(p) };
        // SAFETY: as above; unlinked, then handed back once.
        unsafe {
            nbl::set_next(p, core::ptr::null_mut());
            handlers.disconnect_complete(adapter, p);
        }
        p = next;
    }
}

/// A graceful disconnect: queue the request behind the connection's sends
/// and start what can be sent. Nothing completes inside the call: a request
/// refused at once (no such connection: INVALID_PARAMETER; uploading,
/// reset, or a second disconnect: see
/// [`crate::offload::conn::ConnTx::disconnect_refusal`]) goes to the
/// completion timer like everything else.
///
/// # Safety
/// NDIS contract: `slot` is the request's context slot (NULL or readable),
/// `request` the disconnect NBL, ours until completed.
pub unsafe fn graceful_disconnect(adapter: &Adapter, slot: PVOID, request: PNET_BUFFER_LIST) {
    let Some(dp) = adapter.data.as_ref() else {
        // SAFETY: caller contract.
        unsafe {
            super::chimney::defer_disconnect(adapter, request, NDIS_STATUS_INVALID_PARAMETER)
        };
        return;
    };
    super::chimney::mark_pending_terminates(adapter);
    // SAFETY: caller contract.
    let Some((id, mut c)) = (unsafe { dp.conn_by_slot(slot) }) else {
        // SAFETY: caller contract.
        unsafe {
            super::chimney::defer_disconnect(adapter, request, NDIS_STATUS_INVALID_PARAMETER)
        };
        return;
    };
    if let Some(status) = c.disconnect_refusal() {
        drop(c);
        // SAFETY: caller contract.
        unsafe { super::chimney::defer_disconnect(adapter, request, status) };
        return;
    }
    // SAFETY: caller contract: the request is ours and joins exactly one
    // queue, last (nothing is queued behind it: later sends are refused).
    let _ = unsafe { c.queue.push_closing(request) };
    c.close_requested();
    dp.pump(id, &mut c);
    // A request behind a failed send, or malformed itself, is done once it
    // reaches the head (it may be there already).
    let finished = c.finished_disconnect();
    drop(c);
    if let Some(f) = finished {
        // SAFETY: the request left the queue; ours, completed once.
        unsafe {
            settle(&f);
            super::chimney::defer_disconnect(adapter, f.request, f.status);
        }
    }
}
