//! The ten chimney handlers registered in MiniportSetOptions, and the
//! adapter's deferred-completion machinery (a timer that runs at
//! DISPATCH_LEVEL and completes queued requests with no driver lock held).
//!
//! State operations are queued by the handler and carried out from the
//! completion timer by the `offload` walk, then completed with the same root;
//! terminated objects are released only after that completion returns.
//! Sends run through `send.rs`; received data is held and indicated by
//! `receive.rs`. Until posted receive buffers are filled, receive requests,
//! forwards and disconnects return PENDING and complete with
//! `NDIS_STATUS_REQUEST_ABORTED`. Nothing is ever completed inside the call
//! that received it.

use super::adapter::Adapter;
use crate::ffi::imports::{
    NdisMInitiateOffloadComplete, NdisMInvalidateOffloadComplete, NdisMQueryOffloadStateComplete,
    NdisMTerminateOffloadComplete, NdisMUpdateOffloadComplete,
};
use crate::ffi::*;
use crate::ndis::NdisHandle;
use crate::ndis::clock;
use crate::ndis::nbl::{self, NblQueue};
use crate::ndis::tree::BlockRef;
use crate::offload::walk::{Op, Walk};
use core::sync::atomic::Ordering;

/// Which state operation a queued block list belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum StateOp {
    Initiate = 1,
    Terminate = 2,
    Update = 3,
    Invalidate = 4,
    Query = 5,
}

/// Tag bit of a queued terminate whose connections are marked uploading.
const MARKED: usize = 1 << 8;

impl StateOp {
    fn from_tag(t: usize) -> Option<Self> {
        Some(match t & !MARKED {
            1 => StateOp::Initiate,
            2 => StateOp::Terminate,
            3 => StateOp::Update,
            4 => StateOp::Invalidate,
            5 => StateOp::Query,
            _ => return None,
        })
    }
}

/// Which data-path request a queued NBL belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum IoOp {
    Send = 1,
    Receive = 2,
    Disconnect = 3,
    Forward = 4,
    /// A send whose status and byte count are already set.
    SendDone = 5,
    /// A disconnect whose status is already set.
    DisconnectDone = 6,
    /// A receive request whose status and byte count are already set.
    ReceiveDone = 7,
}

/// Block-list roots waiting for completion, linked through the root block's
/// `MiniportReserved[0]` (the field exists for exactly this), tag in `[1]`.
pub struct BlockQueue {
    head: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    tail: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
}

// SAFETY: holds pointers to block lists the driver owns until completion;
// used under the adapter's deferred lock.
unsafe impl Send for BlockQueue {}

impl BlockQueue {
    const fn new() -> Self {
        BlockQueue {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
        }
    }

    /// # Safety
    /// `root` must be a block list NDIS gave us and not yet completed.
    unsafe fn push(&mut self, root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, op: StateOp) {
        // SAFETY: caller contract: we own MiniportReserved of the root.
        unsafe {
            (*root).MiniportReserved = [core::ptr::null_mut(), op as usize as PVOID];
            if self.tail.is_null() {
                self.head = root;
            } else {
                (*self.tail).MiniportReserved[0] = root.cast();
            }
        }
        self.tail = root;
    }

    /// The first root, its operation and whether it is a marked terminate.
    fn pop(&mut self) -> Option<(PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Option<StateOp>, bool)> {
        if self.head.is_null() {
            return None;
        }
        let root = self.head;
        // SAFETY: queued roots are ours until completed.
        let (next, tag) = unsafe {
            (
                (*root).MiniportReserved[0].cast(),
                (*root).MiniportReserved[1] as usize,
            )
        };
        self.head = next;
        if self.head.is_null() {
            self.tail = core::ptr::null_mut();
        }
        Some((root, StateOp::from_tag(tag), tag & MARKED != 0))
    }

