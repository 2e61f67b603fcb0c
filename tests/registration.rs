//! Driver registration and chimney handler registration (spec rules 1–6).

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::*;
use ndis_sim::exports::chimney::TableMode;

#[test]
fn driver_entry_registers_ndis_630_miniport_with_mandatory_handlers() {
    let sim = loaded();
    {
        let d = sim.driver();
        let c = d.characteristics.expect("registered").0;
        assert_eq!(
            c.Header.Type,
            NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS
        );
        assert_eq!(
            c.Header.Revision,
            NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2
        );
        assert_eq!(
            c.Header.Size,
            NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2
        );
        assert_eq!((c.MajorNdisVersion, c.MinorNdisVersion), (6, 30));
        assert!(
            c.InitializeHandlerEx.is_some()
                && c.HaltHandlerEx.is_some()
                && c.UnloadHandler.is_some()
        );
        assert!(
            c.PauseHandler.is_some() && c.RestartHandler.is_some() && c.OidRequestHandler.is_some()
        );
        assert!(c.SendNetBufferListsHandler.is_some() && c.ReturnNetBufferListsHandler.is_some());
        assert!(c.CancelSendHandler.is_some() && c.DevicePnPEventNotifyHandler.is_some());
        assert!(c.ShutdownHandlerEx.is_some() && c.CancelOidRequestHandler.is_some());
        assert!(c.CheckForHangHandlerEx.is_some() && c.ResetHandlerEx.is_some());
        assert!(c.SetOptionsHandler.is_some());
        assert_eq!(d.set_options_status, Some(NDIS_STATUS_SUCCESS));
        assert!(!d.deregistered);
    }
    finish(sim);
}

#[test]
fn rule_001_set_options_registers_generic_and_tcp_tables() {
    let sim = loaded();
    {
        let d = sim.driver();
        let types: Vec<u8> = d.optional_handler_calls.iter().map(|h| h.Type).collect();
        assert_eq!(
            types,
            vec![
                NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
                NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS
            ],
            "exactly one call per table"
        );
        assert!(d.generic.is_some() && d.tcp.is_some());
    }
    finish(sim);
}

#[test]
fn rule_002_generic_table_order_initiate_terminate_update_invalidate_query() {
    use chimney_miniport::miniport::chimney as ch;
    let sim = loaded();
    {
        let g = sim.driver().generic.expect("generic").0;
        let addr = |f: W_INITIATE_OFFLOAD_HANDLER| f.map(|f| f as usize);
        assert_eq!(
            addr(g.InitiateOffloadHandler),
            Some(ch::miniport_initiate_offload as *const () as usize)
        );
        assert_eq!(
            addr(g.TerminateOffloadHandler),
            Some(ch::miniport_terminate_offload as *const () as usize)
        );
        assert_eq!(
            addr(g.UpdateOffloadHandler),
            Some(ch::miniport_update_offload as *const () as usize)
        );
        assert_eq!(
            addr(g.InvalidateOffloadHandler),
            Some(ch::miniport_invalidate_offload as *const () as usize)
        );
        assert_eq!(
            addr(g.QueryOffloadHandler),
            Some(ch::miniport_query_offload as *const () as usize)
        );
        // And the field offsets are the C ones.
        assert_eq!(
            core::mem::offset_of!(
                NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
                InitiateOffloadHandler
            ),
            8
        );
        assert_eq!(
            core::mem::offset_of!(
                NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
                UpdateOffloadHandler
            ),
            24
        );
        assert_eq!(
            core::mem::offset_of!(
                NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
                InvalidateOffloadHandler
            ),
            32
        );
        assert_eq!(
            core::mem::offset_of!(
                NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
                QueryOffloadHandler
            ),
            40
        );
    }
    finish(sim);
}

