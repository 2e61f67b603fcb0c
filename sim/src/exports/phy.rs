//! The frame port under the driver's software offload engine (`ChimneyPhyAttach`,
//! `ChimneyPhyTransmit`, `ChimneyPhyDetach`, the ABI of the driver's
//! `ffi::phy`), and the two data-path helpers the send path imports
//! (`NdisAdvanceNetBufferDataStart`, `MmMapLockedPagesSpecifyCache`).
//!
//! Each adapter has one port: a transmit ring the wire drains one frame per
//! simulator step (see [`crate::peer`]), the handlers the driver registered,
//! and a note that a `TxReadyHandler` call is owed after a refused transmit.
//! Handlers are always called at DISPATCH_LEVEL with no simulator lock held.

use super::check_irql_max;
use super::driver::adapter_sim;
use crate::irql;
use crate::peer::Direction;
use crate::state::{self, Kind, SimCore, lock, report};
use crate::verifier::Violation;
use chimney_miniport::ffi::*;
use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;

/// The port MAC address a fresh simulator reports.
pub const DEFAULT_MAC: [u8; 6] = [0x02, 0x43, 0x48, 0x4D, 0x4E, 0x59];
/// The transmit-ring depth (frames) a fresh simulator reports.
pub const DEFAULT_RING_DEPTH: u32 = 256;

/// What the driver registered with `ChimneyPhyAttach`.
#[derive(Clone, Copy)]
pub struct Handlers {
    /// The `Context` passed back to both handlers (an address).
    pub context: usize,
    pub receive: CHIMNEY_PHY_RECEIVE_HANDLER,
    pub tx_ready: CHIMNEY_PHY_TX_READY_HANDLER,
}

/// A live attachment. Its `token` is registered as [`Kind::PhyAttachment`],
/// so an adapter halted while still attached shows up as a leak.
pub struct Attachment {
    pub handlers: Handlers,
    token: Box<u64>,
}

impl Attachment {
    fn token_addr(&self) -> usize {
        &*self.token as *const u64 as usize
    }
}

/// The frame port of one adapter.
#[derive(Default)]
pub struct Port {
    pub attachment: Option<Attachment>,
    /// Frames transmitted and not yet carried by the wire, oldest first.
    pub ring: VecDeque<Vec<u8>>,
    /// Ring depth in frames, fixed at attach time.
    pub depth: usize,
    /// A transmit was refused: call TxReadyHandler when a frame leaves the ring.
    pub tx_ready_owed: bool,
    /// Handler calls running now (ChimneyPhyDetach waits for them).
    pub in_flight: usize,
}

/// Frame-port state of one simulator.
pub struct PhyState {
    /// The port MAC reported by `ChimneyPhyAttach`.
    pub mac: [u8; 6],
    /// The ring depth reported by `ChimneyPhyAttach`.
    pub ring_depth: u32,
    /// While true the wire carries nothing out of the rings.
    pub held: bool,
    /// Ports by adapter handle.
    pub ports: BTreeMap<usize, Port>,
    /// Every frame on the wire: (virtual time in 100 ns, direction, bytes).
    pub capture: Vec<(u64, Direction, Vec<u8>)>,
    /// Frames the driver transmitted (accepted into a ring).
    pub frames_sent: u64,
    /// Transmits refused because the ring was full.
    pub frames_refused: u64,
}

impl Default for PhyState {
    fn default() -> Self {
        PhyState {
            mac: DEFAULT_MAC,
            ring_depth: DEFAULT_RING_DEPTH,
            held: false,
            ports: BTreeMap::new(),
            capture: Vec::new(),
            frames_sent: 0,
            frames_refused: 0,
        }
    }
}

crate::checker::processor_local! {
    /// Depth of port handler calls running on this thread.
    static IN_HANDLER: Cell<usize> = Cell::new(0);
}

/// Record a violation on `sim` if the current IRQL is above `max` (works on
/// threads that have no current simulator).
fn irql_max(sim: &SimCore, export: &'static str, max: KIRQL) {
    let irql = irql::current();
    if irql > max {
        sim.violation(Violation::IrqlTooHigh { export, irql, max });
    }
}

fn bad_arg(sim: &SimCore, export: &'static str, detail: impl Into<String>) {
    sim.violation(Violation::BadArgument {
        export,
        detail: detail.into(),
    });
}