    /// Move everything in `other` to the end of this queue.
    fn append(&mut self, mut other: BlockQueue) {
        while let Some((root, op, marked)) = other.pop() {
            let tag = op.map_or(0, |o| o as usize) | if marked { MARKED } else { 0 };
            // SAFETY: a root we own, moved from one queue to the other.
            unsafe {
                (*root).MiniportReserved = [core::ptr::null_mut(), tag as PVOID];
                if self.tail.is_null() {
                    self.head = root;
                } else {
                    (*self.tail).MiniportReserved[0] = root.cast();
                }
            }
            self.tail = root;
        }
    }

    /// Call `mark` on every queued terminate not yet marked, and tag it
    /// marked; returns how many.
    fn mark_terminates(&mut self, mut mark: impl FnMut(PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST)) -> u32 {
        let mut n = 0;
        let mut p = self.head;
        while !p.is_null() {
            // SAFETY: queued roots are ours until completed.
            let (next, tag) = unsafe {
                (
                    (*p).MiniportReserved[0].cast(),
                    (*p).MiniportReserved[1] as usize,
                )
            };
            if tag == StateOp::Terminate as usize {
                mark(p);
                // SAFETY: as above.
                unsafe { (*p).MiniportReserved[1] = (tag | MARKED) as PVOID };
                n += 1;
            }
            p = next;
        }
        n
    }
}

/// Everything the completion timer will complete.
pub struct Deferred {
    blocks: BlockQueue,
    nbls: NblQueue,
    /// Roots a drain has taken and not yet carried out, in order (still
    /// visible, so their terminates can be marked).
    draining: BlockQueue,
    /// The unmarked terminate being walked right now (NULL: none).
    walking: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    /// A run of the completion timer is completing what it took: another
    /// run (the timer set again and fired on another processor) only sets
    /// `again` and leaves, so completions keep their queued order (rule 46:
    /// a terminate after the I/O queued before it).
    running: bool,
    /// Work was queued for a run that found `running` set.
    again: bool,
}

impl Deferred {
    pub const fn new() -> Self {
        Deferred {
            blocks: BlockQueue::new(),
            nbls: NblQueue::new(),
            draining: BlockQueue::new(),
            walking: core::ptr::null_mut(),
            running: false,
            again: false,
        }
    }
}

impl Default for Deferred {
    fn default() -> Self {
        Self::new()
    }
}

fn queue_state_op(ctx: NDIS_HANDLE, root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, op: StateOp) {
    // SAFETY: NDIS passes our live context.
    let Some(adapter) = (unsafe { Adapter::from_context(ctx) }) else {
        return;
    };
    if root.is_null() {
        return;
    }
    {
        let mut d = adapter.deferred.lock();
        // SAFETY: NDIS handed us this root; it is ours until we complete it.
        unsafe { d.blocks.push(root, op) };
        if op == StateOp::Terminate {
            adapter.unmarked_terminates.fetch_add(1, Ordering::AcqRel);
        }
    }
    adapter.kick_completions();
}

/// Mark the connections of every terminate that is queued or being walked
/// and not yet marked (rules 52, 61: from the terminate call on, their sends
/// are refused with `NDIS_STATUS_UPLOAD_IN_PROGRESS`, their segments go up
/// unprocessed, and nothing more is transmitted or indicated on them).
///
/// Called on entry to every data-path path that acts on a connection
/// (sends, abortive disconnects, received frames, transmit-ready, the ACK
/// timer, indications, the transmit-wait list), with no driver lock held. Costs one atomic load
/// when nothing is pending; the terminate handler itself only queues the
/// tree, so an upload nobody races pays for no extra pass over the tree.
pub fn mark_pending_terminates(adapter: &Adapter) {
    if adapter.unmarked_terminates.load(Ordering::Acquire) == 0 {
        return;
    }
    let Some(dp) = adapter.data.as_ref() else {
        return;
    };
    let mark = |root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST| {
        // SAFETY: a queued (or being walked) terminate root is ours until
        // completed; the walk does not write the links or context slots
        // this pass reads.
        if let Some(b) = unsafe { BlockRef::new(root) } {
            super::send::begin_upload(dp, b);
        }
    };
    let mut d = adapter.deferred.lock();
    let mut n = d.blocks.mark_terminates(mark);
    n += d.draining.mark_terminates(mark);
    if !d.walking.is_null() {
        mark(d.walking);
        d.walking = core::ptr::null_mut();
        n += 1;
    }
    adapter.unmarked_terminates.fetch_sub(n, Ordering::AcqRel);
}

