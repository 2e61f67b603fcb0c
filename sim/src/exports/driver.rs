//! Driver and adapter registration exports, and the records of what the
//! driver registered: `NdisMRegisterMiniportDriver` (which calls the driver's
//! MiniportSetOptions from inside, as NDIS does), `NdisSetOptionalHandlers`,
//! `NdisMSetMiniportAttributes`, `NdisMIndicateStatusEx`,
//! `NdisMSendNetBufferListsComplete`, `NdisMDeregisterMiniportDriver`.

use super::check_irql_max;
use super::spinlock::check_no_lock_held;
use crate::state::{self, Kind, SimCore, lock, report};
use crate::verifier::Violation;
use chimney_miniport::ffi::*;
use std::sync::Arc;

/// A copy of a C structure that holds raw pointers, kept as a record.
#[derive(Clone, Copy)]
pub struct Rec<T>(pub T);
// SAFETY: records are inert copies read by tests; their pointers are never dereferenced through them.
unsafe impl<T> Send for Rec<T> {}

/// What the driver registered with NDIS.
#[derive(Default)]
pub struct DriverRecord {
    pub driver_handle: usize,
    pub characteristics: Option<Rec<NDIS_MINIPORT_DRIVER_CHARACTERISTICS>>,
    pub generic: Option<Rec<NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS>>,
    pub tcp: Option<Rec<NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS>>,
    /// Headers passed to NdisSetOptionalHandlers, in call order.
    pub optional_handler_calls: Vec<NDIS_OBJECT_HEADER>,
    pub in_set_options: bool,
    pub set_options_status: Option<NDIS_STATUS>,
    pub deregistered: bool,
    pub adapter: AdapterRecord,
}

/// What the driver reported for its adapter.
#[derive(Default)]
pub struct AdapterRecord {
    pub context: usize,
    /// Attribute header types in the order they were set.
    pub attribute_order: Vec<u8>,
    pub registration: Option<Rec<NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES>>,
    pub general: Option<Rec<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES>>,
    pub supported_oids: Vec<NDIS_OID>,
    pub offload_header: Option<NDIS_OBJECT_HEADER>,
    pub tcp_offload_current: Option<Rec<NDIS_TCP_CONNECTION_OFFLOAD>>,
    pub tcp_offload_hardware: Option<Rec<NDIS_TCP_CONNECTION_OFFLOAD>>,
    /// Completed ordinary sends: (NBL address, status).
    pub send_completions: Vec<(usize, NDIS_STATUS)>,
}

/// The `NdisDriverHandle` object (its address is the handle).
pub struct DriverBlock {
    pub sim: Arc<SimCore>,
}

fn check_header(export: &'static str, h: &NDIS_OBJECT_HEADER, ty: u8, min_size: usize) -> bool {
    if h.Type != ty || usize::from(h.Size) < min_size {
        report(Violation::BadArgument {
            export,
            detail: format!("header {h:?}, expected type {ty:#x} size >= {min_size}"),
        });
        return false;
    }
    true
}

