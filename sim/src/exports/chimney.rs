//! TCP chimney exports (`NdisMGetOffloadHandlers`, the five state-operation
//! completions, `NdisMOffloadEventIndicate`) and the simulator's side of the
//! completion/indication table NDIS hands the driver.

use super::driver::{AdapterBlock, adapter_sim};
use super::spinlock::check_no_lock_held;
use super::{check_irql_dispatch, check_irql_max};
use crate::state::{SimCore, lock};
use crate::tracker;
use crate::verifier::Violation;
use chimney_miniport::ffi::*;
use std::sync::atomic::Ordering;

/// How the simulated NDIS answers `NdisMGetOffloadHandlers` (to test rule 6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum TableMode {
    #[default]
    Normal = 0,
    /// Return STATUS_NOT_SUPPORTED.
    NotSupported = 1,
    /// Return a table with Revision 2.
    BadRevision = 2,
    /// Return a table whose Size stops before NdisTcpOffloadForwardComplete.
    ShortSize = 3,
}

/// A completion or indication the driver made through the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChimneyCall {
    SendComplete(Vec<(usize, NDIS_STATUS)>),
    ReceiveComplete(Vec<(usize, NDIS_STATUS)>),
    DisconnectComplete(usize, NDIS_STATUS),
    ForwardComplete(Vec<(usize, NDIS_STATUS)>),
    Event {
        offload_handle: usize,
        event: ULONG,
        info: ULONG,
    },
    StateComplete {
        export: &'static str,
        root: usize,
    },
    /// Send NBLs a terminate returned in blocks' `NetBufferListChain`
    /// (recorded just before the terminate's `StateComplete`).
    SendHandedBack(Vec<usize>),
    /// A chimney receive indication: the offload handle, the bytes the NBL
    /// described, and the status the host answered.
    ReceiveIndicate {
        offload_handle: usize,
        data: Vec<u8>,
        status: NDIS_STATUS,
    },
    /// `NdisMOffloadEventIndicate(NeighborReachabilityQuery)`: the next-hop
    /// MAC of the neighbor's cached state, the HostReachabilityDelta and
    /// NicReachabilityDelta the block carried, and what the host answered.
    NeighborQuery {
        dl_destination: [u8; 6],
        host_delta: u32,
        nic_delta: u32,
        answer: u32,
    },
}

/// How the simulated host answers `NdisTcpOffloadReceiveHandler`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReceiveMode {
    /// SUCCESS: the host takes the NBL and returns it later through
    /// `MiniportTcpOffloadReceiveReturn`.
    #[default]
    Accept,
    /// NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, nothing consumed.
    Refuse,
    /// NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED, this many bytes consumed.
    Partial(u32),
}

/// Every chimney receive indication among `calls`: (handle, bytes, status).
pub fn receive_indications(calls: &[ChimneyCall]) -> Vec<(usize, Vec<u8>, NDIS_STATUS)> {
    calls
        .iter()
        .filter_map(|x| match x {
            ChimneyCall::ReceiveIndicate {
                offload_handle,
                data,
                status,
            } => Some((*offload_handle, data.clone(), *status)),
            _ => None,
        })
        .collect()
}