macro_rules! state_handler {
    ($(#[$doc:meta])* $name:ident, $op:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// NDIS contract: live adapter context, a block list valid until completion.
        pub unsafe extern "system" fn $name(
            MiniportAdapterContext: NDIS_HANDLE,
            OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
        ) {
            queue_state_op(MiniportAdapterContext, OffloadBlockList, $op);
        }
    };
}

state_handler!(
    /// MiniportInitiateOffload: queue the tree; completion comes from the timer.
    miniport_initiate_offload, StateOp::Initiate);
state_handler!(
    /// MiniportTerminateOffload: queue the tree. Its connections count as
    /// uploading from now on (rules 52, 61): the data path marks them the
    /// first time it acts while the terminate is pending
    /// ([`mark_pending_terminates`]); the upload itself runs from the
    /// completion timer.
    miniport_terminate_offload, StateOp::Terminate);
state_handler!(
    /// MiniportUpdateOffload.
    miniport_update_offload, StateOp::Update);
state_handler!(
    /// MiniportInvalidateOffload.
    miniport_invalidate_offload, StateOp::Invalidate);
state_handler!(
    /// MiniportQueryOffload.
    miniport_query_offload, StateOp::Query);

fn queue_io(ctx: NDIS_HANDLE, chain: PNET_BUFFER_LIST, op: IoOp) -> NDIS_STATUS {
    // SAFETY: NDIS passes our live context.
    let Some(adapter) = (unsafe { Adapter::from_context(ctx) }) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    if adapter.offload_handlers.is_none() {
        // Chimney was never advertised: NDIS cannot legitimately call us, and
        // without the table we could never complete a pended request.
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    let mut q = adapter.deferred.lock();
    let mut p = chain;
    while !p.is_null() {
        // SAFETY: the host hands us the chain; each NBL is ours until completed.
        unsafe {
            let next = nbl::next(p);
            nbl::set_next(p, core::ptr::null_mut());
            q.nbls.push(p, op as usize);
            p = next;
            // A disconnect request is exactly one NBL; ignore anything linked after it.
            if op == IoOp::Disconnect {
                break;
            }
        }
    }
    drop(q);
    adapter.kick_completions();
    NDIS_STATUS_PENDING
}

/// Queue send NBLs whose status is already set, for the completion timer.
pub fn defer_send_completions(adapter: &Adapter, done: crate::ndis::sendq::Completions) {
    defer_done(adapter, done, IoOp::SendDone);
}

/// Queue receive requests whose status is already set, for the completion
/// timer.
pub fn defer_receive_completions(adapter: &Adapter, done: crate::ndis::sendq::Completions) {
    defer_done(adapter, done, IoOp::ReceiveDone);
}

fn defer_done(adapter: &Adapter, done: crate::ndis::sendq::Completions, op: IoOp) {
    if done.is_empty() {
        return;
    }
    let mut q = DeferredIo(adapter.deferred.lock());
    q.push_done(done, op);
    drop(q);
    adapter.kick_completions();
}

/// The deferred queue, held, so that a caller can queue completions in an
/// order no other processor can come between: it may take a connection's
/// lock while it holds this one (the lock order is deferred queue, then
/// connection; nothing takes them the other way round). Set the
/// completion timer ([`Adapter::kick_completions`]) once it is dropped.
pub struct DeferredIo<'a>(crate::ndis::spinlock::SpinGuard<'a, Deferred>);

impl DeferredIo<'_> {
    /// Hold the adapter's deferred queue.
    pub fn lock(adapter: &Adapter) -> DeferredIo<'_> {
        DeferredIo(adapter.deferred.lock())
    }

    fn push_done(&mut self, done: crate::ndis::sendq::Completions, op: IoOp) {
        let mut p = done.head();
        while !p.is_null() {
            // SAFETY: the chain holds NBLs we own, each completed exactly once.
            unsafe {
                let next = nbl::next(p);
                nbl::set_next(p, core::ptr::null_mut());
                self.0.nbls.push(p, op as usize);
                p = next;
            }
        }
    }

    /// Queue send NBLs whose status is already set.
    pub fn sends(&mut self, done: crate::ndis::sendq::Completions) {
        self.push_done(done, IoOp::SendDone);
    }

    /// Queue the disconnect request `request` to complete with `status`.
    ///
    /// # Safety
    /// `request` must be a disconnect NBL we own, in no other list,
    /// completed exactly once.
    pub unsafe fn disconnect(&mut self, request: PNET_BUFFER_LIST, status: NDIS_STATUS) {
        // SAFETY: caller contract; the NBL joins exactly one list.
        unsafe {
            nbl::set_status(request, status);
            nbl::set_next(request, core::ptr::null_mut());
            self.0.nbls.push(request, IoOp::DisconnectDone as usize);
        }
    }
}

