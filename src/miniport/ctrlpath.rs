//! The control path: MiniportOidRequest and MiniportCancelOidRequest.
//! PASSIVE_LEVEL. Every OID is answered synchronously; unknown OIDs get
//! NDIS_STATUS_NOT_SUPPORTED, short buffers BUFFER_TOO_SHORT/INVALID_LENGTH
//! with `BytesNeeded`.

use super::adapter::Adapter;
use super::hardware;
use crate::ffi::imports::{NdisMIndicateStatusEx, NdisMOidRequestComplete};
use crate::ffi::*;
use crate::ndis::oidbuf::{self, Oid, Query, Set};
use crate::offload::caps::ChimneyCaps;
use crate::offload::params::TcpParams;
use core::sync::atomic::Ordering;

/// Every OID this miniport answers (query or set).
pub const SUPPORTED_OIDS: &[NDIS_OID] = &[
    OID_GEN_SUPPORTED_LIST,
    OID_GEN_HARDWARE_STATUS,
    OID_GEN_MEDIA_SUPPORTED,
    OID_GEN_MEDIA_IN_USE,
    OID_GEN_MAXIMUM_LOOKAHEAD,
    OID_GEN_MAXIMUM_FRAME_SIZE,
    OID_GEN_LINK_SPEED,
    OID_GEN_TRANSMIT_BUFFER_SPACE,
    OID_GEN_RECEIVE_BUFFER_SPACE,
    OID_GEN_TRANSMIT_BLOCK_SIZE,
    OID_GEN_RECEIVE_BLOCK_SIZE,
    OID_GEN_VENDOR_ID,
    OID_GEN_VENDOR_DESCRIPTION,
    OID_GEN_VENDOR_DRIVER_VERSION,
    OID_GEN_DRIVER_VERSION,
    OID_GEN_CURRENT_PACKET_FILTER,
    OID_GEN_CURRENT_LOOKAHEAD,
    OID_GEN_MAXIMUM_TOTAL_SIZE,
    OID_GEN_MAC_OPTIONS,
    OID_GEN_MEDIA_CONNECT_STATUS,
    OID_GEN_MAXIMUM_SEND_PACKETS,
    OID_GEN_XMIT_OK,
    OID_GEN_RCV_OK,
    OID_GEN_XMIT_ERROR,
    OID_GEN_RCV_ERROR,
    OID_GEN_RCV_NO_BUFFER,
    OID_802_3_PERMANENT_ADDRESS,
    OID_802_3_CURRENT_ADDRESS,
    OID_802_3_MULTICAST_LIST,
    OID_802_3_MAXIMUM_LIST_SIZE,
    OID_PNP_QUERY_POWER,
    OID_PNP_SET_POWER,
    OID_OFFLOAD_ENCAPSULATION,
    OID_TCP_OFFLOAD_PARAMETERS,
    OID_TCP_CONNECTION_OFFLOAD_PARAMETERS,
    OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG,
    OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES,
    OID_TCP4_OFFLOAD_STATS,
    OID_TCP6_OFFLOAD_STATS,
    OID_IP4_OFFLOAD_STATS,
    OID_IP6_OFFLOAD_STATS,
];

/// MiniportOidRequest.
///
/// # Safety
/// NDIS contract: live adapter context and a valid request.
pub unsafe extern "system" fn miniport_oid_request(
    MiniportAdapterContext: NDIS_HANDLE,
    OidRequest: PNDIS_OID_REQUEST,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our live context.
    let Some(adapter) = (unsafe { Adapter::from_context(MiniportAdapterContext) }) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    // SAFETY: NDIS passes a valid request for the duration of the call.
    match unsafe { oidbuf::decode(OidRequest) } {
        Some(Oid::Query(q)) => query(adapter, &q),
        Some(Oid::Set(s)) => set(adapter, &s),
        Some(Oid::Other(_)) => NDIS_STATUS_NOT_SUPPORTED,
        None => NDIS_STATUS_INVALID_PARAMETER,
    }
}