/// The send completions among `calls`: every (NBL, status), in order.
pub fn sends_completed(calls: &[ChimneyCall]) -> Vec<(usize, NDIS_STATUS)> {
    calls
        .iter()
        .filter_map(|x| match x {
            ChimneyCall::SendComplete(v) => Some(v.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Chimney activity recorded by the simulator.
#[derive(Default)]
pub struct ChimneyLog {
    pub calls: Vec<ChimneyCall>,
    /// How the host answers receive indications.
    pub receive_mode: ReceiveMode,
    /// `NdisOffloadHandle`s of objects whose initiate completion has
    /// returned and whose terminate has not begun completing: the only
    /// handles a receive indication may name (rules 29 and 47).
    pub live_handles: HandleSet,
    /// Context value → offload handle of every live object.
    pub live_objects:
        std::collections::HashMap<usize, usize, std::hash::BuildHasherDefault<HandleHasher>>,
    /// The HostReachabilityDelta the host answers neighbor queries with
    /// (0 by default: its entry is stale and it will check the neighbor).
    pub neighbor_answer: u32,
    /// Receive requests posted and not completed yet: NBL → the context
    /// value of the connection it was posted to ([`note_receive_post`]).
    pub receive_posts:
        std::collections::HashMap<usize, usize, std::hash::BuildHasherDefault<HandleHasher>>,
    /// Offload handles of connections with a receive completion or
    /// indication call running: the processor making it and how deep.
    rx_busy:
        std::collections::HashMap<usize, (usize, u32), std::hash::BuildHasherDefault<HandleHasher>>,
    /// Sends, receive requests and disconnects the harness posted on an
    /// offloaded object: NBL → the context value it was posted to
    /// ([`note_io_post`]); entries found completed are dropped at each
    /// terminate completion, which checks the rest (rule 46).
    io_posts: std::collections::HashMap<usize, usize, std::hash::BuildHasherDefault<HandleHasher>>,
}

/// The host posted receive request `nbl` on the connection whose context
/// value is `context` (so that a completion of it is known to be that
/// connection's).
pub fn note_receive_post(sim: &SimCore, nbl: usize, context: usize) {
    lock(&sim.chimney).receive_posts.insert(nbl, context);
}

/// The host posted `nbl` (a send, receive request or disconnect) on the
/// object whose context value is `context`: a terminate of that object must
/// not complete while it is outstanding (rule 46).
pub fn note_io_post(sim: &SimCore, nbl: usize, context: usize) {
    lock(&sim.chimney).io_posts.insert(nbl, context);
}

/// Rule 46: before `NdisMTerminateOffloadComplete`, every request posted on
/// a terminated object (`blocks` whose terminate succeeded) is completed or,
/// for sends, handed back in the tree (`handed_back` has run).
fn check_nothing_outstanding(sim: &SimCore, export: &'static str, blocks: &[ScannedBlock]) {
    let terminated: std::collections::HashSet<usize> = blocks
        .iter()
        .filter(|b| {
            b.context != 0
                && (b.status == NDIS_STATUS_SUCCESS
                    || b.status == NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS)
        })
        .map(|b| b.context)
        .collect();
    let posted: Vec<(usize, usize)> = lock(&sim.chimney)
        .io_posts
        .iter()
        .map(|(&p, &c)| (p, c))
        .collect();
    if posted.is_empty() || terminated.is_empty() {
        return;
    }
    let mut settled = Vec::new();
    let mut late = Vec::new();
    {
        let outstanding = lock(&sim.outstanding);
        for (p, context) in posted {
            match outstanding.get(&p) {
                None => settled.push(p),
                Some(r) if terminated.contains(&context) => late.push((p, r.handler)),
                Some(_) => {}
            }
        }
    }
    {
        let mut log = lock(&sim.chimney);
        for p in settled.iter().chain(late.iter().map(|(p, _)| p)) {
            log.io_posts.remove(p);
        }
    }
    for (p, handler) in late {
        sim.violation(Violation::BadArgument {
            export,
            detail: format!(
                "request {p:#x} given to {handler} on a terminated object is still outstanding (rule 46)"
            ),
        });
    }
}

fn sim_for(export: &'static str, h: NDIS_HANDLE) -> Option<std::sync::Arc<SimCore>> {
    adapter_sim(export, h)
}

fn walk_chain(
    sim: &SimCore,
    export: &'static str,
    chain: PNET_BUFFER_LIST,
) -> Vec<(usize, NDIS_STATUS)> {
    let mut out = Vec::new();
    let mut p = chain;
    let mut guard = 0usize;
    while !p.is_null() && guard < 1 << 24 {
        tracker::complete(sim, p as usize, export);
        // SAFETY: NBLs handed back are ones the simulator built and gave the driver.
        let (status, next) =
            unsafe { ((*p).Status, (*p).NetBufferListHeader.NetBufferListData.Next) };
        out.push((p as usize, status));
        p = next;
        guard += 1;
    }
    out
}

macro_rules! nbl_completion {
    ($name:ident, $export:literal, $variant:ident) => {
        unsafe extern "system" fn $name(
            NdisMiniportHandle: NDIS_HANDLE,
            NetBufferList: PNET_BUFFER_LIST,
        ) {
            check_irql_max($export, DISPATCH_LEVEL);
            check_no_lock_held($export);
            crate::checker::host_at_work();
            let Some(sim) = sim_for($export, NdisMiniportHandle) else {
                return;
            };
            let v = walk_chain(&sim, $export, NetBufferList);
            lock(&sim.chimney).calls.push(ChimneyCall::$variant(v));
        }
    };
}

nbl_completion!(
    sim_send_complete,
    "NdisTcpOffloadSendComplete",
    SendComplete
);
crate::checker::processor_local! {
    /// Receive completion or indication calls running on this thread: the
    /// driver must never make one from inside another (rule 72).
    static RX_CALLS: std::cell::Cell<u32> = std::cell::Cell::new(0);
}

/// Enter a receive completion or indication call for the connections of
/// offload `handles`; reports a nested one, and one that overlaps a call
/// for the same connection on another processor (rule 72: serialized per
/// connection).
fn enter_rx_call(sim: &SimCore, export: &'static str, handles: &[usize]) {
    let (depth, me) = RX_CALLS.with(|d| (d.replace(d.get() + 1), d as *const _ as usize));
    if depth > 0 {
        sim.violation(Violation::BadArgument {
            export,
            detail: "made from inside another receive completion or indication (rule 72)".into(),
        });
    }
    let mut log = lock(&sim.chimney);
    for &h in handles {
        let e = log.rx_busy.entry(h).or_insert((me, 0));
        if e.0 != me {
            let detail = format!(
                "overlaps a receive completion or indication for offload handle {h:#x} on \
                 another processor (rule 72: serialized per connection)"
            );
            drop(log);
            sim.violation(Violation::BadArgument { export, detail });
            log = lock(&sim.chimney);
            continue;
        }
        e.1 += 1;
    }
}

fn leave_rx_call(sim: &SimCore, handles: &[usize]) {
    let me = RX_CALLS.with(|d| {
        d.set(d.get().saturating_sub(1));
        d as *const _ as usize
    });
    let mut log = lock(&sim.chimney);
    for h in handles {
        if let Some(e) = log.rx_busy.get_mut(h)
            && e.0 == me
        {
            e.1 -= 1;
            if e.1 == 0 {
                log.rx_busy.remove(h);
            }
        }
    }
}

/// The offload handles of the connections the requests in `done` were
/// posted to (those the harness noted), each once; the requests are
/// forgotten.
fn request_handles(sim: &SimCore, done: &[(usize, NDIS_STATUS)]) -> Vec<usize> {
    let mut log = lock(&sim.chimney);
    let mut out = Vec::new();
    for (p, _) in done {
        if let Some(ctx) = log.receive_posts.remove(p)
            && let Some(&h) = log.live_objects.get(&ctx)
            && !out.contains(&h)
        {
            out.push(h);
        }
    }
    out
}

unsafe extern "system" fn sim_receive_complete(
    NdisMiniportHandle: NDIS_HANDLE,
    NetBufferList: PNET_BUFFER_LIST,
) {
    const E: &str = "NdisTcpOffloadReceiveComplete";
    check_irql_max(E, DISPATCH_LEVEL);
    check_no_lock_held(E);
    crate::checker::host_at_work();
    let Some(sim) = sim_for(E, NdisMiniportHandle) else {
        return;
    };
    let v = walk_chain(&sim, E, NetBufferList);
    let handles = request_handles(&sim, &v);
    enter_rx_call(&sim, E, &handles);
    lock(&sim.chimney)
        .calls
        .push(ChimneyCall::ReceiveComplete(v));
    // The host may post receive requests from inside this call.
    let hook = lock(&sim.on_receive_complete).take();
    if let Some(mut f) = hook {
        f();
        let mut slot = lock(&sim.on_receive_complete);
        if slot.is_none() {
            *slot = Some(f);
        }
    }
    leave_rx_call(&sim, &handles);
}
nbl_completion!(
    sim_forward_complete,
    "NdisTcpOffloadForwardComplete",
    ForwardComplete
);

unsafe extern "system" fn sim_disconnect_complete(
    NdisMiniportHandle: NDIS_HANDLE,
    NetBufferList: PNET_BUFFER_LIST,
) {
    const E: &str = "NdisTcpOffloadDisconnectComplete";
    check_irql_max(E, DISPATCH_LEVEL);
    check_no_lock_held(E);
    crate::checker::host_at_work();
    let Some(sim) = sim_for(E, NdisMiniportHandle) else {
        return;
    };
    if NetBufferList.is_null() {
        return;
    }
    // SAFETY: as in walk_chain.
    let (status, next) = unsafe {
        (
            (*NetBufferList).Status,
            (*NetBufferList).NetBufferListHeader.NetBufferListData.Next,
        )
    };
    if !next.is_null() {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: "disconnect completion carries more than one NBL".into(),
        });
    }
    tracker::complete(&sim, NetBufferList as usize, E);
    lock(&sim.chimney)
        .calls
        .push(ChimneyCall::DisconnectComplete(
            NetBufferList as usize,
            status,
        ));
}

unsafe extern "system" fn sim_event(
    NdisOffloadHandle: NDIS_HANDLE,
    EventType: ULONG,
    EventSpecificInformation: ULONG,
) {
    const E: &str = "NdisTcpOffloadEventHandler";
    // The host's event handler is host code: another processor may run
    // between the driver's call and the event's record.
    crate::checker::host_at_work();
    check_irql_dispatch(E);
    check_no_lock_held(E);
    if let Some(sim) = crate::state::current() {
        let handle = NdisOffloadHandle as usize;
        if !lock(&sim.chimney).live_handles.contains(&handle) {
            // Rule 91: the event names a connection by the handle NDIS
            // stored in its block, while it is offloaded.
            sim.violation(Violation::BadArgument {
                export: E,
                detail: format!("event {EventType} for offload handle {handle:#x}, not offloaded"),
            });
        }
        lock(&sim.chimney).calls.push(ChimneyCall::Event {
            offload_handle: NdisOffloadHandle as usize,
            event: EventType,
            info: EventSpecificInformation,
        });
    }
}

unsafe extern "system" fn sim_receive_indicate(
    NdisOffloadHandle: NDIS_HANDLE,
    NetBufferList: PNET_BUFFER_LIST,
    Status: NDIS_STATUS,
    BytesConsumed: PULONG,
) -> NDIS_STATUS {
    let sim = crate::state::current();
    let handles = [NdisOffloadHandle as usize];
    if let Some(sim) = &sim {
        enter_rx_call(sim, "NdisTcpOffloadReceiveHandler", &handles);
    }
    // SAFETY: the driver's arguments, passed on unchanged.
    let st = unsafe { receive_indicate(NdisOffloadHandle, NetBufferList, Status, BytesConsumed) };
    if let Some(sim) = &sim {
        leave_rx_call(sim, &handles);
    }
    st
}

unsafe fn receive_indicate(
    NdisOffloadHandle: NDIS_HANDLE,
    NetBufferList: PNET_BUFFER_LIST,
    Status: NDIS_STATUS,
    BytesConsumed: PULONG,
) -> NDIS_STATUS {
    const E: &str = "NdisTcpOffloadReceiveHandler";
    check_irql_dispatch(E);
    check_no_lock_held(E);
    let consumed = |n: u32| {
        if !BytesConsumed.is_null() {
            // SAFETY: the driver passes a writable ULONG.
            unsafe { *BytesConsumed = n };
        }
    };
    consumed(0);
    let Some(sim) = crate::state::current() else {
        return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
    };
    let handle = NdisOffloadHandle as usize;
    let (live, mode) = {
        let log = lock(&sim.chimney);
        (log.live_handles.contains(&handle), log.receive_mode)
    };
    if !live {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: format!(
                "offload handle {handle:#x} is not offloaded (its initiate completion has not \
                 returned, or it is being terminated)"
            ),
        });
    }
    if NetBufferList.is_null() || Status != NDIS_STATUS_SUCCESS {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: format!("NBL {:#x}, status {Status:#x}", NetBufferList as usize),
        });
        return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
    }
    // SAFETY: the driver indicates one of its NBLs; the link is readable.
    let (next, nb) = unsafe {
        (
            (*NetBufferList).NetBufferListHeader.NetBufferListData.Next,
            (*NetBufferList)
                .NetBufferListHeader
                .NetBufferListData
                .FirstNetBuffer,
        )
    };
    // SAFETY: as above.
    let multi = !nb.is_null() && !unsafe { (*nb).NetBufferHeader.NetBufferData.Next }.is_null();
    if !next.is_null() || nb.is_null() || multi {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: "an indication must be one NBL with one NET_BUFFER (rule 73)".into(),
        });
    }
    let status = match mode {
        ReceiveMode::Accept => NDIS_STATUS_SUCCESS,
        ReceiveMode::Refuse => NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED,
        ReceiveMode::Partial(_) => NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
    };
    let data = if status == NDIS_STATUS_SUCCESS {
        super::nblpool::lend(&sim, NetBufferList, super::nblpool::LentTo::Chimney)
            .into_iter()
            .next()
            .unwrap_or_default()
    } else {
        let all = if nb.is_null() {
            Vec::new()
        } else {
            // SAFETY: the NET_BUFFER of the NBL the driver indicates.
            unsafe { crate::builders::read_net_buffer(nb) }
        };
        match mode {
            ReceiveMode::Partial(n) => {
                let n = (n as usize).min(all.len().saturating_sub(1));
                consumed(n as u32);
                all[..n].to_vec()
            }
            _ => Vec::new(),
        }
    };
    lock(&sim.chimney).calls.push(ChimneyCall::ReceiveIndicate {
        offload_handle: handle,
        data,
        status,
    });
    status
}