/// MiniportTcpOffloadReceive: see [`super::receive::post_receive`].
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_tcp_offload_receive(
    MiniportAdapterContext: NDIS_HANDLE,
    MiniportOffloadContext: PVOID,
    NetBufferList: PNET_BUFFER_LIST,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our live context.
    let Some(adapter) = (unsafe { Adapter::from_context(MiniportAdapterContext) }) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    if adapter.offload_handlers.is_none() || adapter.data.is_none() {
        return queue_io(MiniportAdapterContext, NetBufferList, IoOp::Receive);
    }
    // SAFETY: NDIS contract: the context slot and a chain that is ours now.
    unsafe { super::receive::post_receive(adapter, MiniportOffloadContext, NetBufferList) };
    NDIS_STATUS_PENDING
}

/// MiniportTcpOffloadDisconnect.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_tcp_offload_disconnect(
    MiniportAdapterContext: NDIS_HANDLE,
    MiniportOffloadContext: PVOID,
    NetBufferList: PNET_BUFFER_LIST,
    Flags: ULONG,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our live context.
    let adapter = unsafe { Adapter::from_context(MiniportAdapterContext) };
    if let Some(adapter) = adapter
        && adapter.offload_handlers.is_some()
        && !NetBufferList.is_null()
    {
        if Flags & TCP_DISCONNECT_ABORTIVE_CLOSE != 0 {
            // SAFETY: NDIS contract: the slot and the request NBL.
            if unsafe {
                super::send::abortive_disconnect(adapter, MiniportOffloadContext, NetBufferList)
            } {
                return NDIS_STATUS_PENDING;
            }
        } else if Flags & TCP_DISCONNECT_GRACEFUL_CLOSE != 0 {
            // SAFETY: as above.
            unsafe {
                super::close::graceful_disconnect(adapter, MiniportOffloadContext, NetBufferList)
            };
            return NDIS_STATUS_PENDING;
        }
    }
    // No flag, no such connection for an abortive close, or chimney never
    // advertised: the request fails (from the completion timer).
    queue_io(MiniportAdapterContext, NetBufferList, IoOp::Disconnect)
}

/// Queue a disconnect request whose outcome is known for the completion
/// timer (never completed inside the handler).
///
/// # Safety
/// `request` is a disconnect NBL we own, completed exactly once.
pub unsafe fn defer_disconnect(adapter: &Adapter, request: PNET_BUFFER_LIST, status: NDIS_STATUS) {
    let mut q = DeferredIo::lock(adapter);
    // SAFETY: caller contract.
    unsafe { q.disconnect(request, status) };
    drop(q);
    adapter.kick_completions();
}