/// `NdisMRegisterMiniportDriver` (ndis.sys). PASSIVE_LEVEL.
///
/// # Safety
/// NDIS contract: valid characteristics and out handle.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisMRegisterMiniportDriver(
    _DriverObject: PDRIVER_OBJECT,
    _RegistryPath: PUNICODE_STRING,
    MiniportDriverContext: NDIS_HANDLE,
    MiniportDriverCharacteristics: PNDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    NdisMiniportDriverHandle: PNDIS_HANDLE,
) -> NDIS_STATUS {
    check_irql_max("NdisMRegisterMiniportDriver", PASSIVE_LEVEL);
    let Some(sim) = state::current() else {
        return NDIS_STATUS_FAILURE;
    };
    sim.record_call("NdisMRegisterMiniportDriver");
    if MiniportDriverCharacteristics.is_null() || NdisMiniportDriverHandle.is_null() {
        report(Violation::BadArgument {
            export: "NdisMRegisterMiniportDriver",
            detail: "NULL argument".into(),
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: checked non-NULL; the driver passes its characteristics.
    let ch = unsafe { MiniportDriverCharacteristics.read() };
    if !check_header(
        "NdisMRegisterMiniportDriver",
        &ch.Header,
        NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
        usize::from(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1),
    ) || ch.MajorNdisVersion != 6
    {
        return NDIS_STATUS_BAD_VERSION;
    }
    let mandatory = [
        ("InitializeHandlerEx", ch.InitializeHandlerEx.is_some()),
        ("HaltHandlerEx", ch.HaltHandlerEx.is_some()),
        ("UnloadHandler", ch.UnloadHandler.is_some()),
        ("PauseHandler", ch.PauseHandler.is_some()),
        ("RestartHandler", ch.RestartHandler.is_some()),
        ("OidRequestHandler", ch.OidRequestHandler.is_some()),
        (
            "SendNetBufferListsHandler",
            ch.SendNetBufferListsHandler.is_some(),
        ),
        (
            "ReturnNetBufferListsHandler",
            ch.ReturnNetBufferListsHandler.is_some(),
        ),
        ("CancelSendHandler", ch.CancelSendHandler.is_some()),
        (
            "DevicePnPEventNotifyHandler",
            ch.DevicePnPEventNotifyHandler.is_some(),
        ),
        ("ShutdownHandlerEx", ch.ShutdownHandlerEx.is_some()),
        (
            "CancelOidRequestHandler",
            ch.CancelOidRequestHandler.is_some(),
        ),
    ];
    for (name, present) in mandatory {
        if !present {
            report(Violation::BadArgument {
                export: "NdisMRegisterMiniportDriver",
                detail: format!("mandatory handler {name} is NULL"),
            });
            return NDIS_STATUS_BAD_CHARACTERISTICS;
        }
    }
    let block = Box::into_raw(Box::new(DriverBlock {
        sim: Arc::clone(&sim),
    }));
    state::register(block as usize, Kind::DriverHandle, &sim);
    {
        let mut d = lock(&sim.driver);
        d.driver_handle = block as usize;
        d.characteristics = Some(Rec(ch));
    }
    // NDIS calls MiniportSetOptions from inside the registration.
    if let Some(set_options) = ch.SetOptionsHandler {
        lock(&sim.driver).in_set_options = true;
        // SAFETY: calling the driver's registered handler with its own handles.
        let st = unsafe { set_options(block.cast(), MiniportDriverContext) };
        let mut d = lock(&sim.driver);
        d.in_set_options = false;
        d.set_options_status = Some(st);
        if !nt_success(st) {
            drop(d);
            state::unregister(block as usize);
            // SAFETY: allocated above and unregistered; no one else holds it.
            drop(unsafe { Box::from_raw(block) });
            return st;
        }
    }
    // SAFETY: checked non-NULL above.
    unsafe { *NdisMiniportDriverHandle = block.cast() };
    NDIS_STATUS_SUCCESS
}

/// `NdisMDeregisterMiniportDriver` (ndis.sys). PASSIVE_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisMDeregisterMiniportDriver(NdisMiniportDriverHandle: NDIS_HANDLE) {
    check_irql_max("NdisMDeregisterMiniportDriver", PASSIVE_LEVEL);
    let Some(sim) = state::lookup(NdisMiniportDriverHandle as usize, &Kind::DriverHandle) else {
        report(Violation::BadHandle {
            export: "NdisMDeregisterMiniportDriver",
            handle: NdisMiniportDriverHandle as usize,
        });
        return;
    };
    sim.record_call("NdisMDeregisterMiniportDriver");
    state::unregister(NdisMiniportDriverHandle as usize);
    lock(&sim.driver).deregistered = true;
    // SAFETY: the handle is a DriverBlock we boxed at registration, now unregistered.
    drop(unsafe { Box::from_raw(NdisMiniportDriverHandle.cast::<DriverBlock>()) });
}

/// `NdisSetOptionalHandlers` (ndis.sys). PASSIVE_LEVEL, from MiniportSetOptions.
///
/// # Safety
/// NDIS contract: a valid optional-handler table.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisSetOptionalHandlers(
    NdisHandle: NDIS_HANDLE,
    OptionalHandlers: PNDIS_DRIVER_OPTIONAL_HANDLERS,
) -> NDIS_STATUS {
    check_irql_max("NdisSetOptionalHandlers", PASSIVE_LEVEL);
    let Some(sim) = state::lookup(NdisHandle as usize, &Kind::DriverHandle) else {
        report(Violation::BadHandle {
            export: "NdisSetOptionalHandlers",
            handle: NdisHandle as usize,
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    sim.record_call("NdisSetOptionalHandlers");
    if OptionalHandlers.is_null() {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: every optional table starts with a header.
    let h = unsafe { *OptionalHandlers };
    let mut d = lock(&sim.driver);
    if !d.in_set_options {
        report(Violation::BadArgument {
            export: "NdisSetOptionalHandlers",
            detail: "called outside MiniportSetOptions".into(),
        });
    }
    d.optional_handler_calls.push(h);
    match h.Type {
        NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS => {
            if usize::from(h.Size)
                != size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS>()
            {
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: the header says it is the generic chimney table of this size.
            d.generic = Some(Rec(unsafe {
                OptionalHandlers
                    .cast::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS>()
                    .read()
            }));
            NDIS_STATUS_SUCCESS
        }
        NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS => {
            if usize::from(h.Size) != size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS>()
            {
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: the header says it is the TCP chimney table of this size.
            d.tcp = Some(Rec(unsafe {
                OptionalHandlers
                    .cast::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS>()
                    .read()
            }));
            NDIS_STATUS_SUCCESS
        }
        _ => NDIS_STATUS_NOT_SUPPORTED,
    }
}

/// The adapter object whose address is the `MiniportAdapterHandle`.
pub struct AdapterBlock {
    pub sim: Arc<SimCore>,
    /// The TCP chimney table NdisMGetOffloadHandlers returns for this adapter.
    pub tcp_handlers: NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
}

/// Record the adapter for `handle` and return its simulator.
pub(crate) fn adapter_sim(export: &'static str, handle: NDIS_HANDLE) -> Option<Arc<SimCore>> {
    let sim = state::lookup(handle as usize, &Kind::AdapterHandle);
    if sim.is_none() {
        report(Violation::BadHandle {
            export,
            handle: handle as usize,
        });
    }
    sim
}

/// `NdisMSetMiniportAttributes` (ndis.sys). PASSIVE_LEVEL, from MiniportInitializeEx.
///
/// # Safety
/// NDIS contract: a valid attribute structure (and what it points to).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisMSetMiniportAttributes(
    NdisMiniportHandle: NDIS_HANDLE,
    MiniportAttributes: PNDIS_MINIPORT_ADAPTER_ATTRIBUTES,
) -> NDIS_STATUS {
    check_irql_max("NdisMSetMiniportAttributes", PASSIVE_LEVEL);
    let Some(sim) = adapter_sim("NdisMSetMiniportAttributes", NdisMiniportHandle) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    sim.record_call("NdisMSetMiniportAttributes");
    if !sim.allocation_allowed() {
        // NDIS allocates while recording attributes; let tests fail this too.
        return NDIS_STATUS_RESOURCES;
    }
    if MiniportAttributes.is_null() {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: every attribute structure starts with a header.
    let h = unsafe { *MiniportAttributes };
    let mut d = lock(&sim.driver);
    let a = &mut d.adapter;
    let first = a.attribute_order.is_empty();
    if first && h.Type != NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES {
        report(Violation::BadArgument {
            export: "NdisMSetMiniportAttributes",
            detail: "registration attributes must be set first".into(),
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    a.attribute_order.push(h.Type);
    match h.Type {
        NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES => {
            if !check_header(
                "NdisMSetMiniportAttributes",
                &h,
                h.Type,
                usize::from(NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1),
            ) {
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: header checked; the structure is at least revision 1.
            let r = unsafe {
                MiniportAttributes
                    .cast::<NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES>()
                    .read()
            };
            a.context = r.MiniportAdapterContext as usize;
            a.registration = Some(Rec(r));
        }
        NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES => {
            if !check_header(
                "NdisMSetMiniportAttributes",
                &h,
                h.Type,
                usize::from(NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1),
            ) {
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: header checked.
            let g = unsafe {
                MiniportAttributes
                    .cast::<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES>()
                    .read()
            };
            let n = g.SupportedOidListLength as usize / size_of::<NDIS_OID>();
            a.supported_oids = if g.SupportedOidList.is_null() {
                Vec::new()
            } else {
                // SAFETY: the list holds SupportedOidListLength bytes.
                unsafe { std::slice::from_raw_parts(g.SupportedOidList, n).to_vec() }
            };
            a.general = Some(Rec(g));
        }
        NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES => {
            if !check_header(
                "NdisMSetMiniportAttributes",
                &h,
                h.Type,
                usize::from(NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1),
            ) {
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: header checked; pointed-to structures are read during the call only.
            unsafe {
                let o = MiniportAttributes
                    .cast::<NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES>()
                    .read();
                a.offload_header = Some(o.Header);
                a.tcp_offload_current = o
                    .DefaultTcpConnectionOffloadConfiguration
                    .as_ref()
                    .map(|t| Rec(*t));
                a.tcp_offload_hardware = o
                    .TcpConnectionOffloadHardwareCapabilities
                    .as_ref()
                    .map(|t| Rec(*t));
            }
        }
        _ => {}
    }
    NDIS_STATUS_SUCCESS
}

/// `NdisMIndicateStatusEx` (ndis.sys). IRQL <= DISPATCH_LEVEL.
///
/// # Safety
/// NDIS contract: a valid status indication.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisMIndicateStatusEx(
    MiniportAdapterHandle: NDIS_HANDLE,
    StatusIndication: PNDIS_STATUS_INDICATION,
) {
    check_irql_max("NdisMIndicateStatusEx", DISPATCH_LEVEL);
    check_no_lock_held("NdisMIndicateStatusEx");
    let Some(sim) = adapter_sim("NdisMIndicateStatusEx", MiniportAdapterHandle) else {
        return;
    };
    if StatusIndication.is_null() {
        return;
    }
    // SAFETY: the driver passes a valid indication whose buffer holds StatusBufferSize bytes.
    unsafe {
        let s = &*StatusIndication;
        if s.Header.Type != NDIS_OBJECT_TYPE_STATUS_INDICATION {
            report(Violation::BadArgument {
                export: "NdisMIndicateStatusEx",
                detail: format!("header type {:#x}", s.Header.Type),
            });
        }
        let buf = if s.StatusBuffer.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(s.StatusBuffer.cast::<u8>(), s.StatusBufferSize as usize)
                .to_vec()
        };
        lock(&sim.status_indications).push((s.StatusCode, buf));
    }
}

/// `NdisMSendNetBufferListsComplete` (ndis.sys). IRQL <= DISPATCH_LEVEL.
///
/// # Safety
/// NDIS contract: a chain of NBLs NDIS gave the driver.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisMSendNetBufferListsComplete(
    MiniportAdapterHandle: NDIS_HANDLE,
    NetBufferLists: PNET_BUFFER_LIST,
    _SendCompleteFlags: ULONG,
) {
    check_irql_max("NdisMSendNetBufferListsComplete", DISPATCH_LEVEL);
    check_no_lock_held("NdisMSendNetBufferListsComplete");
    let Some(sim) = adapter_sim("NdisMSendNetBufferListsComplete", MiniportAdapterHandle) else {
        return;
    };
    let mut p = NetBufferLists;
    while !p.is_null() {
        crate::tracker::complete(&sim, p as usize, "NdisMSendNetBufferListsComplete");
        // SAFETY: each NBL in the chain is a valid NBL the sim built.
        let (status, next) =
            unsafe { ((*p).Status, (*p).NetBufferListHeader.NetBufferListData.Next) };
        lock(&sim.driver)
            .adapter
            .send_completions
            .push((p as usize, status));
        p = next;
    }
}
