//! The simulated machine: loads the driver through its real `DriverEntry`,
//! creates adapters, and calls only the handlers the driver registered, at the
//! IRQL Windows would use. Time moves only when the test says so.

use crate::exports::chimney::{ChimneyCall, TableMode};
use crate::exports::config::ConfigValue;
use crate::exports::driver::{AdapterBlock, DriverRecord};
use crate::exports::timer;
use crate::irql;
use crate::peer::{self, ConnKey, Direction, PeerConn, PeerRecord};
use crate::state::{self, Kind, SimCore, lock};
use crate::tracker;
use crate::verifier::Violation;
use chimney_miniport::ffi::*;
use std::sync::Arc;
use std::sync::atomic::Ordering;

unsafe extern "system" {
    /// The driver's entry point, found by name as the kernel loader would.
    fn DriverEntry(DriverObject: PDRIVER_OBJECT, RegistryPath: PUNICODE_STRING) -> NTSTATUS;
}

/// The result of an OID request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidResult {
    pub status: NDIS_STATUS,
    /// The information buffer after the call.
    pub data: Vec<u8>,
    pub bytes_written_or_read: u32,
    pub bytes_needed: u32,
}

/// Canary bytes after every OID information buffer.
const OID_CANARY_LEN: usize = 64;
const OID_CANARY: u8 = 0xC3;

/// Record a violation if the driver wrote past an OID's information buffer.
fn check_oid_canary(oid: NDIS_OID, canary: &[u8]) {
    if let Some(at) = canary.iter().position(|&b| b != OID_CANARY) {
        state::report(Violation::WroteOutside {
            handler: "MiniportOidRequest",
            detail: format!("OID {oid:#x}: byte {at} past InformationBufferLength"),
        });
    }
}

/// The driver image has one set of globals (its driver handle), exactly as
/// on Windows where an image is loaded once: so one simulated machine at a
/// time per process. Each `Simulator` holds this for its whole life.
static MACHINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One simulated machine with one driver and at most one adapter.
pub struct Simulator {
    pub core: Arc<SimCore>,
    _machine: std::sync::MutexGuard<'static, ()>,
    driver_object: Box<[u64; 8]>,
    _registry_path_buf: Vec<u16>,
    registry_path: Box<UNICODE_STRING>,
    adapter: Option<Box<AdapterBlock>>,
    /// OID requests the driver pended, kept alive (with their buffers) until completed.
    pending_oids: std::cell::RefCell<Vec<(Box<NDIS_OID_REQUEST>, Vec<u8>)>>,
    /// Adapter handles with no driver behind them (see [`Simulator::bare_adapter`]).
    bare_adapters: Vec<Box<AdapterBlock>>,
}

impl Default for Simulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Simulator {
    /// A fresh machine; it becomes the current simulator of this thread.
    pub fn new() -> Self {
        let machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
        let core = SimCore::new();
        state::set_current(Some(Arc::clone(&core)));
        // Make sure every export is linked in before the driver runs.
        let _ = crate::exports::exports();
        let mut buf: Vec<u16> =
            "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\chimney_miniport"
                .encode_utf16()
                .collect();
        let registry_path = Box::new(UNICODE_STRING {
            Length: (buf.len() * 2) as u16,
            MaximumLength: (buf.len() * 2) as u16,
            Buffer: buf.as_mut_ptr(),
        });
        Simulator {
            core,
            _machine: machine,
            driver_object: Box::new([0; 8]),
            _registry_path_buf: buf,
            registry_path,
            adapter: None,
            pending_oids: std::cell::RefCell::new(Vec::new()),
            bare_adapters: Vec::new(),
        }
    }

    /// Make this simulator current on the calling thread (for worker threads).
    pub fn enter(&self) {
        state::set_current(Some(Arc::clone(&self.core)));
    }

    /// Set an integer registry keyword of the adapter (as the INF would).
    pub fn set_config(&self, keyword: &str, value: u32) {
        lock(&self.core.config).insert(keyword.to_string(), ConfigValue::Integer(value));
    }

    /// Choose how NdisMGetOffloadHandlers answers.
    pub fn set_table_mode(&self, mode: TableMode) {
        self.core.table_mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Fail the `n`-th allocation from now on (1-based; 0 disables).
    pub fn fail_allocation(&self, n: u64) {
        let base = self.core.alloc_attempts.load(Ordering::SeqCst);
        self.core
            .fail_alloc_at
            .store(if n == 0 { 0 } else { base + n }, Ordering::SeqCst);
    }

    /// Allocations attempted so far.
    pub fn allocation_count(&self) -> u64 {
        self.core.alloc_attempts.load(Ordering::SeqCst)
    }

    /// What the driver registered.
    pub fn driver(&self) -> std::sync::MutexGuard<'_, DriverRecord> {
        lock(&self.core.driver)
    }

