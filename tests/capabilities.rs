//! What InitializeEx advertises (spec rules 7–10, 13).

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::*;

fn offload(
    sim: &ndis_sim::Simulator,
) -> (NDIS_TCP_CONNECTION_OFFLOAD, NDIS_TCP_CONNECTION_OFFLOAD) {
    let d = sim.driver();
    (
        d.adapter
            .tcp_offload_current
            .expect("current configuration")
            .0,
        d.adapter
            .tcp_offload_hardware
            .expect("hardware capabilities")
            .0,
    )
}

#[test]
fn initialize_sets_registration_general_and_offload_attributes_in_order() {
    let sim = with_adapter();
    {
        let d = sim.driver();
        assert_eq!(
            d.adapter.attribute_order,
            vec![
                NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
                NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
                NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES
            ]
        );
        assert_ne!(d.adapter.context, 0, "MiniportAdapterContext registered");
        let g = d.adapter.general.expect("general").0;
        assert_eq!(g.MediaType, NdisMedium802_3);
        assert_eq!(g.MacAddressLength, 6);
        assert!(
            d.adapter
                .supported_oids
                .contains(&OID_TCP_CONNECTION_OFFLOAD_PARAMETERS)
        );
        let h = d.adapter.offload_header.expect("offload attributes");
        assert_eq!(
            h.Revision,
            NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1
        );
        assert_eq!(h.Size, 40);
    }
    finish(sim);
}

#[test]
fn rule_007_reports_current_and_hardware_chimney_configuration() {
    let sim = with_adapter();
    let (cur, hw) = offload(&sim);
    for t in [cur, hw] {
        assert_eq!(t.Header.Type, NDIS_OBJECT_TYPE_DEFAULT);
        assert_eq!(t.Header.Revision, NDIS_TCP_CONNECTION_OFFLOAD_REVISION_1);
        assert_eq!(t.Header.Size, 20);
    }
    finish(sim);
}

#[test]
fn sack_is_claimed_and_extension_headers_are_not() {
    let sim = with_adapter();
    let (cur, hw) = offload(&sim);
    for t in [cur, hw] {
        assert_eq!(t.SupportSack(), NDIS_OFFLOAD_SUPPORTED);
        assert_eq!(t.SupportIPv6ExtensionHeaders(), NDIS_OFFLOAD_NOT_SUPPORTED);
    }
    finish(sim);
}

#[test]
fn rule_008_encapsulation_includes_ieee_802_3() {
    let sim = with_adapter();
    let (cur, hw) = offload(&sim);
    for t in [cur, hw] {
        assert_ne!(
            t.Encapsulation
                & (NDIS_ENCAPSULATION_IEEE_802_3 | NDIS_ENCAPSULATION_IEEE_LLC_SNAP_ROUTED),
            0
        );
    }
    finish(sim);
}

#[test]
fn rule_009_ip_support_and_capacity_nonzero_from_registry() {
    let sim = with_adapter();
    let (cur, hw) = offload(&sim);
    assert!(
        hw.SupportIPv4() == NDIS_OFFLOAD_SUPPORTED || hw.SupportIPv6() == NDIS_OFFLOAD_SUPPORTED
    );
    assert_eq!(cur.TcpConnectionOffloadCapacity, 1024, "default capacity");
    assert_eq!(hw.TcpConnectionOffloadCapacity, 1024);
    finish(sim);

    // The INF keyword sets the capacity; nonsense keeps the default.
    for (value, expect) in [
        (77, 77),
        (0, 1024),
        (1_000_000, 1_000_000),
        (65_536, 65_536),
        (2_000_000, 1024),
    ] {
        let mut sim = loaded();
        sim.set_config("TcpConnectionOffloadCapacity", value);
        assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
        let (cur, hw) = offload(&sim);
        assert_eq!(
            (
                cur.TcpConnectionOffloadCapacity,
                hw.TcpConnectionOffloadCapacity
            ),
            (expect, expect),
            "{value}"
        );
        finish(sim);
    }
}