/// Track which offload handles receive indications may name. At an
/// initiate, every block that succeeded with a new context maps that
/// context value to the block's handle; at a terminate, the context in
/// each block's slot names the object whose handle dies.
fn track_live_handles(sim: &SimCore, initiate: bool, blocks: &[ScannedBlock]) {
    let mut log = lock(&sim.chimney);
    let log = &mut *log;
    for b in blocks {
        let ok = b.status == NDIS_STATUS_SUCCESS || b.status == NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS;
        if b.context == 0 || !ok {
            continue;
        }
        if initiate {
            if b.handle != 0 {
                log.live_objects.insert(b.context, b.handle);
                log.live_handles.insert(b.handle);
            }
        } else if let Some(h) = log.live_objects.remove(&b.context) {
            log.live_handles.remove(&h);
        }
    }
}

/// What [`scan_tree`] records of each block.
struct ScannedBlock {
    handle: usize,
    status: NDIS_STATUS,
    /// The value in `*MiniportOffloadContext` (0 for a placeholder).
    context: usize,
}

/// A cheap hasher for handle values (addresses and small tags): one
/// multiply, no per-process keys.
#[derive(Default, Clone, Copy)]
pub struct HandleHasher(u64);

impl std::hash::Hasher for HandleHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, v: usize) {
        self.0 = (v as u64 ^ self.0)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

/// The set type of [`ChimneyLog::live_handles`].
pub type HandleSet = std::collections::HashSet<usize, std::hash::BuildHasherDefault<HandleHasher>>;

/// The table the simulated NDIS returns for a TCP chimney adapter.
pub fn tcp_event_handlers() -> NDIS_TCP_OFFLOAD_EVENT_HANDLERS {
    NDIS_TCP_OFFLOAD_EVENT_HANDLERS {
        Header: NDIS_OBJECT_HEADER {
            Type: NdisTcpChimneyOffload as u8,
            Revision: NDIS_OBJECT_TCP_OFFLOAD_REVISION_1,
            Size: NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1,
        },
        NdisTcpOffloadEventHandler: Some(sim_event),
        NdisTcpOffloadReceiveHandler: Some(sim_receive_indicate),
        NdisTcpOffloadSendComplete: Some(sim_send_complete),
        NdisTcpOffloadReceiveComplete: Some(sim_receive_complete),
        NdisTcpOffloadDisconnectComplete: Some(sim_disconnect_complete),
        NdisTcpOffloadForwardComplete: Some(sim_forward_complete),
    }
}

/// `NdisMGetOffloadHandlers` (ndis.sys).
///
/// # Safety
/// NDIS contract: a valid out pointer.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisMGetOffloadHandlers(
    NdisMiniportHandle: NDIS_HANDLE,
    ChimneyType: NDIS_CHIMNEY_OFFLOAD_TYPE,
    OffloadHandlers: *mut PNDIS_OFFLOAD_EVENT_HANDLERS,
) -> NDIS_STATUS {
    check_irql_max("NdisMGetOffloadHandlers", PASSIVE_LEVEL);
    let Some(sim) = sim_for("NdisMGetOffloadHandlers", NdisMiniportHandle) else {
        return STATUS_NOT_SUPPORTED;
    };
    sim.record_call("NdisMGetOffloadHandlers");
    if OffloadHandlers.is_null() {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    let mode = sim.table_mode.load(Ordering::SeqCst);
    if ChimneyType != NdisTcpChimneyOffload || mode == TableMode::NotSupported as u8 {
        return STATUS_NOT_SUPPORTED;
    }
    let block = NdisMiniportHandle.cast::<AdapterBlock>();
    // SAFETY: a registered adapter handle is an AdapterBlock the harness owns.
    unsafe {
        let t = &mut (*block).tcp_handlers;
        *t = tcp_event_handlers();
        if mode == TableMode::BadRevision as u8 {
            t.Header.Revision = 2;
        }
        if mode == TableMode::ShortSize as u8 {
            t.Header.Size = NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1 - 8;
        }
        *OffloadHandlers = (t as *mut NDIS_TCP_OFFLOAD_EVENT_HANDLERS).cast();
    }
    NDIS_STATUS_SUCCESS
}

/// Every block of a tree that carries a `NetBufferListChain`, with the NBLs
/// of that chain, in depth-first order. Cheap on large trees (no per-block
/// bookkeeping): a cyclic tree (a test of rule 19) is cut off by a step
/// limit, and an NBL reached twice is reported once.
pub fn tree_chains(
    root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
) -> Vec<(PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Vec<usize>)> {
    scan_tree(root, None)
}

/// As [`tree_chains`], also collecting every block's (`NdisOffloadHandle`,
/// `Status`) into `handles` when given: one pass over the tree's memory.
fn scan_tree(
    root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    mut handles: Option<&mut Vec<ScannedBlock>>,
) -> Vec<(PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Vec<usize>)> {
    const MAX_STEPS: usize = 1 << 22;
    let mut out = Vec::new();
    let mut seen_nbls = std::collections::HashSet::new();
    let mut stack = vec![root];
    let mut steps = 0usize;
    while let Some(b) = stack.pop() {
        steps += 1;
        if b.is_null() || steps > MAX_STEPS {
            continue;
        }
        // SAFETY: the tree is the harness's own memory (the driver has
        // either not been given it yet or has just handed it back).
        let (chain, next, dep) = unsafe {
            (
                (*b).NetBufferListChain,
                (*b).NextBlock,
                (*b).DependentBlockList,
            )
        };
        if let Some(h) = handles.as_deref_mut() {
            // SAFETY: as above; a non-NULL context pointer points at the
            // host's slot.
            h.push(unsafe {
                let slot = (*b).MiniportOffloadContext;
                ScannedBlock {
                    handle: (*b).NdisOffloadHandle as usize,
                    status: (*b).Status,
                    context: if slot.is_null() { 0 } else { *slot as usize },
                }
            });
        }
        if !chain.is_null() {
            let mut nbls = Vec::new();
            let mut p = chain;
            while !p.is_null() && nbls.len() < 1 << 20 && seen_nbls.insert(p as usize) {
                nbls.push(p as usize);
                // SAFETY: an NBL the simulator built.
                p = unsafe { (*p).NetBufferListHeader.NetBufferListData.Next };
            }
            out.push((b, nbls));
        }
        stack.push(next);
        stack.push(dep);
    }
    out
}

/// Send data handed over with an initiate: the host lends the chain's NBLs
/// to the driver for each block that succeeds; a failed block's data stays
/// the host's (rule 25), so it is released from tracking here. A block
/// that succeeded while something below it failed (PARTIAL_SUCCESS) did
/// succeed: its connection is offloaded and owns the data.
fn settle_offloaded_send_data(
    sim: &SimCore,
    chains: Vec<(PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Vec<usize>)>,
) {
    for (b, nbls) in chains {
        // SAFETY: as in `tree_chains`.
        let status = unsafe { (*b).Status };
        if status != NDIS_STATUS_SUCCESS && status != NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS {
            for p in nbls {
                tracker::retire(sim, p);
            }
        }
    }
}

/// Send data a terminate hands back: every NBL in the `NetBufferListChain`
/// of every block goes back to the host. Each must be one the driver still
/// owned (not completed, not handed back twice); the tracker reports
/// anything else.
fn handed_back(
    sim: &SimCore,
    chains: Vec<(PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Vec<usize>)>,
) -> Vec<usize> {
    const EXPORT: &str = "NdisMTerminateOffloadComplete (NetBufferListChain)";
    let mut out = Vec::new();
    for (_, nbls) in chains {
        for p in nbls {
            tracker::complete(sim, p, EXPORT);
            out.push(p);
        }
    }
    out
}

fn state_complete(export: &'static str, h: NDIS_HANDLE, root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST) {
    let started = std::time::Instant::now();
    check_irql_max(export, DISPATCH_LEVEL);
    check_no_lock_held(export);
    let Some(sim) = sim_for(export, h) else {
        return;
    };
    let initiate = export == "NdisMInitiateOffloadComplete";
    if initiate || export == "NdisMTerminateOffloadComplete" {
        // One pass over the tree (read now, before the hook may revoke it):
        // its send chains and its blocks' offload handles. From an
        // initiate's completion on, the driver may indicate on the new
        // connections (rule 29; it is inside this call until it returns);
        // a terminated connection's handle is dead from its completion on.
        let mut handles = Vec::new();
        let chains = scan_tree(root, Some(&mut handles));
        track_live_handles(&sim, initiate, &handles);
        if initiate {
            settle_offloaded_send_data(&sim, chains);
        } else {
            let back = handed_back(&sim, chains);
            if !back.is_empty() {
                lock(&sim.chimney)
                    .calls
                    .push(ChimneyCall::SendHandedBack(back));
            }
            check_nothing_outstanding(&sim, export, &handles);
        }
    }
    tracker::complete(&sim, root as usize, export);
    lock(&sim.chimney).calls.push(ChimneyCall::StateComplete {
        export,
        root: root as usize,
    });
    sim.tree_bookkeeping_ns.fetch_add(
        started.elapsed().as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    // The tree is the host's again: the harness's hook inspects it now.
    let hook = lock(&sim.on_state_complete).take();
    if let Some(mut f) = hook {
        f(export, root);
        *lock(&sim.on_state_complete) = Some(f);
    }
}

/// `NdisMInitiateOffloadComplete` (ndis.sys).
#[unsafe(no_mangle)]
pub extern "system" fn NdisMInitiateOffloadComplete(
    NdisMiniportHandle: NDIS_HANDLE,
    OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
) {
    state_complete(
        "NdisMInitiateOffloadComplete",
        NdisMiniportHandle,
        OffloadBlockList,
    );
}

/// `NdisMTerminateOffloadComplete` (ndis.sys).
#[unsafe(no_mangle)]
pub extern "system" fn NdisMTerminateOffloadComplete(
    NdisMiniportHandle: NDIS_HANDLE,
    OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
) {
    state_complete(
        "NdisMTerminateOffloadComplete",
        NdisMiniportHandle,
        OffloadBlockList,
    );
}

/// `NdisMUpdateOffloadComplete` (ndis.sys).
#[unsafe(no_mangle)]
pub extern "system" fn NdisMUpdateOffloadComplete(
    NdisMiniportHandle: NDIS_HANDLE,
    OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
) {
    state_complete(
        "NdisMUpdateOffloadComplete",
        NdisMiniportHandle,
        OffloadBlockList,
    );
}

/// `NdisMInvalidateOffloadComplete` (ndis.sys).
#[unsafe(no_mangle)]
pub extern "system" fn NdisMInvalidateOffloadComplete(
    NdisMiniportHandle: NDIS_HANDLE,
    OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
) {
    state_complete(
        "NdisMInvalidateOffloadComplete",
        NdisMiniportHandle,
        OffloadBlockList,
    );
}

/// `NdisMQueryOffloadStateComplete` (ndis.sys).
#[unsafe(no_mangle)]
pub extern "system" fn NdisMQueryOffloadStateComplete(
    NdisMiniportHandle: NDIS_HANDLE,
    OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
) {
    state_complete(
        "NdisMQueryOffloadStateComplete",
        NdisMiniportHandle,
        OffloadBlockList,
    );
}

/// `NdisMOffloadEventIndicate` (ndis.sys). DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisMOffloadEventIndicate(
    NdisMiniportHandle: NDIS_HANDLE,
    OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    IndicationCode: ULONG,
) {
    const E: &str = "NdisMOffloadEventIndicate";
    check_irql_dispatch(E);
    check_no_lock_held(E);
    let Some(sim) = sim_for(E, NdisMiniportHandle) else {
        return;
    };
    let bad = |detail: String| sim.violation(Violation::BadArgument { export: E, detail });
    if IndicationCode != NeighborReachabilityQuery {
        bad(format!("indication code {IndicationCode}"));
        return;
    }
    if OffloadBlockList.is_null() {
        bad("NeighborReachabilityQuery without a block".into());
        return;
    }
    // SAFETY: the driver passes one block list immediately followed by
    // the neighbor's const, cached and delegated structures (spec §6.14),
    // valid for the call; each is read where its predecessor's length says.
    unsafe {
        let b = &*OffloadBlockList;
        if b.Header.Type != NeighborOffloadState
            || usize::from(b.Header.Size) != size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>()
            || !b.NextBlock.is_null()
            || !b.DependentBlockList.is_null()
            || b.Status != NDIS_STATUS_SUCCESS
        {
            bad(format!(
                "query block: type {}, size {}, links {:p} {:p}, status {:#x}",
                b.Header.Type, b.Header.Size, b.NextBlock, b.DependentBlockList, b.Status
            ));
            return;
        }
        let base = OffloadBlockList.cast::<u8>();
        let konst = base.add(usize::from(b.Header.Size));
        let kl = (*konst.cast::<OFFLOAD_STATE_HEADER>()).Length as usize;
        let cached = konst.add(kl);
        let cl = (*cached.cast::<OFFLOAD_STATE_HEADER>()).Length as usize;
        let delegated = cached.add(cl);
        let dl = (*delegated.cast::<OFFLOAD_STATE_HEADER>()).Length as usize;
        if kl != size_of::<NEIGHBOR_OFFLOAD_STATE_CONST>()
            || cl != size_of::<NEIGHBOR_OFFLOAD_STATE_CACHED>()
            || dl != size_of::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>()
        {
            bad(format!("query structure lengths {kl}, {cl}, {dl}"));
            return;
        }
        let c = cached.cast::<NEIGHBOR_OFFLOAD_STATE_CACHED>();
        let d = delegated.cast::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>();
        let all = (*c).DlDestinationAddress;
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&all[..6]);
        let answer = lock(&sim.chimney).neighbor_answer;
        let host_delta = (*c).HostReachabilityDelta;
        let nic_delta = (*d).NicReachabilityDelta;
        (*c).HostReachabilityDelta = answer;
        lock(&sim.chimney).calls.push(ChimneyCall::NeighborQuery {
            dl_destination: mac,
            host_delta,
            nic_delta,
            answer,
        });
    }
}
