//! The TCP send path at the NDIS boundary: `MiniportTcpOffloadSend`, the
//! hardware's upcalls (received segments, transmit-ring space), and the
//! [`DataPlane`] the state-tree walk drives at offload, query and upload.
//!
//! Locking: each connection has its own spin lock ([`ConnTable`]); the send
//! handler and the receive upcall take only that one. The list of
//! connections waiting for ring space has its own lock, taken inside a
//! connection's lock or alone, never the other way round. Completions and
//! indications are made with no driver lock held, at DISPATCH_LEVEL.

use super::adapter::Adapter;
use crate::ffi::*;
use crate::hw::index::FlowKey;
use crate::hw::soft::SoftNic;
use crate::hw::{NicEvents, OffloadNic, RxSegment};
use crate::ndis::clock;
use crate::ndis::nbdata;
use crate::ndis::nbl;
use crate::ndis::rxpool::RxPool;
use crate::ndis::sendq::Completions;
use crate::ndis::timer::Timer;
use crate::ndis::{Deadline, NdisHandle, SpinLock};
use crate::offload::close::{SynAction, fin_wait_2_ticks};
use crate::offload::conn::{AckNeed, ConnTable, ConnTx, IdRing, RxOutcome, TxInit, TxState};
use crate::offload::handle::{ObjKind, ObjRef};
use crate::offload::objects::TcpDelegated;
use crate::offload::walk::{DataPlane, Uploaded};
use core::sync::atomic::{AtomicU32, Ordering};

/// Pool tag of the delayed-ACK timer.
pub const TAG_ACK_TIMER: ULONG = u32::from_le_bytes(*b"CmAk");

/// Upper bound on NBLs walked in a handed-over send chain.
const MAX_CHAIN: usize = 1 << 20;

/// Everything the send path owns for one adapter.
pub struct DataPath {
    pub conns: ConnTable,
    pub nic: SoftNic,
    /// Connections waiting for the hardware (ring space, first send).
    pub waiting: SpinLock<IdRing>,
    /// `TicksPerSecond` of the host's TCP parameters (the NIC clock's unit).
    pub ticks_per_second: AtomicU32,
    /// `TcpAckFrequency` and `TcpDelayedAckTicks` of the host's parameters.
    pub ack_frequency: AtomicU32,
    pub delayed_ack_ticks: AtomicU32,
    /// Receive buffers: the ordinary path and data held for connections.
    pub rx: RxPool,
    /// Connections owing a delayed ACK, in the order their ACKs fall due.
    pub acks: SpinLock<IdRing>,
    /// Fires when the oldest delayed ACK is due.
    pub ack_timer: Timer,
    /// The tick `ack_timer` must fire by, while armed.
    pub ack_deadline: Deadline,
    /// Chimney receive indications running now (a terminate waits for 0).
    pub indicating: AtomicU32,
    /// Send and disconnect completions the receive DPC is making outside
    /// the connection's lock; the completion timer waits while any are.
    pub tx_completing: AtomicU32,
    /// 1: the completion timer left its work for the DPC that brings
    /// `tx_completing` to 0 to set it again.
    pub timer_parked: AtomicU32,
    /// Frames the ordinary path dropped for want of a buffer.
    pub rx_no_buffer: AtomicU32,
    /// Tagged frames for another VLAN than the adapter's, dropped.
    pub rx_other_vlan: AtomicU32,
    /// Frames held for connections that received urgent data.
    pub held: SpinLock<super::receive::Held>,
    /// Segments sent again (retransmissions), per IP family (IPv4, IPv6).
    pub retransmitted: [AtomicU32; 2],
    /// Neighbor reachability (spec §6.14) and the host's `NceStaleTicks`.
    pub reach: super::reach::Reachability,
    pub nce_stale_ticks: AtomicU32,
    /// `TcpDuplicateAckThreshold`: duplicate ACKs before a fast retransmit.
    pub dup_ack_threshold: AtomicU32,
    /// Ordinary sends waiting for ring space (`miniport::xmit`); the head's
    /// tag counts its NET_BUFFERs already transmitted.
    pub ordinary: SpinLock<crate::ndis::nbl::NblQueue>,
    /// Ordinary sends completed with a failure status (OID_GEN_XMIT_ERROR).
    pub xmit_error: core::sync::atomic::AtomicU64,
}

