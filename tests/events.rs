//! TCP events and timers as the host sees them: every event and receive
//! indication names the connection by its stored `NdisOffloadHandle` at
//! DISPATCH_LEVEL (rule 91); an optional upload request leaves the
//! connection fully served when the host does not upload (rule 89); tick
//! values follow `TicksPerSecond` and timers survive the tick counter's wrap
//! (rule 96).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::builders::NblChain;
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::harness::TcpIoKind;
use ndis_sim::{AckPolicy, Simulator};

const MANUAL: AckPolicy = AckPolicy::Manual;

fn handle_of(c: &Conn) -> usize {
    c.tree.offload_handle(c.tcp)
}

/// (offload handle, event, info) of every event so far.
fn events(sim: &Simulator) -> Vec<(usize, ULONG, ULONG)> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::Event {
                offload_handle,
                event,
                info,
            } => Some((offload_handle, event, info)),
            _ => None,
        })
        .collect()
}

fn indication_handles(sim: &Simulator) -> Vec<usize> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::ReceiveIndicate { offload_handle, .. } => Some(offload_handle),
            _ => None,
        })
        .collect()
}

#[test]
fn rule_091_events_and_indications_name_the_stored_offload_handle_at_dispatch_level() {
    let sim = with_adapter();
    let policy = AckPolicy::Auto {
        delay_ms: 5,
        max_step: None,
    };
    let a = offload(&sim, 1, 4000, policy);
    let b = offload(&sim, 2, 4001, MANUAL);
    let c = offload(&sim, 3, 4002, MANUAL);
    let d = offload(&sim, 4, 4003, MANUAL);
    assert_eq!(
        [handle_of(&a), handle_of(&b), handle_of(&c), handle_of(&d)]
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        4,
        "distinct handles"
    );
    // A: a send backlog change (its window grows), data indicated, then
    // the peer's FIN (disconnect indication).
    let chains: Vec<NblChain> = (0..16).map(|i| chain_of(&[65_536], i)).collect();
    for ch in &chains {
        send(&sim, &a, ch);
    }
    sim.advance_ms(1_000);
    sim.peer_send(a.key, b"for the host", true);
    sim.peer_fin(a.key);
    sim.run_until_idle();
    // B: an acceptable RST (abort). C: a SYN at RCV.NXT (upload request).
    // D: our FIN acknowledged, then the peer's (TIME_WAIT: upload request).
    sim.peer_rst(b.key);
    let syn = {
        let mut f = Vec::new();
        etherparse::PacketBuilder::ethernet2(peer_mac(3), ndis_sim::exports::phy::DEFAULT_MAC)
            .ipv4([10, 0, 1, 3], [10, 0, 0, 1], 64)
            .tcp(c.key.peer_port, c.key.target_port, RCV_NXT, 1000)
            .syn()
            .write(&mut f, &[])
            .expect("syn");
        f
    };
    sim.inject_frame(syn);
    let req = NblChain::single(&[]);
    sim.call_tcp_io(
        TcpIoKind::Disconnect(TCP_DISCONNECT_GRACEFUL_CLOSE),
        d.slot_ptr(),
        req.head(),
    );
    sim.run_until_idle();
    sim.peer_ack(d.key, SND_UNA + 1, d.spec.delegated.SndWnd);
    sim.peer_fin(d.key);
    sim.run_until_idle();
    let ev = events(&sim);
    let of = |event: ULONG| -> Vec<(usize, ULONG)> {
        ev.iter()
            .filter(|e| e.1 == event)
            .map(|e| (e.0, e.2))
            .collect()
    };
    let backlog = of(TcpIndicateSendBacklogChange);
    assert!(!backlog.is_empty());
    assert!(backlog.iter().all(|e| e.0 == handle_of(&a)));
    assert_eq!(
        of(TcpIndicateDisconnect),
        vec![(handle_of(&a), 0), (handle_of(&d), 0)]
    );
    assert_eq!(of(TcpIndicateAbort), vec![(handle_of(&b), 0)]);
    assert_eq!(
        of(TcpIndicateRetrieve),
        vec![
            (handle_of(&c), UploadRequested),
            (handle_of(&d), UploadRequested)
        ]
    );
    let ind = indication_handles(&sim);
    assert!(!ind.is_empty());
    assert!(ind.iter().all(|&h| h == handle_of(&a)));
    // The simulator checked every call's IRQL (DISPATCH_LEVEL), that no
    // driver lock was held, and that each handle was offloaded at the time:
    // `finish` requires a clean record.
    for conn in [&a, &b, &c, &d] {
        terminate(&sim, conn);
    }
    finish(sim);
}

