//! Adapter lifecycle: MiniportInitializeEx, HaltEx, Pause, Restart, Reset,
//! CheckForHang, DevicePnPEventNotify, ShutdownEx. PASSIVE_LEVEL except
//! where noted; the adapter object lives in pool memory from InitializeEx to HaltEx.

use super::chimney::Deferred;
use super::hardware;
use crate::ffi::imports::NdisMSetMiniportAttributes;
use crate::ffi::*;
use crate::kw;
use crate::ndis::config::Config;
use crate::ndis::handlers::TcpOffloadHandlers;
use crate::ndis::timer::Timer;
use crate::ndis::{NdisHandle, PoolBox, SpinLock};
use crate::offload::caps::ChimneyCaps;
use crate::offload::params::TcpParams;
use crate::offload::stats::OffloadStats;
use crate::offload::table::{Admission, OffloadTable};

/// What the INF keywords configured, read once at initialization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistryConfig {
    pub ipv4_enabled: bool,
    pub ipv6_enabled: bool,
    pub capacity: ULONG,
    pub vlan_id: u16,
    pub receive_buffers: ULONG,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            ipv4_enabled: true,
            ipv6_enabled: true,
            capacity: hardware::DEFAULT_OFFLOAD_CAPACITY,
            vlan_id: 0,
            receive_buffers: hardware::DEFAULT_RECEIVE_BUFFERS,
        }
    }
}

impl RegistryConfig {
    /// Read the keywords; absent or out-of-range values keep their defaults.
    pub fn read(config: &Config) -> Self {
        let mut c = RegistryConfig::default();
        if let Some(v) = config.read_u32(kw!("*TCPConnectionOffloadIPv4")) {
            c.ipv4_enabled = v != 0;
        }
        if let Some(v) = config.read_u32(kw!("*TCPConnectionOffloadIPv6")) {
            c.ipv6_enabled = v != 0;
        }
        if let Some(v) = config.read_u32(kw!("TcpConnectionOffloadCapacity"))
            && (hardware::MIN_OFFLOAD_CAPACITY..=hardware::MAX_OFFLOAD_CAPACITY).contains(&v)
        {
            c.capacity = v;
        }
        if let Some(v) = config.read_u32(kw!("*VlanID"))
            && v < 4095
        {
            c.vlan_id = v as u16;
        }
        if let Some(v) = config.read_u32(kw!("*ReceiveBuffers"))
            && (hardware::MIN_RECEIVE_BUFFERS..=hardware::MAX_RECEIVE_BUFFERS).contains(&v)
        {
            c.receive_buffers = v;
        }
        c
    }
}

/// Run state of the ordinary data path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Paused,
    Running,
}

/// Mutable adapter-wide state, under the adapter lock.
pub struct AdapterState {
    pub run: RunState,
    pub packet_filter: ULONG,
    pub lookahead: ULONG,
    pub multicast: [[u8; 6]; hardware::MAX_MULTICAST_LIST as usize],
    pub multicast_len: usize,
    pub current_mac: [u8; 6],
    /// Chimney configuration in force (what the host was last told).
    pub chimney_current: ChimneyCaps,
    /// True between NDIS_STATUS_OFFLOAD_PAUSE and NDIS_STATUS_OFFLOAD_RESUME.
    pub chimney_paused: bool,
    /// Configuration to announce with NDIS_STATUS_OFFLOAD_RESUME once every
    /// offloaded object has been uploaded.
    pub pending_resume: Option<ChimneyCaps>,
    /// An OID_PNP_SET_POWER request pended until every upload completes
    /// (address of the NDIS_OID_REQUEST; 0 = none).
    pub pending_power_oid: usize,
    pub tcp_params: TcpParams,
    pub xmit_ok: u64,
    pub rcv_ok: u64,
}