impl DataPath {
    /// Allocate the connection table for `capacity` connections and attach
    /// the NIC (PASSIVE_LEVEL). `ctx` is the adapter, passed back to the
    /// NIC's upcalls.
    pub fn new(
        handle: NdisHandle,
        capacity: usize,
        rx_buffers: usize,
        ctx: PVOID,
    ) -> Result<Self, NDIS_STATUS> {
        let conns = ConnTable::new(handle, capacity)?;
        // Each id is queued at most twice (a stale entry of a freed slot and
        // one of its new connection).
        let waiting = SpinLock::new(IdRing::new(handle, capacity.saturating_mul(2))?);
        let acks = SpinLock::new(IdRing::new(handle, capacity.saturating_mul(2))?);
        let rx = RxPool::new(handle, rx_buffers)?;
        let reach = super::reach::Reachability::new(
            handle,
            crate::offload::table::OffloadTable::neighbor_capacity(capacity),
        )?;
        let ack_timer = Timer::allocate(
            handle,
            TAG_ACK_TIMER,
            Some(super::receive::ack_timer_callback),
            ctx,
        )?;
        let defaults = crate::offload::params::TcpParams::default();
        // The port is attached last: its upcalls may start at once.
        let nic = SoftNic::attach(handle, capacity, ctx, Some(phy_receive), Some(phy_tx_ready))?;
        Ok(DataPath {
            conns,
            nic,
            waiting,
            ticks_per_second: AtomicU32::new(defaults.ticks_per_second),
            ack_frequency: AtomicU32::new(u32::from(defaults.ack_frequency)),
            delayed_ack_ticks: AtomicU32::new(u32::from(defaults.delayed_ack_ticks)),
            rx,
            acks,
            ack_timer,
            ack_deadline: Deadline::new(),
            indicating: AtomicU32::new(0),
            tx_completing: AtomicU32::new(0),
            timer_parked: AtomicU32::new(0),
            rx_no_buffer: AtomicU32::new(0),
            rx_other_vlan: AtomicU32::new(0),
            held: SpinLock::new(super::receive::Held::new()),
            retransmitted: [AtomicU32::new(0), AtomicU32::new(0)],
            reach,
            nce_stale_ticks: AtomicU32::new(defaults.nce_stale_ticks),
            dup_ack_threshold: AtomicU32::new(defaults.duplicate_ack_threshold),
            ordinary: SpinLock::new(crate::ndis::nbl::NblQueue::new()),
            xmit_error: core::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Finish initialization once the structure sits at its final address.
    pub fn init(&self) {
        self.waiting.init();
        self.acks.init();
        self.held.init();
        self.ordinary.init();
        self.rx.init();
    }

    /// The host set new global TCP parameters.
    pub fn set_params(&self, p: &crate::offload::params::TcpParams) {
        self.ticks_per_second
            .store(p.ticks_per_second, Ordering::Relaxed);
        self.ack_frequency
            .store(u32::from(p.ack_frequency), Ordering::Relaxed);
        self.delayed_ack_ticks
            .store(u32::from(p.delayed_ack_ticks), Ordering::Relaxed);
        self.nce_stale_ticks
            .store(p.nce_stale_ticks, Ordering::Relaxed);
        self.dup_ack_threshold
            .store(p.duplicate_ack_threshold, Ordering::Relaxed);
    }

    /// Stop the data path's own timer (halt, before the structure goes).
    pub fn stop(&self) {
        self.ack_timer.cancel();
    }

    pub fn now(&self) -> u32 {
        clock::nic_ticks(self.ticks_per_second.load(Ordering::Relaxed))
    }

    /// Transmit what connection `c` may, and queue it for ring space if the
    /// hardware ran out. Called with the connection's lock held.
    pub(super) fn pump(&self, id: u32, c: &mut ConnTx) -> u32 {
        let now = self.now();
        // The neighbor's staleness test comes before transmitting (rule
        // 101); a query that falls due is made from the timer at once.
        if self.reach.check(
            c.neighbor,
            now,
            self.nce_stale_ticks.load(Ordering::Relaxed),
        ) {
            super::receive::arm_timer(self, 1);
        }
        let p = c.pump(&self.nic, now);
        if c.ring_blocked && !c.waiting {
            c.waiting = true;
            self.waiting.lock().push(id);
        }
        if p.retransmitted > 0 {
            let family = usize::from(matches!(c.template.ip, crate::wire::IpPair::V6 { .. }));
            if let Some(n) = self.retransmitted.get(family) {
                n.fetch_add(p.retransmitted, Ordering::Relaxed);
            }
        }
        // Something is outstanding: the retransmit timer runs (RFC 6298
        // §5.1), on the receive-timer list.
        let tps = self.ticks_per_second.load(Ordering::Relaxed);
        if c.arm_rexmit(now, tps) {
            let ticks = c.rexmit_due.map_or(c.rto, |d| d.wrapping_sub(now));
            if c.rx.ack_listed {
                super::receive::arm_timer(self, ticks);
            } else {
                c.rx.ack_listed = true;
                if !super::receive::list_for_timer(self, id, ticks) {
                    c.rx.ack_listed = false;
                }
            }
        }
        p.sent
    }

    /// The DPC's completions counted in `tx_completing` are made: the last
    /// one out sets the completion timer again if it had to leave its work.
    pub fn tx_completed(&self, adapter: &Adapter) {
        if self.tx_completing.fetch_sub(1, Ordering::SeqCst) == 1
            && self.timer_parked.swap(0, Ordering::SeqCst) == 1
        {
            adapter.kick_completions();
        }
    }

    /// For the completion timer: true (and the timer's work left to the
    /// DPC, see [`Self::tx_completed`]) while the receive DPC is making
    /// completions. Announce first, look second, as the DPC decrements
    /// first and looks second: one of the two sees the other.
    pub fn must_wait_for_dpc(&self) -> bool {
        if self.tx_completing.load(Ordering::SeqCst) == 0 {
            return false;
        }
        self.timer_parked.store(1, Ordering::SeqCst);
        self.tx_completing.load(Ordering::SeqCst) != 0
    }

    /// Give every waiting connection a turn, until the ring fills again;
    /// a connection holding received data (handed over at offload) also
    /// gets its first indication.
    pub fn service_waiting(&self, adapter: &Adapter) {
        super::chimney::mark_pending_terminates(adapter);
        loop {
            let Some(id) = self.waiting.lock().pop() else {
                return;
            };
            let Some(lock) = self.conns.get(id) else {
                continue;
            };
            let mut c = lock.lock();
            c.waiting = false;
            self.pump(id, &mut c);
            let blocked = c.ring_blocked;
            let deliver = c.delivery_due();
            drop(c);
            if deliver {
                // Every caller runs at DISPATCH_LEVEL (timer, port upcall).
                super::receive::deliver(adapter, self, id);
            }
            if blocked {
                return;
            }
        }
    }

    /// Offloaded connections of one IP family in ESTABLISHED or CLOSE_WAIT
    /// (`CurrentlyEstablished`, tcpCurrEstab): a pass over the table, for
    /// the statistics query.
    pub fn established(&self, ipv6: bool) -> u32 {
        let mut n = 0u32;
        for id in 0..self.conns.capacity() {
            let Some(lock) = self.conns.get(id as u32) else {
                continue;
            };
            let c = lock.lock();
            let family = matches!(c.template.ip, crate::wire::IpPair::V6 { .. });
            if family == ipv6 && c.established() {
                n = n.wrapping_add(1);
            }
        }
        n
    }

    /// The connection named by the context slot NDIS passes to the data
    /// path handlers (read once, validated), locked, with its index.
    ///
    /// # Safety
    /// `slot` is NULL or the address of a readable PVOID.
    pub(super) unsafe fn conn_by_slot(
        &self,
        slot: PVOID,
    ) -> Option<(u32, crate::ndis::spinlock::SpinGuard<'_, ConnTx>)> {
        let value = if slot.is_null() {
            0
        } else {
            // SAFETY: caller contract; read once.
            unsafe { slot.cast::<PVOID>().read_unaligned() as usize }
        };
        ObjRef::from_context(value)
            .filter(|r| r.kind == ObjKind::Tcp)
            .and_then(|r| self.conn_of(r).map(|c| (r.index, c)))
    }

    /// The connection a context value names, locked, if it is live.
    pub(super) fn conn_of(
        &self,
        r: ObjRef,
    ) -> Option<crate::ndis::spinlock::SpinGuard<'_, ConnTx>> {
        let c = self.conns.get(r.index)?.lock();
        c.is(r.generation).then_some(c)
    }
}

/// A direct transition to CLOSED from ESTABLISHED or CLOSE_WAIT (a reset,
/// either way, or a SYN at RCV.NXT): the family's `ResetEstablished`.
fn count_reset(adapter: &Adapter, c: &ConnTx) {
    let ipv6 = matches!(c.template.ip, crate::wire::IpPair::V6 { .. });
    adapter
        .stats
        .tcp(ipv6)
        .reset_established
        .fetch_add(1, Ordering::Relaxed);
}

/// Hand NBLs that completed inside a handler to the completion timer (a
/// request is never completed in the call that delivered it).
fn defer(adapter: &Adapter, done: Completions) {
    if done.is_empty() {
        return;
    }
    super::chimney::defer_send_completions(adapter, done);
}

/// MiniportTcpOffloadSend: always PENDING (rule 55). `MiniportOffloadContext`
/// points at the PVOID slot holding our context value; it is read once and
/// validated (kind, slot, generation) before anything is queued.
///
/// # Safety
/// NDIS contract: our adapter context, a readable context slot, an NBL chain
/// that is ours until completed.
pub unsafe extern "system" fn miniport_tcp_offload_send(
    MiniportAdapterContext: NDIS_HANDLE,
    MiniportOffloadContext: PVOID,
    NetBufferList: PNET_BUFFER_LIST,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our live context.
    let Some(adapter) = (unsafe { Adapter::from_context(MiniportAdapterContext) }) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    let Some(dp) = adapter.data.as_ref() else {
        return NDIS_STATUS_NOT_SUPPORTED;
    };
    super::chimney::mark_pending_terminates(adapter);
    // SAFETY: NDIS passes the address of the slot we wrote at offload.
    let conn = unsafe { dp.conn_by_slot(MiniportOffloadContext) };
    let mut done = Completions::new();
    let mut p = NetBufferList;
    match conn {
        Some((id, mut c)) => {
            let refusal = c.send_refusal();
            while !p.is_null() {
                // SAFETY: the host hands us the chain; each NBL is ours now.
                let next = unsafe { nbl::next(p) };
                match refusal {
                    None => {
                        // SAFETY: as above; the NBL joins exactly one list.
                        let _ = unsafe { c.queue.push(p) };
                    }
                    // SAFETY: as above.
                    Some(status) => unsafe { done.refuse(p, status) },
                }
                p = next;
            }
            // NBLs that failed at the head complete now (rule 60).
            c.queue.ack(0, &mut done);
            dp.pump(id, &mut c);
        }
        None => {
            while !p.is_null() {
                // SAFETY: as above.
                let next = unsafe { nbl::next(p) };
                // SAFETY: as above.
                unsafe { done.refuse(p, NDIS_STATUS_INVALID_PARAMETER) };
                p = next;
            }
        }
    }
    defer(adapter, done);
    NDIS_STATUS_PENDING
}

/// An abortive disconnect (`TCP_DISCONNECT_ABORTIVE_CLOSE`) of an open
/// connection: one RST goes out, every outstanding send fails with
/// `NDIS_STATUS_REQUEST_ABORTED` (rule 62), and the disconnect request
/// succeeds. Returns false, touching nothing, when the slot names no open
/// connection (the caller then fails the request).
///
/// # Safety
/// NDIS contract: `slot` is the context slot of the request, `request`
/// the disconnect NBL, ours until completed.
pub unsafe fn abortive_disconnect(
    adapter: &Adapter,
    slot: PVOID,
    request: PNET_BUFFER_LIST,
) -> bool {
    let Some(dp) = adapter.data.as_ref() else {
        return false;
    };
    super::chimney::mark_pending_terminates(adapter);
    // Everything below happens under the deferred queue's lock, then the
    // connection's: what this disconnect ends is queued (or, for the
    // request itself, held in the connection's request queue) before any
    // other processor can see the connection reset. So no hand-back, and
    // no upload of the connection by a terminate, can come between: the
    // aborted sends, then a graceful disconnect it ends, then the request
    // (rule 80), all before such a terminate completes (rule 46).
    let mut q = super::chimney::DeferredIo::lock(adapter);
    let mut done = Completions::new();
    // SAFETY: caller contract.
    let Some((id, mut c)) = (unsafe { dp.conn_by_slot(slot) }) else {
        return false;
    };
    let established = c.established();
    if !c.abort(&dp.nic, dp.now(), &mut done) {
        return false;
    }
    if established {
        count_reset(adapter, &c);
    }
    q.sends(done);
    // A graceful disconnect still pending ends aborted, before this one.
    if let Some(f) = c.finished_disconnect() {
        // SAFETY: the earlier request left the queue; ours, completed once.
        unsafe {
            super::close::settle(&f);
            q.disconnect(f.request, f.status);
        }
    }
    // Posted receives end too, handed back in their turn under the
    // connection's receive gate (rule 72), from the completion timer or from
    // whoever holds the gate. The request completes after them, and after
    // any receive call still running for the connection: while either
    // holds, it waits behind them in the request queue, and whoever hands
    // that queue's settled entries back queues it, holding the gate.
    c.posted.settle_all(NDIS_STATUS_REQUEST_ABORTED, false);
    let held = !c.posted.is_empty() || c.rx.indicating;
    if held {
        // SAFETY: caller contract: the request is ours, in no other list.
        unsafe { c.posted.hold_disconnect(request) };
    } else {
        // SAFETY: caller contract: the request is ours, completed exactly once.
        unsafe { q.disconnect(request, NDIS_STATUS_SUCCESS) };
    }
    let list = held && !c.waiting;
    if list {
        c.waiting = true;
    }
    drop(c);
    drop(q);
    if list {
        dp.waiting.lock().push(id);
    }
    adapter.kick_completions();
    true
}

/// Steps (b) and (c) of the hardware-corruption sequence, after the failed
/// terminate completed: `TcpIndicateRetrieve` / `HardwareFailure`, then
/// `TcpIndicateAbort`, for each connection whose terminate just failed.
/// Runs only when a terminate failed that way (a scan of the table).
pub fn indicate_hardware_faults(adapter: &Adapter) {
    let (Some(dp), Some(handlers)) = (adapter.data.as_ref(), adapter.offload_handlers) else {
        return;
    };
    for id in 0..dp.conns.capacity() {
        let Some(lock) = dp.conns.get(id as u32) else {
            continue;
        };
        let handle = lock.lock().take_fault_report();
        if let Some(h) = handle {
            let h = NdisHandle::new(h as NDIS_HANDLE);
            handlers.event(h, TcpIndicateRetrieve, HardwareFailure);
            handlers.event(h, TcpIndicateAbort, 0);
        }
    }
}

/// Mark every connection a terminate tree names as uploading (a read-only
/// pass over the tree; one compare-and-swap per connection, no lock).
pub fn begin_upload(dp: &DataPath, root: crate::ndis::tree::BlockRef<'_>) {
    root.for_each_reference(|v| {
        if let Some(r) = ObjRef::from_context(v).filter(|r| r.kind == ObjKind::Tcp) {
            dp.conns.request_upload(r.index, r.generation);
        }
    });
}

/// Stop transmitting on connection slot `index` (it depends on an
/// invalidated object, rule 37).
pub fn halt_connection(adapter: &Adapter, index: u32) {
    if let Some(lock) = adapter.data.as_ref().and_then(|dp| dp.conns.get(index)) {
        lock.lock().halted = true;
    }
}

/// The walk's view of the data path; completions it produces (failed NBLs
/// at upload) collect in `done` and go up before the state completion.
pub struct Plane<'a> {
    pub dp: &'a DataPath,
    pub done: Completions,
    /// Receive requests settled at upload (completed before the state
    /// completion too).
    pub recv_done: Completions,
    /// Disconnect requests pending at upload (completed after the sends,
    /// before the state completion).
    pub disconnects: Completions,
    /// Abortive disconnect requests still waiting behind the receive
    /// requests they ended (in `recv_done` now): deferred after the walk,
    /// behind the sends they aborted, before the state completion.
    pub aborts: Completions,
    /// Frames held for uploaded connections (urgent data): indicated on the
    /// ordinary path after the state completion (a receive-buffer queue).
    pub held: u32,
    /// Terminates failed for corrupt hardware state (events due after the
    /// completion).
    pub faults: u32,
}

impl DataPlane for Plane<'_> {
    fn check_send_data(
        &mut self,
        head: PNET_BUFFER_LIST,
        tail: PNET_BUFFER_LIST,
        need: u32,
    ) -> Result<(), NDIS_STATUS> {
        if head.is_null() {
            return if need == 0 {
                Ok(())
            } else {
                Err(NDIS_STATUS_FAILURE)
            };
        }
        let mut total: u64 = 0;
        let mut p = head;
        for _ in 0..MAX_CHAIN {
            if p.is_null() {
                // The chain ended before SendDataTail.
                return Err(NDIS_STATUS_FAILURE);
            }
            // SAFETY: the chain hangs off a block list NDIS handed us; it is
            // valid until the completion. Validation only reads (and maps).
            let len = unsafe { nbdata::validate(p) }.map_err(|_| NDIS_STATUS_FAILURE)?;
            total += u64::from(len);
            if p == tail {
                // SendDataTail is the chain's last NBL. A chain that goes on
                // past it is inconsistent: taking only up to the tail would
                // strand the rest (neither completed nor handed back), and
                // taking the rest would ignore the tail. The offload fails
                // with nothing touched (rule 25).
                // SAFETY: as above.
                if !unsafe { nbl::next(p) }.is_null() {
                    return Err(NDIS_STATUS_FAILURE);
                }
                return if total >= u64::from(need) {
                    Ok(())
                } else {
                    Err(NDIS_STATUS_FAILURE)
                };
            }
            // SAFETY: as above.
            p = unsafe { nbl::next(p) };
        }
        Err(NDIS_STATUS_FAILURE)
    }

