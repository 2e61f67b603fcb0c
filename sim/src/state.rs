//! The simulator's shared state and the registry of everything NDIS handed out.
//!
//! Exports are free functions with C signatures, so they find their simulator
//! through the handle they are given (looked up in [`REGISTRY`], never
//! dereferenced blindly) or, for handle-less exports such as the spin-lock
//! calls, through the thread's current simulator.

use crate::verifier::Violation;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

/// Lock a mutex, ignoring poisoning (a failed test thread must not hide the state).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a registered address is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The handle `NdisMRegisterMiniportDriver` returned.
    DriverHandle,
    /// A `MiniportAdapterHandle` given to `MiniportInitializeEx`.
    AdapterHandle,
    /// Pool memory from `NdisAllocateMemoryWithTagPriority`.
    Memory { tag: u32, len: usize },
    /// A configuration handle from `NdisOpenConfigurationEx`.
    Config,
    /// A timer object from `NdisAllocateTimerObject`.
    Timer,
    /// An I/O work item from `NdisAllocateIoWorkItem`.
    WorkItem,
    /// A NET_BUFFER_LIST pool.
    NblPool,
    /// A NET_BUFFER_LIST allocated from a pool.
    Nbl,
    /// An MDL from `NdisAllocateMdl`.
    Mdl,
    /// A frame-port attachment made by `ChimneyPhyAttach` (ended by `ChimneyPhyDetach`).
    PhyAttachment,
}

impl Kind {
    /// Resources the driver must give back before it finishes halting.
    pub fn is_adapter_resource(&self) -> bool {
        !matches!(self, Kind::DriverHandle | Kind::AdapterHandle)
    }
}

/// One registered address.
pub struct Entry {
    pub kind: Kind,
    pub sim: Arc<SimCore>,
}

/// Every live handle and allocation, across all simulators in the process.
pub static REGISTRY: LazyLock<Mutex<HashMap<usize, Entry>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Register `addr` as `kind` of `sim`.
pub fn register(addr: usize, kind: Kind, sim: &Arc<SimCore>) {
    lock(&REGISTRY).insert(
        addr,
        Entry {
            kind,
            sim: Arc::clone(sim),
        },
    );
}

/// Remove `addr`; returns what it was.
pub fn unregister(addr: usize) -> Option<Entry> {
    lock(&REGISTRY).remove(&addr)
}

/// Look `addr` up, expecting `kind` (compared by variant).
pub fn lookup(addr: usize, kind: &Kind) -> Option<Arc<SimCore>> {
    let reg = lock(&REGISTRY);
    let e = reg.get(&addr)?;
    (core::mem::discriminant(&e.kind) == core::mem::discriminant(kind)).then(|| Arc::clone(&e.sim))
}

crate::checker::processor_local! {
    static CURRENT: RefCell<Option<Arc<SimCore>>> = RefCell::new(None);
}

/// Make `sim` the current simulator of this thread (returns the previous one).
pub fn set_current(sim: Option<Arc<SimCore>>) -> Option<Arc<SimCore>> {
    CURRENT.with(|c| c.replace(sim))
}

/// The current simulator of this thread, if any.
pub fn current() -> Option<Arc<SimCore>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Record a violation on the current simulator (or on the orphan list).
pub fn report(v: Violation) {
    match current() {
        Some(sim) => sim.violation(v),
        None => lock(&ORPHANS).push(v),
    }
}

/// Violations raised on threads with no current simulator.
pub static ORPHANS: LazyLock<Mutex<Vec<Violation>>> = LazyLock::new(|| Mutex::new(Vec::new()));

/// A pending timer expiry, ordered by (due time, arming sequence).
#[derive(Clone, Copy, Debug)]
pub struct Armed {
    pub timer: usize,
    pub period_100ns: u64,
}