/// [`defer_disconnect`] each request of `list` with SUCCESS, in order:
/// abortive disconnects that waited for the receive requests they ended.
pub fn defer_disconnects(adapter: &Adapter, list: crate::ndis::sendq::Completions) {
    let mut p = list.head();
    let mut guard = list.len();
    while !p.is_null() && guard > 0 {
        guard -= 1;
        // SAFETY: each NBL of `list` is a disconnect request we own, in that
        // list only; its link is read before `defer_disconnect` resets it.
        unsafe {
            let next = nbl::next(p);
            defer_disconnect(adapter, p, NDIS_STATUS_SUCCESS);
            p = next;
        }
    }
}

/// MiniportTcpOffloadForward.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_tcp_offload_forward(
    MiniportAdapterContext: NDIS_HANDLE,
    MiniportOffloadContext: PVOID,
    NetBufferList: PNET_BUFFER_LIST,
) -> NDIS_STATUS {
    // SAFETY: NDIS contract: the slot and a chain that is ours now.
    unsafe { super::forward::tag_chain(MiniportOffloadContext, NetBufferList) };
    // Processed from the completion timer (DISPATCH_LEVEL), in order.
    queue_io(MiniportAdapterContext, NetBufferList, IoOp::Forward)
}

/// Deepest tree the walk follows: neighbor → path → TCP.
const MAX_DEPTH: usize = 3;
/// Upper bound on blocks visited in one tree (stops a cyclic NextBlock chain).
const MAX_BLOCKS: usize = 1 << 20;

/// Write a status into every reachable block of a tree that this driver
/// cannot serve yet: placeholders of an initiate get SUCCESS, all else FAILURE.
///
/// # Safety
/// `root` must be a block list NDIS gave us and not yet completed.
unsafe fn fail_tree(root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, op: StateOp) {
    let mut stack: [PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST; MAX_DEPTH + 1] =
        [core::ptr::null_mut(); MAX_DEPTH + 1];
    let mut depth = 0usize;
    stack[0] = root;
    let mut visited = 0usize;
    loop {
        let b = stack.get(depth).copied().unwrap_or(core::ptr::null_mut());
        if b.is_null() || visited >= MAX_BLOCKS {
            if depth == 0 {
                return;
            }
            depth -= 1;
            continue;
        }
        visited += 1;
        // SAFETY: blocks reachable from the root belong to the tree NDIS gave us.
        unsafe {
            let placeholder = (*b).MiniportOffloadContext.is_null();
            (*b).Status = if op == StateOp::Initiate && placeholder {
                NDIS_STATUS_SUCCESS
            } else {
                NDIS_STATUS_FAILURE
            };
            if let Some(slot) = stack.get_mut(depth) {
                *slot = (*b).NextBlock;
            }
            let dep = (*b).DependentBlockList;
            if let Some(slot) = stack.get_mut(depth + 1).filter(|_| !dep.is_null()) {
                depth += 1;
                *slot = dep;
            }
        }
    }
}