/// MiniportCancelOidRequest: the only request that can pend is a power
/// transition waiting for uploads; cancelling it completes it as aborted.
///
/// # Safety
/// NDIS contract.
pub unsafe extern "system" fn miniport_cancel_oid_request(
    MiniportAdapterContext: NDIS_HANDLE,
    RequestId: PVOID,
) {
    // SAFETY: NDIS passes our live context.
    let Some(adapter) = (unsafe { Adapter::from_context(MiniportAdapterContext) }) else {
        return;
    };
    let pending = {
        let mut st = adapter.state.lock();
        let p = st.pending_power_oid;
        // SAFETY: a pended request stays valid until we complete it.
        let matches = p != 0 && unsafe { (*(p as PNDIS_OID_REQUEST)).RequestId } == RequestId;
        if matches {
            st.pending_power_oid = 0;
        }
        if matches { p } else { 0 }
    };
    if pending != 0 {
        // SAFETY: completing the request we pended, once.
        unsafe {
            NdisMOidRequestComplete(
                adapter.handle.raw(),
                pending as PNDIS_OID_REQUEST,
                NDIS_STATUS_REQUEST_ABORTED,
            )
        };
    }
}

fn supported_list_bytes(q: &Query) -> NDIS_STATUS {
    // SAFETY: a slice of u32 viewed as bytes: same memory, no padding.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            SUPPORTED_OIDS.as_ptr().cast::<u8>(),
            size_of_val(SUPPORTED_OIDS),
        )
    };
    q.answer_bytes(bytes)
}