/// One adapter instance: the `MiniportAdapterContext` NDIS hands back to every handler.
pub struct Adapter {
    /// `MiniportAdapterHandle` from InitializeEx.
    pub handle: NdisHandle,
    pub registry: RegistryConfig,
    /// Chimney capability of the hardware (never changes while offloads may exist).
    pub chimney_hw: ChimneyCaps,
    /// The completion/indication table from NdisMGetOffloadHandlers; `None`
    /// when NDIS offered none, and then chimney is not advertised.
    pub offload_handlers: Option<TcpOffloadHandlers>,
    pub state: SpinLock<AdapterState>,
    pub stats: OffloadStats,
    /// Requests waiting for the completion timer.
    pub deferred: SpinLock<Deferred>,
    /// Terminate trees queued (or being walked) whose connections are not
    /// yet marked as uploading: the data path marks them the first time it
    /// runs while this is non-zero (rules 52, 61); see `chimney::mark_pending_terminates`.
    pub unmarked_terminates: core::sync::atomic::AtomicU32,
    /// The offloaded objects (present whenever chimney is advertised).
    pub offload: Option<SpinLock<OffloadTable>>,
    /// Connections' send side and the NIC (present whenever chimney is advertised).
    pub data: Option<super::send::DataPath>,
    /// Runs deferred completions at DISPATCH_LEVEL (the adapter's "DPC").
    completion_timer: Option<Timer>,
}

impl Adapter {
    /// Recover the adapter from the context NDIS passes to handlers.
    ///
    /// # Safety
    /// `ctx` must be the `MiniportAdapterContext` this driver registered, and
    /// the adapter must not have been halted.
    pub unsafe fn from_context<'a>(ctx: NDIS_HANDLE) -> Option<&'a Adapter> {
        // SAFETY: per the contract, `ctx` is a live Adapter we registered.
        unsafe { ctx.cast::<Adapter>().as_ref() }
    }

    /// The current chimney configuration as NDIS sees it (None if chimney is off).
    pub fn chimney_current(&self) -> Option<ChimneyCaps> {
        self.offload_handlers.as_ref()?;
        Some(self.state.lock().chimney_current)
    }

    /// The TCP parameters in force.
    pub fn tcp_params(&self) -> TcpParams {
        self.state.lock().tcp_params
    }

    /// True if any neighbor, path or connection is still offloaded.
    pub fn has_offloaded_objects(&self) -> bool {
        self.offload.as_ref().is_some_and(|t| {
            let t = t.lock();
            t.neighbors.live() + t.paths.live() + t.tcps.live() != 0
        })
    }

    /// Make the completion timer fire soon (callable at IRQL <= DISPATCH_LEVEL).
    pub fn kick_completions(&self) {
        if let Some(t) = &self.completion_timer {
            t.set_ms(hardware::COMPLETION_DELAY_MS);
        }
    }
}

fn set_attributes<T>(handle: NdisHandle, attrs: &mut T) -> NDIS_STATUS {
    // SAFETY: every NDIS_MINIPORT_ADAPTER_*_ATTRIBUTES begins with its header;
    // NDIS reads the structure (and what it points to) during the call only.
    unsafe { NdisMSetMiniportAttributes(handle.raw(), (attrs as *mut T).cast()) }
}

/// The OIDs this miniport answers (reported in the general attributes).
pub const SUPPORTED_OIDS: &[NDIS_OID] = super::ctrlpath::SUPPORTED_OIDS;

