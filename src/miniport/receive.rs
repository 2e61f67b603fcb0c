//! The receive side at the NDIS boundary:
//!
//! - the **ordinary receive path**: frames no offloaded connection takes
//!   (other traffic, and segments of a connection whose terminate is pending,
//!   rule 52) are copied into a receive buffer and indicated with
//!   `NdisMIndicateReceiveNetBufferLists`; `MiniportReturnNetBufferLists`
//!   gives the buffer back;
//! - **chimney delivery**: data an offloaded connection holds is indicated
//!   through `NdisTcpOffloadReceiveHandler` one buffer at a time (one NBL,
//!   one NET_BUFFER, rule 73), never while another indication for the same
//!   connection runs (rule 72), and not again after a refusal (§6.5);
//!   `MiniportTcpOffloadReceiveReturn` gives buffers back, including those
//!   lent in `BufferedData` at terminate (rule 50);
//! - the **delayed-ACK timer**: one NDIS timer per adapter serving the
//!   connections that owe an ACK, in the order their ACKs fall due.
//!
//! Every indication is made at DISPATCH_LEVEL with no driver lock held.

use super::adapter::{Adapter, RunState};
use super::send::DataPath;
use crate::ffi::imports::NdisMIndicateReceiveNetBufferLists;
use crate::ffi::*;
use crate::ndis::{NdisHandle, nbl};
use crate::offload::conn::TxState;
use core::sync::atomic::Ordering;

/// Below this many free buffers an ordinary indication carries
/// `NDIS_RECEIVE_FLAGS_RESOURCES`: the buffer comes back at once.
fn low_water(dp: &DataPath) -> usize {
    dp.rx.capacity() / 8
}

/// Indicate one frame on the ordinary receive path (DISPATCH_LEVEL, no
/// lock held). Dropped, and counted, when paused or out of buffers.
pub fn indicate_ordinary(adapter: &Adapter, dp: &DataPath, frame: &[u8]) {
    if frame.is_empty() || frame.len() > crate::ndis::rxpool::RX_BUF_BYTES {
        return;
    }
    if adapter.state.lock_at_dispatch().run != RunState::Running {
        return;
    }
    let Some(b) = dp.rx.take() else {
        dp.rx_no_buffer.fetch_add(1, Ordering::Relaxed);
        return;
    };
    dp.rx.append(b, frame);
    let n = dp.rx.lend(b);
    let short = dp.rx.available() < low_water(dp);
    let mut flags = NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL;
    if short {
        flags |= NDIS_RECEIVE_FLAGS_RESOURCES;
    }
    // SAFETY: one of our NBLs describing the frame; DISPATCH_LEVEL; no lock held.
    unsafe {
        NdisMIndicateReceiveNetBufferLists(
            adapter.handle.raw(),
            n,
            NDIS_DEFAULT_PORT_NUMBER,
            1,
            flags,
        )
    };
    if short {
        // The protocol copied what it keeps: the buffer is ours again.
        dp.rx.returned();
        dp.rx.give(b);
    }
}

/// Take back a chain of receive NBLs NDIS returns (either path). NBLs that
/// are not ours, or not lent, are skipped.
///
/// # Safety
/// `n` must be NULL or the head of a valid NBL chain NDIS hands back.
pub unsafe fn reclaim(dp: &DataPath, mut n: PNET_BUFFER_LIST) {
    let mut guard = dp.rx.capacity() + 1;
    while !n.is_null() && guard > 0 {
        // SAFETY: caller contract; the link is read before the buffer is reused.
        let next = unsafe { nbl::next(n) };
        // SAFETY: as above.
        if let Ok(b) = unsafe { dp.rx.identify(n) } {
            dp.rx.returned();
            dp.rx.give(b);
        }
        n = next;
        guard -= 1;
    }
}

/// Indicate the data connection `id` holds, buffer by buffer, until the
/// host refuses, the queue empties or the connection leaves the Open state.
/// Called at DISPATCH_LEVEL with no lock held.
pub fn deliver(adapter: &Adapter, dp: &DataPath, id: u32) {
    let Some(handlers) = adapter.offload_handlers else {
        return;
    };
    super::chimney::mark_pending_terminates(adapter);
    let Some(lock) = dp.conns.get(id) else {
        return;
    };
    let mut window_update = false;
    loop {
        let (b, handle, generation) = {
            let mut c = lock.lock_at_dispatch();
            if c.state != TxState::Open || c.rx.indicating || c.rx.refused {
                break;
            }
            let Some(b) = c.rx.pop_front(&dp.rx) else {
                break;
            };
            c.rx.indicating = true;
            dp.indicating.fetch_add(1, Ordering::AcqRel);
            (b, c.offload_handle, c.generation)
        };
        let n = dp.rx.lend(b);
        // SAFETY: our NBL (one NET_BUFFER) with the connection's data, to
        // the handle stored at offload, at DISPATCH_LEVEL, no lock held.
        let (status, consumed) =
            unsafe { handlers.receive_indicate(NdisHandle::new(handle as NDIS_HANDLE), n) };
        let mut c = lock.lock_at_dispatch();
        let same = c.generation == generation && c.state != TxState::Free;
        if same {
            c.rx.indicating = false;
        }
        dp.indicating.fetch_sub(1, Ordering::AcqRel);
        if status == NDIS_STATUS_SUCCESS {
            // NDIS owns the buffer until MiniportTcpOffloadReceiveReturn.
            if same && c.window_update_due() {
                window_update = true;
            }
            continue;
        }
        // Refused, fully or partly (any other status counts as a refusal,
        // spec §6.5): keep what was not consumed, wait for a posted receive.
        dp.rx.returned();
        dp.rx.consume(b, consumed);
        if same {
            c.rx.push_front(&dp.rx, b);
            c.rx.refused = true;
        } else {
            dp.rx.give(b);
        }
        break;
    }
    if window_update {
        let mut c = lock.lock_at_dispatch();
        if c.state == TxState::Open && c.window_update_due() {
            c.send_ack(&dp.nic, dp.now());
        }
    }
}

