//! Runtime layout and bit-field accessor tests.

use super::*;
use core::mem::offset_of;

/// Byte distance from the start of `base` to `field`, measured on a live
/// value (no `unsafe`: only addresses are compared).
fn distance<T, F>(base: &T, field: &F) -> usize {
    (field as *const F as usize) - (base as *const T as usize)
}

#[test]
#[cfg(target_pointer_width = "64")]
fn sampled_offsets_hold_at_run_time() {
    let b = NDIS_MINIPORT_OFFLOAD_BLOCK_LIST::default();
    assert_eq!(distance(&b, &b.Status), 24);
    assert_eq!(distance(&b, &b.MiniportOffloadContext), 48);
    assert_eq!(distance(&b, &b.NdisOffloadHandle), 56);
    assert_eq!(distance(&b, &b.PortNumber), 136);
    assert_eq!(distance(&b, &b.NetBufferListChain), 144);
    assert_eq!(size_of_val(&b), 152);

    let d = TCP_OFFLOAD_STATE_DELEGATED::default();
    assert_eq!(distance(&d, &d.SRtt), 56);
    assert_eq!(distance(&d, &d.SndWndProbeCount), 77);
    assert_eq!(distance(&d, &d.KeepAlive.TimeoutDelta), 84);
    assert_eq!(distance(&d, &d.Retransmit.TimeoutDelta), 92);
    assert_eq!(distance(&d, &d.Send), 96);
    assert_eq!(distance(&d, &d.Receive), 112);
    assert_eq!(distance(&d, &d.DWnd), 120);
    assert_eq!(size_of_val(&d), 128);

    let c = TCP_OFFLOAD_STATE_CACHED::default();
    assert_eq!(distance(&c, &c._bitfield_1), 36);
    assert_eq!(distance(&c, &c.TtlOrHopLimit), 40);
    assert_eq!(distance(&c, &c._bitfield_2), 42);
    assert_eq!(size_of_val(&c), 44);

    let k = TCP_OFFLOAD_STATE_CONST::default();
    assert_eq!(distance(&k, &k._bitfield_1), 14);
    assert_eq!(distance(&k, &k.RemoteMss), 16);

    let t = NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS::default();
    assert_eq!(distance(&t, &t.OffloadType), 8);
    assert_eq!(distance(&t, &t.TcpOffloadReceiveReturnHandler), 48);

    let e = NDIS_TCP_OFFLOAD_EVENT_HANDLERS::default();
    assert_eq!(distance(&e, &e.NdisTcpOffloadForwardComplete), 48);

    let p = NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS::default();
    assert_eq!(distance(&p, &p.TicksPerSecond), 32);
    assert_eq!(distance(&p, &p.CongestionAlgorithm), 56);

    assert_eq!(offset_of!(NEIGHBOR_OFFLOAD_STATE_CONST, _bitfield_1), 40);
    assert_eq!(offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, _bitfield_1), 8);
    assert_eq!(offset_of!(IP_OFFLOAD_STATS, OutNoRoutes), 56);
}

/// For one bit-field: starting from a value whose storage unit is all
/// zeros, then all ones, set the field to its maximum and to zero and
/// check (a) the getter, (b) that exactly `mask` bits of the unit moved,
/// (c) that the rest of the structure is untouched, and (d) that wider
/// values are cut to the field's width.
macro_rules! round_trip {
    ($base:expr, $unit:ident: $ty:ty, $get:ident, $set:ident, mask = $mask:expr, max = $max:expr) => {{
        let base = $base;
        let mask: $ty = $mask;
        let max: $ty = $max;

        let mut v = base;
        v.$unit = 0;
        v.$set(max);
        assert_eq!(
            v.$get(),
            max,
            concat!(stringify!($get), " holds its maximum")
        );
        assert_eq!(v.$unit, mask, concat!(stringify!($get), " bits only"));
        v.$unit = base.$unit;
        assert_eq!(
            v, base,
            concat!(stringify!($set), " left other fields alone")
        );

        let mut v = base;
        v.$unit = <$ty>::MAX;
        v.$set(0);
        assert_eq!(v.$get(), 0);
        assert_eq!(
            v.$unit, !mask,
            concat!(stringify!($set), "(0) kept the neighbours")
        );
        v.$set(max);
        assert_eq!(v.$unit, <$ty>::MAX);

        let mut v = base;
        v.$unit = 0;
        v.$set(<$ty>::MAX);
        assert_eq!(v.$unit, mask, concat!(stringify!($set), " truncates"));
        assert_eq!(v.$get(), max);
    }};
}