/// Shared state of one simulated machine with one driver.
pub struct SimCore {
    pub id: usize,
    violations: Mutex<Vec<Violation>>,
    /// Count of pool allocations attempted (memory, pools, timers, work items).
    pub alloc_attempts: AtomicU64,
    /// Fail the allocation whose 1-based attempt number equals this (0 = never).
    pub fail_alloc_at: AtomicU64,
    /// Virtual time in 100 ns units (the unit of Windows due times).
    pub now_100ns: AtomicU64,
    /// Armed timers keyed by (due, seq).
    pub timers: Mutex<BTreeMap<(u64, u64), Armed>>,
    pub timer_seq: AtomicU64,
    /// Queued I/O work items (item address) in FIFO order.
    pub work_items: Mutex<VecDeque<usize>>,
    /// Registry configuration the driver can read (keyword → value).
    pub config: Mutex<HashMap<String, crate::exports::config::ConfigValue>>,
    /// Calls to exports, in order (name), for tests that check call sequences.
    pub calls: Mutex<Vec<&'static str>>,
    /// Requests handed to the driver and not yet completed.
    pub outstanding: Mutex<HashMap<usize, crate::tracker::Request>>,
    /// Requests completed (for double-completion detection).
    pub completed: Mutex<HashMap<usize, &'static str>>,
    /// What the driver registered and reported.
    pub driver: Mutex<crate::exports::driver::DriverRecord>,
    /// OID completions the driver made with NdisMOidRequestComplete.
    pub oid_completions: Mutex<Vec<(usize, i32)>>,
    /// Status indications the driver made (status code, buffer copy).
    pub status_indications: Mutex<Vec<(i32, Vec<u8>)>>,
    /// Chimney completions and indications made through the handler table.
    pub chimney: Mutex<crate::exports::chimney::ChimneyLog>,
    /// How NdisMGetOffloadHandlers answers (a `TableMode` value).
    pub table_mode: std::sync::atomic::AtomicU8,
    /// Called when a state operation completes, while the tree is valid.
    pub on_state_complete: Mutex<Option<StateHook>>,
    /// Called inside `NdisTcpOffloadReceiveComplete`, as the host may act
    /// from inside that call (post more receive requests).
    pub on_receive_complete: Mutex<Option<ReceiveHook>>,
    /// Called inside `NdisMSleep` with the microseconds asked for: what the
    /// host does while the driver waits.
    pub on_sleep: Mutex<Option<SleepHook>>,
    /// The frame port: configuration, attachments, transmit rings, capture.
    pub phy: Mutex<crate::exports::phy::PhyState>,
    /// The scripted TCP peer at the far end of the wire.
    pub peer: Mutex<crate::peer::Peer>,
    /// A wire to the outside (a TAP device) in place of the scripted peer.
    pub link: Mutex<Option<crate::link::Link>>,
    /// Make MmMapLockedPagesSpecifyCache fail (return NULL).
    pub fail_mdl_mapping: std::sync::atomic::AtomicBool,
    /// ChimneyPhyTransmit reports a hardware error (the port is broken).
    pub phy_hardware_error: std::sync::atomic::AtomicBool,
    /// Ordinary receive indications and NBLs the driver lent to NDIS.
    pub rx: Mutex<crate::exports::nblpool::RxState>,
    /// Wall time (ns) the simulator spent in its own bookkeeping of state
    /// trees (hand-over scan, completion scan and checks), so benchmarks can
    /// report the driver's time without it. Only measured, never acted on.
    pub tree_bookkeeping_ns: AtomicU64,
    /// Spin-lock acquires that found the lock held by another processor
    /// (counted on the slow path only): a model check shows with it that
    /// it explored a processor waiting inside the driver's locks.
    pub contended_acquires: AtomicU64,
    /// Timer callbacks started while a run of the same timer was still in
    /// progress on another processor.
    pub overlapping_timer_runs: AtomicU64,
    /// Timer object → runs of its callback in progress.
    pub timer_runs: Mutex<HashMap<usize, u32>>,
}

/// A callback run inside a state-operation completion (export name, root).
pub type ReceiveHook = Box<dyn FnMut() + Send>;

pub type SleepHook = Box<dyn FnMut(u32) + Send>;

pub type StateHook =
    Box<dyn FnMut(&'static str, chimney_miniport::ffi::PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST) + Send>;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

impl SimCore {
    pub fn new() -> Arc<Self> {
        Arc::new(SimCore {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            violations: Mutex::new(Vec::new()),
            alloc_attempts: AtomicU64::new(0),
            fail_alloc_at: AtomicU64::new(0),
            now_100ns: AtomicU64::new(0),
            timers: Mutex::new(BTreeMap::new()),
            timer_seq: AtomicU64::new(0),
            work_items: Mutex::new(VecDeque::new()),
            config: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
            outstanding: Mutex::new(HashMap::new()),
            completed: Mutex::new(HashMap::new()),
            driver: Mutex::new(Default::default()),
            oid_completions: Mutex::new(Vec::new()),
            status_indications: Mutex::new(Vec::new()),
            chimney: Mutex::new(Default::default()),
            table_mode: std::sync::atomic::AtomicU8::new(0),
            on_state_complete: Mutex::new(None),
            on_receive_complete: Mutex::new(None),
            on_sleep: Mutex::new(None),
            phy: Mutex::new(Default::default()),
            peer: Mutex::new(Default::default()),
            link: Mutex::new(None),
            fail_mdl_mapping: std::sync::atomic::AtomicBool::new(false),
            phy_hardware_error: std::sync::atomic::AtomicBool::new(false),
            rx: Mutex::new(Default::default()),
            tree_bookkeeping_ns: AtomicU64::new(0),
            contended_acquires: AtomicU64::new(0),
            overlapping_timer_runs: AtomicU64::new(0),
            timer_runs: Mutex::new(HashMap::new()),
        })
    }

    pub fn violation(&self, v: Violation) {
        lock(&self.violations).push(v);
    }

    pub fn take_violations(&self) -> Vec<Violation> {
        core::mem::take(&mut *lock(&self.violations))
    }

    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.violations).clone()
    }

    pub fn record_call(&self, name: &'static str) {
        lock(&self.calls).push(name);
    }

    /// Decide whether the next allocation succeeds (failure injection).
    pub fn allocation_allowed(&self) -> bool {
        let n = self.alloc_attempts.fetch_add(1, Ordering::SeqCst) + 1;
        self.fail_alloc_at.load(Ordering::SeqCst) != n
    }

    /// Resources of this simulator still registered, as (address, kind).
    pub fn live_resources(&self) -> Vec<(usize, Kind)> {
        let reg = lock(&REGISTRY);
        let mut v: Vec<(usize, Kind)> = reg
            .iter()
            .filter(|(_, e)| e.sim.id == self.id)
            .map(|(a, e)| (*a, e.kind.clone()))
            .collect();
        v.sort_by_key(|(a, _)| *a);
        v
    }
}