fn general_attributes(adapter: &Adapter) -> NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES {
    // SAFETY: plain data; zero is valid for every field (NULL pointers, 0 values).
    let mut g: NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES = unsafe { core::mem::zeroed() };
    g.Header = NDIS_OBJECT_HEADER {
        Type: NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
        Revision: NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2,
        Size: NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2,
    };
    g.MediaType = NdisMedium802_3;
    g.PhysicalMediumType = NdisPhysicalMedium802_3;
    g.MtuSize = hardware::MTU;
    g.MaxXmitLinkSpeed = hardware::LINK_SPEED_BPS;
    g.XmitLinkSpeed = hardware::LINK_SPEED_BPS;
    g.MaxRcvLinkSpeed = hardware::LINK_SPEED_BPS;
    g.RcvLinkSpeed = hardware::LINK_SPEED_BPS;
    g.MediaConnectState = MediaConnectStateConnected;
    g.MediaDuplexState = MediaDuplexStateFull;
    g.LookaheadSize = hardware::MAX_FRAME_SIZE;
    g.MacOptions = NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA
        | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND
        | NDIS_MAC_OPTION_NO_LOOPBACK;
    g.SupportedPacketFilters = NDIS_PACKET_TYPE_DIRECTED
        | NDIS_PACKET_TYPE_MULTICAST
        | NDIS_PACKET_TYPE_ALL_MULTICAST
        | NDIS_PACKET_TYPE_BROADCAST
        | NDIS_PACKET_TYPE_PROMISCUOUS;
    g.MaxMulticastListSize = hardware::MAX_MULTICAST_LIST;
    g.MacAddressLength = 6;
    let permanent = adapter
        .data
        .as_ref()
        .map_or(hardware::PERMANENT_MAC, |d| d.nic.mac);
    g.PermanentMacAddress[..6].copy_from_slice(&permanent);
    g.CurrentMacAddress[..6].copy_from_slice(&adapter.state.lock().current_mac);
    g.AccessType = NET_IF_ACCESS_BROADCAST;
    g.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    g.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    g.IfType = IF_TYPE_ETHERNET_CSMACD;
    g.IfConnectorPresent = FALSE;
    g.SupportedStatistics = NDIS_STATISTICS_XMIT_OK_SUPPORTED | NDIS_STATISTICS_RCV_OK_SUPPORTED;
    g.SupportedPauseFunctions = NdisPauseFunctionsUnsupported;
    g.SupportedOidList = SUPPORTED_OIDS.as_ptr().cast_mut();
    g.SupportedOidListLength = size_of_val(SUPPORTED_OIDS) as ULONG;
    g.AutoNegotiationFlags = NDIS_LINK_STATE_DUPLEX_AUTO_NEGOTIATED;
    g
}

/// Empty task-offload description (this NIC offers no checksum/LSO offloads).
fn no_task_offloads() -> NDIS_OFFLOAD {
    // SAFETY: plain data; all-zero means "nothing supported".
    let mut o: NDIS_OFFLOAD = unsafe { core::mem::zeroed() };
    o.Header = NDIS_OBJECT_HEADER {
        Type: NDIS_OBJECT_TYPE_OFFLOAD,
        Revision: NDIS_OFFLOAD_REVISION_1,
        Size: NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1,
    };
    o
}

/// Report the chimney capability and configuration (rule 7).
fn set_offload_attributes(adapter: &Adapter) -> NDIS_STATUS {
    let mut current_tasks = no_task_offloads();
    let mut hw_tasks = no_task_offloads();
    let mut current = adapter.state.lock().chimney_current.to_ndis();
    let mut hw = adapter.chimney_hw.to_ndis();
    let chimney = adapter.offload_handlers.is_some();
    let mut o = NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES {
        Header: NDIS_OBJECT_HEADER {
            Type: NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES,
            Revision: NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1,
            Size: NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1,
        },
        DefaultOffloadConfiguration: &mut current_tasks,
        HardwareOffloadCapabilities: &mut hw_tasks,
        DefaultTcpConnectionOffloadConfiguration: if chimney {
            &mut current
        } else {
            core::ptr::null_mut()
        },
        TcpConnectionOffloadHardwareCapabilities: if chimney {
            &mut hw
        } else {
            core::ptr::null_mut()
        },
    };
    set_attributes(adapter.handle, &mut o)
}

/// MiniportInitializeEx.
///
/// # Safety
/// Called by NDIS at PASSIVE_LEVEL with its adapter handle and valid parameters.
pub unsafe extern "system" fn miniport_initialize_ex(
    MiniportAdapterHandle: NDIS_HANDLE,
    _MiniportDriverContext: NDIS_HANDLE,
    _MiniportInitParameters: PNDIS_MINIPORT_INIT_PARAMETERS,
) -> NDIS_STATUS {
    match initialize(NdisHandle::new(MiniportAdapterHandle)) {
        Ok(()) => NDIS_STATUS_SUCCESS,
        Err(status) => status,
    }
}

impl Drop for Adapter {
    /// Whatever path frees the adapter (halt or a failed initialization),
    /// the NIC stops calling up before any other part of it goes away.
    fn drop(&mut self) {
        if let Some(dp) = &self.data {
            dp.nic.detach();
        }
    }
}