fn query(adapter: &Adapter, q: &Query) -> NDIS_STATUS {
    let ulong = |v: ULONG| q.answer(&v);
    match q.oid {
        OID_GEN_SUPPORTED_LIST => supported_list_bytes(q),
        OID_GEN_HARDWARE_STATUS => ulong(NdisHardwareStatusReady as ULONG),
        OID_GEN_MEDIA_SUPPORTED | OID_GEN_MEDIA_IN_USE => ulong(NdisMedium802_3 as ULONG),
        OID_GEN_MAXIMUM_LOOKAHEAD | OID_GEN_TRANSMIT_BLOCK_SIZE | OID_GEN_RECEIVE_BLOCK_SIZE => {
            ulong(hardware::MAX_FRAME_SIZE)
        }
        OID_GEN_MAXIMUM_TOTAL_SIZE => ulong(hardware::MAX_FRAME_SIZE),
        OID_GEN_MAXIMUM_FRAME_SIZE => ulong(hardware::MTU),
        OID_GEN_LINK_SPEED => ulong((hardware::LINK_SPEED_BPS / 100) as ULONG),
        OID_GEN_TRANSMIT_BUFFER_SPACE | OID_GEN_RECEIVE_BUFFER_SPACE => {
            ulong(hardware::BUFFER_SPACE)
        }
        OID_GEN_VENDOR_ID => ulong(hardware::VENDOR_ID),
        OID_GEN_VENDOR_DESCRIPTION => q.answer_bytes(hardware::VENDOR_DESCRIPTION),
        OID_GEN_VENDOR_DRIVER_VERSION => ulong(
            (u32::from(hardware::DRIVER_MAJOR_VERSION) << 16)
                | u32::from(hardware::DRIVER_MINOR_VERSION),
        ),
        OID_GEN_DRIVER_VERSION => q.answer(
            &((u16::from(hardware::NDIS_MAJOR_VERSION) << 8)
                | u16::from(hardware::NDIS_MINOR_VERSION)),
        ),
        OID_GEN_CURRENT_PACKET_FILTER => ulong(adapter.state.lock().packet_filter),
        OID_GEN_CURRENT_LOOKAHEAD => ulong(adapter.state.lock().lookahead),
        OID_GEN_MAC_OPTIONS => ulong(
            NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA
                | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND
                | NDIS_MAC_OPTION_NO_LOOPBACK,
        ),
        OID_GEN_MEDIA_CONNECT_STATUS => ulong(0), // NdisMediaStateConnected
        OID_GEN_MAXIMUM_SEND_PACKETS => ulong(64),
        OID_GEN_XMIT_OK => q.answer_counter(adapter.state.lock().xmit_ok),
        OID_GEN_RCV_OK => q.answer_counter(adapter.state.lock().rcv_ok),
        OID_GEN_XMIT_ERROR => q.answer_counter(adapter.data.as_ref().map_or(0, |dp| {
            dp.xmit_error.load(core::sync::atomic::Ordering::Relaxed)
        })),
        OID_GEN_RCV_ERROR | OID_GEN_RCV_NO_BUFFER => q.answer_counter(0),
        OID_802_3_PERMANENT_ADDRESS => q.answer(&hardware::PERMANENT_MAC),
        OID_802_3_CURRENT_ADDRESS => q.answer(&adapter.state.lock().current_mac),
        OID_802_3_MAXIMUM_LIST_SIZE => ulong(hardware::MAX_MULTICAST_LIST),
        OID_802_3_MULTICAST_LIST => {
            let st = adapter.state.lock();
            let list = st.multicast;
            let n = st.multicast_len;
            drop(st);
            let mut bytes = [0u8; 6 * hardware::MAX_MULTICAST_LIST as usize];
            for (out, mac) in bytes.chunks_exact_mut(6).zip(list.iter().take(n)) {
                out.copy_from_slice(mac);
            }
            q.answer_bytes(bytes.get(..n * 6).unwrap_or(&[]))
        }
        OID_PNP_QUERY_POWER => NDIS_STATUS_SUCCESS,
        OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG => match adapter.chimney_current() {
            Some(c) => q.answer(&c.to_ndis()),
            None => NDIS_STATUS_NOT_SUPPORTED,
        },
        OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES => match adapter.offload_handlers {
            Some(_) => q.answer(&adapter.chimney_hw.to_ndis()),
            None => NDIS_STATUS_NOT_SUPPORTED,
        },
        OID_TCP4_OFFLOAD_STATS => q.answer(&tcp_stats(adapter, false)),
        OID_TCP6_OFFLOAD_STATS => q.answer(&tcp_stats(adapter, true)),
        OID_IP4_OFFLOAD_STATS => q.answer(&ip_stats(adapter, false)),
        OID_IP6_OFFLOAD_STATS => q.answer(&ip_stats(adapter, true)),
        _ => NDIS_STATUS_NOT_SUPPORTED,
    }
}