fn complete_state_op(adapter: &Adapter, root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, op: StateOp) {
    let walk_op = match op {
        StateOp::Initiate => Op::Initiate,
        StateOp::Terminate => Op::Terminate,
        StateOp::Update => Op::Update,
        StateOp::Invalidate => Op::Invalidate,
        StateOp::Query => Op::Query,
    };
    let mut failed_sends = crate::ndis::sendq::Completions::new();
    let mut settled_receives = crate::ndis::sendq::Completions::new();
    let mut disconnects = crate::ndis::sendq::Completions::new();
    let mut aborts = crate::ndis::sendq::Completions::new();
    let mut held = crate::ndis::rxpool::NO_BUF;
    let mut faults = 0;
    match (&adapter.offload, &adapter.data) {
        (Some(table), Some(dp)) => {
            let now = clock::nic_ticks(adapter.tcp_params().ticks_per_second);
            let mut plane = super::send::Plane {
                dp,
                done: crate::ndis::sendq::Completions::new(),
                recv_done: crate::ndis::sendq::Completions::new(),
                disconnects: crate::ndis::sendq::Completions::new(),
                aborts: crate::ndis::sendq::Completions::new(),
                held: crate::ndis::rxpool::NO_BUF,
                faults: 0,
            };
            let mut t = table.lock();
            // SAFETY: NDIS gave us this tree; it stays ours until the
            // completion call below, after which nothing touches it.
            if let Some(b) = unsafe { BlockRef::new(root) } {
                Walk::new(&mut t, &mut plane, walk_op, now).run(b);
            }
            drop(t);
            failed_sends = plane.done.take();
            settled_receives = plane.recv_done.take();
            disconnects = plane.disconnects.take();
            aborts = plane.aborts.take();
            held = plane.held;
            faults = plane.faults;
        }
        // SAFETY: as above.
        _ => unsafe { fail_tree(root, op) },
    }
    // Walked (or failed): nothing needs to mark this tree any more, and
    // nothing may read it after the completion below.
    if op == StateOp::Terminate {
        walked(adapter, root);
    }
    // Sends that fail at upload go up before the terminate completes (rule 46).
    if !failed_sends.is_empty()
        && let Some(handlers) = adapter.offload_handlers
    {
        // SAFETY: NBLs we owned, statuses set, handed back once.
        unsafe { handlers.send_complete(adapter.handle, failed_sends.head()) };
    }
    // No receive indication or completion for a terminated connection may
    // still be running when the terminate completes (rule 47), nor when its
    // posted receives go back: one receive call at a time per connection
    // (rule 72). Uploaded, it starts no new one.
    if op == StateOp::Terminate
        && let Some(dp) = &adapter.data
    {
        super::receive::wait_for_indications(dp);
    }
    // So do the posted receives of uploaded connections (spec §4.2 step 3).
    if !settled_receives.is_empty()
        && let Some(handlers) = adapter.offload_handlers
    {
        // SAFETY: requests we owned, statuses and counts set, handed back once.
        unsafe { handlers.receive_complete(adapter.handle, settled_receives.head()) };
    }
    // And their graceful disconnects still pending, after their sends
    // (rule 82).
    if !disconnects.is_empty()
        && let Some(handlers) = adapter.offload_handlers
    {
        super::close::complete_all(adapter.handle, &handlers, disconnects);
    }
    // Abortive disconnects that waited behind those receives now follow
    // them, queued behind the sends they aborted (rule 80), and complete
    // with the late requests below.
    defer_disconnects(adapter, aborts);
    // Requests refused while the walk ran (posted on a connection it had
    // already uploaded) were queued after this run took the queue: they
    // complete before the terminate does (rule 46).
    if op == StateOp::Terminate {
        let late = adapter.deferred.lock().nbls.take();
        complete_io(adapter, late);
    }
    let h = adapter.handle.raw();
    // SAFETY: completing a request NDIS gave us, with the same root pointer;
    // nothing touches the tree afterwards (rule 17).
    unsafe {
        match op {
            StateOp::Initiate => NdisMInitiateOffloadComplete(h, root),
            StateOp::Terminate => NdisMTerminateOffloadComplete(h, root),
            StateOp::Update => NdisMUpdateOffloadComplete(h, root),
            StateOp::Invalidate => NdisMInvalidateOffloadComplete(h, root),
            StateOp::Query => NdisMQueryOffloadStateComplete(h, root),
        }
    }
    // Frames held since urgent data arrived go up the ordinary path now that
    // the host owns the connection again (spec §6.10 step 6).
    if held != crate::ndis::rxpool::NO_BUF
        && let Some(dp) = &adapter.data
    {
        super::receive::indicate_held(adapter, dp, held);
    }
    // Only now may terminated objects go (rule 53).
    if op == StateOp::Terminate
        && let Some(table) = &adapter.offload
    {
        table.lock().finish_terminations();
        super::ctrlpath::after_uploads(adapter);
    }
    if op == StateOp::Invalidate {
        request_upload_of_invalidated(adapter);
    }
    // The corruption sequence's events follow the failed terminate (rule 54).
    if faults > 0 {
        super::send::indicate_hardware_faults(adapter);
    }
    // Connections offloaded with send data start transmitting now.
    if op == StateOp::Initiate
        && let Some(dp) = &adapter.data
    {
        dp.service_waiting(adapter);
    }
}

