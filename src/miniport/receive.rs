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
use crate::ndis::handlers::TcpOffloadHandlers;
use crate::ndis::recvq::Head;
use crate::ndis::sendq::Completions;
use crate::ndis::{NdisHandle, nbl};
use crate::offload::conn::{ConnSlot, TxState};
use crate::offload::keepalive::KeepAlive;
use crate::offload::rexmit::Rto;
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
    // A frame for another VLAN than the adapter's `*VlanID` is not this
    // adapter's.
    let (head, rest, tci) = split_tag(frame);
    let vid = tci.map_or(0, |t| t & 0x0FFF);
    let mine = adapter.registry.vlan_id;
    if mine != 0 && vid != 0 && vid != mine {
        dp.rx_other_vlan.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let Some(b) = dp.rx.take() else {
        dp.rx_no_buffer.fetch_add(1, Ordering::Relaxed);
        return;
    };
    dp.rx.append(b, head);
    dp.rx.append(b, rest);
    indicate_buffer(adapter, dp, b, tci.map_or(0, tag_info));
}

/// An 802.1Q tag is taken off a received frame and handed up out of band,
/// as NDIS 6 expects of a NIC: the frame's bytes before and after the tag,
/// and the TCI (an untagged frame is whole in the first part).
fn split_tag(frame: &[u8]) -> (&[u8], &[u8], Option<u16>) {
    match (
        frame.get(..12),
        frame.get(12..14),
        frame.get(14..16),
        frame.get(16..),
    ) {
        (Some(macs), Some(&[0x81, 0x00]), Some(&[t0, t1]), Some(rest)) => {
            (macs, rest, Some(u16::from_be_bytes([t0, t1])))
        }
        _ => (frame, &[], None),
    }
}

/// `Ieee8021QNetBufferListInfo` for a TCI: UserPriority in bits 0-2,
/// VlanId in bits 4-15.
fn tag_info(tci: u16) -> usize {
    usize::from(tci >> 13) | (usize::from(tci & 0x0FFF) << 4)
}