#[test]
fn every_bitfield_round_trips() {
    let neighbor = NEIGHBOR_OFFLOAD_STATE_CONST {
        Header: OFFLOAD_STATE_HEADER {
            Length: 44,
            RecognizedOptions: 0xA5A5_A5A5,
        },
        DlSourceAddress: [0x5A; 32],
        _bitfield_1: 0,
    };
    round_trip!(neighbor, _bitfield_1: ULONG, VlanId, set_VlanId, mask = 0x0000_0FFF, max = 0xFFF);

    let konst = TCP_OFFLOAD_STATE_CONST {
        Flags: 0xFFFF,
        RemotePort: 0xFFFF,
        LocalPort: 0xFFFF,
        RemoteMss: 0xFFFF,
        HashValue: 0xFFFF_FFFF,
        ..Default::default()
    };
    round_trip!(konst, _bitfield_1: UCHAR, SndWindScale, set_SndWindScale, mask = 0x0F, max = 0xF);
    round_trip!(konst, _bitfield_1: UCHAR, RcvWindScale, set_RcvWindScale, mask = 0xF0, max = 0xF);

    let cached = TCP_OFFLOAD_STATE_CACHED {
        MaxRT: 0xFFFF_FFFF,
        TtlOrHopLimit: 0xFF,
        TosOrTrafficClass: 0xFF,
        _bitfield_2: 0xFF,
        ..Default::default()
    };
    round_trip!(cached, _bitfield_1: ULONG, FlowLabel, set_FlowLabel, mask = 0x000F_FFFF, max = 0xF_FFFF);
    let cached = TCP_OFFLOAD_STATE_CACHED {
        _bitfield_1: 0xFFFF_FFFF,
        TtlOrHopLimit: 0xFF,
        TosOrTrafficClass: 0xFF,
        ..Default::default()
    };
    round_trip!(cached, _bitfield_2: UCHAR, UserPriority, set_UserPriority, mask = 0x07, max = 0x7);

    let conn = NDIS_TCP_CONNECTION_OFFLOAD {
        Header: NDIS_OBJECT_HEADER::new(0x80, 1, 20),
        Encapsulation: 0xFFFF_FFFF,
        _bitfield_1: 0,
        TcpConnectionOffloadCapacity: 0xFFFF_FFFF,
        Flags: 0xFFFF_FFFF,
    };
    round_trip!(conn, _bitfield_1: ULONG, SupportIPv4, set_SupportIPv4, mask = 0x003, max = 3);
    round_trip!(conn, _bitfield_1: ULONG, SupportIPv6, set_SupportIPv6, mask = 0x00C, max = 3);
    round_trip!(
        conn,
        _bitfield_1: ULONG,
        SupportIPv6ExtensionHeaders,
        set_SupportIPv6ExtensionHeaders,
        mask = 0x030,
        max = 3
    );
    round_trip!(conn, _bitfield_1: ULONG, SupportSack, set_SupportSack, mask = 0x0C0, max = 3);
    round_trip!(
        conn,
        _bitfield_1: ULONG,
        CongestionAlgorithm,
        set_CongestionAlgorithm,
        mask = 0xF00,
        max = 0xF
    );
}

#[test]
fn bitfields_are_independent_of_each_other() {
    let mut t = NDIS_TCP_CONNECTION_OFFLOAD::default();
    t.set_SupportIPv4(NDIS_OFFLOAD_SUPPORTED);
    t.set_SupportIPv6(2);
    t.set_SupportIPv6ExtensionHeaders(3);
    t.set_SupportSack(1);
    t.set_CongestionAlgorithm(0xA);
    assert_eq!(t._bitfield_1, 0b1010_0111_1001);
    assert_eq!(
        (
            t.SupportIPv4(),
            t.SupportIPv6(),
            t.SupportIPv6ExtensionHeaders(),
            t.SupportSack(),
            t.CongestionAlgorithm()
        ),
        (1, 2, 3, 1, 0xA)
    );

    let mut k = TCP_OFFLOAD_STATE_CONST::default();
    k.set_SndWindScale(14);
    k.set_RcvWindScale(7);
    assert_eq!(
        (k.SndWindScale(), k.RcvWindScale(), k._bitfield_1),
        (14, 7, 0x7E)
    );
}

#[test]
fn revision_sizes() {
    assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1, 56);
    assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_2, 60);
    assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_1, 20);
    assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_2, 20);
    assert_eq!(NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1, 28);
    #[cfg(target_pointer_width = "64")]
    assert_eq!(NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1, 56);
}

#[test]
fn offload_state_type_converts_both_ways() {
    let mut known = 0;
    for byte in 0..=u8::MAX {
        match OffloadStateType::try_from(byte) {
            Ok(t) => {
                known += 1;
                assert_eq!(u8::from(t), byte);
                assert_eq!(t.raw(), byte);
            }
            Err(bad) => {
                assert_eq!(bad, byte);
                assert!(byte == 0 || (18..0xFE).contains(&byte));
            }
        }
    }
    assert_eq!(known, 19);
    assert_eq!(
        OffloadStateType::try_from(TcpOffloadState),
        Ok(OffloadStateType::TcpOffloadState)
    );
    assert_eq!(OffloadStateType::MaximumOffloadState.raw(), 0xFF);
}

#[test]
fn flag_sets_match_the_raw_constants() {
    assert_eq!(TcpConstFlags::all().bits(), 0x07);
    assert_eq!(TcpCachedFlags::all().bits(), 0x1F);
    assert_eq!(TcpDisconnectFlags::all().bits(), 0x03);
    let f = TcpCachedFlags::from_bits_truncate(TCP_FLAG_NAGLING_ENABLED | 0x8000);
    assert_eq!(f, TcpCachedFlags::NAGLING_ENABLED);
    assert_eq!(NoBufferProposting, NoBufferPreposting);
    assert_eq!(ReceivedUrgentData, 5);
    assert_eq!(MaxUploadReason, 12);
}

#[test]
fn defaults_are_all_zero() {
    let b = NDIS_MINIPORT_OFFLOAD_BLOCK_LIST::default();
    assert!(b.NextBlock.is_null() && b.MiniportOffloadContext.is_null());
    assert!(b.NetBufferListChain.is_null());
    let d = TCP_OFFLOAD_STATE_DELEGATED::default();
    assert_eq!((d.State, d.DWnd), (TcpConnectionClosed, 0));
    let p = PATH_OFFLOAD_STATE_CONST::default();
    assert!(p.SourceAddress.is_null() && p.DestinationAddress.is_null());
    let g = NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS::default();
    assert!(g.InitiateOffloadHandler.is_none() && g.QueryOffloadHandler.is_none());
}
