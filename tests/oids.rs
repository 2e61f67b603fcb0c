//! OID requests (spec rules 11, 12, and the general OIDs a miniport answers).

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::*;

fn params(rev: UCHAR) -> NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS {
    // SAFETY: plain data.
    let mut p: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS = unsafe { std::mem::zeroed() };
    p.Header = NDIS_OBJECT_HEADER {
        Type: NDIS_OBJECT_TYPE_DEFAULT,
        Revision: rev,
        Size: if rev == 1 {
            NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1
        } else {
            NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_2
        },
    };
    p.TicksPerSecond = 100;
    p.TcpAckFrequency = 3;
    p.TcpDelayedAckTicks = 20;
    p.TcpMaximumRetransmissions = 7;
    p.TcpDoubtReachabilityRetransmissions = 4;
    p.TcpSwsPreventionTicks = 50;
    p.TcpDuplicateAckThreshold = 4;
    p.TcpPushTicks = 25;
    p.NceStaleTicks = 600;
    p
}

fn adapter(sim: &ndis_sim::Simulator) -> &'static chimney_miniport::miniport::Adapter {
    // SAFETY: the context the driver registered, live until halt (tests halt last).
    unsafe { chimney_miniport::miniport::Adapter::from_context(sim.context()) }.expect("adapter")
}

#[test]
fn rule_011_connection_offload_parameters_set_applies_every_must_field() {
    for rev in [
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_1,
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_2,
    ] {
        let sim = with_adapter();
        let p = params(rev);
        let mut buf = bytes_of(&p);
        buf.truncate(usize::from(p.Header.Size));
        let r = sim.oid_set(OID_TCP_CONNECTION_OFFLOAD_PARAMETERS, &buf);
        assert_eq!(r.status, NDIS_STATUS_SUCCESS, "revision {rev}");
        assert_eq!(r.bytes_written_or_read as usize, buf.len());
        let t = adapter(&sim).tcp_params();
        assert_eq!(t.ticks_per_second, 100);
        assert_eq!(t.ack_frequency, 3);
        assert_eq!(t.delayed_ack_ticks, 20);
        assert_eq!(t.max_retransmissions, 7);
        assert_eq!(t.doubt_reachability_retransmissions, 4);
        assert_eq!(t.sws_prevention_ticks, 50);
        assert_eq!(t.duplicate_ack_threshold, 4);
        assert_eq!(t.push_ticks, 25);
        assert_eq!(t.nce_stale_ticks, 600);
        assert_eq!(
            t.ticks_to_ms(25),
            250,
            "ticks are interpreted with TicksPerSecond"
        );
        finish(sim);
    }
}

#[test]
fn connection_offload_parameters_bad_input_is_refused_and_keeps_old_values() {
    let sim = with_adapter();
    let before = adapter(&sim).tcp_params();
    // Too short.
    let r = sim.oid_set(
        OID_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        &bytes_of(&params(1))[..40],
    );
    assert_eq!(r.status, NDIS_STATUS_INVALID_LENGTH);
    assert_eq!(r.bytes_needed, 56, "revision-1 size");
    // Zero ticks per second, unknown revision.
    let mut p = params(1);
    p.TicksPerSecond = 0;
    assert_eq!(
        sim.oid_set(OID_TCP_CONNECTION_OFFLOAD_PARAMETERS, &bytes_of(&p))
            .status,
        NDIS_STATUS_INVALID_PARAMETER
    );
    let mut p = params(1);
    p.Header.Revision = 9;
    assert_eq!(
        sim.oid_set(OID_TCP_CONNECTION_OFFLOAD_PARAMETERS, &bytes_of(&p))
            .status,
        NDIS_STATUS_INVALID_PARAMETER
    );
    assert_eq!(adapter(&sim).tcp_params(), before);
    finish(sim);
}

#[test]
fn rule_012_offload_stats_oids_answer_and_reset() {
    let sim = with_adapter();
    for oid in [OID_TCP4_OFFLOAD_STATS, OID_TCP6_OFFLOAD_STATS] {
        let r = sim.oid_query(oid, 64);
        assert_eq!(r.status, NDIS_STATUS_SUCCESS);
        assert_eq!(
            r.bytes_written_or_read as usize,
            size_of::<TCP_OFFLOAD_STATS>()
        );
        assert_eq!(r.bytes_written_or_read, 40);
        let short = sim.oid_query(oid, 8);
        assert_eq!(short.status, NDIS_STATUS_BUFFER_TOO_SHORT);
        assert_eq!(short.bytes_needed, 40);
        assert!(
            short.data.iter().all(|&b| b == 0xEE),
            "nothing written into a short buffer"
        );
    }
    for oid in [OID_IP4_OFFLOAD_STATS, OID_IP6_OFFLOAD_STATS] {
        let r = sim.oid_query(oid, 64);
        assert_eq!(r.status, NDIS_STATUS_SUCCESS);
        assert_eq!(r.bytes_written_or_read, 64);
    }
    // Counters move only with offloaded traffic; make some, then reset one family.
    let a = adapter(&sim);
    use std::sync::atomic::Ordering::Relaxed;
    a.stats.tcp4.in_segments.fetch_add(5, Relaxed);
    a.stats.tcp6.out_segments.fetch_add(6, Relaxed);
    a.stats.ip4.in_octets.fetch_add(700, Relaxed);
    let q: TCP_OFFLOAD_STATS = read(&sim.oid_query(OID_TCP4_OFFLOAD_STATS, 40).data);
    assert_eq!(q.InSegments, 5);
    assert_eq!(
        sim.oid_set(OID_TCP4_OFFLOAD_STATS, &[0u8; 40]).status,
        NDIS_STATUS_SUCCESS
    );
    let q: TCP_OFFLOAD_STATS = read(&sim.oid_query(OID_TCP4_OFFLOAD_STATS, 40).data);
    assert_eq!(q.InSegments, 0, "TCP4 reset");
    let q6: TCP_OFFLOAD_STATS = read(&sim.oid_query(OID_TCP6_OFFLOAD_STATS, 40).data);
    assert_eq!(q6.OutSegments, 6, "TCP6 untouched");
    assert_eq!(
        sim.oid_set(OID_IP4_OFFLOAD_STATS, &[]).status,
        NDIS_STATUS_SUCCESS
    );
    let i4: IP_OFFLOAD_STATS = read(&sim.oid_query(OID_IP4_OFFLOAD_STATS, 64).data);
    assert_eq!(i4.InOctets, 0);
    finish(sim);
}