fn initialize(handle: NdisHandle) -> Result<(), NDIS_STATUS> {
    let registry = {
        let config = Config::open(handle)?;
        RegistryConfig::read(&config)
    };
    let offload_handlers = TcpOffloadHandlers::fetch(handle);
    let chimney_hw = ChimneyCaps::hardware(registry.capacity);
    let current = chimney_hw.restricted(registry.ipv4_enabled, registry.ipv6_enabled);
    // Context pools are sized once, here: no walk ever allocates.
    let offload = match offload_handlers {
        Some(_) => Some(SpinLock::new(OffloadTable::new(
            handle,
            registry.capacity as usize,
            Admission {
                ipv4: current.ipv4,
                ipv6: current.ipv6,
                vlan_id: registry.vlan_id,
                mac: hardware::PERMANENT_MAC,
                max_rcv_window: hardware::MAX_RCV_WINDOW,
            },
        )?)),
        None => None,
    };
    let mut adapter = PoolBox::try_new(
        handle,
        hardware::TAG_ADAPTER,
        Adapter {
            handle,
            registry,
            chimney_hw,
            offload_handlers,
            state: SpinLock::new(AdapterState {
                run: RunState::Paused,
                packet_filter: 0,
                lookahead: hardware::MAX_FRAME_SIZE,
                multicast: [[0; 6]; hardware::MAX_MULTICAST_LIST as usize],
                multicast_len: 0,
                current_mac: hardware::PERMANENT_MAC,
                chimney_current: chimney_hw
                    .restricted(registry.ipv4_enabled, registry.ipv6_enabled),
                chimney_paused: false,
                pending_resume: None,
                pending_power_oid: 0,
                tcp_params: TcpParams::default(),
                xmit_ok: 0,
                rcv_ok: 0,
            }),
            stats: OffloadStats::default(),
            deferred: SpinLock::new(Deferred::new()),
            unmarked_terminates: core::sync::atomic::AtomicU32::new(0),
            offload,
            data: None,
            completion_timer: None,
        },
    )?;
    adapter.state.init();
    adapter.deferred.init();
    if let Some(t) = &adapter.offload {
        t.init();
    }
    let ctx = adapter.as_ptr();
    if adapter.offload_handlers.is_some() {
        // The NIC that carries offloaded connections. Without one, chimney
        // is not advertised (the adapter still works as a plain NIC).
        match super::send::DataPath::new(
            handle,
            registry.capacity as usize,
            registry.receive_buffers as usize,
            ctx.cast(),
        ) {
            Ok(dp) => {
                let mac = dp.nic.mac;
                adapter.state.get_mut().current_mac = mac;
                if let Some(t) = adapter.offload.as_mut() {
                    t.get_mut().admission.mac = mac;
                }
                adapter.data = Some(dp);
            }
            Err(NDIS_STATUS_RESOURCES) => return Err(NDIS_STATUS_RESOURCES),
            Err(_) => {
                adapter.offload_handlers = None;
                adapter.offload = None;
            }
        }
    }
    if let Some(dp) = &adapter.data {
        dp.init();
    }
    adapter.completion_timer = Some(Timer::allocate(
        handle,
        hardware::TAG_TIMER,
        Some(super::chimney::completion_timer_callback),
        ctx.cast(),
    )?);

    // Registration attributes come first; NDIS learns our context here.
    let mut reg = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES {
        Header: NDIS_OBJECT_HEADER {
            Type: NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
            Revision: NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2,
            Size: NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2,
        },
        MiniportAdapterContext: ctx.cast(),
        AttributeFlags: NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM
            | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK
            | NDIS_MINIPORT_ATTRIBUTES_NO_PAUSE_ON_SUSPEND,
        CheckForHangTimeInSeconds: 0,
        InterfaceType: NdisInterfaceInternal,
    };
    check(set_attributes(handle, &mut reg))?;
    let mut general = general_attributes(&adapter);
    check(set_attributes(handle, &mut general))?;
    check(set_offload_attributes(&adapter))?;

    adapter.state.lock().run = RunState::Running;
    // NDIS owns the context from here until MiniportHaltEx.
    let _ = adapter.into_raw();
    Ok(())
}