    fn open(
        &mut self,
        r: ObjRef,
        init: &TxInit,
        head: PNET_BUFFER_LIST,
        tail: PNET_BUFFER_LIST,
        buffered: PNET_BUFFER_LIST,
    ) -> Result<(), NDIS_STATUS> {
        let lock = self.dp.conns.get(r.index).ok_or(NDIS_STATUS_RESOURCES)?;
        // The NIC learns the 4-tuple first: if it refuses, no NBL was touched
        // (rule 25).
        self.dp
            .nic
            .add_connection(r.index, &init.template)
            .map_err(|_| NDIS_STATUS_RESOURCES)?;
        let mut c = lock.lock();
        c.open(init);
        lock.set_open(init.generation);
        // The host's buffered receive data is copied now, before the
        // completion; its NBLs stay the host's, untouched (rules 25–27).
        if let Err(st) = copy_buffered(&self.dp.rx, &mut c, buffered) {
            c.rx.release(&self.dp.rx);
            c.state = TxState::Free;
            c.generation = 0;
            lock.set_closed();
            drop(c);
            self.dp.nic.remove_connection(r.index, &init.template);
            return Err(st);
        }
        let mut p = head;
        let mut n = 0usize;
        while !p.is_null() && n < MAX_CHAIN {
            // SAFETY: checked by check_send_data; the target owns these NBLs
            // from the successful offload on (spec §4.6).
            let next = unsafe { nbl::next(p) };
            // SAFETY: as above; each NBL joins exactly one queue.
            let _ = unsafe { c.queue.push(p) };
            if p == tail {
                break;
            }
            p = next;
            n += 1;
        }
        // [SndUna, SndNxt) was sent by the host: transmission resumes at SndNxt.
        let sent = init.snd_nxt.wrapping_sub(init.snd_una);
        if sent != 0 {
            c.queue.seek_from_una(u64::from(sent));
        }
        if (!head.is_null() || !c.rx.is_empty()) && !c.waiting {
            // First transmission and first indication once the offload has
            // completed (rule 29).
            c.waiting = true;
            self.dp.waiting.lock().push(r.index);
        }
        // The retransmit timer the host was running carries on while data
        // is outstanding (spec §7.2); offloaded in FIN_WAIT_2, the same
        // timer is FIN_WAIT_2's, from the host's value or else from the
        // start (spec §7.3).
        let tps = self.dp.ticks_per_second.load(Ordering::Relaxed);
        let now = self.dp.now();
        c.start_rexmit(now, tps, init);
        c.start_keepalive(now, init);
        if c.in_fin_wait_2() {
            let ticks = fin_wait_2_ticks(tps);
            c.rexmit_due.get_or_insert(now.wrapping_add(ticks));
            // The timer runs here now: the upload reports what is left.
            c.touched = true;
        }
        let first = [c.rexmit_due, c.ka_due]
            .into_iter()
            .flatten()
            .map(|due| super::receive::ticks_until(now, due))
            .min();
        if let Some(ticks) = first {
            super::receive::keep_listed(self.dp, r.index, &mut c, ticks);
        }
        drop(c);
        Ok(())
    }