fn set(adapter: &Adapter, s: &Set) -> NDIS_STATUS {
    match s.oid {
        OID_GEN_CURRENT_PACKET_FILTER => match s.read::<ULONG>() {
            Ok(v) => {
                adapter.state.lock().packet_filter = v;
                s.done(4)
            }
            Err(e) => e,
        },
        OID_GEN_CURRENT_LOOKAHEAD => match s.read::<ULONG>() {
            Ok(v) if v <= hardware::MAX_FRAME_SIZE => {
                adapter.state.lock().lookahead = v;
                s.done(4)
            }
            Ok(_) => NDIS_STATUS_INVALID_PARAMETER,
            Err(e) => e,
        },
        OID_802_3_MULTICAST_LIST => {
            if !s.len().is_multiple_of(6) {
                return NDIS_STATUS_INVALID_LENGTH;
            }
            if s.len() / 6 > hardware::MAX_MULTICAST_LIST as usize {
                return NDIS_STATUS_MULTICAST_FULL;
            }
            let mut bytes = [0u8; 6 * hardware::MAX_MULTICAST_LIST as usize];
            let n = s.read_bytes(&mut bytes);
            let mut st = adapter.state.lock();
            for (mac, src) in st
                .multicast
                .iter_mut()
                .zip(bytes.chunks_exact(6))
                .take(n / 6)
            {
                mac.copy_from_slice(src);
            }
            st.multicast_len = n / 6;
            drop(st);
            s.done(n)
        }
        // A low-power state is unsuitable for offloaded connections: the
        // request pends until the host has uploaded everything (rule 102).
        OID_PNP_SET_POWER => match s.read::<ULONG>() {
            Ok(state) if state != NdisDeviceStateD0 && adapter.has_offloaded_objects() => {
                let mut st = adapter.state.lock();
                if st.pending_power_oid != 0 {
                    return NDIS_STATUS_INVALID_STATE;
                }
                st.pending_power_oid = s.request() as usize;
                drop(st);
                s.done(4);
                NDIS_STATUS_PENDING
            }
            Ok(_) => s.done(4),
            Err(e) => e,
        },
        OID_OFFLOAD_ENCAPSULATION => set_encapsulation(s),
        OID_TCP_OFFLOAD_PARAMETERS => set_offload_parameters(adapter, s),
        OID_TCP_CONNECTION_OFFLOAD_PARAMETERS => match s
            .read_prefix::<NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS>(usize::from(
                NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1,
            )) {
            Ok(p) => match TcpParams::from_ndis(&p, s.len()) {
                Ok(params) => {
                    adapter.state.lock().tcp_params = params;
                    if let Some(dp) = &adapter.data {
                        dp.set_params(&params);
                    }
                    s.done(
                        s.len()
                            .min(size_of::<NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS>()),
                    )
                }
                Err(e) => e,
            },
            Err(e) => e,
        },
        // Statistics sets reset the family's counters; the buffer is not read.
        OID_TCP4_OFFLOAD_STATS => {
            reset_tcp_stats(adapter, false);
            s.done(s.len())
        }
        OID_TCP6_OFFLOAD_STATS => {
            reset_tcp_stats(adapter, true);
            s.done(s.len())
        }
        OID_IP4_OFFLOAD_STATS => {
            reset_ip_stats(adapter, false);
            s.done(s.len())
        }
        OID_IP6_OFFLOAD_STATS => {
            reset_ip_stats(adapter, true);
            s.done(s.len())
        }
        _ => NDIS_STATUS_NOT_SUPPORTED,
    }
}

// Statistics (spec §7.6). The hardware counts offloaded segments and octets
// per family ([`crate::hw::Traffic`]); the driver counts what only the TCP
// layer knows (`ResetEstablished`) and finds `CurrentlyEstablished` by
// looking at its connections. A reset of one OID's counters stores the
// hardware's current values, negated, in the driver's counter for the same
// field, so a report (driver + hardware, wrapping) starts again from zero
// without touching the other OID's view of the same hardware counter.

fn traffic(adapter: &Adapter, ipv6: bool) -> crate::hw::Traffic {
    use crate::hw::OffloadNic;
    adapter
        .data
        .as_ref()
        .map(|dp| dp.nic.traffic(ipv6))
        .unwrap_or_default()
}

/// Segments the driver sent again, per family (the hardware does not know
/// which bytes were sent before).
fn retransmitted(adapter: &Adapter, ipv6: bool) -> u32 {
    adapter
        .data
        .as_ref()
        .and_then(|dp| dp.retransmitted.get(usize::from(ipv6)))
        .map_or(0, |n| n.load(Ordering::Relaxed))
}

fn tcp_stats(adapter: &Adapter, ipv6: bool) -> TCP_OFFLOAD_STATS {
    let sw = adapter.stats.tcp(ipv6);
    let hw = traffic(adapter, ipv6);
    let resent = retransmitted(adapter, ipv6);
    let mut r = sw.snapshot();
    r.InSegments = r.InSegments.wrapping_add(hw.in_segments);
    // tcpOutSegs leaves out segments carrying only bytes sent before.
    r.OutSegments = r
        .OutSegments
        .wrapping_add(hw.out_segments.wrapping_sub(u64::from(resent)));
    r.RetransmittedSegments = r.RetransmittedSegments.wrapping_add(resent);
    r.OutResets = r.OutResets.wrapping_add(hw.out_resets);
    r.CurrentlyEstablished = adapter.data.as_ref().map_or(0, |dp| dp.established(ipv6));
    r
}