#[test]
fn general_oids_are_answered() {
    let sim = with_adapter();
    let supported: Vec<NDIS_OID> = sim.driver().adapter.supported_oids.clone();
    for oid in supported.iter().copied() {
        let set_only = matches!(
            oid,
            OID_PNP_SET_POWER
                | OID_OFFLOAD_ENCAPSULATION
                | OID_TCP_OFFLOAD_PARAMETERS
                | OID_TCP_CONNECTION_OFFLOAD_PARAMETERS
        );
        if set_only {
            continue;
        }
        let r = sim.oid_query(oid, 1024);
        assert_eq!(r.status, NDIS_STATUS_SUCCESS, "OID {oid:#x}");
    }
    let list = sim.oid_query(OID_GEN_SUPPORTED_LIST, 1024);
    assert_eq!(list.bytes_written_or_read as usize, supported.len() * 4);
    let mac = sim.oid_query(OID_802_3_CURRENT_ADDRESS, 6);
    assert_eq!(
        &mac.data,
        &chimney_miniport::miniport::hardware::PERMANENT_MAC
    );
    // A counter asked for in four bytes is answered in four.
    assert_eq!(sim.oid_query(OID_GEN_XMIT_OK, 4).bytes_written_or_read, 4);
    assert_eq!(sim.oid_query(OID_GEN_XMIT_OK, 8).bytes_written_or_read, 8);
    // Unknown OID.
    assert_eq!(
        sim.oid_query(0x0101_0199, 16).status,
        NDIS_STATUS_NOT_SUPPORTED
    );
    // Packet filter round trip.
    assert_eq!(
        sim.oid_set(OID_GEN_CURRENT_PACKET_FILTER, &0x0Bu32.to_le_bytes())
            .status,
        NDIS_STATUS_SUCCESS
    );
    assert_eq!(
        read::<u32>(&sim.oid_query(OID_GEN_CURRENT_PACKET_FILTER, 4).data),
        0x0B
    );
    // Multicast list: whole addresses only, bounded.
    assert_eq!(
        sim.oid_set(
            OID_802_3_MULTICAST_LIST,
            &[1, 0, 0x5E, 0, 0, 1, 1, 0, 0x5E, 0, 0, 2]
        )
        .status,
        NDIS_STATUS_SUCCESS
    );
    assert_eq!(
        sim.oid_query(OID_802_3_MULTICAST_LIST, 64)
            .bytes_written_or_read,
        12
    );
    assert_eq!(
        sim.oid_set(OID_802_3_MULTICAST_LIST, &[1, 2, 3]).status,
        NDIS_STATUS_INVALID_LENGTH
    );
    assert_eq!(
        sim.oid_set(OID_802_3_MULTICAST_LIST, &[0u8; 6 * 33]).status,
        NDIS_STATUS_MULTICAST_FULL
    );
    finish(sim);
}

#[test]
fn offload_encapsulation_set_accepts_802_3_only() {
    let sim = with_adapter();
    // SAFETY: plain data.
    let mut e: NDIS_OFFLOAD_ENCAPSULATION = unsafe { std::mem::zeroed() };
    e.Header = NDIS_OBJECT_HEADER::new(
        NDIS_OBJECT_TYPE_OFFLOAD_ENCAPSULATION,
        NDIS_OFFLOAD_ENCAPSULATION_REVISION_1,
        28,
    );
    e.IPv4.Enabled = NDIS_OFFLOAD_SET_ON;
    e.IPv4.EncapsulationType = NDIS_ENCAPSULATION_IEEE_802_3;
    e.IPv4.HeaderSize = 14;
    assert_eq!(
        sim.oid_set(OID_OFFLOAD_ENCAPSULATION, &bytes_of(&e)).status,
        NDIS_STATUS_SUCCESS
    );
    e.IPv4.EncapsulationType = NDIS_ENCAPSULATION_NULL;
    assert_eq!(
        sim.oid_set(OID_OFFLOAD_ENCAPSULATION, &bytes_of(&e)).status,
        NDIS_STATUS_INVALID_PARAMETER
    );
    finish(sim);
}