/// Ask the host to upload every connection that now depends on an
/// invalidated object (rule 38): `TcpIndicateRetrieve` / `InvalidState`,
/// through the connection's stored `NdisOffloadHandle`, at DISPATCH_LEVEL,
/// in batches so no lock is held across the indications.
fn request_upload_of_invalidated(adapter: &Adapter) {
    let (Some(table), Some(handlers)) = (&adapter.offload, adapter.offload_handlers) else {
        return;
    };
    let mut from = 0usize;
    loop {
        let mut batch = [(0usize, 0u32); 32];
        let (n, next) = table.lock().take_invalidated(from, &mut batch);
        for &(h, index) in batch.iter().take(n) {
            // Nothing more goes out on it (rule 37).
            super::send::halt_connection(adapter, index);
            handlers.event(
                NdisHandle::new(h as NDIS_HANDLE),
                TcpIndicateRetrieve,
                InvalidState,
            );
        }
        if next == from || n < batch.len() {
            return;
        }
        from = next;
    }
}

/// Complete everything queued: called from the timer (DISPATCH_LEVEL) and at
/// halt. Data-path requests go first, so a terminate never completes while
/// I/O queued before it is still outstanding (rule 46). The state operations
/// taken stay visible in `draining` until carried out, one at a time.
fn drain(adapter: &Adapter, nbls: NblQueue) {
    complete_io(adapter, nbls);
    loop {
        let next = {
            let mut d = adapter.deferred.lock();
            let next = d.draining.pop();
            if let Some((root, Some(StateOp::Terminate), false)) = next {
                d.walking = root;
            }
            next
        };
        let Some((root, op, _)) = next else {
            return;
        };
        // An unknown tag cannot happen (we wrote it); treat as a query-shaped failure.
        complete_state_op(adapter, root, op.unwrap_or(StateOp::Query));
    }
}

/// Move the queued state operations to `draining` and take the queued I/O.
fn take_for_drain(d: &mut Deferred) -> NblQueue {
    let blocks = core::mem::replace(&mut d.blocks, BlockQueue::new());
    d.draining.append(blocks);
    d.nbls.take()
}

/// The walk of terminate `root` is over: it needs no marking any more.
fn walked(adapter: &Adapter, root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST) {
    let mut d = adapter.deferred.lock();
    if d.walking == root {
        d.walking = core::ptr::null_mut();
        adapter.unmarked_terminates.fetch_sub(1, Ordering::AcqRel);
    }
}

fn complete_io(adapter: &Adapter, mut nbls: NblQueue) {
    let Some(handlers) = adapter.offload_handlers else {
        return;
    };
    // Batch per kind, preserving order (rule: per-connection posting order).
    // A disconnect completes after everything queued before it (rule 80:
    // sends aborted by an abortive disconnect go up first).
    let mut batches: [(PNET_BUFFER_LIST, PNET_BUFFER_LIST); 5] =
        [(core::ptr::null_mut(), core::ptr::null_mut()); 5];
    while let Some((p, tag)) = nbls.pop() {
        // SAFETY: queued NBLs are ours until completed.
        unsafe {
            if tag == IoOp::Forward as usize {
                // Processed now, as if received (spec §6.9); what it
                // completes goes up after everything queued before it.
                flush_batches(adapter, &handlers, &mut batches);
                let status = super::forward::process(adapter, p);
                nbl::set_status(p, status);
                nbl::set_bytes_transferred(p, 0);
            } else if tag != IoOp::SendDone as usize
                && tag != IoOp::DisconnectDone as usize
                && tag != IoOp::ReceiveDone as usize
            {
                nbl::set_status(p, NDIS_STATUS_REQUEST_ABORTED);
                nbl::set_bytes_transferred(p, 0);
            }
            nbl::set_next(p, core::ptr::null_mut());
        }
        if tag == IoOp::Disconnect as usize || tag == IoOp::DisconnectDone as usize {
            flush_batches(adapter, &handlers, &mut batches);
            // SAFETY: `p` is a disconnect NBL we owned; it is handed back now.
            unsafe { handlers.disconnect_complete(adapter.handle, p) };
            continue;
        }
        let tag = if tag == IoOp::SendDone as usize {
            IoOp::Send as usize
        } else if tag == IoOp::ReceiveDone as usize {
            IoOp::Receive as usize
        } else {
            tag
        };
        let Some(slot) = batches.get_mut(tag) else {
            continue;
        };
        if slot.0.is_null() {
            slot.0 = p;
        } else {
            // SAFETY: the tail is one of our NBLs.
            unsafe { nbl::set_next(slot.1, p) };
        }
        slot.1 = p;
    }
    flush_batches(adapter, &handlers, &mut batches);
}