/// `ChimneyPhyAttach` (frame port). PASSIVE_LEVEL.
///
/// # Safety
/// Port contract: valid characteristics, a 6-byte MAC buffer and a ULONG out.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ChimneyPhyAttach(
    MiniportAdapterHandle: NDIS_HANDLE,
    Characteristics: *const CHIMNEY_PHY_CHARACTERISTICS,
    MacAddress: *mut UCHAR,
    TxRingSize: *mut ULONG,
) -> NDIS_STATUS {
    const E: &str = "ChimneyPhyAttach";
    let Some(sim) = adapter_sim(E, MiniportAdapterHandle) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    irql_max(&sim, E, PASSIVE_LEVEL);
    sim.record_call(E);
    if Characteristics.is_null() || MacAddress.is_null() || TxRingSize.is_null() {
        bad_arg(&sim, E, "NULL argument");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: checked non-NULL; the driver passes its characteristics.
    let ch = unsafe { Characteristics.read() };
    if ch.Header.Type != CHIMNEY_PHY_CHARACTERISTICS_TYPE
        || ch.Header.Revision != CHIMNEY_PHY_CHARACTERISTICS_REVISION_1
        || ch.Header.Size < NDIS_SIZEOF_CHIMNEY_PHY_CHARACTERISTICS_REVISION_1
    {
        bad_arg(&sim, E, format!("header {:?}", ch.Header));
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    if ch.ReceiveHandler.is_none() {
        bad_arg(&sim, E, "ReceiveHandler is NULL");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    let handle = MiniportAdapterHandle as usize;
    let attachment = Attachment {
        handlers: Handlers {
            context: ch.Context as usize,
            receive: ch.ReceiveHandler,
            tx_ready: ch.TxReadyHandler,
        },
        token: Box::new(0),
    };
    let token = attachment.token_addr();
    state::register(token, Kind::PhyAttachment, &sim);
    let (mac, depth) = {
        let mut phy = lock(&sim.phy);
        let (mac, depth) = (phy.mac, phy.ring_depth);
        let port = phy.ports.entry(handle).or_default();
        if port.attachment.is_some() {
            drop(phy);
            state::unregister(token);
            bad_arg(&sim, E, "the adapter is already attached");
            return NDIS_STATUS_INVALID_STATE;
        }
        port.attachment = Some(attachment);
        port.depth = depth as usize;
        port.tx_ready_owed = false;
        (mac, depth)
    };
    // SAFETY: checked non-NULL; the caller passes 6 bytes and a ULONG.
    unsafe {
        std::ptr::copy_nonoverlapping(mac.as_ptr(), MacAddress, 6);
        *TxRingSize = depth;
    }
    NDIS_STATUS_SUCCESS
}

/// `ChimneyPhyDetach` (frame port). PASSIVE_LEVEL. When it returns no
/// handler is running and none will be called again.
#[unsafe(no_mangle)]
pub extern "system" fn ChimneyPhyDetach(MiniportAdapterHandle: NDIS_HANDLE) {
    const E: &str = "ChimneyPhyDetach";
    let Some(sim) = adapter_sim(E, MiniportAdapterHandle) else {
        return;
    };
    irql_max(&sim, E, PASSIVE_LEVEL);
    sim.record_call(E);
    let handle = MiniportAdapterHandle as usize;
    let taken = {
        let mut phy = lock(&sim.phy);
        phy.ports.get_mut(&handle).and_then(|p| {
            p.tx_ready_owed = false;
            p.attachment.take()
        })
    };
    let Some(att) = taken else {
        bad_arg(&sim, E, "the adapter is not attached");
        return;
    };
    state::unregister(att.token_addr());
    if IN_HANDLER.with(|c| c.get()) != 0 {
        // Called from inside a port handler (at DISPATCH_LEVEL, already a
        // violation above): waiting for handlers would wait for ourselves.
        bad_arg(&sim, E, "called from inside a port handler");
        return;
    }
    wait_idle(&sim, handle);
}

/// Wait until no handler call of `handle`'s port is running.
fn wait_idle(sim: &SimCore, handle: usize) {
    loop {
        let busy = lock(&sim.phy)
            .ports
            .get(&handle)
            .is_some_and(|p| p.in_flight != 0);
        if !busy {
            return;
        }
        std::thread::yield_now();
    }
}

/// `ChimneyPhyTransmit` (frame port). IRQL <= DISPATCH_LEVEL; any thread.
///
/// # Safety
/// Port contract: `Frame` points to `Length` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ChimneyPhyTransmit(
    MiniportAdapterHandle: NDIS_HANDLE,
    Frame: *const UCHAR,
    Length: ULONG,
) -> NDIS_STATUS {
    const E: &str = "ChimneyPhyTransmit";
    let Some(sim) = adapter_sim(E, MiniportAdapterHandle) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    irql_max(&sim, E, DISPATCH_LEVEL);
    if Frame.is_null() {
        bad_arg(&sim, E, "NULL frame");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    let len = Length as usize;
    if !(14..=CHIMNEY_PHY_MAX_FRAME).contains(&len) {
        bad_arg(
            &sim,
            E,
            format!("frame length {len} outside 14..={CHIMNEY_PHY_MAX_FRAME}"),
        );
        return NDIS_STATUS_INVALID_LENGTH;
    }
    if sim.phy_hardware_error.load(Ordering::SeqCst) {
        // A broken port: nothing is accepted, nothing reaches the wire.
        return NDIS_STATUS_FAILURE;
    }
    let now = sim.now_100ns.load(Ordering::SeqCst);
    // SAFETY: checked non-NULL; the driver passes `Length` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(Frame, len) }.to_vec();
    let mut guard = lock(&sim.phy);
    let phy = &mut *guard;
    let Some(port) = phy
        .ports
        .get_mut(&(MiniportAdapterHandle as usize))
        .filter(|p| p.attachment.is_some())
    else {
        drop(guard);
        bad_arg(&sim, E, "transmit on a port that is not attached");
        return NDIS_STATUS_INVALID_STATE;
    };
    if port.ring.len() >= port.depth {
        port.tx_ready_owed = true;
        phy.frames_refused += 1;
        return NDIS_STATUS_RESOURCES;
    }
    port.ring.push_back(bytes.clone());
    phy.frames_sent += 1;
    phy.capture.push((now, Direction::FromTarget, bytes));
    NDIS_STATUS_SUCCESS
}

/// Take the oldest frame off the first non-empty ring (unless the wire is
/// held): (adapter handle, frame, whether a TxReady call is now due).
pub(crate) fn pop_frame(sim: &SimCore) -> Option<(usize, Vec<u8>, bool)> {
    let mut phy = lock(&sim.phy);
    if phy.held {
        return None;
    }
    let (&handle, port) = phy.ports.iter_mut().find(|(_, p)| !p.ring.is_empty())?;
    let frame = port.ring.pop_front()?;
    let owed = port.tx_ready_owed && port.attachment.is_some();
    if owed {
        port.tx_ready_owed = false;
    }
    Some((handle, frame, owed))
}

/// Mark a handler call of `handle`'s port as started; its handlers if attached.
fn begin_call(sim: &SimCore, handle: usize) -> Option<Handlers> {
    let mut phy = lock(&sim.phy);
    let port = phy.ports.get_mut(&handle)?;
    let h = port.attachment.as_ref()?.handlers;
    port.in_flight += 1;
    Some(h)
}

fn end_call(sim: &SimCore, handle: usize) {
    if let Some(p) = lock(&sim.phy).ports.get_mut(&handle) {
        p.in_flight -= 1;
    }
}

/// Run `f` as a port handler call: at DISPATCH_LEVEL, no lock held, counted.
fn as_handler(f: impl FnOnce()) {
    IN_HANDLER.with(|c| c.set(c.get() + 1));
    irql::at_dispatch(f);
    IN_HANDLER.with(|c| c.set(c.get() - 1));
}

/// Call the TxReadyHandler of `handle`'s port (if attached and registered).
pub(crate) fn call_tx_ready(sim: &SimCore, handle: usize) {
    let Some(h) = begin_call(sim, handle) else {
        return;
    };
    if let Some(f) = h.tx_ready {
        // SAFETY: the driver registered this handler for this context and
        // has not detached (checked under the lock; detach waits for us).
        as_handler(|| unsafe { f(h.context as PVOID) });
    }
    end_call(sim, handle);
}

/// Put a frame from the peer on the wire: capture it and hand it to the
/// ReceiveHandler of every attached port (one adapter per simulator).
pub(crate) fn deliver_to_driver(sim: &SimCore, frame: &[u8]) {
    let now = sim.now_100ns.load(Ordering::SeqCst);
    let handles: Vec<usize> = {
        let mut phy = lock(&sim.phy);
        phy.capture.push((now, Direction::FromPeer, frame.to_vec()));
        phy.ports
            .iter()
            .filter(|(_, p)| p.attachment.is_some())
            .map(|(h, _)| *h)
            .collect()
    };
    for handle in handles {
        let Some(h) = begin_call(sim, handle) else {
            continue;
        };
        if let Some(f) = h.receive {
            // The frame is valid only during the call: the driver gets a copy.
            let copy = frame.to_vec();
            // SAFETY: the driver's registered handler with its context and a
            // frame of `copy.len()` bytes that outlives the call.
            as_handler(|| unsafe { f(h.context as PVOID, copy.as_ptr(), copy.len() as ULONG) });
        }
        end_call(sim, handle);
    }
}

/// Forget `handle`'s port when its adapter goes away (after the leak check):
/// no handler of a halted adapter is ever called.
pub(crate) fn forget_adapter(sim: &SimCore, handle: usize) {
    lock(&sim.phy).ports.remove(&handle);
}

/// `NdisAdvanceNetBufferDataStart` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisAdvanceNetBufferDataStart(
    NetBuffer: PNET_BUFFER,
    DataOffsetDelta: ULONG,
    FreeMdl: BOOLEAN,
    _FreeMdlHandler: PVOID,
) {
    const E: &str = "NdisAdvanceNetBufferDataStart";
    check_irql_max(E, DISPATCH_LEVEL);
    if NetBuffer.is_null() {
        report(Violation::BadArgument {
            export: E,
            detail: "NULL NET_BUFFER".into(),
        });
        return;
    }
    if FreeMdl != FALSE {
        report(Violation::BadArgument {
            export: E,
            detail: "FreeMdl = TRUE: the offload target must not free the host's MDLs".into(),
        });
    }
    // SAFETY: the driver passes a NET_BUFFER it owns; its MDL chain is valid.
    unsafe {
        let d = &mut (*NetBuffer).NetBufferHeader.NetBufferData;
        let len = d.NbDataLength.DataLength;
        if DataOffsetDelta > len {
            report(Violation::BadArgument {
                export: E,
                detail: format!("delta {DataOffsetDelta} > DataLength {len}"),
            });
            return;
        }
        d.DataOffset += DataOffsetDelta;
        d.NbDataLength.DataLength = len - DataOffsetDelta;
        let mut off = d.CurrentMdlOffset + DataOffsetDelta;
        let mut mdl = d.CurrentMdl;
        while !mdl.is_null() && off >= (*mdl).ByteCount && !(*mdl).Next.is_null() {
            off -= (*mdl).ByteCount;
            mdl = (*mdl).Next;
        }
        d.CurrentMdl = mdl;
        d.CurrentMdlOffset = off;
    }
}

/// `MmMapLockedPagesSpecifyCache` (ntoskrnl.exe). IRQL <= DISPATCH_LEVEL.
/// Host pages are always "mapped": the system address is `StartVa + ByteOffset`.
/// Returns NULL while the simulator's `fail_mdl_mapping` switch is on.
#[unsafe(no_mangle)]
pub extern "system" fn MmMapLockedPagesSpecifyCache(
    MemoryDescriptorList: PMDL,
    AccessMode: i8,
    _CacheType: i32,
    _RequestedAddress: PVOID,
    BugCheckOnFailure: ULONG,
    _Priority: ULONG,
) -> PVOID {
    const E: &str = "MmMapLockedPagesSpecifyCache";
    check_irql_max(E, DISPATCH_LEVEL);
    if BugCheckOnFailure != 0 {
        report(Violation::BadArgument {
            export: E,
            detail: "BugCheckOnFailure != 0: a driver must not ask for a bugcheck".into(),
        });
    }
    if AccessMode != KernelMode {
        report(Violation::BadArgument {
            export: E,
            detail: format!("AccessMode {AccessMode}: system mappings are KernelMode"),
        });
    }
    if MemoryDescriptorList.is_null() {
        report(Violation::BadArgument {
            export: E,
            detail: "NULL MDL".into(),
        });
        return std::ptr::null_mut();
    }
    if state::current().is_some_and(|s| s.fail_mdl_mapping.load(Ordering::SeqCst)) {
        return std::ptr::null_mut();
    }
    // SAFETY: the driver passes a valid MDL describing locked pages.
    unsafe {
        let m = &mut *MemoryDescriptorList;
        let va = m
            .StartVa
            .cast::<u8>()
            .wrapping_add(m.ByteOffset as usize)
            .cast();
        m.MappedSystemVa = va;
        m.MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
        va
    }
}
