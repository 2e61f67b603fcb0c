//! `MiniportTcpOffloadForward` (spec §6.9, rule 85): TCP segments the host
//! received for an offloaded connection and hands over unacknowledged
//! (arrived during the offload, on another interface, or passed up because
//! of IP options or fragmentation). Each NBL holds one NET_BUFFER whose data
//! starts at the TCP header; it is processed as if it had come from the
//! wire.
//!
//! The handler reads the context slot once, keeps the value in each NBL's
//! `Scratch` (the current owner's field) and queues the NBLs for the
//! completion timer, which processes them at DISPATCH_LEVEL, in order, and
//! completes them with `NdisTcpOffloadForwardComplete`: SUCCESS when
//! processed, `NDIS_STATUS_UPLOAD_IN_PROGRESS` when the connection is being
//! uploaded (or is CLOSED, waiting for its upload: the host processes
//! them), `NDIS_STATUS_REQUEST_ABORTED` after a reset (the host drops
//! them; also when the context names a connection whose upload completed
//! meanwhile), `NDIS_STATUS_INVALID_PARAMETER` for a context that is not a
//! TCP context value or an NBL that is not one well-formed segment.

use super::adapter::Adapter;
use crate::ffi::*;
use crate::hw::RxSegment;
use crate::ndis::nbdata::{self, Cursor};
use crate::ndis::nbl;
use crate::offload::conn::TxState;
use crate::offload::handle::{ObjKind, ObjRef};
use crate::wire::{self, tcp_flags};

/// Longest TCP header (60 bytes: data offset 15).
const MAX_TCP_HEADER: usize = 60;

/// Remember the context value NDIS passed with a forwarded chain.
///
/// # Safety
/// `slot` is NULL or the address of a readable PVOID; `chain` is a chain
/// of NBLs the driver now owns.
pub unsafe fn tag_chain(slot: PVOID, chain: PNET_BUFFER_LIST) {
    let value = if slot.is_null() {
        core::ptr::null_mut()
    } else {
        // SAFETY: caller contract; read once.
        unsafe { slot.cast::<PVOID>().read_unaligned() }
    };
    let mut p = chain;
    let mut guard = 1usize << 20;
    while !p.is_null() && guard > 0 {
        guard -= 1;
        // SAFETY: caller contract: each NBL of the chain is ours.
        unsafe {
            nbl::set_scratch(p, value);
            p = nbl::next(p);
        }
    }
}

/// Process one forwarded NBL; returns its completion status.
///
/// # Safety
/// `p` is a forwarded NBL the driver owns, tagged by [`tag_chain`].
pub unsafe fn process(adapter: &Adapter, p: PNET_BUFFER_LIST) -> NDIS_STATUS {
    let Some(dp) = adapter.data.as_ref() else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    super::chimney::mark_pending_terminates(adapter);
    // SAFETY: caller contract.
    let value = unsafe { nbl::scratch(p) } as usize;
    let Some(r) = ObjRef::from_context(value).filter(|r| r.kind == ObjKind::Tcp) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    let Some(c) = dp.conn_of(r) else {
        // A well-formed TCP context whose connection is gone: its upload
        // completed while the segment waited. The host processes it.
        return NDIS_STATUS_UPLOAD_IN_PROGRESS;
    };
    let status = match c.state {
        TxState::Uploading => Some(NDIS_STATUS_UPLOAD_IN_PROGRESS),
        TxState::Reset => Some(NDIS_STATUS_REQUEST_ABORTED),
        TxState::Free => Some(NDIS_STATUS_INVALID_PARAMETER),
        TxState::Open => None,
    };
    let flow = c.flow();
    drop(c);
    if let Some(status) = status {
        return status;
    }
    // One NET_BUFFER, well formed, holding at least a TCP header.
    // SAFETY: caller contract.
    let len = match unsafe { nbdata::validate(p) } {
        Ok(len) => len,
        Err(m) => return m.status(),
    };
    // SAFETY: validated: the first NET_BUFFER exists.
    let second = unsafe {
        let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
        (*nb).NetBufferHeader.NetBufferData.Next
    };
    if !second.is_null() {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    let mut header = [0u8; MAX_TCP_HEADER];
    let take = (len as usize).min(MAX_TCP_HEADER);
    // SAFETY: a validated NBL we own.
    let mut cursor = unsafe { Cursor::new(p) };
    let mut pieces: [&[u8]; 4] = [&[]; 4];
    let mut filled = 0usize;
    while filled < take {
        // SAFETY: as above; the slices are used before the NBL completes.
        let (n, got) = unsafe { cursor.gather((take - filled) as u32, &mut pieces) };
        if got == 0 {
            return NDIS_STATUS_INVALID_PARAMETER;
        }
        for piece in pieces.iter().take(n) {
            let end = filled + piece.len();
            if let Some(dst) = header.get_mut(filled..end) {
                dst.copy_from_slice(piece);
            }
            filled = end;
        }
    }
    let Ok(h) = wire::parse_tcp_header(header.get(..take).unwrap_or(&[])) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    let payload_len = len as usize - h.header_len.min(len as usize);
    // SAFETY: a validated NBL we own.
    let mut cursor = unsafe { Cursor::new(p) };
    // SAFETY: as above; header_len <= len.
    unsafe { cursor.skip(h.header_len as u32) };
    let mut seg = RxSegment {
        flow,
        seq: h.seq,
        ack: h.ack,
        flags: h.flags,
        window: h.window,
        timestamps: h.timestamps,
        sack: h.sack,
        payload: &[],
        frame: &[],
    };
    if payload_len == 0 {
        return taken(super::send::receive_segment(adapter, dp, r.index, &seg));
    }
    // The payload as it lies in the MDLs, one contiguous run at a time: the
    // first run carries the header's flags but FIN and PSH, which only the
    // last carries; the runs between carry just the ACK.
    let mut off = 0usize;
    while off < payload_len {
        let mut run: [&[u8]; 1] = [&[]];
        // SAFETY: as above.
        let (_, got) = unsafe { cursor.gather((payload_len - off) as u32, &mut run) };
        if got == 0 {
            return NDIS_STATUS_INVALID_PARAMETER;
        }
        let first = off == 0;
        let last = off + got as usize == payload_len;
        let mut flags = h.flags & tcp_flags::ACK;
        if first {
            flags |= h.flags & !(tcp_flags::FIN | tcp_flags::PSH);
        }
        if last {
            flags |= h.flags & (tcp_flags::FIN | tcp_flags::PSH);
        }
        seg.seq = h.seq.wrapping_add(off as u32);
        seg.flags = flags;
        seg.payload = run[0];
        if !super::send::receive_segment(adapter, dp, r.index, &seg) {
            return NDIS_STATUS_UPLOAD_IN_PROGRESS;
        }
        off += got as usize;
    }
    NDIS_STATUS_SUCCESS
}

fn taken(processed: bool) -> NDIS_STATUS {
    if processed {
        NDIS_STATUS_SUCCESS
    } else {
        NDIS_STATUS_UPLOAD_IN_PROGRESS
    }
}