/// Indicate buffer `b` (ours, filled, unlinked) on the ordinary path with
/// 802.1Q information `info`; it comes back through the return handler, or
/// at once when buffers run low.
fn indicate_buffer(adapter: &Adapter, dp: &DataPath, b: u32, info: usize) {
    if adapter.state.lock_at_dispatch().run != RunState::Running {
        dp.rx.give(b);
        return;
    }
    let n = dp.rx.lend_tagged(b, info);
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

/// Frames held for the host (spec §6.10: urgent data and everything after
/// it), oldest first, in receive buffers linked through their `next`; each
/// buffer starts with the connection id (4 bytes) before the frame.
pub struct Held {
    head: u32,
    tail: u32,
}

impl Held {
    pub const fn new() -> Self {
        Held {
            head: crate::ndis::rxpool::NO_BUF,
            tail: crate::ndis::rxpool::NO_BUF,
        }
    }
}

impl Default for Held {
    fn default() -> Self {
        Self::new()
    }
}

/// Hold `frame` of connection `id` until its upload completes. False (the
/// frame is dropped: the peer retransmits it to the host later) when it
/// does not fit a buffer or buffers run low. DISPATCH_LEVEL.
pub fn hold_frame(dp: &DataPath, id: u32, frame: &[u8]) -> bool {
    use crate::ndis::rxpool::{NO_BUF, RX_BUF_BYTES};
    if frame.is_empty() || frame.len() + 4 > RX_BUF_BYTES || dp.rx.available() < low_water(dp) {
        return false;
    }
    let Some(b) = dp.rx.take() else {
        return false;
    };
    // Held as it will be indicated: untagged, the tag in the buffer's label.
    let (head, rest, tci) = split_tag(frame);
    dp.rx.append(b, &id.to_le_bytes());
    dp.rx.append(b, head);
    dp.rx.append(b, rest);
    dp.rx.set_seq(b, tci.map_or(0, |t| tag_info(t) as u32), 0);
    let mut h = dp.held.lock_at_dispatch();
    if h.tail == NO_BUF {
        h.head = b;
    } else {
        dp.rx.set_next(h.tail, b);
    }
    h.tail = b;
    true
}

/// Take the frames held for connection `id` out of the adapter's list, in
/// order: the head of their queue (`NO_BUF` when none).
pub fn take_held(dp: &DataPath, id: u32) -> u32 {
    use crate::ndis::rxpool::NO_BUF;
    let (mut out_head, mut out_tail) = (NO_BUF, NO_BUF);
    let mut h = dp.held.lock();
    let (mut prev, mut b) = (NO_BUF, h.head);
    let mut guard = dp.rx.capacity();
    while b != NO_BUF && guard > 0 {
        guard -= 1;
        let next = dp.rx.next(b);
        let owner = dp.rx.with_pending(b, |bytes| {
            bytes
                .get(..4)
                .and_then(|x| x.try_into().ok())
                .map(u32::from_le_bytes)
        });
        if owner == Some(id) {
            // Unlink `b`.
            if prev == NO_BUF {
                h.head = next;
            } else {
                dp.rx.set_next(prev, next);
            }
            if h.tail == b {
                h.tail = prev;
            }
            dp.rx.set_next(b, NO_BUF);
            if out_tail == NO_BUF {
                out_head = b;
            } else {
                dp.rx.set_next(out_tail, b);
            }
            out_tail = b;
        } else {
            prev = b;
        }
        b = next;
    }
    out_head
}

/// Indicate a queue of held frames on the ordinary path, in order
/// (DISPATCH_LEVEL, no lock held).
pub fn indicate_held(adapter: &Adapter, dp: &DataPath, mut b: u32) {
    let mut guard = dp.rx.capacity();
    while b != crate::ndis::rxpool::NO_BUF && guard > 0 {
        guard -= 1;
        let next = dp.rx.next(b);
        dp.rx.set_next(b, crate::ndis::rxpool::NO_BUF);
        let (info, _) = dp.rx.seq(b);
        dp.rx.consume(b, 4);
        indicate_buffer(adapter, dp, b, info as usize);
        b = next;
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

/// Windows' push time (spec §7.3): a partly filled push-mode receive
/// request completes this long after its last data arrived.
pub const PUSH_MS: u32 = 500;

/// The push time in NIC ticks.
fn push_ticks(dp: &DataPath) -> u32 {
    let tps = dp.ticks_per_second.load(Ordering::Relaxed).max(1);
    (u64::from(tps) * u64::from(PUSH_MS) / 1000).clamp(1, 1 << 30) as u32
}

/// The delivery algorithm for connection `id` (spec §6.6): fill posted
/// receive requests from the data it holds and complete them, and indicate
/// what no request takes, buffer by buffer, until the host refuses, the
/// data runs out or the connection leaves the Open state. One completion
/// or indication call at a time per connection (rule 72); data goes into
/// posted requests before any indication (rule 66). Called at
/// DISPATCH_LEVEL with no lock held.
pub fn deliver(adapter: &Adapter, dp: &DataPath, id: u32) {
    let Some(handlers) = adapter.offload_handlers else {
        return;
    };
    super::chimney::mark_pending_terminates(adapter);
    let Some(lock) = dp.conns.get(id) else {
        return;
    };
    let mut window_update = false;
    let mut guard = dp.rx.capacity() + 64;
    while guard > 0 {
        guard -= 1;
        let mut c = lock.lock_at_dispatch();
        if c.rx.indicating {
            break;
        }
        if c.posted.head() == Head::Settled {
            // Requests finished by a reset or refused at the door go first,
            // in their turn (rule 72), whatever the state.
            drop(c);
            if hand_back_once(adapter, &handlers, dp, lock) {
                continue;
            }
            break;
        }
        if c.state != TxState::Open {
            break;
        }
        let generation = c.generation;
        if !c.posted.is_empty() || c.rx.push_fire {
            let mut done = Completions::new();
            let timer = c.fill(&dp.rx, dp.now(), push_ticks(dp), &mut done);
            let list = timer && !c.rx.ack_listed;
            // Already listed (for a later deadline, perhaps): the timer
            // must still fire when the push time is up.
            let arm = timer && !list;
            if list {
                c.rx.ack_listed = true;
            }
            if !done.is_empty() {
                c.rx.indicating = true;
                dp.indicating.fetch_add(1, Ordering::AcqRel);
            }
            let more = !c.rx.is_empty() && c.posted.is_empty() && !c.rx.refused;
            if c.window_update_due() {
                window_update = true;
            }
            drop(c);
            if list && !list_for_timer(dp, id, push_ticks(dp)) {
                // No room on the timer list: the request completes when the
                // next data or post comes instead.
                lock.lock_at_dispatch().rx.ack_listed = false;
            }
            if arm {
                arm_timer(dp, push_ticks(dp));
            }
            if done.is_empty() {
                if more {
                    continue;
                }
                break;
            }
            // SAFETY: requests we owned, statuses and byte counts set, NET_BUFFERs
            // advanced, handed back once, at DISPATCH_LEVEL, no lock held.
            unsafe { handlers.receive_complete(adapter.handle, done.head()) };
            let mut c = lock.lock_at_dispatch();
            if c.generation == generation && c.state != TxState::Free {
                c.rx.indicating = false;
            }
            dp.indicating.fetch_sub(1, Ordering::AcqRel);
            continue;
        }
        if c.rx.refused {
            break;
        }
        let Some(b) = c.rx.pop_front(&dp.rx) else {
            break;
        };
        c.rx.indicating = true;
        dp.indicating.fetch_add(1, Ordering::AcqRel);
        let handle = c.offload_handle;
        drop(c);
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
            if same && c.rx.is_empty() {
                // A PSH among what went up concerns no later request.
                c.rx.psh = false;
            }
            if same && c.window_update_due() {
                window_update = true;
            }
            continue;
        }
        // Refused, fully or partly (any other status counts as a refusal,
        // spec §6.5): keep what was not consumed. Requests the host posted
        // during the call take it; otherwise wait for one.
        dp.rx.returned();
        dp.rx.consume(b, consumed);
        if same {
            c.rx.push_front(&dp.rx, b);
            c.rx.refused = true;
            if !c.posted.is_empty() {
                continue;
            }
        } else {
            dp.rx.give(b);
        }
        break;
    }
    if window_update {
        let mut c = lock.lock_at_dispatch();
        if c.state == TxState::Open && c.window_update_due() {
            c.send_ack(&dp.nic, &dp.rx, dp.now());
        }
    }
    indicate_disconnect(adapter, dp, id);
}

/// `TcpIndicateDisconnect` once the peer's FIN arrived and everything before
/// it reached the host (rule 86). Requests still posted then complete with
/// the bytes they hold (SUCCESS, possibly 0: the end of the stream) before
/// the indication; later posts get `NDIS_STATUS_INVALID_STATE` (rule 71).
/// The connection's receive gate is held from the decision to the event's
/// return: an abortive disconnect made meanwhile waits for it (rule 80), so
/// the host never hears of the FIN after its reset has completed.
fn indicate_disconnect(adapter: &Adapter, dp: &DataPath, id: u32) {
    let (Some(handlers), Some(lock)) = (adapter.offload_handlers, dp.conns.get(id)) else {
        return;
    };
    let mut done = Completions::new();
    let (handle, generation, aborts) = {
        let mut c = lock.lock_at_dispatch();
        if !c.disconnect_due() {
            return;
        }
        c.rx.disconnect_indicated = true;
        c.rx.push_due = None;
        let aborts = c.posted.complete_all(NDIS_STATUS_SUCCESS, true, &mut done);
        // The receive gate is free (`disconnect_due`): ours until the event
        // has been made.
        c.rx.indicating = true;
        dp.indicating.fetch_add(1, Ordering::AcqRel);
        (c.offload_handle, c.generation, aborts)
    };
    if !done.is_empty() {
        // SAFETY: requests we owned, statuses and counts set, handed back
        // once, at DISPATCH_LEVEL, no lock held.
        unsafe { handlers.receive_complete(adapter.handle, done.head()) };
    }
    // A disconnect waiting behind those requests follows them, queued while
    // the gate is still held (see `hand_back_once`).
    super::chimney::defer_disconnects(adapter, aborts);
    handlers.event(
        NdisHandle::new(handle as NDIS_HANDLE),
        TcpIndicateDisconnect,
        0,
    );
    release_gate(dp, lock, generation);
    // Posts refused meanwhile (INVALID_STATE), and an abortive disconnect
    // made meanwhile, were left to us.
    hand_back_all(adapter, &handlers, dp, lock);
}

/// Hand back the settled requests at the head of the connection's queue
/// (finished by a reset or the peer's FIN, refused at the door) in one
/// `NdisTcpOffloadReceiveComplete` call, holding the connection's receive
/// gate (`rx.indicating`) for it. False if there were none or another
/// processor holds the gate: every gate holder looks again once its call
/// has returned, so one receive call at a time per connection (rule 72)
/// and the requests in posting order. An abortive disconnect waiting
/// behind them is queued for completion once they are back, before the
/// gate is released. DISPATCH_LEVEL, no lock held.
fn hand_back_once(
    adapter: &Adapter,
    handlers: &TcpOffloadHandlers,
    dp: &DataPath,
    lock: ConnSlot<'_>,
) -> bool {
    let mut done = Completions::new();
    let (generation, disconnect) = {
        let mut c = lock.lock_at_dispatch();
        if c.rx.indicating || c.state == TxState::Free {
            return false;
        }
        let disconnect = c.posted.take_settled(&mut done);
        if done.is_empty() && disconnect.is_null() {
            return false;
        }
        c.rx.indicating = true;
        dp.indicating.fetch_add(1, Ordering::AcqRel);
        (c.generation, disconnect)
    };
    if !done.is_empty() {
        // SAFETY: requests we owned, statuses and counts set when they were
        // settled, handed back once, at DISPATCH_LEVEL, no lock held.
        unsafe { handlers.receive_complete(adapter.handle, done.head()) };
    }
    if !disconnect.is_null() {
        // The abortive disconnect that ended those requests completes after
        // them (queued behind the sends it aborted, rule 80). Queued before
        // the gate is released: a terminate waiting for running receive
        // calls then finds it queued and completes it first (rule 46).
        // SAFETY: the waiting request left the queue: ours, completed once.
        unsafe { super::chimney::defer_disconnect(adapter, disconnect, NDIS_STATUS_SUCCESS) };
    }
    release_gate(dp, lock, generation);
    true
}

/// [`hand_back_once`] until nothing is left or the gate is taken.
fn hand_back_all(
    adapter: &Adapter,
    handlers: &TcpOffloadHandlers,
    dp: &DataPath,
    lock: ConnSlot<'_>,
) {
    let mut guard = 1usize << 20;
    while guard > 0 && hand_back_once(adapter, handlers, dp, lock) {
        guard -= 1;
    }
}

/// Settled receive requests of connection `id` go back now, unless another
/// processor holds its receive gate (which then hands them back).
/// DISPATCH_LEVEL, no lock held.
pub fn hand_back_settled(adapter: &Adapter, dp: &DataPath, id: u32) {
    if let (Some(handlers), Some(lock)) = (adapter.offload_handlers, dp.conns.get(id)) {
        hand_back_all(adapter, &handlers, dp, lock);
    }
}

/// Leave the receive gate taken under `generation` (untouched if the slot
/// was freed or reused meanwhile).
fn release_gate(dp: &DataPath, lock: ConnSlot<'_>, generation: u32) {
    let mut c = lock.lock_at_dispatch();
    if c.generation == generation && c.state != TxState::Free {
        c.rx.indicating = false;
    }
    dp.indicating.fetch_sub(1, Ordering::AcqRel);
}

/// MiniportTcpOffloadReceive's work (the handler returns PENDING, rule 65):
/// queue each request of the chain on its connection in order. A request
/// for a connection being uploaded completes with
/// `NDIS_STATUS_UPLOAD_IN_PROGRESS`, after a reset with
/// `NDIS_STATUS_REQUEST_ABORTED`, for a stale context with
/// `NDIS_STATUS_INVALID_PARAMETER` — through the completion timer, never
/// inside the call; a refused request of a live connection waits in its
/// queue and goes back in posting order with the others (rule 72). A post
/// also lets indications resume after a refusal (§6.5); if the connection
/// holds data (or the request completes at once), the delivery algorithm
/// runs from the completion timer at DISPATCH_LEVEL.
///
/// # Safety
/// NDIS contract: `slot` is NULL or the readable context slot of the
/// request; the chain is ours until completed.
pub unsafe fn post_receive(adapter: &Adapter, slot: PVOID, chain: PNET_BUFFER_LIST) {
    let Some(dp) = adapter.data.as_ref() else {
        return;
    };
    super::chimney::mark_pending_terminates(adapter);
    let mut refused = Completions::new();
    let mut kick = false;
    // SAFETY: caller contract.
    let conn = unsafe { dp.conn_by_slot(slot) };
    let refusal = conn
        .as_ref()
        .map_or(Some(NDIS_STATUS_INVALID_PARAMETER), |(_, c)| {
            c.receive_refusal()
        });
    let mut conn = conn;
    let mut parked = false;
    let mut p = chain;
    let mut guard = 1usize << 20;
    while !p.is_null() && guard > 0 {
        guard -= 1;
        // SAFETY: the host hands us the chain; each NBL is ours now.
        let next = unsafe { nbl::next(p) };
        match (&mut conn, refusal) {
            (Some((_, c)), None) => {
                // SAFETY: as above; the request joins exactly one queue. A
                // request the host pre-filled gets its push timer when the
                // delivery algorithm first sees it (rule 68).
                let _ = unsafe { c.posted.post(p) };
            }
            // A live connection keeps the refused request in its queue,
            // to be handed back in its turn under its receive gate (rule
            // 72: another processor may be completing its requests now).
            (Some((_, c)), Some(status)) if c.state != TxState::Free => {
                // SAFETY: as above.
                unsafe { c.posted.park(p, status) };
                parked = true;
            }
            // SAFETY: as above.
            (_, Some(status)) => unsafe { refused.refuse(p, status) },
            // SAFETY: as above (no connection means a refusal above).
            (None, None) => unsafe { refused.refuse(p, NDIS_STATUS_INVALID_PARAMETER) },
        }
        p = next;
    }
    if let Some((id, mut c)) = conn
        && (refusal.is_none() || parked)
    {
        if refusal.is_none() {
            c.rx.refused = false;
        }
        if c.delivery_due() || !c.posted.is_empty() {
            if !c.waiting {
                c.waiting = true;
                dp.waiting.lock().push(id);
            }
            kick = true;
        }
    }
    super::chimney::defer_receive_completions(adapter, refused);
    if kick {
        adapter.kick_completions();
    }
}

/// Put connection `id` on the delayed-ACK list and make sure the timer
/// runs. False if the list is full (stale entries of recycled slots fill it
/// only under extreme churn): the caller then ACKs at once.
pub fn schedule_ack(dp: &DataPath, id: u32) -> bool {
    list_for_timer(dp, id, dp.delayed_ack_ticks.load(Ordering::Relaxed))
}

/// Put connection `id` on the receive-timer list, with something due in
/// `ticks`. False if the list is full.
pub(super) fn list_for_timer(dp: &DataPath, id: u32, ticks: u32) -> bool {
    if !dp.acks.lock_at_dispatch().push(id) {
        return false;
    }
    arm_timer(dp, ticks);
    true
}

/// Keep connection `id` (locked by the caller as `c`) on the receive-timer
/// list with something due in `ticks`: list it if it is not, else make sure
/// the timer fires in time. The list's lock nests inside the connection's.
pub(super) fn keep_listed(
    dp: &DataPath,
    id: u32,
    c: &mut crate::offload::conn::ConnTx,
    ticks: u32,
) {
    if c.rx.ack_listed {
        arm_timer(dp, ticks);
        return;
    }
    c.rx.ack_listed = true;
    if !list_for_timer(dp, id, ticks) {
        c.rx.ack_listed = false;
    }
}

/// Ticks from `now` to `due` (0 when past).
pub(super) fn ticks_until(now: u32, due: u32) -> u32 {
    let left = due.wrapping_sub(now);
    if left < 1 << 31 { left } else { 0 }
}

/// Make sure the receive timer fires within `ticks`: set it unless it is
/// already set to fire as soon or sooner (see [`crate::ndis::Deadline`]).
pub(super) fn arm_timer(dp: &DataPath, ticks: u32) {
    let now = dp.now();
    dp.ack_deadline.arm(now.wrapping_add(ticks), |due| {
        dp.ack_timer.set_ms(ticks_to_ms(dp, ticks_until(now, due)));
    });
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
    dp.ack_deadline.fired();
    super::chimney::mark_pending_terminates(adapter);
    super::reach::indicate_queries(adapter, dp);
    service_acks(adapter, dp);
}

/// Serve the connections on the receive-timer list of `dp`: send the
/// delayed ACKs that are due, complete the partly filled push-mode requests
/// whose push timer fired; re-arm the timer for the rest.
pub fn service_acks(adapter: &Adapter, dp: &DataPath) {
    let now = dp.now();
    let mut left = dp.acks.lock_at_dispatch().len();
    let mut earliest: Option<u32> = None;
    // Not yet due: the ticks left, or None once due (or not running).
    let wait_for = |due: Option<u32>| -> Option<u32> {
        let wait = due?.wrapping_sub(now);
        (wait != 0 && wait < 1 << 31).then_some(wait)
    };
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
        let mut keep: Option<u32> = None;
        if c.rx.ack_due.is_some() {
            match wait_for(c.rx.ack_due) {
                Some(wait) => keep = Some(wait),
                None => {
                    if !c.send_ack(&dp.nic, &dp.rx, now) && c.state == TxState::Open && !c.halted {
                        // The ring is full: try again one tick later while
                        // the ACK is still owed.
                        keep = Some(1);
                    }
                }
            }
        }
        // The retransmit timer, which in FIN_WAIT_2 is FIN_WAIT_2's
        // (rules 97, 99).
        let mut expired = false;
        if c.rexmit_due.is_some() {
            match wait_for(c.rexmit_due) {
                Some(wait) => keep = Some(keep.map_or(wait, |k| k.min(wait))),
                None if c.in_fin_wait_2() => expired = c.fin_wait_2_expired(),
                None => {
                    let tps = dp.ticks_per_second.load(Ordering::Relaxed);
                    let max = adapter.tcp_params().max_retransmissions;
                    match c.retransmit_timeout(now, tps, max) {
                        Rto::Resent => {
                            dp.pump(id, &mut c);
                        }
                        Rto::GaveUp => expired = true,
                        Rto::Idle => {}
                    }
                    if let Some(due) = c.rexmit_due {
                        let wait = due.wrapping_sub(now).max(1);
                        keep = Some(keep.map_or(wait, |k| k.min(wait)));
                    }
                }
            }
        }
        // Keep-alive, and the blind-reset mitigation's probes (rule 95).
        if let Some(due) = c.ka_due {
            match wait_for(Some(due)) {
                Some(wait) => keep = Some(keep.map_or(wait, |k| k.min(wait))),
                None => {
                    let tps = dp.ticks_per_second.load(Ordering::Relaxed);
                    if c.keepalive_timeout(&dp.nic, now, tps) == KeepAlive::Closed {
                        expired = true;
                    }
                    if let Some(due) = c.ka_due {
                        let wait = ticks_until(now, due).max(1);
                        keep = Some(keep.map_or(wait, |k| k.min(wait)));
                    }
                }
            }
        }
        let handle = c.offload_handle;
        let mut fire = false;
        if c.rx.push_due.is_some() {
            match wait_for(c.rx.push_due) {
                Some(wait) => keep = Some(keep.map_or(wait, |k| k.min(wait))),
                None => {
                    c.rx.push_due = None;
                    c.rx.push_fire = c.state == TxState::Open;
                    fire = c.rx.push_fire;
                }
            }
        }
        if keep.is_none() {
            c.rx.ack_listed = false;
        }
        drop(c);
        if let Some(wait) = keep {
            dp.acks.lock_at_dispatch().push(id);
            earliest = Some(earliest.map_or(wait, |e| e.min(wait)));
        }
        if fire {
            deliver(adapter, dp, id);
        }
        if expired && let Some(handlers) = adapter.offload_handlers {
            handlers.event(
                NdisHandle::new(handle as NDIS_HANDLE),
                TcpIndicateRetrieve,
                TimeoutExpiration,
            );
        }
    }
    if let Some(ticks) = earliest {
        arm_timer(dp, ticks);
    }
}

/// Wait until no chimney receive indication or completion is running and
/// the receive DPC holds no sends it retired (before a terminate hands back
/// requests and completes, rules 46, 47, 72). Both are short calls at
/// DISPATCH_LEVEL on another processor.
pub fn wait_for_indications(dp: &DataPath) {
    while dp.indicating.load(Ordering::Acquire) != 0 || dp.tx_completing.load(Ordering::SeqCst) != 0
    {
        crate::sync::spin_wait();
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