fn reset_tcp_stats(adapter: &Adapter, ipv6: bool) {
    let sw = adapter.stats.tcp(ipv6);
    let hw = traffic(adapter, ipv6);
    let resent = retransmitted(adapter, ipv6);
    sw.reset();
    sw.in_segments
        .store(0u64.wrapping_sub(hw.in_segments), Ordering::Relaxed);
    sw.out_segments.store(
        0u64.wrapping_sub(hw.out_segments.wrapping_sub(u64::from(resent))),
        Ordering::Relaxed,
    );
    sw.retransmitted_segments
        .store(0u32.wrapping_sub(resent), Ordering::Relaxed);
    sw.out_resets
        .store(0u32.wrapping_sub(hw.out_resets), Ordering::Relaxed);
}

fn ip_stats(adapter: &Adapter, ipv6: bool) -> IP_OFFLOAD_STATS {
    let sw = adapter.stats.ip(ipv6);
    let hw = traffic(adapter, ipv6);
    let mut r = sw.snapshot();
    // Every datagram an offloaded connection takes is delivered to it.
    r.InReceives = r.InReceives.wrapping_add(hw.in_segments);
    r.InDelivers = r.InDelivers.wrapping_add(hw.in_segments);
    r.InOctets = r.InOctets.wrapping_add(hw.in_octets);
    r.OutRequests = r.OutRequests.wrapping_add(hw.out_segments);
    r.OutOctets = r.OutOctets.wrapping_add(hw.out_octets);
    r
}

fn reset_ip_stats(adapter: &Adapter, ipv6: bool) {
    let sw = adapter.stats.ip(ipv6);
    let hw = traffic(adapter, ipv6);
    sw.reset();
    let neg = |v: u64| 0u64.wrapping_sub(v);
    sw.in_receives.store(neg(hw.in_segments), Ordering::Relaxed);
    sw.in_delivers.store(neg(hw.in_segments), Ordering::Relaxed);
    sw.in_octets.store(neg(hw.in_octets), Ordering::Relaxed);
    sw.out_requests
        .store(neg(hw.out_segments), Ordering::Relaxed);
    sw.out_octets.store(neg(hw.out_octets), Ordering::Relaxed);
}