    fn expect_slot(&mut self, slot: u32) {
        self.dp.conns.prefetch(slot);
    }

    fn expect_flow(&mut self, key: &FlowKey, slot: Option<u32>) {
        self.dp.nic.expect_connection(key);
        if let Some(i) = slot {
            self.dp.conns.prefetch(i);
        }
    }

    fn sync(&mut self, r: ObjRef, d: &mut TcpDelegated) {
        if let Some(c) = self.dp.conn_of(r) {
            c.sync_to(d, self.dp.now());
        }
    }

    fn upload(&mut self, r: ObjRef, d: &mut TcpDelegated, want_buffered: bool) -> Option<Uploaded> {
        let Some(mut c) = self.dp.conn_of(r) else {
            return Some(Uploaded::NOTHING);
        };
        if c.block_terminate() {
            self.faults += 1;
            return None;
        }
        // A delayed ACK still owed goes out before the terminate completes
        // (rule 51).
        if c.ack_owed() {
            c.send_ack(&self.dp.nic, &self.dp.rx, self.dp.now());
        }
        c.sync_to(d, self.dp.now());
        self.dp.nic.remove_connection(r.index, &c.template);
        // Held out-of-order data was never acknowledged: it is dropped.
        c.rx.drop_out_of_order(&self.dp.rx);
        let (head, _) = c.rx.take_all();
        let buffered = if want_buffered && !c.rx_dropped_by_reset() {
            lend_chain(&self.dp.rx, head)
        } else {
            self.dp.rx.give_queue(head);
            core::ptr::null_mut()
        };
        // Posted receives settle before the terminate completes: what holds
        // data succeeds, the rest is UPLOAD_IN_PROGRESS (REQUEST_ABORTED on
        // corrupt hardware or after a reset).
        let aborts = if c.outstanding_aborted() {
            c.posted
                .complete_all(NDIS_STATUS_REQUEST_ABORTED, false, &mut self.recv_done)
        } else {
            c.posted
                .complete_all(NDIS_STATUS_UPLOAD_IN_PROGRESS, true, &mut self.recv_done)
        };
        self.aborts.append(aborts);
        if c.urgent {
            // The held frames go up once the terminate has completed.
            let mine = super::receive::take_held(self.dp, r.index);
            self.held = append_queue(&self.dp.rx, self.held, mine);
        }
        let (send_head, send_tail, disconnect) = c.close(&mut self.done);
        if let Some(f) = disconnect {
            // SAFETY: the request left the queue; ours, completed once.
            unsafe { super::close::settle_into(&f, &mut self.disconnects) };
        }
        if let Some(slot) = self.dp.conns.get(r.index) {
            slot.set_closed();
        }
        Some(Uploaded {
            send_head,
            send_tail,
            buffered,
        })
    }