/// Put connection `id` on the delayed-ACK list and make sure the timer
/// runs. False if the list is full (stale entries of recycled slots fill it
/// only under extreme churn): the caller then ACKs at once.
pub fn schedule_ack(dp: &DataPath, id: u32) -> bool {
    if !dp.acks.lock_at_dispatch().push(id) {
        return false;
    }
    if !dp.ack_timer_armed.swap(true, Ordering::AcqRel) {
        dp.ack_timer.set_ms(ticks_to_ms(
            dp,
            dp.delayed_ack_ticks.load(Ordering::Relaxed),
        ));
    }
    true
}

fn ticks_to_ms(dp: &DataPath, ticks: u32) -> u32 {
    let tps = dp.ticks_per_second.load(Ordering::Relaxed).max(1);
    let ms = (u64::from(ticks) * 1000).div_ceil(u64::from(tps));
    ms.clamp(1, u64::from(u32::MAX)) as u32
}

/// The delayed-ACK timer (DISPATCH_LEVEL): send every ACK that is due;
/// re-arm for the earliest one that is not.
///
/// # Safety
/// Called by NDIS with the adapter as context; the timer is cancelled
/// before the adapter goes.
pub unsafe extern "system" fn ack_timer_callback(
    _SystemSpecific1: PVOID,
    FunctionContext: PVOID,
    _SystemSpecific2: PVOID,
    _SystemSpecific3: PVOID,
) {
    // SAFETY: the context is our adapter, alive while its timer can fire.
    let Some(adapter) = (unsafe { Adapter::from_context(FunctionContext) }) else {
        return;
    };
    let Some(dp) = adapter.data.as_ref() else {
        return;
    };
    dp.ack_timer_armed.store(false, Ordering::Release);
    super::chimney::mark_pending_terminates(adapter);
    service_acks(dp);
}

/// Send the due delayed ACKs of `dp`; re-arm the timer for the rest.
pub fn service_acks(dp: &DataPath) {
    let now = dp.now();
    let mut left = dp.acks.lock_at_dispatch().len();
    let mut earliest: Option<u32> = None;
    while left > 0 {
        left -= 1;
        let Some(id) = dp.acks.lock_at_dispatch().pop() else {
            break;
        };
        let Some(lock) = dp.conns.get(id) else {
            continue;
        };
        let mut c = lock.lock_at_dispatch();
        if !c.rx.ack_listed {
            continue; // A stale entry (the connection went, or was re-listed).
        }
        let Some(due) = c.rx.ack_due else {
            c.rx.ack_listed = false;
            continue;
        };
        let wait = due.wrapping_sub(now);
        if wait != 0 && wait < 1 << 31 {
            // Not due yet: keep it listed.
            drop(c);
            dp.acks.lock_at_dispatch().push(id);
            earliest = Some(earliest.map_or(wait, |e| e.min(wait)));
            continue;
        }
        if c.send_ack(&dp.nic, now) {
            c.rx.ack_listed = false;
        } else {
            // The ring is full or the connection stopped sending: try again
            // one tick later while it still owes the ACK.
            if c.state == TxState::Open && !c.halted {
                drop(c);
                dp.acks.lock_at_dispatch().push(id);
                earliest = Some(1);
            } else {
                c.rx.ack_listed = false;
            }
        }
    }
    if let Some(ticks) = earliest
        && !dp.ack_timer_armed.swap(true, Ordering::AcqRel)
    {
        dp.ack_timer.set_ms(ticks_to_ms(dp, ticks));
    }
}

/// Wait until no chimney receive indication is running (before a
/// terminate completes, rule 47). Indications are short calls at
/// DISPATCH_LEVEL on another processor.
pub fn wait_for_indications(dp: &DataPath) {
    while dp.indicating.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
}

/// MiniportTcpOffloadReceiveReturn: take back receive NBLs the host was
/// lent (indicated with SUCCESS, or handed back in `BufferedData`).
/// Synchronous, always SUCCESS (rule 77).
///
/// # Safety
/// NDIS contract: our adapter context and a chain of NBLs we lent.
pub unsafe extern "system" fn miniport_tcp_offload_receive_return(
    MiniportAdapterContext: NDIS_HANDLE,
    NetBufferList: PNET_BUFFER_LIST,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our context.
    if let Some(adapter) = unsafe { Adapter::from_context(MiniportAdapterContext.cast()) }
        && let Some(dp) = adapter.data.as_ref()
    {
        // SAFETY: NDIS contract: the NBLs we lent, handed back once.
        unsafe { reclaim(dp, NetBufferList) };
    }
    NDIS_STATUS_SUCCESS
}