/// OID_OFFLOAD_ENCAPSULATION: accept IEEE 802.3 (the only framing we offload with).
fn set_encapsulation(s: &Set) -> NDIS_STATUS {
    let e = match s.read::<NDIS_OFFLOAD_ENCAPSULATION>() {
        Ok(e) => e,
        Err(e) => return e,
    };
    if e.Header.Type != NDIS_OBJECT_TYPE_OFFLOAD_ENCAPSULATION {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    let ok = |enabled: ULONG, ty: ULONG| {
        enabled != NDIS_OFFLOAD_SET_ON || ty & NDIS_ENCAPSULATION_IEEE_802_3 != 0
    };
    if ok(e.IPv4.Enabled, e.IPv4.EncapsulationType) && ok(e.IPv6.Enabled, e.IPv6.EncapsulationType)
    {
        s.done(size_of::<NDIS_OFFLOAD_ENCAPSULATION>())
    } else {
        NDIS_STATUS_INVALID_PARAMETER
    }
}

/// OID_TCP_OFFLOAD_PARAMETERS: the host switches chimney per IP version.
/// A change of what we advertise goes through PAUSE → UPLOAD_ALL → RESUME
/// carrying the new NDIS_TCP_CONNECTION_OFFLOAD (rule 13).
fn set_offload_parameters(adapter: &Adapter, s: &Set) -> NDIS_STATUS {
    let p = match s.read_prefix::<NDIS_OFFLOAD_PARAMETERS>(usize::from(
        NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1,
    )) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if adapter.offload_handlers.is_none() {
        return s.done(s.len().min(size_of::<NDIS_OFFLOAD_PARAMETERS>()));
    }
    let pick = |current: bool, v: UCHAR| match v {
        NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_DISABLED => Some(false),
        NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_ENABLED => Some(true),
        NDIS_OFFLOAD_PARAMETERS_NO_CHANGE => Some(current),
        _ => None,
    };
    let current = adapter.state.lock().chimney_current;
    let (Some(v4), Some(v6)) = (
        pick(current.ipv4, p.TcpConnectionIPv4),
        pick(current.ipv6, p.TcpConnectionIPv6),
    ) else {
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    let wanted = adapter.chimney_hw.restricted(v4, v6);
    if wanted != current {
        change_chimney_config(adapter, wanted);
    }
    s.done(s.len().min(size_of::<NDIS_OFFLOAD_PARAMETERS>()))
}

/// Change the advertised chimney configuration the only legal way: pause
/// offloads, have everything uploaded, resume with the new capability. The
/// resume waits for the last upload when objects are still offloaded.
pub fn change_chimney_config(adapter: &Adapter, new: ChimneyCaps) {
    {
        let mut st = adapter.state.lock();
        st.chimney_paused = true;
        st.pending_resume = Some(new);
    }
    indicate(adapter, NDIS_STATUS_OFFLOAD_PAUSE, None);
    indicate(adapter, NDIS_STATUS_UPLOAD_ALL, None);
    after_uploads(adapter);
}

/// Once nothing is offloaded any more: announce a pending resume and complete
/// a pended power request. Called at IRQL <= DISPATCH_LEVEL with no lock held.
pub fn after_uploads(adapter: &Adapter) {
    if adapter.has_offloaded_objects() {
        return;
    }
    let (resume, power) = {
        let mut st = adapter.state.lock();
        let resume = st.pending_resume.take();
        if let Some(new) = resume {
            st.chimney_current = new;
            st.chimney_paused = false;
        }
        (resume, core::mem::take(&mut st.pending_power_oid))
    };
    if let Some(new) = resume {
        let mut caps = new.to_ndis();
        indicate(adapter, NDIS_STATUS_OFFLOAD_RESUME, Some(&mut caps));
    }
    if power != 0 {
        // SAFETY: the request NDIS gave MiniportOidRequest, pended by us and
        // completed exactly once, here.
        unsafe {
            NdisMOidRequestComplete(
                adapter.handle.raw(),
                power as PNDIS_OID_REQUEST,
                NDIS_STATUS_SUCCESS,
            )
        };
    }
}

fn indicate(
    adapter: &Adapter,
    code: NDIS_STATUS,
    buffer: Option<&mut NDIS_TCP_CONNECTION_OFFLOAD>,
) {
    let (ptr, len) = match buffer {
        Some(b) => (
            (b as *mut NDIS_TCP_CONNECTION_OFFLOAD).cast::<core::ffi::c_void>(),
            size_of::<NDIS_TCP_CONNECTION_OFFLOAD>(),
        ),
        None => (core::ptr::null_mut(), 0),
    };
    let mut ind = NDIS_STATUS_INDICATION {
        Header: NDIS_OBJECT_HEADER {
            Type: NDIS_OBJECT_TYPE_STATUS_INDICATION,
            Revision: NDIS_STATUS_INDICATION_REVISION_1,
            Size: NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
        },
        SourceHandle: adapter.handle.raw(),
        PortNumber: 0,
        StatusCode: code,
        Flags: 0,
        DestinationHandle: core::ptr::null_mut(),
        RequestId: core::ptr::null_mut(),
        StatusBuffer: ptr,
        StatusBufferSize: len as ULONG,
        Guid: GUID::default(),
        NdisReserved: [core::ptr::null_mut(); 4],
    };
    // SAFETY: the indication and its buffer live for the call; NDIS copies what it needs.
    unsafe { NdisMIndicateStatusEx(adapter.handle.raw(), &mut ind) };
}