#[test]
fn rule_003_tcp_table_offload_type_is_tcp_chimney() {
    let sim = loaded();
    {
        let t = sim.driver().tcp.expect("tcp").0;
        assert_eq!(t.OffloadType, NdisTcpChimneyOffload);
        assert_eq!(NdisTcpChimneyOffload, 1);
        assert!(t.TcpOffloadSendHandler.is_some());
        assert!(t.TcpOffloadReceiveHandler.is_some());
        assert!(t.TcpOffloadDisconnectHandler.is_some());
        assert!(t.TcpOffloadForwardHandler.is_some());
        assert!(t.TcpOffloadReceiveReturnHandler.is_some());
    }
    finish(sim);
}

#[test]
fn rule_004_chimney_table_headers_types_and_sizes() {
    let sim = loaded();
    {
        let d = sim.driver();
        let g = d.generic.expect("generic").0.Header;
        let t = d.tcp.expect("tcp").0.Header;
        assert_eq!(g.Type, 0x8F);
        assert_eq!(
            usize::from(g.Size),
            size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS>()
        );
        assert_eq!(g.Size, 48);
        assert_eq!(t.Type, 0x94);
        assert_eq!(
            usize::from(t.Size),
            size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS>()
        );
        assert_eq!(t.Size, 56);
    }
    finish(sim);
}

/// Rule 5: the six NdisTcpOffload* entry points come from NdisMGetOffloadHandlers,
/// never from imports. The import list is checked against the source, and the
/// simulator saw the table requested during initialization.
#[test]
fn rule_005_tcp_offload_entry_points_from_get_offload_handlers_not_imports() {
    let src = include_str!("../src/ffi/imports.rs");
    for name in [
        "NdisTcpOffloadSendComplete",
        "NdisTcpOffloadReceiveComplete",
        "NdisTcpOffloadDisconnectComplete",
        "NdisTcpOffloadForwardComplete",
        "NdisTcpOffloadEventHandler",
        "NdisTcpOffloadReceiveHandler",
    ] {
        assert!(
            !src.contains(&format!("fn {name}")),
            "{name} must not be an import"
        );
    }
    let sim = with_adapter();
    let calls = sim.core.calls.lock().unwrap().clone();
    assert_eq!(
        calls
            .iter()
            .filter(|c| **c == "NdisMGetOffloadHandlers")
            .count(),
        1
    );
    finish(sim);
}

fn chimney_advertised(sim: &ndis_sim::Simulator) -> bool {
    let d = sim.driver();
    d.adapter.tcp_offload_current.is_some() || d.adapter.tcp_offload_hardware.is_some()
}

/// Rule 6: a refused table (not supported, wrong revision, too small) fails
/// chimney initialization: the adapter still comes up, chimney is not advertised.
#[test]
fn rule_006_handler_table_revision_and_size_checked() {
    for mode in [
        TableMode::NotSupported,
        TableMode::BadRevision,
        TableMode::ShortSize,
    ] {
        let mut sim = loaded();
        sim.set_table_mode(mode);
        assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS, "{mode:?}");
        assert!(
            !chimney_advertised(&sim),
            "{mode:?}: chimney must not be advertised"
        );
        let r = sim.oid_query(OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES, 64);
        assert_eq!(r.status, NDIS_STATUS_NOT_SUPPORTED, "{mode:?}");
        finish(sim);
    }
    let sim = with_adapter();
    assert!(chimney_advertised(&sim), "a valid table enables chimney");
    finish(sim);
}

#[test]
fn unload_deregisters_the_driver() {
    let mut sim = with_adapter();
    sim.halt();
    sim.unload();
    assert!(sim.driver().deregistered);
    sim.assert_clean();
}

/// Every import of the driver is an export the simulator implements, and the
/// simulator implements only functions it lists as ndis.sys/ntoskrnl.exe exports.
#[test]
fn every_import_is_a_real_ndis_export() {
    let src = include_str!("../src/ffi/imports.rs");
    let exports = ndis_sim::exports::exports();
    let imports: Vec<&str> = src
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub fn "))
        .map(|l| l.split('(').next().unwrap())
        .collect();
    assert!(imports.len() >= 30, "imports parsed: {imports:?}");
    for name in &imports {
        assert!(
            exports.iter().any(|(n, _, _)| n == name),
            "{name} is imported but not a known export"
        );
    }
}