#[test]
fn rule_010_inf_keywords_clear_current_not_hardware() {
    for (v4, v6) in [(0, 1), (1, 0), (0, 0), (1, 1)] {
        let mut sim = loaded();
        sim.set_config("*TCPConnectionOffloadIPv4", v4);
        sim.set_config("*TCPConnectionOffloadIPv6", v6);
        assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
        let (cur, hw) = offload(&sim);
        assert_eq!(cur.SupportIPv4(), v4, "current IPv4 follows the keyword");
        assert_eq!(cur.SupportIPv6(), v6, "current IPv6 follows the keyword");
        assert_eq!(
            hw.SupportIPv4(),
            NDIS_OFFLOAD_SUPPORTED,
            "hardware keeps IPv4"
        );
        assert_eq!(
            hw.SupportIPv6(),
            NDIS_OFFLOAD_SUPPORTED,
            "hardware keeps IPv6"
        );
        // The current-config OID agrees with the attributes.
        let r = sim.oid_query(OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG, 20);
        assert_eq!(r.status, NDIS_STATUS_SUCCESS);
        let q: NDIS_TCP_CONNECTION_OFFLOAD = read(&r.data);
        assert_eq!((q.SupportIPv4(), q.SupportIPv6()), (v4, v6));
        finish(sim);
    }
}

/// Rule 13: changing what is advertised goes PAUSE → UPLOAD_ALL → RESUME with
/// the new NDIS_TCP_CONNECTION_OFFLOAD; nothing else changes the advertisement.
#[test]
fn rule_013_capability_change_only_via_pause_upload_all_resume() {
    let sim = with_adapter();
    let (_, hw_before) = offload(&sim);

    // No change requested: no indication at all.
    let r = sim.oid_set(
        OID_TCP_OFFLOAD_PARAMETERS,
        &bytes_of(&offload_parameters(
            NDIS_OFFLOAD_PARAMETERS_NO_CHANGE,
            NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_ENABLED,
        )),
    );
    assert_eq!(r.status, NDIS_STATUS_SUCCESS);
    assert!(
        sim.status_indications().is_empty(),
        "{:?}",
        sim.status_indications()
    );

    // Disable IPv6 chimney.
    let r = sim.oid_set(
        OID_TCP_OFFLOAD_PARAMETERS,
        &bytes_of(&offload_parameters(
            NDIS_OFFLOAD_PARAMETERS_NO_CHANGE,
            NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_DISABLED,
        )),
    );
    assert_eq!(r.status, NDIS_STATUS_SUCCESS);
    let ind = sim.status_indications();
    let codes: Vec<NDIS_STATUS> = ind.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        codes,
        vec![
            NDIS_STATUS_OFFLOAD_PAUSE,
            NDIS_STATUS_UPLOAD_ALL,
            NDIS_STATUS_OFFLOAD_RESUME
        ]
    );
    let resumed: NDIS_TCP_CONNECTION_OFFLOAD = read(&ind[2].1);
    assert_eq!(resumed.SupportIPv4(), NDIS_OFFLOAD_SUPPORTED);
    assert_eq!(resumed.SupportIPv6(), NDIS_OFFLOAD_NOT_SUPPORTED);

    // The hardware capability never changed, and the current-config OID follows RESUME.
    let r = sim.oid_query(OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES, 20);
    let hw_after: NDIS_TCP_CONNECTION_OFFLOAD = read(&r.data);
    assert_eq!(bytes_of(&hw_after), bytes_of(&hw_before));
    let r = sim.oid_query(OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG, 20);
    let cur: NDIS_TCP_CONNECTION_OFFLOAD = read(&r.data);
    assert_eq!(bytes_of(&cur), bytes_of(&resumed));

    // An invalid value is refused without any indication.
    let before = sim.status_indications().len();
    let r = sim.oid_set(
        OID_TCP_OFFLOAD_PARAMETERS,
        &bytes_of(&offload_parameters(9, 0)),
    );
    assert_eq!(r.status, NDIS_STATUS_INVALID_PARAMETER);
    assert_eq!(sim.status_indications().len(), before);
    finish(sim);
}