    fn refresh(&mut self, r: ObjRef, init: &TxInit) {
        if let Some(mut c) = self.dp.conn_of(r) {
            c.refresh(init);
            let now = self.dp.now();
            if c.refresh_keepalive(now, init.ka_restart)
                && let Some(due) = c.ka_due
            {
                super::receive::keep_listed(
                    self.dp,
                    r.index,
                    &mut c,
                    super::receive::ticks_until(now, due),
                );
            }
        }
    }

    fn send_backlog(&mut self, r: ObjRef) -> Option<u32> {
        self.dp.conn_of(r).map(|c| c.send_backlog())
    }

    fn neighbor_offloaded(&mut self, index: u32, nrd: u32, hrd: u32) {
        self.dp.reach.offloaded(index, self.dp.now(), nrd, hrd);
    }

    fn neighbor_hrd(&mut self, index: u32, hrd: u32) {
        self.dp.reach.host_delta(index, self.dp.now(), hrd);
    }

    fn neighbor_nrd(&mut self, index: u32) -> Option<u32> {
        self.dp.reach.nrd(index, self.dp.now())
    }
}

/// Append receive-buffer queue `b` to queue `a`; returns the head.
fn append_queue(rx: &RxPool, a: u32, b: u32) -> u32 {
    use crate::ndis::rxpool::NO_BUF;
    if a == NO_BUF {
        return b;
    }
    let mut t = a;
    let mut guard = rx.capacity();
    while rx.next(t) != NO_BUF && guard > 0 {
        guard -= 1;
        t = rx.next(t);
    }
    rx.set_next(t, b);
    a
}