fn check(status: NDIS_STATUS) -> Result<(), NDIS_STATUS> {
    if nt_success(status) {
        Ok(())
    } else {
        Err(status)
    }
}

/// MiniportHaltEx: finish outstanding work, then free the adapter.
///
/// # Safety
/// Called by NDIS at PASSIVE_LEVEL with our context, once.
pub unsafe extern "system" fn miniport_halt_ex(
    MiniportAdapterContext: NDIS_HANDLE,
    _HaltAction: NDIS_HALT_ACTION,
) {
    // SAFETY: the context is the Adapter we leaked in InitializeEx.
    let Some(adapter) = (unsafe { PoolBox::from_raw(MiniportAdapterContext.cast::<Adapter>()) })
    else {
        return;
    };
    // No NIC upcall runs after this.
    if let Some(dp) = &adapter.data {
        dp.nic.detach();
        dp.stop();
    }
    if let Some(t) = &adapter.completion_timer {
        t.cancel();
    }
    super::chimney::fail_all_deferred(&adapter);
    // Receive NBLs lent to NDIS (indications, BufferedData) come back
    // before their pool goes (rule 78).
    if let Some(dp) = &adapter.data {
        while dp.rx.lent() > 0 {
            crate::ndis::clock::sleep_us(1000);
        }
    }
    drop(adapter);
}

/// MiniportPause: the ordinary data path holds nothing pending, so pause completes at once.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_pause(
    MiniportAdapterContext: NDIS_HANDLE,
    _PauseParameters: PNDIS_MINIPORT_PAUSE_PARAMETERS,
) -> NDIS_STATUS {
    // SAFETY: live context.
    if let Some(a) = unsafe { Adapter::from_context(MiniportAdapterContext) } {
        a.state.lock().run = RunState::Paused;
        // A pause completes only once no send is pending: the frames still
        // waiting for ring space are failed with PAUSED.
        if let Some(dp) = a.data.as_ref() {
            dp.flush_ordinary(a, NDIS_STATUS_PAUSED, false);
        }
    }
    NDIS_STATUS_SUCCESS
}

/// MiniportRestart.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_restart(
    MiniportAdapterContext: NDIS_HANDLE,
    _RestartParameters: PNDIS_MINIPORT_RESTART_PARAMETERS,
) -> NDIS_STATUS {
    // SAFETY: live context.
    if let Some(a) = unsafe { Adapter::from_context(MiniportAdapterContext) } {
        a.state.lock().run = RunState::Running;
    }
    NDIS_STATUS_SUCCESS
}

/// MiniportCheckForHangEx (IRQL <= DISPATCH_LEVEL): the software NIC cannot hang.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_check_for_hang_ex(
    _MiniportAdapterContext: NDIS_HANDLE,
) -> BOOLEAN {
    FALSE
}

/// MiniportResetEx (IRQL <= DISPATCH_LEVEL): nothing to reset; addressing kept.
///
/// # Safety
/// NDIS contract; `AddressingReset` points to a BOOLEAN.
pub unsafe extern "system" fn miniport_reset_ex(
    _MiniportAdapterContext: NDIS_HANDLE,
    AddressingReset: PBOOLEAN,
) -> NDIS_STATUS {
    if !AddressingReset.is_null() {
        // SAFETY: NDIS passes a writable BOOLEAN.
        unsafe { *AddressingReset = FALSE };
    }
    NDIS_STATUS_SUCCESS
}

/// MiniportDevicePnPEventNotify: a virtual adapter has no removal work.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_device_pnp_event_notify(
    _MiniportAdapterContext: NDIS_HANDLE,
    _NetDevicePnPEvent: PNET_DEVICE_PNP_EVENT,
) {
}

/// MiniportShutdownEx (any IRQL): no locks, no allocation, nothing to quiesce.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_shutdown_ex(
    _MiniportAdapterContext: NDIS_HANDLE,
    _ShutdownAction: NDIS_SHUTDOWN_ACTION,
) {
}
