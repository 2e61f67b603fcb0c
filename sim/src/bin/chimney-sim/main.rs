//! chimney-sim: load the driver in the host NDIS simulator, initialize one
//! adapter, print what it registered and advertises, offload one TCP
//! connection to the simulator's scripted peer and send 1 MiB through
//! MiniportTcpOffloadSend, upload it; then (as root, see `sim::tap`) carry
//! one offloaded connection against the Linux kernel's TCP in a network
//! namespace, both ways, through seeded impairments; halt and unload, and
//! fail if the verifier saw anything wrong, a byte went astray or anything
//! leaked. `--help` lists the options (capture, JSON summary, plots,
//! impairments).

use chimney_miniport::ffi::*;
use ndis_sim::builders::{NbSpec, NblChain, TcpSpec, Tree, bytes_of};
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::exports::phy::DEFAULT_MAC;
use ndis_sim::{AckPolicy, PeerConn, Simulator, StateOpKind, TcpIoKind};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

mod linux_demo;
mod options;

use linux_demo::linux_demo;
use options::PeerChoice;

/// Offload one connection, send `NBLS` × `NBL_BYTES` through the driver to
/// the scripted peer (ACKs 1 ms after each segment), upload it. Returns
/// false if anything did not add up.
fn send_demo(sim: &Simulator) -> bool {
    const NBLS: usize = 16;
    const NBL_BYTES: usize = 65_536;
    let port: u16 = 49_152;
    let spec = TcpSpec::established(port.to_be(), 443u16.to_be());
    let key = sim.peer_connect(PeerConn {
        target_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        target_port: port,
        peer_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
        peer_port: 443,
        target_mac: DEFAULT_MAC,
        peer_mac: [0x00, 0x11, 0x22, 0x33, 0x44, 0x01],
        vlan_tci: None,
        rcv_nxt: spec.delegated.SndUna,
        snd_nxt: spec.delegated.RcvNxt,
        window: spec.delegated.SndWnd,
        window_shift: spec.konst.SndWindScale(),
        mss: 1448,
        sack: false,
        policy: AckPolicy::Auto {
            delay_ms: 1,
            max_step: None,
        },
    });
    let mut t = Tree::new();
    let n = t.new_neighbor([0; 6], 0, [0x00, 0x11, 0x22, 0x33, 0x44, 0x01]);
    let p = t.new_path4([10, 0, 0, 1], [10, 0, 1, 1], 1500);
    let c = t.new_tcp(&spec);
    t.dependent(n, p);
    t.dependent(p, c);
    sim.call_state_op(StateOpKind::Initiate, t.ptr(n));
    sim.run_until_idle();
    println!(
        "\nMiniportInitiateOffload: neighbor -> path -> TCP 10.0.0.1:{port} -> 10.0.1.1:443: {}",
        status(t.status(c))
    );
    if t.status(c) != NDIS_STATUS_SUCCESS {
        return false;
    }
    let shape: Vec<Vec<NbSpec>> = (0..NBLS)
        .map(|_| {
            vec![NbSpec {
                mdl_sizes: vec![NBL_BYTES / 2, NBL_BYTES / 2],
                offset: 0,
            }]
        })
        .collect();
    let payload = |k: usize| -> Vec<u8> { (0..NBL_BYTES).map(|i| (i * 7 + k) as u8).collect() };
    let chain = NblChain::build(&shape, |k, _| payload(k));
    let slot: PVOID = t.context(c) as PVOID;
    let st = sim.call_tcp_io(
        TcpIoKind::Send,
        (&slot as *const PVOID).cast_mut().cast(),
        chain.head(),
    );
    println!(
        "MiniportTcpOffloadSend: {NBLS} NBLs x {NBL_BYTES} bytes (2 MDLs each) -> {}",
        status(st)
    );
    let start = sim.core.now_100ns.load(std::sync::atomic::Ordering::SeqCst);
    sim.advance_ms(2000);
    let calls = sim.chimney_calls();
    let completions = ndis_sim::exports::chimney::sends_completed(&calls);
    let rec = sim.peer_state(key);
    let want: Vec<u8> = (0..NBLS).flat_map(payload).collect();
    let ok_bytes = rec.stream == want;
    let succeeded = completions
        .iter()
        .filter(|x| x.1 == NDIS_STATUS_SUCCESS)
        .count();
    let calls_complete = calls
        .iter()
        .filter(|x| matches!(x, ChimneyCall::SendComplete(_)))
        .count();
    let backlog = calls
        .iter()
        .filter(|x| matches!(x, ChimneyCall::Event { event, .. } if *event == TcpIndicateSendBacklogChange))
        .count();
    let last_ack = rec.acks_sent.last().map_or(start, |a| a.0);
    let ms = (last_ack.saturating_sub(start)) as f64 / 10_000.0;
    println!(
        "Wire: {} segments, {} bytes received in order by the peer ({}), {} retransmitted, {} ACKs",
        rec.segments.len(),
        rec.stream.len(),
        if ok_bytes { "intact" } else { "MISMATCH" },
        rec.retransmitted_bytes,
        rec.acks_sent.len()
    );
    println!(
        "NdisTcpOffloadSendComplete: {succeeded}/{NBLS} NBLs SUCCESS in {calls_complete} calls; \
         {backlog} send-backlog indications; all acknowledged after {ms:.1} ms of virtual time"
    );
    // Upload: nothing is left to hand back.
    let mut d: TCP_OFFLOAD_STATE_DELEGATED = unsafe_zeroed();
    d.Header.Length = size_of::<TCP_OFFLOAD_STATE_DELEGATED>() as u32;
    let mut term = Tree::new();
    let a = term.reference(0, t.context(n), &[]);
    let b = term.reference(0, t.context(p), &[]);
    let tc = term.reference(TcpOffloadDelegatedState, t.context(c), &[&bytes_of(&d)]);
    term.dependent(a, b);
    term.dependent(b, tc);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(a));
    sim.run_until_idle();
    let up: TCP_OFFLOAD_STATE_DELEGATED = term.state(tc, 0);
    println!(
        "MiniportTerminateOffload: {}; SndUna advanced by {} bytes; nothing handed back: {}",
        status(term.status(a)),
        up.SndUna.wrapping_sub(spec.delegated.SndUna),
        term.chain(tc).is_null()
    );
    ok_bytes
        && succeeded == NBLS
        && term.status(a) == NDIS_STATUS_SUCCESS
        && term.chain(tc).is_null()
        && up.SndUna.wrapping_sub(spec.delegated.SndUna) as usize == NBLS * NBL_BYTES
}

fn unsafe_zeroed<T: Copy>() -> T {
    // SAFETY: used only for plain C structures for which all-zero is valid.
    unsafe { std::mem::zeroed() }
}

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
    let opts = match options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
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

    let sent_ok = send_demo(&sim);
    let linux_ok = match opts.peer {
        PeerChoice::Scripted => true,
        PeerChoice::Linux | PeerChoice::Auto if ndis_sim::tap::available() => {
            linux_demo(&sim, &opts)
        }
        PeerChoice::Linux => {
            println!(
                "\n--peer linux: this machine cannot build the namespace (needs root, ip(8), /dev/net/tun)"
            );
            false
        }
        PeerChoice::Auto => {
            println!(
                "\nLinux peer: skipped (needs root, ip(8) and /dev/net/tun; run as root for the real-TCP run)"
            );
            true
        }
    };
    if let Some(path) = &opts.pcap {
        match std::fs::write(path, sim.pcap()) {
            Ok(()) => println!("Wire capture (both runs) written to {path}"),
            Err(e) => println!("Could not write {path}: {e}"),
        }
    }

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
    if violations.is_empty() && live.is_empty() && sent_ok && linux_ok {
        println!("OK: every byte delivered and acknowledged, clean halt, zero leaks");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