/// A data segment of `c` (connection group `n`) from the peer at `seq`.
fn data_frame(c: &Conn, n: u8, seq: u32, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    etherparse::PacketBuilder::ethernet2(peer_mac(n), ndis_sim::exports::phy::DEFAULT_MAC)
        .ipv4([10, 0, 1, n], [10, 0, 0, 1], 64)
        .tcp(c.key.peer_port, c.key.target_port, seq, 1000)
        .ack(SND_UNA)
        .write(&mut f, data)
        .expect("segment");
    f
}

#[test]
fn rule_089_after_an_optional_upload_request_the_connection_is_still_served() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    // 64 out-of-order segments (a hole at RCV.NXT): the target holds them
    // for reassembly, and asks for the upload, once, with an optional reason.
    for i in 0..64u32 {
        sim.inject_frame(data_frame(&c, 1, RCV_NXT + 1000 + i * 10, b"0123456789"));
    }
    sim.run_until_idle();
    let retrieve: Vec<ULONG> = events(&sim)
        .into_iter()
        .filter(|e| e.1 == TcpIndicateRetrieve)
        .map(|e| e.2)
        .collect();
    assert_eq!(retrieve, vec![HighOutOfOrderPackets]);
    // The host does not upload. Everything still works: in-order data is
    // taken, acknowledged and delivered; sends go out and complete.
    let data = b"in order at last";
    sim.peer_send(c.key, data, true);
    sim.run_until_idle();
    sim.advance_ms(500);
    let delivered: Vec<u8> = sim
        .chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::ReceiveIndicate { data, .. } => Some(data),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(delivered, data);
    assert_eq!(
        sim.peer_state(c.key).segments.last().map(|s| s.ack),
        Some(RCV_NXT + data.len() as u32)
    );
    let ch = chain_of(&[1200, 300], 5);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    ack_all(&sim, &c);
    assert_completed(
        &sim,
        &ch.nbls()
            .into_iter()
            .map(|p| (p, NDIS_STATUS_SUCCESS))
            .collect::<Vec<_>>(),
    );
    // No further request until another 64 are dropped.
    assert_eq!(
        events(&sim)
            .iter()
            .filter(|e| e.1 == TcpIndicateRetrieve)
            .count(),
        1
    );
    terminate(&sim, &c);
    finish(sim);
}

/// Set the host's TCP parameters with `ticks_per_second`.
fn set_ticks(sim: &Simulator, ticks_per_second: u32) {
    // SAFETY: plain data.
    let mut p: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS = unsafe { std::mem::zeroed() };
    p.Header = NDIS_OBJECT_HEADER {
        Type: NDIS_OBJECT_TYPE_DEFAULT,
        Revision: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_1,
        Size: NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1,
    };
    p.TicksPerSecond = ticks_per_second;
    p.TcpAckFrequency = 2;
    // 200 ms where a UCHAR can hold it, else 255 ticks.
    p.TcpDelayedAckTicks = (ticks_per_second / 5).min(255) as u8;
    p.TcpMaximumRetransmissions = 5;
    p.TcpDoubtReachabilityRetransmissions = 3;
    p.TcpSwsPreventionTicks = ticks_per_second;
    p.TcpDuplicateAckThreshold = 3;
    p.TcpPushTicks = ticks_per_second / 2;
    p.NceStaleTicks = ticks_per_second * 10;
    let mut buf = bytes_of(&p);
    buf.truncate(usize::from(p.Header.Size));
    let r = sim.oid_set(OID_TCP_CONNECTION_OFFLOAD_PARAMETERS, &buf);
    assert_eq!(r.status, NDIS_STATUS_SUCCESS);
}

