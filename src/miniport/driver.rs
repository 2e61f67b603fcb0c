//! DriverEntry, the miniport driver characteristics, MiniportSetOptions (the
//! chimney registration) and unload. PASSIVE_LEVEL only.

use super::{adapter, chimney, ctrlpath, datapath, hardware};
use crate::ffi::imports::{
    NdisMDeregisterMiniportDriver, NdisMRegisterMiniportDriver, NdisSetOptionalHandlers,
};
use crate::ffi::*;
use core::sync::atomic::{AtomicPtr, Ordering};

/// The handle `NdisMRegisterMiniportDriver` gave us (NULL when not registered).
static DRIVER_HANDLE: AtomicPtr<core::ffi::c_void> = AtomicPtr::new(core::ptr::null_mut());

/// The driver handle, for the few calls that take it.
pub fn driver_handle() -> NDIS_HANDLE {
    DRIVER_HANDLE.load(Ordering::Acquire)
}

/// The miniport characteristics we register (NDIS 6.30, revision 2).
pub fn miniport_characteristics() -> NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
    // SAFETY: the structure is plain data (integers and nullable fn pointers);
    // all-zero is a valid value, and every field we need is set below.
    let mut c: NDIS_MINIPORT_DRIVER_CHARACTERISTICS = unsafe { core::mem::zeroed() };
    c.Header = NDIS_OBJECT_HEADER {
        Type: NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
        Revision: NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2,
        Size: NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2,
    };
    c.MajorNdisVersion = hardware::NDIS_MAJOR_VERSION;
    c.MinorNdisVersion = hardware::NDIS_MINOR_VERSION;
    c.MajorDriverVersion = hardware::DRIVER_MAJOR_VERSION;
    c.MinorDriverVersion = hardware::DRIVER_MINOR_VERSION;
    c.Flags = 0;
    c.SetOptionsHandler = Some(miniport_set_options);
    c.InitializeHandlerEx = Some(adapter::miniport_initialize_ex);
    c.HaltHandlerEx = Some(adapter::miniport_halt_ex);
    c.UnloadHandler = Some(miniport_driver_unload);
    c.PauseHandler = Some(adapter::miniport_pause);
    c.RestartHandler = Some(adapter::miniport_restart);
    c.OidRequestHandler = Some(ctrlpath::miniport_oid_request);
    c.SendNetBufferListsHandler = Some(datapath::miniport_send_net_buffer_lists);
    c.ReturnNetBufferListsHandler = Some(datapath::miniport_return_net_buffer_lists);
    c.CancelSendHandler = Some(datapath::miniport_cancel_send);
    c.CheckForHangHandlerEx = Some(adapter::miniport_check_for_hang_ex);
    c.ResetHandlerEx = Some(adapter::miniport_reset_ex);
    c.DevicePnPEventNotifyHandler = Some(adapter::miniport_device_pnp_event_notify);
    c.ShutdownHandlerEx = Some(adapter::miniport_shutdown_ex);
    c.CancelOidRequestHandler = Some(ctrlpath::miniport_cancel_oid_request);
    c
}

/// DriverEntry: register the miniport with NDIS.
///
/// # Safety
/// Called once by the I/O manager with valid driver object and registry path.
#[cfg_attr(not(test), unsafe(export_name = "DriverEntry"))]
pub unsafe extern "system" fn driver_entry(
    DriverObject: PDRIVER_OBJECT,
    RegistryPath: PUNICODE_STRING,
) -> NTSTATUS {
    let chars = miniport_characteristics();
    let mut handle: NDIS_HANDLE = core::ptr::null_mut();
    // SAFETY: arguments are those the I/O manager gave us; `chars` and `handle`
    // are valid for the call (NDIS copies the characteristics).
    let status = unsafe {
        NdisMRegisterMiniportDriver(
            DriverObject,
            RegistryPath,
            core::ptr::null_mut(),
            (&raw const chars).cast_mut(),
            &mut handle,
        )
    };
    if !nt_success(status) {
        DRIVER_HANDLE.store(core::ptr::null_mut(), Ordering::Release);
        return NDIS_STATUS_FAILURE;
    }
    DRIVER_HANDLE.store(handle, Ordering::Release);
    STATUS_SUCCESS
}