/// Copy the NBL chain `head` (the host's `BufferedData`) into `c`'s receive
/// queue. Fails, with whatever was copied left in the queue for the caller
/// to release, when an NBL is malformed or the buffers run out.
fn copy_buffered(pool: &RxPool, c: &mut ConnTx, head: PNET_BUFFER_LIST) -> Result<(), NDIS_STATUS> {
    let mut p = head;
    let mut n = 0usize;
    while !p.is_null() {
        n += 1;
        if n > MAX_CHAIN {
            return Err(NDIS_STATUS_FAILURE);
        }
        // SAFETY: the chain hangs off the initiate's delegated state, valid
        // until the completion; validation only reads (and maps).
        // The free buffers bound how much is taken (append fails below).
        let len = unsafe { nbdata::validate(p) }.map_err(|_| NDIS_STATUS_FAILURE)?;
        // SAFETY: validated just above and still the host's.
        let mut cur = unsafe { nbdata::Cursor::new(p) };
        let mut left = len;
        while left > 0 {
            let mut frags: [&[u8]; 16] = [&[]; 16];
            // SAFETY: as above; the slices are used before the NBL is released.
            let (k, got) = unsafe { cur.gather(left.min(1 << 16), &mut frags) };
            if got == 0 {
                return Err(NDIS_STATUS_FAILURE);
            }
            for f in frags.get(..k).unwrap_or(&[]) {
                if c.rx.append(pool, f) < f.len() {
                    return Err(NDIS_STATUS_FAILURE);
                }
            }
            left -= got;
        }
        // SAFETY: as above.
        p = unsafe { nbl::next(p) };
    }
    Ok(())
}

/// Lend a queue of receive buffers to the host as one NBL chain.
fn lend_chain(pool: &RxPool, mut b: u32) -> PNET_BUFFER_LIST {
    let mut head: PNET_BUFFER_LIST = core::ptr::null_mut();
    let mut tail: PNET_BUFFER_LIST = core::ptr::null_mut();
    let mut guard = pool.capacity();
    while b != crate::ndis::rxpool::NO_BUF && guard > 0 {
        guard -= 1;
        let next = pool.next(b);
        if pool.pending(b) == 0 {
            pool.give(b);
            b = next;
            continue;
        }
        let n = pool.lend(b);
        if tail.is_null() {
            head = n;
        } else {
            // SAFETY: `tail` is our NBL, lent in this same chain.
            unsafe { nbl::set_next(tail, n) };
        }
        tail = n;
        b = next;
    }
    head
}

/// The hardware's upcalls for one adapter.
struct Events<'a> {
    adapter: &'a Adapter,
    dp: &'a DataPath,
}