/// A connection offloaded in FIN_WAIT_2 with `delta` ticks on its timer.
fn offload_fin_wait_2(sim: &Simulator, n: u8, port: u16, delta: u32) -> Conn {
    offload_with(
        sim,
        n,
        port,
        MANUAL,
        |s, _| {
            s.delegated.State = TcpConnectionFinWait2;
            s.delegated.SndUna += 1; // our FIN, acknowledged
            s.delegated.SndNxt = s.delegated.SndUna;
            s.delegated.SndMax = s.delegated.SndUna;
            s.delegated.Retransmit.TimeoutDelta = delta;
        },
        |s| s.delegated.SndUna,
    )
}

#[test]
fn rule_096_ticks_follow_ticks_per_second_and_timers_survive_the_counter_wrap() {
    for tps in [100u32, 1000, 10_000] {
        let sim = with_adapter();
        set_ticks(&sim, tps);
        // 3 s of ticks at this rate.
        let c = offload_fin_wait_2(&sim, 1, 4000, 3 * tps);
        sim.advance_ms(2_990);
        assert_eq!(timeouts(&sim), 0, "{tps} ticks/s: not yet");
        sim.advance_ms(20);
        assert_eq!(timeouts(&sim), 1, "{tps} ticks/s: after 3 s");
        // The delayed ACK: TcpDelayedAckTicks ticks at this rate.
        let ack_ms = u64::from((tps / 5).min(255)) * 1000 / u64::from(tps);
        let d = offload(&sim, 2, 4001, MANUAL);
        sim.peer_send(d.key, b"x", false);
        sim.run_until_idle();
        sim.advance_ms(ack_ms - 5);
        assert!(
            sim.peer_state(d.key).segments.is_empty(),
            "{tps}: early ACK"
        );
        sim.advance_ms(10);
        assert_eq!(sim.peer_state(d.key).segments.len(), 1, "{tps}: ACK due");
        terminate(&sim, &c);
        terminate(&sim, &d);
        finish(sim);
    }
    // The NIC's 32-bit tick counter wraps after 2^32 ticks (49.7 days at
    // 1,000 per second). A timer set just before the wrap fires on time
    // just after it, and one started after it runs its full length.
    let sim = with_adapter();
    let wrap_ms: u64 = 1 << 32; // 1 tick = 1 ms
    sim.advance_ms(wrap_ms - 60_000);
    let c = offload_fin_wait_2(&sim, 1, 4000, 0xFFFF_FFFF); // 120 s
    let e = offload(&sim, 3, 4002, MANUAL);
    // 30 s before the wrap another connection's delayed ACK makes the
    // timer list be served: the FIN_WAIT_2 deadline (past the wrap, so
    // numerically smaller than now) must read as 90 s away.
    sim.advance_ms(30_000);
    sim.peer_send(e.key, b"x", false);
    sim.run_until_idle();
    sim.advance_ms(89_000);
    assert_eq!(sim.peer_state(e.key).segments.len(), 1, "the delayed ACK");
    assert_eq!(timeouts(&sim), 0, "across the wrap: not yet");
    sim.advance_ms(2_000);
    assert_eq!(timeouts(&sim), 1, "across the wrap: on time");
    let d = offload_fin_wait_2(&sim, 2, 4001, 0xFFFF_FFFF);
    sim.advance_ms(119_000);
    assert_eq!(timeouts(&sim), 1, "after the wrap: not yet");
    sim.advance_ms(2_000);
    assert_eq!(timeouts(&sim), 2, "after the wrap: on time");
    terminate(&sim, &c);
    terminate(&sim, &d);
    terminate(&sim, &e);
    finish(sim);
}