/// Complete the batched chains (sends, receives, forwards) and empty them.
fn flush_batches(
    adapter: &Adapter,
    handlers: &crate::ndis::handlers::TcpOffloadHandlers,
    batches: &mut [(PNET_BUFFER_LIST, PNET_BUFFER_LIST); 5],
) {
    for (tag, slot) in batches.iter_mut().enumerate() {
        let (head, _) = core::mem::replace(slot, (core::ptr::null_mut(), core::ptr::null_mut()));
        if head.is_null() {
            continue;
        }
        // SAFETY: each batch is a chain of NBLs we owned, handed back once.
        unsafe {
            match tag {
                t if t == IoOp::Send as usize => handlers.send_complete(adapter.handle, head),
                t if t == IoOp::Receive as usize => handlers.receive_complete(adapter.handle, head),
                _ => handlers.forward_complete(adapter.handle, head),
            }
        }
    }
}

/// The adapter's completion timer (NDIS_TIMER_FUNCTION), at DISPATCH_LEVEL.
///
/// # Safety
/// Registered with the live adapter as context; NDIS calls it at DISPATCH_LEVEL.
pub unsafe extern "system" fn completion_timer_callback(
    _SystemSpecific1: PVOID,
    FunctionContext: PVOID,
    _SystemSpecific2: PVOID,
    _SystemSpecific3: PVOID,
) {
    // SAFETY: the context is the adapter that owns this timer (freed only after the timer).
    let Some(adapter) = (unsafe { Adapter::from_context(FunctionContext) }) else {
        return;
    };
    {
        let mut d = adapter.deferred.lock_at_dispatch();
        if d.running {
            // The run on another processor goes round once more for us.
            d.again = true;
            return;
        }
        d.running = true;
    }
    let mut guard = 1usize << 20;
    loop {
        // Connections queued for work first (posted receives meeting held
        // data, receive requests an abortive disconnect ended: they go back
        // before the disconnect completes, rule 80).
        if let Some(dp) = &adapter.data {
            dp.service_waiting(adapter);
        }
        let nbls = {
            let mut d = adapter.deferred.lock_at_dispatch();
            // While the receive DPC is completing sends it retired before
            // anything queued here was refused or aborted, nothing here may
            // complete (rules 46, 56, 80): looked at under the lock the
            // queueing takes, so nothing is taken that such a DPC precedes.
            // The last of those completions sets the timer again.
            if adapter
                .data
                .as_ref()
                .is_some_and(|dp| dp.must_wait_for_dpc())
            {
                d.running = false;
                d.again = false;
                return;
            }
            take_for_drain(&mut d)
        };
        // No driver lock is held from here on: completions may call back
        // into us.
        drain(adapter, nbls);
        if let Some(dp) = &adapter.data {
            dp.service_waiting(adapter);
        }
        let mut d = adapter.deferred.lock_at_dispatch();
        guard -= 1;
        if !d.again || guard == 0 {
            d.running = false;
            d.again = false;
            return;
        }
        d.again = false;
    }
}

/// At halt: complete whatever is still queued.
pub fn fail_all_deferred(adapter: &Adapter) {
    let nbls = take_for_drain(&mut adapter.deferred.lock());
    drain(adapter, nbls);
}