impl NicEvents for Events<'_> {
    fn segment(&self, id: u32, seg: &RxSegment<'_>) -> bool {
        let Some(lock) = self.dp.conns.get(id) else {
            return false;
        };
        let mut c = lock.lock_at_dispatch();
        if c.state == TxState::Free || c.flow() != seg.flow {
            return false;
        }
        if c.urgent {
            // After urgent data everything is the host's, in order: held
            // until the upload completes (spec §6.10). A forwarded segment
            // (no frame) goes back to the host as not processed.
            drop(c);
            if seg.frame.is_empty() {
                return false;
            }
            super::receive::hold_frame(self.dp, id, seg.frame);
            return true;
        }
        if c.state == TxState::Uploading {
            // A connection being uploaded no longer processes segments: they
            // go up the ordinary receive path unprocessed (rule 52). With
            // SACK, data the target's cumulative ACK does not cover is
            // dropped instead (spec §4.2 step 6).
            let end = seg.seq.wrapping_add(seg.payload.len() as u32);
            let beyond = end.wrapping_sub(c.rcv_nxt);
            return c.sack && !seg.payload.is_empty() && beyond != 0 && beyond < 1 << 31;
        }
        let state_before = c.close_state();
        let progress_from = (c.snd_una, c.rcv_nxt);
        if state_before == Some(TcpConnectionClosed) {
            // Nothing is processed on a CLOSED connection: its segments
            // are the host's (spec §6.10).
            return false;
        }
        if seg.flags & crate::wire::tcp_flags::URG != 0 {
            let ack = (seg.flags & crate::wire::tcp_flags::ACK != 0).then_some(seg.ack);
            if !c.urgent_arrived(seg.seq, ack) {
                // Not acceptable: dropped; the connection goes on.
                return true;
            }
            let handle = c.offload_handle;
            drop(c);
            let wire = !seg.frame.is_empty();
            if wire {
                super::receive::hold_frame(self.dp, id, seg.frame);
            }
            if let Some(handlers) = self.adapter.offload_handlers {
                handlers.event(
                    NdisHandle::new(handle as NDIS_HANDLE),
                    TcpIndicateRetrieve,
                    ReceivedUrgentData,
                );
            }
            return wire;
        }
        if seg.flags & crate::wire::tcp_flags::SYN != 0 {
            let now = self.dp.now();
            return match c.on_syn(seg.seq) {
                SynAction::Unclaimed => false,
                SynAction::Drop => {
                    // In the window, not at RCV.NXT: a challenge ACK, at
                    // most one per 3 s, and the keep-alive within 5 min.
                    let tps = self.dp.ticks_per_second.load(Ordering::Relaxed);
                    if c.syn_in_window(now, tps) {
                        c.send_ack(&self.dp.nic, &self.dp.rx, now);
                        self.mitigate(id, &mut c, now, tps);
                    }
                    true
                }
                SynAction::Ack => {
                    c.send_ack(&self.dp.nic, &self.dp.rx, now);
                    true
                }
                SynAction::Closed => {
                    let handle = c.offload_handle;
                    if state_before.is_none_or(|s| s == TcpConnectionCloseWait) {
                        count_reset(self.adapter, &c);
                    }
                    drop(c);
                    if let Some(handlers) = self.adapter.offload_handlers {
                        handlers.event(
                            NdisHandle::new(handle as NDIS_HANDLE),
                            TcpIndicateRetrieve,
                            UploadRequested,
                        );
                    }
                    false
                }
            };
        }
        let mut done = Completions::new();
        let now = self.dp.now();
        let tps = self.dp.ticks_per_second.load(Ordering::Relaxed);
        if seg.flags & crate::wire::tcp_flags::RST != 0 && c.rst_in_window(seg.seq) {
            // Blind-reset mitigation (RFC 5961 §3): a challenge ACK, one
            // per validation period, and the keep-alive within 5 min.
            c.send_ack(&self.dp.nic, &self.dp.rx, now);
            self.mitigate(id, &mut c, now, tps);
            return true;
        }
        if c.acceptable(seg)
            && c.keepalive_heard(now)
            && let Some(due) = c.ka_due
        {
            super::receive::keep_listed(self.dp, id, &mut c, super::receive::ticks_until(now, due));
        }
        let dup = self.dp.dup_ack_threshold.load(Ordering::Relaxed);
        // An unacceptable segment's ACK and window are not looked at; its
        // data (if any) is answered with an ACK by `on_data` below.
        let outcome = if c.ack_acceptable(seg) {
            c.on_segment(seg, now, tps, dup, &mut done)
        } else {
            RxOutcome::None
        };
        if outcome == RxOutcome::Aborted && state_before.is_none_or(|s| s == TcpConnectionCloseWait)
        {
            count_reset(self.adapter, &c);
        }
        let due = now.wrapping_add(self.dp.delayed_ack_ticks.load(Ordering::Relaxed));
        let freq = self.dp.ack_frequency.load(Ordering::Relaxed);
        // A reset ends every posted receive too (REQUEST_ABORTED, with the
        // bytes each holds).
        // They stay queued, settled, until handed back under the
        // connection's receive gate below (rule 72).
        if outcome == RxOutcome::Aborted {
            c.posted.settle_all(NDIS_STATUS_REQUEST_ABORTED, false);
        }
        let need = if outcome == RxOutcome::Aborted {
            AckNeed::None
        } else {
            c.on_data(seg, &self.dp.rx, freq, due)
        };
        let sent = self.dp.pump(id, &mut c);
        if need == AckNeed::Now && sent == 0 {
            c.send_ack(&self.dp.nic, &self.dp.rx, now);
        }
        if (c.snd_una, c.rcv_nxt) != progress_from {
            // Forward progress through the neighbor (spec §6.14).
            self.dp.reach.progress(c.neighbor, now);
        }
        let deliver = c.delivery_due();
        let tps = self.dp.ticks_per_second.load(Ordering::Relaxed);
        let backlog = c.backlog_change(now, tps);
        let handle = c.offload_handle;
        // The graceful disconnect, done when this ACK covered its FIN (or a
        // reset ended it).
        let disconnect = c.finished_disconnect();
        let optional = c.optional_upload_due();
        // Both FINs acknowledged, ours last: TIME_WAIT, which the host
        // keeps (spec §7.2), so ask for the upload.
        let state_after = c.close_state();
        let time_wait = state_after == Some(TcpConnectionTimeWait) && state_before != state_after;
        // FIN_WAIT_2's timer starts on entering the state and restarts on
        // every acceptable segment (an ACK, no RST); leaving stops it.
        let acceptable = seg.flags & crate::wire::tcp_flags::ACK != 0
            && seg.flags & crate::wire::tcp_flags::RST == 0;
        let fin2_ticks = fin_wait_2_ticks(tps);
        let mut fin2_list = false;
        if state_before == Some(TcpConnectionFinWait2) && state_after != state_before {
            // FIN_WAIT_2 left (TIME_WAIT): its timer stops.
            c.rexmit_due = None;
        }
        if acceptable || state_before != state_after {
            fin2_list = c.restart_fin_wait_2(now, fin2_ticks) && !c.rx.ack_listed;
            if fin2_list {
                c.rx.ack_listed = true;
            }
        }
        // Completions this DPC makes once the lock is dropped: counted
        // before it is, so the completion timer, which waits while any are
        // in flight, cannot complete later requests of the connection (an
        // abortive disconnect's) ahead of them (rules 46, 56, 80).
        let in_flight = !done.is_empty() || disconnect.is_some();
        if in_flight {
            self.dp.tx_completing.fetch_add(1, Ordering::SeqCst);
        }
        drop(c);
        if fin2_list && !super::receive::list_for_timer(self.dp, id, fin2_ticks) {
            // No room on the timer list (only under extreme slot churn):
            // the state stays until the host uploads it.
            lock.lock_at_dispatch().rx.ack_listed = false;
        }
        if need == AckNeed::Arm {
            super::receive::arm_timer(self.dp, self.dp.delayed_ack_ticks.load(Ordering::Relaxed));
        }
        if need == AckNeed::Delayed && !super::receive::schedule_ack(self.dp, id) {
            // No room on the list: acknowledge now rather than never.
            let mut c = lock.lock_at_dispatch();
            c.rx.ack_listed = false;
            if c.ack_owed() {
                c.send_ack(&self.dp.nic, &self.dp.rx, now);
            }
        }
        let Some(handlers) = self.adapter.offload_handlers else {
            if in_flight {
                self.dp.tx_completed(self.adapter);
            }
            return true;
        };
        if !done.is_empty() {
            // SAFETY: a chain of NBLs we owned, statuses and counts set, handed
            // back once, at DISPATCH_LEVEL, no driver lock held.
            unsafe { handlers.send_complete(self.adapter.handle, done.head()) };
        }
        if let Some(f) = disconnect {
            // SAFETY: the request left the queue; ours, completed once, after
            // the sends before it, at DISPATCH_LEVEL, no driver lock held.
            unsafe {
                super::close::settle(&f);
                handlers.disconnect_complete(self.adapter.handle, f.request);
            }
        }
        if in_flight {
            self.dp.tx_completed(self.adapter);
        }
        if outcome == RxOutcome::Aborted {
            super::receive::hand_back_settled(self.adapter, self.dp, id);
        }
        if outcome == RxOutcome::Aborted {
            handlers.event(NdisHandle::new(handle as NDIS_HANDLE), TcpIndicateAbort, 0);
        }
        if time_wait {
            handlers.event(
                NdisHandle::new(handle as NDIS_HANDLE),
                TcpIndicateRetrieve,
                UploadRequested,
            );
        }
        if let Some(reason) = optional {
            handlers.event(
                NdisHandle::new(handle as NDIS_HANDLE),
                TcpIndicateRetrieve,
                reason,
            );
        }
        if let Some(bytes) = backlog {
            handlers.event(
                NdisHandle::new(handle as NDIS_HANDLE),
                TcpIndicateSendBacklogChange,
                bytes,
            );
        }
        if deliver {
            super::receive::deliver(self.adapter, self.dp, id);
        }
        true
    }

    fn tx_ready(&self) {
        self.dp.service_ordinary(self.adapter, true);
        self.dp.service_waiting(self.adapter);
    }

    fn unclaimed(&self, frame: &[u8]) {
        super::receive::indicate_ordinary(self.adapter, self.dp, frame);
    }
}