    /// Load the driver: call DriverEntry at PASSIVE_LEVEL.
    pub fn load(&mut self) -> NTSTATUS {
        let obj = self.driver_object.as_mut_ptr().cast::<DRIVER_OBJECT>();
        let path: *mut UNICODE_STRING = &mut *self.registry_path;
        // SAFETY: the loader's call: a driver object and a registry path that outlive the driver.
        irql::at(PASSIVE_LEVEL, || unsafe { DriverEntry(obj, path) })
    }

    fn characteristics(&self) -> NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
        self.driver()
            .characteristics
            .expect("driver registered its characteristics")
            .0
    }

    /// The adapter handle (MiniportAdapterHandle), if an adapter exists.
    pub fn adapter_handle(&self) -> NDIS_HANDLE {
        self.adapter.as_ref().map_or(std::ptr::null_mut(), |a| {
            (&**a as *const AdapterBlock).cast_mut().cast()
        })
    }

    /// The MiniportAdapterContext the driver registered.
    pub fn context(&self) -> NDIS_HANDLE {
        self.driver().adapter.context as NDIS_HANDLE
    }

    /// Create an adapter and call MiniportInitializeEx at PASSIVE_LEVEL.
    /// On failure the driver must have released everything it allocated.
    pub fn initialize_adapter(&mut self) -> NDIS_STATUS {
        let ch = self.characteristics();
        let block = Box::new(AdapterBlock {
            sim: Arc::clone(&self.core),
            tcp_handlers: crate::exports::chimney::tcp_event_handlers(),
        });
        let handle = (&*block as *const AdapterBlock).cast_mut();
        state::register(handle as usize, Kind::AdapterHandle, &self.core);
        self.adapter = Some(block);
        {
            let mut d = self.driver();
            d.adapter = Default::default();
        }
        // SAFETY: zeroed init parameters are valid plain data; we set the header.
        let mut params: NDIS_MINIPORT_INIT_PARAMETERS = unsafe { std::mem::zeroed() };
        params.Header = NDIS_OBJECT_HEADER {
            Type: NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS,
            Revision: NDIS_MINIPORT_INIT_PARAMETERS_REVISION_1,
            Size: NDIS_SIZEOF_MINIPORT_INIT_PARAMETERS_REVISION_1,
        };
        params.IfIndex = 7;
        let init = ch
            .InitializeHandlerEx
            .expect("InitializeHandlerEx registered");
        // SAFETY: calling the driver's handler with a live adapter handle and parameters.
        let st = irql::at(PASSIVE_LEVEL, || unsafe {
            init(handle.cast(), std::ptr::null_mut(), &mut params)
        });
        if !nt_success(st) {
            self.check_no_adapter_leaks("MiniportInitializeEx failed");
            state::unregister(handle as usize);
            self.adapter = None;
        }
        st
    }

    fn check_no_adapter_leaks(&self, when: &str) {
        for (addr, kind) in self.core.live_resources() {
            if kind.is_adapter_resource() {
                self.core.violation(Violation::Leak {
                    what: format!("{when}: {kind:?} at {addr:#x}"),
                });
            }
        }
    }

    /// Call MiniportHaltEx at PASSIVE_LEVEL; afterwards every adapter
    /// resource must be gone (leaks become violations).
    pub fn halt(&mut self) {
        // NDIS returns every indicated NBL before it halts the miniport (rule 78).
        crate::exports::nblpool::return_lent(&self.core, true);
        self.halt_now();
    }

    /// Halt while the host still holds lent receive NBLs: they come back
    /// only once the driver waits (`NdisMSleep`), as a late host would
    /// return them. Returns how many came back that way.
    pub fn halt_with_lent_outstanding(&mut self) -> usize {
        let returned = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (core, count) = (self.core.clone(), returned.clone());
        *lock(&self.core.on_sleep) = Some(Box::new(move |_| {
            let n = crate::exports::nblpool::return_lent(&core, true);
            count.fetch_add(n, Ordering::SeqCst);
        }));
        self.halt_now();
        *lock(&self.core.on_sleep) = None;
        returned.load(Ordering::SeqCst)
    }

    fn halt_now(&mut self) {
        let ch = self.characteristics();
        let ctx = self.context();
        if let Some(halt) = ch.HaltHandlerEx {
            // SAFETY: the driver's handler with its own context.
            irql::at(PASSIVE_LEVEL, || unsafe {
                halt(ctx, NdisHaltDeviceDisabled)
            });
        }
        self.check_no_adapter_leaks("after MiniportHaltEx");
        for (obj, handler) in tracker::outstanding(&self.core) {
            self.core.violation(Violation::Leak {
                what: format!("request {obj:#x} given to {handler} never completed"),
            });
        }
        if let Some(a) = self.adapter.take() {
            let handle = &*a as *const AdapterBlock as usize;
            // A port left attached is a leak (reported above); its handlers
            // belong to a halted adapter and are never called again.
            crate::exports::phy::forget_adapter(&self.core, handle);
            state::unregister(handle);
        }
    }

    /// Call the driver's unload handler at PASSIVE_LEVEL; it must deregister.
    pub fn unload(&mut self) {
        let ch = self.characteristics();
        if let Some(unload) = ch.UnloadHandler {
            let obj = self.driver_object.as_mut_ptr().cast::<DRIVER_OBJECT>();
            // SAFETY: the driver's handler with its driver object.
            irql::at(PASSIVE_LEVEL, || unsafe { unload(obj) });
        }
        if !self.driver().deregistered {
            self.core.violation(Violation::Leak {
                what: "driver unloaded without NdisMDeregisterMiniportDriver".into(),
            });
        }
        for (addr, kind) in self.core.live_resources() {
            self.core.violation(Violation::Leak {
                what: format!("after unload: {kind:?} at {addr:#x}"),
            });
        }
    }

    fn oid(&self, ty: NDIS_REQUEST_TYPE, oid: NDIS_OID, mut data: Vec<u8>) -> OidResult {
        let ch = self.characteristics();
        // The buffer is followed by canary bytes NDIS would not own: the
        // driver may touch only `InformationBufferLength` bytes.
        let len = data.len();
        data.resize(len + OID_CANARY_LEN, OID_CANARY);
        // SAFETY: zeroed request is valid plain data; we fill what NDIS would.
        let mut req: Box<NDIS_OID_REQUEST> = Box::new(unsafe { std::mem::zeroed() });
        req.Header = NDIS_OBJECT_HEADER {
            Type: NDIS_OBJECT_TYPE_OID_REQUEST,
            Revision: NDIS_OID_REQUEST_REVISION_1,
            Size: NDIS_SIZEOF_OID_REQUEST_REVISION_1,
        };
        req.RequestType = ty;
        req.RequestId = (&*req as *const NDIS_OID_REQUEST).cast_mut().cast();
        // Writing the union member that matches RequestType.
        if ty == NdisRequestSetInformation {
            req.DATA.SET_INFORMATION.Oid = oid;
            req.DATA.SET_INFORMATION.InformationBuffer = data.as_mut_ptr().cast();
            req.DATA.SET_INFORMATION.InformationBufferLength = len as u32;
        } else {
            req.DATA.QUERY_INFORMATION.Oid = oid;
            req.DATA.QUERY_INFORMATION.InformationBuffer = data.as_mut_ptr().cast();
            req.DATA.QUERY_INFORMATION.InformationBufferLength = len as u32;
        }
        let p: *mut NDIS_OID_REQUEST = &mut *req;
        tracker::give(&self.core, p as usize, "MiniportOidRequest");
        let f = ch.OidRequestHandler.expect("OidRequestHandler registered");
        let ctx = self.context();
        // SAFETY: the driver's handler with its context and a live request.
        let status = irql::at(PASSIVE_LEVEL, || unsafe { f(ctx, p) });
        tracker::handler_returned(&self.core, p as usize);
        check_oid_canary(oid, &data[len..]);
        if status == NDIS_STATUS_PENDING {
            let snapshot = OidResult {
                status,
                data: data[..len].to_vec(),
                bytes_written_or_read: 0,
                bytes_needed: 0,
            };
            self.pending_oids.borrow_mut().push((req, data));
            return snapshot;
        }
        tracker::retire(&self.core, p as usize);
        data.truncate(len);
        // SAFETY: reading back the union member we wrote.
        let (n, needed) = unsafe {
            if ty == NdisRequestSetInformation {
                (
                    req.DATA.SET_INFORMATION.BytesRead,
                    req.DATA.SET_INFORMATION.BytesNeeded,
                )
            } else {
                (
                    req.DATA.QUERY_INFORMATION.BytesWritten,
                    req.DATA.QUERY_INFORMATION.BytesNeeded,
                )
            }
        };
        OidResult {
            status,
            data,
            bytes_written_or_read: n,
            bytes_needed: needed,
        }
    }

    /// Requests the driver pended, by address (their `RequestId` is the same).
    pub fn pending_oid_requests(&self) -> Vec<usize> {
        self.pending_oids
            .borrow()
            .iter()
            .map(|(r, _)| &**r as *const NDIS_OID_REQUEST as usize)
            .collect()
    }

    /// OID completions the driver made with NdisMOidRequestComplete.
    pub fn oid_completions(&self) -> Vec<(usize, NDIS_STATUS)> {
        lock(&self.core.oid_completions).clone()
    }

    /// Call MiniportCancelOidRequest for a pended request.
    pub fn cancel_oid(&self, request: usize) {
        let ch = self.characteristics();
        if let Some(f) = ch.CancelOidRequestHandler {
            let ctx = self.context();
            // SAFETY: the driver's handler with its context and the request id it was given.
            irql::at(PASSIVE_LEVEL, || unsafe { f(ctx, request as PVOID) });
        }
    }

    /// Query `oid` with a buffer of `len` bytes.
    pub fn oid_query(&self, oid: NDIS_OID, len: usize) -> OidResult {
        self.oid(NdisRequestQueryInformation, oid, vec![0xEE; len])
    }

    /// Set `oid` with `data`.
    pub fn oid_set(&self, oid: NDIS_OID, data: &[u8]) -> OidResult {
        self.oid(NdisRequestSetInformation, oid, data.to_vec())
    }

    /// Wall time the simulator has spent so far in its own bookkeeping of
    /// state trees (scans at hand-over and completion, liveness checks): a
    /// benchmark subtracts it to report the driver's time alone.
    pub fn tree_bookkeeping(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(
            self.core
                .tree_bookkeeping_ns
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Run queued work items and due timers until nothing is runnable now.
    pub fn run_until_idle(&self) {
        for _ in 0..1_000_000 {
            if timer::run_one_work_item(&self.core)
                || timer::fire_one_due_timer(&self.core)
                || peer::wire_step(&self.core)
            {
                continue;
            }
            return;
        }
        self.core.violation(Violation::BadArgument {
            export: "simulator",
            detail: "work never became idle (a timer re-arms itself forever?)".into(),
        });
    }

    /// Run only the wire (frames both ways) until it is quiet, firing no
    /// timer and running no work item: models segments that arrive while
    /// the driver's deferred work (e.g. a terminate) has not run yet.
    pub fn run_wire_only(&self) {
        for _ in 0..1_000_000 {
            if !peer::wire_step(&self.core) {
                return;
            }
        }
    }

    /// Advance virtual time by `ms`, firing timers at their due times.
    pub fn advance_ms(&self, ms: u64) {
        self.advance_to(self.core.now_100ns.load(Ordering::SeqCst) + ms * 10_000);
    }

    /// Advance virtual time to `target` (100 ns units; nothing if it has
    /// passed), firing timers at their due times.
    pub fn advance_to(&self, target: u64) {
        if target <= self.core.now_100ns.load(Ordering::SeqCst) {
            self.run_until_idle();
            return;
        }
        loop {
            self.run_until_idle();
            let next = match (timer::next_due(&self.core), peer::next_due(&self.core)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match next {
                Some(due) if due <= target => self.core.now_100ns.store(due, Ordering::SeqCst),
                _ => break,
            }
        }
        self.core.now_100ns.store(target, Ordering::SeqCst);
        self.run_until_idle();
    }

    /// Call a state-operation handler the driver registered (at DISPATCH_LEVEL,
    /// the strictest level "any level" allows), tracking the block list.
    pub fn call_state_op(&self, op: StateOpKind, root: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST) {
        let g = self
            .driver()
            .generic
            .expect("generic chimney table registered")
            .0;
        let f = match op {
            StateOpKind::Initiate => g.InitiateOffloadHandler,
            StateOpKind::Terminate => g.TerminateOffloadHandler,
            StateOpKind::Update => g.UpdateOffloadHandler,
            StateOpKind::Invalidate => g.InvalidateOffloadHandler,
            StateOpKind::Query => g.QueryOffloadHandler,
        }
        .expect("handler registered");
        // Send data handed over with an initiate is the driver's (until the
        // completion says which blocks failed).
        let started = std::time::Instant::now();
        let lent: Vec<usize> = if matches!(op, StateOpKind::Initiate) {
            crate::exports::chimney::tree_chains(root)
                .into_iter()
                .flat_map(|(_, nbls)| nbls)
                .collect()
        } else {
            Vec::new()
        };
        for &p in &lent {
            tracker::give(&self.core, p, "MiniportInitiateOffload (send data)");
        }
        tracker::give(&self.core, root as usize, op.handler());
        self.core.tree_bookkeeping_ns.fetch_add(
            started.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        let ctx = self.context();
        // SAFETY: the driver's handler with its context and a live tree.
        irql::at_dispatch(|| unsafe { f(ctx, root) });
        for &p in &lent {
            tracker::handler_returned(&self.core, p);
        }
        tracker::handler_returned(&self.core, root as usize);
    }

    /// Call a TCP data-path handler (send/receive/forward) with an NBL chain.
    pub fn call_tcp_io(
        &self,
        op: TcpIoKind,
        offload_context: PVOID,
        chain: PNET_BUFFER_LIST,
    ) -> NDIS_STATUS {
        let t = self.driver().tcp.expect("TCP chimney table registered").0;
        let ctx = self.context();
        // Remember the chain as given: once the handler has it, the driver
        // owns the links and may reuse them.
        let mut given = Vec::new();
        let mut p = chain;
        let context = if offload_context.is_null() {
            0
        } else {
            // SAFETY: the slot the test passes, readable (the driver reads it too).
            unsafe { offload_context.cast::<usize>().read_unaligned() }
        };
        while !p.is_null() {
            tracker::give(&self.core, p as usize, op.handler());
            if op == TcpIoKind::Receive {
                crate::exports::chimney::note_receive_post(&self.core, p as usize, context);
            }
            if context != 0 {
                crate::exports::chimney::note_io_post(&self.core, p as usize, context);
            }
            given.push(p as usize);
            // SAFETY: the chain is one the test built.
            p = unsafe { (*p).NetBufferListHeader.NetBufferListData.Next };
        }
        // SAFETY: the driver's handlers with its context and a live chain.
        let st = irql::at_dispatch(|| unsafe {
            match op {
                TcpIoKind::Send => {
                    t.TcpOffloadSendHandler.expect("send")(ctx, offload_context, chain)
                }
                TcpIoKind::Receive => {
                    t.TcpOffloadReceiveHandler.expect("receive")(ctx, offload_context, chain)
                }
                TcpIoKind::Forward => {
                    t.TcpOffloadForwardHandler.expect("forward")(ctx, offload_context, chain)
                }
                TcpIoKind::Disconnect(flags) => t.TcpOffloadDisconnectHandler.expect("disconnect")(
                    ctx,
                    offload_context,
                    chain,
                    flags,
                ),
            }
        });
        for p in given {
            tracker::handler_returned(&self.core, p);
        }
        if st != NDIS_STATUS_PENDING {
            self.core.violation(Violation::BadReturn {
                handler: op.handler(),
                status: st,
            });
        }
        st
    }

    /// Call MiniportSendNetBufferLists (ordinary path) at DISPATCH_LEVEL.
    pub fn send_net_buffer_lists(&self, chain: PNET_BUFFER_LIST) {
        let ch = self.characteristics();
        let mut p = chain;
        while !p.is_null() {
            tracker::give(&self.core, p as usize, "MiniportSendNetBufferLists");
            // SAFETY: a chain the test built.
            p = unsafe { (*p).NetBufferListHeader.NetBufferListData.Next };
        }
        let f = ch.SendNetBufferListsHandler.expect("send handler");
        let ctx = self.context();
        // SAFETY: the driver's handler with its context and a live chain.
        irql::at_dispatch(|| unsafe { f(ctx, chain, 0, NDIS_SEND_FLAGS_DISPATCH_LEVEL) });
    }

    /// Call MiniportPause (PASSIVE_LEVEL); returns its status.
    pub fn pause(&self) -> NDIS_STATUS {
        let f = self.characteristics().PauseHandler.expect("pause handler");
        // SAFETY: the driver's handler with its context.
        unsafe { f(self.context(), std::ptr::null_mut()) }
    }

    /// Call MiniportRestart (PASSIVE_LEVEL); returns its status.
    pub fn restart(&self) -> NDIS_STATUS {
        let f = self
            .characteristics()
            .RestartHandler
            .expect("restart handler");
        // SAFETY: the driver's handler with its context.
        unsafe { f(self.context(), std::ptr::null_mut()) }
    }

    /// Call MiniportCancelSend for `cancel_id` at DISPATCH_LEVEL.
    pub fn cancel_send(&self, cancel_id: usize) {
        let f = self
            .characteristics()
            .CancelSendHandler
            .expect("cancel-send handler");
        let ctx = self.context();
        // SAFETY: the driver's handler with its context.
        irql::at_dispatch(|| unsafe { f(ctx, cancel_id as PVOID) });
    }

    /// Ordinary send completions so far: (NBL address, status).
    pub fn send_completions(&self) -> Vec<(usize, NDIS_STATUS)> {
        self.driver().adapter.send_completions.clone()
    }

    /// Replace the scripted peer with a link to the outside (see
    /// [`crate::link`]): driver frames queue there for [`Simulator::run_realtime`].
    pub fn attach_link(&self, cfg: crate::link::LinkConfig) {
        *lock(&self.core.link) = Some(crate::link::Link::new(cfg));
    }

    /// Seeded impairments on the scripted peer's wire, in virtual time
    /// (see [`crate::peer::impair`]); `None` removes them. With
    /// `spare_data` the peer's data frames are never lost (for tests that
    /// do not resend them).
    pub fn impair_wire(&self, cfg: Option<crate::link::LinkConfig>, spare_data: bool) {
        lock(&self.core.peer).impair =
            cfg.map(|c| crate::peer::impair::Impaired::new(c, spare_data));
    }

    /// What the scripted wire's impairments did: (outbound, inbound).
    pub fn wire_impairments(
        &self,
    ) -> Option<(crate::link::LinkCounters, crate::link::LinkCounters)> {
        lock(&self.core.peer)
            .impair
            .as_ref()
            .map(crate::peer::impair::Impaired::counters)
    }

    /// What the link's impairments did: (outbound, inbound).
    pub fn link_counters(&self) -> Option<(crate::link::LinkCounters, crate::link::LinkCounters)> {
        lock(&self.core.link)
            .as_ref()
            .map(|l| (l.outbound.counters, l.inbound.counters))
    }

    /// Run the simulator against `tap` in real time until `done` says so
    /// (true) or `limit` passes (false): virtual time follows the wall
    /// clock, frames from the TAP go through the link's inbound impairments
    /// to the driver, the driver's frames through the outbound ones to the
    /// TAP. `done` runs between steps, on this thread (it may call the
    /// driver's handlers). Needs [`Simulator::attach_link`] first.
    pub fn run_realtime(
        &self,
        tap: &crate::tap::Tap,
        limit: std::time::Duration,
        mut done: impl FnMut(&Simulator) -> bool,
    ) -> std::io::Result<bool> {
        let start = std::time::Instant::now();
        let v0 = self.now();
        let mut buf = vec![0u8; 65_536];
        loop {
            if done(self) {
                return Ok(true);
            }
            let elapsed = start.elapsed();
            if elapsed > limit {
                return Ok(false);
            }
            // Frames from outside, through the inbound impairments.
            while let Some(n) = tap.read(&mut buf)? {
                let now = self.now();
                let dues = match lock(&self.core.link).as_mut() {
                    Some(l) => l.inbound.admit(now),
                    None => return Err(std::io::Error::other("no link attached")),
                };
                let mut peer = lock(&self.core.peer);
                for due in dues {
                    peer.inject_at(due, buf[..n].to_vec());
                }
            }
            self.advance_to(v0 + elapsed.as_nanos() as u64 / 100);
            let now = self.now();
            let out = lock(&self.core.link)
                .as_mut()
                .map(|l| l.take_due(now))
                .unwrap_or_default();
            for f in out {
                tap.write(&f)?;
            }
            tap.wait(1);
        }
    }

    /// Virtual time now (100 ns units).
    pub fn now_100ns(&self) -> u64 {
        self.now()
    }

    /// Chimney completions and indications so far.
    pub fn chimney_calls(&self) -> Vec<ChimneyCall> {
        lock(&self.core.chimney).calls.clone()
    }

    /// Status indications so far (code, buffer).
    pub fn status_indications(&self) -> Vec<(NDIS_STATUS, Vec<u8>)> {
        lock(&self.core.status_indications).clone()
    }

    /// Register an adapter handle that NDIS knows but no driver handler
    /// stands behind, for tests that call exports (the frame port) directly.
    pub fn bare_adapter(&mut self) -> NDIS_HANDLE {
        let block = Box::new(AdapterBlock {
            sim: Arc::clone(&self.core),
            tcp_handlers: crate::exports::chimney::tcp_event_handlers(),
        });
        let handle = (&*block as *const AdapterBlock).cast_mut();
        state::register(handle as usize, Kind::AdapterHandle, &self.core);
        self.bare_adapters.push(block);
        handle.cast()
    }

    /// Remove a [`Simulator::bare_adapter`] as a halt would: every adapter
    /// resource still registered (a port left attached, ...) is a leak.
    pub fn remove_bare_adapter(&mut self, handle: NDIS_HANDLE) {
        self.check_no_adapter_leaks("after removing the bare adapter");
        let addr = handle as usize;
        crate::exports::phy::forget_adapter(&self.core, addr);
        state::unregister(addr);
        self.bare_adapters
            .retain(|b| &**b as *const AdapterBlock as usize != addr);
    }

    /// The MAC address ChimneyPhyAttach reports (default 02:00:00:00:00:01).
    pub fn set_phy_mac(&self, mac: [u8; 6]) {
        lock(&self.core.phy).mac = mac;
    }

    /// The transmit-ring depth ChimneyPhyAttach reports and enforces (default 256).
    pub fn set_phy_ring_depth(&self, frames: u32) {
        lock(&self.core.phy).ring_depth = frames;
    }

    /// While held, the wire carries nothing out of the transmit rings (the
    /// peer's frames still reach the driver).
    pub fn hold_wire(&self, hold: bool) {
        lock(&self.core.phy).held = hold;
    }

    /// Make MmMapLockedPagesSpecifyCache return NULL (on threads where this
    /// simulator is current).
    pub fn fail_mdl_mapping(&self, fail: bool) {
        self.core.fail_mdl_mapping.store(fail, Ordering::SeqCst);
    }

    /// Make ChimneyPhyTransmit fail with NDIS_STATUS_FAILURE (a hardware
    /// fault of the port) while `broken`.
    pub fn set_phy_hardware_error(&self, broken: bool) {
        self.core.phy_hardware_error.store(broken, Ordering::SeqCst);
    }

    /// Frames waiting in the transmit rings.
    pub fn ring_len(&self) -> usize {
        lock(&self.core.phy)
            .ports
            .values()
            .map(|p| p.ring.len())
            .sum()
    }

    /// Frames the driver transmitted (accepted into a ring).
    pub fn frames_sent(&self) -> u64 {
        lock(&self.core.phy).frames_sent
    }

    /// Transmits refused because the ring was full.
    pub fn frames_refused(&self) -> u64 {
        lock(&self.core.phy).frames_refused
    }

    /// Driver frames for no registered peer connection (or not TCP).
    pub fn unknown_frames(&self) -> u64 {
        lock(&self.core.peer).unknown_frames
    }

    /// Every frame on the wire, both ways: (virtual time in 100 ns, direction, bytes).
    /// Driver frames are stamped when transmitted, peer frames when delivered.
    pub fn captured_frames(&self) -> Vec<(u64, Direction, Vec<u8>)> {
        lock(&self.core.phy).capture.clone()
    }

    /// Put `frame` on the wire towards the driver as it is (delivered in
    /// the next run_until_idle, after frames queued before it).
    pub fn inject_frame(&self, frame: Vec<u8>) {
        let now = self.now();
        lock(&self.core.peer).inject(now, frame);
    }

    /// Forget what was recorded so far (chimney calls, the frame capture,
    /// the peer's per-connection history) so long runs (benchmarks) keep a
    /// bounded footprint. The peer's stream offsets restart at zero.
    pub fn forget_history(&self) {
        lock(&self.core.chimney).calls.clear();
        lock(&self.core.phy).capture.clear();
        lock(&self.core.peer).forget_history();
    }

    /// The capture as a classic libpcap file (LINKTYPE_ETHERNET, microseconds).
    pub fn pcap(&self) -> Vec<u8> {
        peer::pcap::write(&lock(&self.core.phy).capture)
    }

    /// Register a connection with the peer (replacing one with the same key).
    pub fn peer_connect(&self, c: PeerConn) -> ConnKey {
        lock(&self.core.peer).connect(c)
    }

    fn now(&self) -> u64 {
        self.core.now_100ns.load(Ordering::SeqCst)
    }

    /// The peer sends an ACK of `ack` advertising `window` bytes (delivered
    /// in the next run_until_idle, after frames queued before it).
    pub fn peer_ack(&self, key: ConnKey, ack: u32, window: u32) {
        let now = self.now();
        lock(&self.core.peer).ack(now, key, ack, window);
    }

    /// The peer sends an ACK of `ack` with SACK blocks (its window as last
    /// advertised).
    pub fn peer_ack_sack(&self, key: ConnKey, ack: u32, blocks: &[(u32, u32)]) {
        let now = self.now();
        lock(&self.core.peer).ack_sack(now, key, ack, blocks);
    }

    /// The peer sends an acceptable RST (seq = its snd_nxt).
    pub fn peer_rst(&self, key: ConnKey) {
        let now = self.now();
        lock(&self.core.peer).rst(now, key);
    }

    /// The peer sends a pure window update (its last ack, `window` bytes).
    pub fn peer_set_window(&self, key: ConnKey, window: u32) {
        let now = self.now();
        lock(&self.core.peer).set_window(now, key, window);
    }

    /// The peer sends `data` (seq = its snd_nxt, which advances), PSH if `psh`.
    pub fn peer_send(&self, key: ConnKey, data: &[u8], psh: bool) {
        let now = self.now();
        lock(&self.core.peer).send(now, key, data, psh);
    }

    /// The peer sends `data` at sequence number `seq` (out of order, a
    /// repeat, an overlap); its snd_nxt moves to the end if that is further.
    pub fn peer_send_at(&self, key: ConnKey, seq: u32, data: &[u8], psh: bool) {
        let now = self.now();
        lock(&self.core.peer).send_at(now, key, seq, data, psh);
    }

    /// The peer sends a FIN (seq = its snd_nxt, which advances by one).
    pub fn peer_fin(&self, key: ConnKey) {
        let now = self.now();
        lock(&self.core.peer).fin(now, key);
    }

    /// What the peer recorded for `key` (a copy). Panics for an unknown key.
    pub fn peer_state(&self, key: ConnKey) -> PeerRecord {
        lock(&self.core.peer)
            .record(key)
            .unwrap_or_else(|| panic!("no peer connection {key:?}"))
    }

    /// How the simulated host answers chimney receive indications.
    pub fn set_receive_mode(&self, mode: crate::exports::chimney::ReceiveMode) {
        lock(&self.core.chimney).receive_mode = mode;
    }

    /// The HostReachabilityDelta the host answers NeighborReachabilityQuery
    /// indications with (0, "stale", unless set).
    pub fn set_neighbor_answer(&self, host_delta: u32) {
        lock(&self.core.chimney).neighbor_answer = host_delta;
    }

    /// While `hold`, receive NBLs the driver lent stay with NDIS until
    /// [`Simulator::return_lent`].
    pub fn hold_lent(&self, hold: bool) {
        lock(&self.core.rx).hold = hold;
    }

    /// Give every lent receive NBL back now (each checked unchanged).
    pub fn return_lent(&self) -> usize {
        crate::exports::nblpool::return_lent(&self.core, true)
    }

    /// Receive NBLs the driver has lent and NDIS still holds.
    pub fn lent_count(&self) -> usize {
        lock(&self.core.rx).lent.len()
    }

    /// The `Ieee8021QNetBufferListInfo` of each frame indicated on the
    /// ordinary path, in order.
    pub fn ordinary_8021q(&self) -> Vec<usize> {
        lock(&self.core.rx).ordinary_8021q.clone()
    }

    /// Frames indicated on the ordinary receive path, in order.
    pub fn ordinary_frames(&self) -> Vec<Vec<u8>> {
        lock(&self.core.rx)
            .ordinary
            .iter()
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// The host takes the `BufferedData` chain a terminate handed back: the
    /// NBLs are lent (returned later through `MiniportTcpOffloadReceiveReturn`,
    /// checked unchanged); returns their bytes, concatenated.
    pub fn host_takes_buffered(&self, chain: PNET_BUFFER_LIST) -> Vec<u8> {
        crate::exports::nblpool::lend(&self.core, chain, crate::exports::nblpool::LentTo::Chimney)
            .concat()
    }

    /// Violations recorded so far (not cleared).
    pub fn violations(&self) -> Vec<Violation> {
        let mut v = self.core.violations();
        v.extend(lock(&state::ORPHANS).drain(..));
        v
    }

    /// Panic (in the test, not in an export) if anything was violated.
    pub fn assert_clean(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "verifier violations: {v:#?}");
    }
}

/// The five state operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateOpKind {
    Initiate,
    Terminate,
    Update,
    Invalidate,
    Query,
}

impl StateOpKind {
    pub fn handler(self) -> &'static str {
        match self {
            StateOpKind::Initiate => "MiniportInitiateOffload",
            StateOpKind::Terminate => "MiniportTerminateOffload",
            StateOpKind::Update => "MiniportUpdateOffload",
            StateOpKind::Invalidate => "MiniportInvalidateOffload",
            StateOpKind::Query => "MiniportQueryOffload",
        }
    }
}

/// The TCP data-path requests that pend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpIoKind {
    Send,
    Receive,
    Forward,
    Disconnect(ULONG),
}

impl TcpIoKind {
    pub fn handler(self) -> &'static str {
        match self {
            TcpIoKind::Send => "MiniportTcpOffloadSend",
            TcpIoKind::Receive => "MiniportTcpOffloadReceive",
            TcpIoKind::Forward => "MiniportTcpOffloadForward",
            TcpIoKind::Disconnect(_) => "MiniportTcpOffloadDisconnect",
        }
    }
}