/// MiniportDriverUnload: undo the registration.
///
/// # Safety
/// Called by NDIS once, after every adapter has halted.
pub unsafe extern "system" fn miniport_driver_unload(_DriverObject: PDRIVER_OBJECT) {
    let h = DRIVER_HANDLE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !h.is_null() {
        // SAFETY: `h` is the handle NdisMRegisterMiniportDriver returned.
        unsafe { NdisMDeregisterMiniportDriver(h) };
    }
}

/// The provider chimney tables registered in MiniportSetOptions.
pub fn chimney_generic_characteristics() -> NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS {
    NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS {
        Header: NDIS_OBJECT_HEADER::new(
            NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
            PROVIDER_CHIMNEY_CHARACTERISTICS_REVISION,
            size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS>(),
        ),
        Flags: 0,
        InitiateOffloadHandler: Some(chimney::miniport_initiate_offload),
        TerminateOffloadHandler: Some(chimney::miniport_terminate_offload),
        UpdateOffloadHandler: Some(chimney::miniport_update_offload),
        InvalidateOffloadHandler: Some(chimney::miniport_invalidate_offload),
        QueryOffloadHandler: Some(chimney::miniport_query_offload),
    }
}

/// The TCP chimney table registered in MiniportSetOptions.
pub fn chimney_tcp_characteristics() -> NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS {
    NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS {
        Header: NDIS_OBJECT_HEADER::new(
            NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS,
            PROVIDER_CHIMNEY_CHARACTERISTICS_REVISION,
            size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS>(),
        ),
        Flags: 0,
        OffloadType: NdisTcpChimneyOffload,
        TcpOffloadSendHandler: Some(super::send::miniport_tcp_offload_send),
        TcpOffloadReceiveHandler: Some(chimney::miniport_tcp_offload_receive),
        TcpOffloadDisconnectHandler: Some(chimney::miniport_tcp_offload_disconnect),
        TcpOffloadForwardHandler: Some(chimney::miniport_tcp_offload_forward),
        TcpOffloadReceiveReturnHandler: Some(super::receive::miniport_tcp_offload_receive_return),
    }
}

/// `Header.Revision` of the provider chimney characteristics. No revision macro
/// exists in ndischimney.h; Microsoft's public MUX sample uses 0 (spec §2.1,
/// UNCONFIRMED; recorded in docs/decisions.md).
pub const PROVIDER_CHIMNEY_CHARACTERISTICS_REVISION: UCHAR = 0;

/// MiniportSetOptions: register the generic and the TCP chimney handler tables.
///
/// # Safety
/// Called by NDIS at PASSIVE_LEVEL from inside NdisMRegisterMiniportDriver.
pub unsafe extern "system" fn miniport_set_options(
    NdisDriverHandle: NDIS_HANDLE,
    _DriverContext: NDIS_HANDLE,
) -> NDIS_STATUS {
    let mut generic = chimney_generic_characteristics();
    // SAFETY: NDIS reads the table during the call (it copies the handlers).
    let status = unsafe {
        NdisSetOptionalHandlers(
            NdisDriverHandle,
            (&raw mut generic).cast::<NDIS_OBJECT_HEADER>(),
        )
    };
    if !nt_success(status) {
        return status;
    }
    let mut tcp = chimney_tcp_characteristics();
    // SAFETY: as above.
    let status = unsafe {
        NdisSetOptionalHandlers(
            NdisDriverHandle,
            (&raw mut tcp).cast::<NDIS_OBJECT_HEADER>(),
        )
    };
    if !nt_success(status) {
        // NDIS offers no call to withdraw the generic table; the failed
        // registration makes NDIS discard the driver's optional handlers.
        return status;
    }
    NDIS_STATUS_SUCCESS
}