impl Events<'_> {
    /// After a challenge ACK: the keep-alive timer within 5 minutes.
    fn mitigate(&self, id: u32, c: &mut ConnTx, now: u32, tps: u32) {
        if c.mitigation_timer(now, tps)
            && let Some(due) = c.ka_due
        {
            super::receive::keep_listed(self.dp, id, c, super::receive::ticks_until(now, due));
        }
    }
}

/// Process `seg` as if connection `id` had received it from the wire (the
/// forward path, spec §6.9). False when the connection did not take it
/// (gone, being uploaded, CLOSED). At DISPATCH_LEVEL, no driver lock held.
pub(super) fn receive_segment(
    adapter: &Adapter,
    dp: &DataPath,
    id: u32,
    seg: &RxSegment<'_>,
) -> bool {
    Events { adapter, dp }.segment(id, seg)
}

/// CHIMNEY_PHY_RECEIVE_HANDLER: one frame, at DISPATCH_LEVEL.
///
/// # Safety
/// Called by the frame port with our adapter as context and a frame valid
/// for the duration of the call.
unsafe extern "system" fn phy_receive(Context: PVOID, Frame: *const UCHAR, Length: ULONG) {
    // SAFETY: the port passes back the adapter we registered; it outlives
    // the attachment.
    let Some(adapter) = (unsafe { Adapter::from_context(Context) }) else {
        return;
    };
    let Some(dp) = adapter.data.as_ref() else {
        return;
    };
    if Frame.is_null() {
        return;
    }
    super::chimney::mark_pending_terminates(adapter);
    // SAFETY: the port guarantees `Length` readable bytes during the call.
    let frame = unsafe { core::slice::from_raw_parts(Frame, Length as usize) };
    dp.nic.receive(frame, &Events { adapter, dp });
}

/// CHIMNEY_PHY_TX_READY_HANDLER: ring space freed, at DISPATCH_LEVEL.
///
/// # Safety
/// As for [`phy_receive`].
unsafe extern "system" fn phy_tx_ready(Context: PVOID) {
    // SAFETY: as in phy_receive.
    let Some(adapter) = (unsafe { Adapter::from_context(Context) }) else {
        return;
    };
    if let Some(dp) = adapter.data.as_ref() {
        // The host's own frames first: they are older than any offloaded
        // segment waiting for the same space.
        dp.service_ordinary(adapter, true);
        dp.service_waiting(adapter);
    }
}
