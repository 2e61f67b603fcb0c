//! chimney-sim: load the driver in the host NDIS simulator, initialize one
//! adapter, print what it registered and advertises, halt and unload it, and
//! fail if the verifier saw anything wrong or anything leaked.

use chimney_miniport::ffi::*;
use ndis_sim::Simulator;
use std::process::ExitCode;

fn status(s: i32) -> String {
    format!("{:#010x}", s as u32)
}

fn handler<T>(name: &str, f: Option<T>) -> String {
    match f {
        Some(f) => {
            // SAFETY: reading a function pointer's address for display only.
            let addr: usize = unsafe { std::mem::transmute_copy(&f) };
            format!("  {name:<32} {addr:#x}")
        }
        None => format!("  {name:<32} NULL"),
    }
}

fn caps(label: &str, t: Option<NDIS_TCP_CONNECTION_OFFLOAD>) {
    match t {
        Some(t) => println!(
            "  {label:<44} IPv4={} IPv6={} IPv6ExtHdr={} SACK={} capacity={} encapsulation={:#x}",
            t.SupportIPv4(),
            t.SupportIPv6(),
            t.SupportIPv6ExtensionHeaders(),
            t.SupportSack(),
            t.TcpConnectionOffloadCapacity,
            t.Encapsulation
        ),
        None => println!("  {label:<44} (not reported)"),
    }
}

fn main() -> ExitCode {
    let mut sim = Simulator::new();
    println!("chimney-sim: loading chimney_miniport in the host NDIS simulator");

    let st = sim.load();
    println!("DriverEntry -> {}", status(st));
    if !nt_success(st) {
        return ExitCode::FAILURE;
    }
    {
        let d = sim.driver();
        let c = d.characteristics.expect("characteristics").0;
        println!(
            "\nMiniport driver characteristics (NDIS {}.{}, revision {}, {} bytes)",
            c.MajorNdisVersion, c.MinorNdisVersion, c.Header.Revision, c.Header.Size
        );
        for line in [
            handler("SetOptionsHandler", c.SetOptionsHandler),
            handler("InitializeHandlerEx", c.InitializeHandlerEx),
            handler("HaltHandlerEx", c.HaltHandlerEx),
            handler("UnloadHandler", c.UnloadHandler),
            handler("PauseHandler", c.PauseHandler),
            handler("RestartHandler", c.RestartHandler),
            handler("OidRequestHandler", c.OidRequestHandler),
            handler("SendNetBufferListsHandler", c.SendNetBufferListsHandler),
            handler("ReturnNetBufferListsHandler", c.ReturnNetBufferListsHandler),
            handler("CancelSendHandler", c.CancelSendHandler),
            handler("CheckForHangHandlerEx", c.CheckForHangHandlerEx),
            handler("ResetHandlerEx", c.ResetHandlerEx),
            handler("DevicePnPEventNotifyHandler", c.DevicePnPEventNotifyHandler),
            handler("ShutdownHandlerEx", c.ShutdownHandlerEx),
            handler("CancelOidRequestHandler", c.CancelOidRequestHandler),
        ] {
            println!("{line}");
        }
        let g = d.generic.expect("generic chimney table").0;
        println!(
            "\nNDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS (type {:#x}, {} bytes)",
            g.Header.Type, g.Header.Size
        );
        for line in [
            handler("InitiateOffloadHandler", g.InitiateOffloadHandler),
            handler("TerminateOffloadHandler", g.TerminateOffloadHandler),
            handler("UpdateOffloadHandler", g.UpdateOffloadHandler),
            handler("InvalidateOffloadHandler", g.InvalidateOffloadHandler),
            handler("QueryOffloadHandler", g.QueryOffloadHandler),
        ] {
            println!("{line}");
        }
        let t = d.tcp.expect("TCP chimney table").0;
        println!(
            "\nNDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS (type {:#x}, {} bytes, OffloadType {})",
            t.Header.Type, t.Header.Size, t.OffloadType
        );
        for line in [
            handler("TcpOffloadSendHandler", t.TcpOffloadSendHandler),
            handler("TcpOffloadReceiveHandler", t.TcpOffloadReceiveHandler),
            handler("TcpOffloadDisconnectHandler", t.TcpOffloadDisconnectHandler),
            handler("TcpOffloadForwardHandler", t.TcpOffloadForwardHandler),
            handler(
                "TcpOffloadReceiveReturnHandler",
                t.TcpOffloadReceiveReturnHandler,
            ),
        ] {
            println!("{line}");
        }
    }

    let st = sim.initialize_adapter();
    println!("\nMiniportInitializeEx -> {}", status(st));
    if !nt_success(st) {
        return ExitCode::FAILURE;
    }
    {
        let d = sim.driver();
        let a = &d.adapter;
        println!(
            "Adapter attributes (in order set): {:x?}",
            a.attribute_order
        );
        if let Some(g) = a.general {
            let g = g.0;
            println!(
                "  MTU {}  link {} bit/s  MAC {:02x?}  {} OIDs supported",
                g.MtuSize,
                g.XmitLinkSpeed,
                &g.CurrentMacAddress[..usize::from(g.MacAddressLength)],
                a.supported_oids.len()
            );
        }
        caps(
            "DefaultTcpConnectionOffloadConfiguration",
            a.tcp_offload_current.map(|r| r.0),
        );
        caps(
            "TcpConnectionOffloadHardwareCapabilities",
            a.tcp_offload_hardware.map(|r| r.0),
        );
    }
    let calls = sim.core.calls.lock().map(|c| c.clone()).unwrap_or_default();
    println!(
        "NdisMGetOffloadHandlers called {} time(s); table validated",
        calls
            .iter()
            .filter(|c| **c == "NdisMGetOffloadHandlers")
            .count()
    );

    sim.run_until_idle();
    println!("\nHalting the adapter and unloading the driver");
    sim.halt();
    sim.unload();
    let live = sim.core.live_resources();
    let violations = sim.violations();
    println!(
        "Allocations attempted: {}; still allocated: {}; verifier violations: {}",
        sim.allocation_count(),
        live.len(),
        violations.len()
    );
    for v in &violations {
        println!("  VIOLATION {v}");
    }
    if violations.is_empty() && live.is_empty() {
        println!("OK: clean halt, zero leaks");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
