//! `NDIS_OID_REQUEST`, request types, the OIDs this miniport answers
//! (values from ntddndis.h), and `NDIS_OFFLOAD_PARAMETERS`.

use super::base::*;
use static_assertions::const_assert_eq;

/// `NDIS_REQUEST_TYPE` values.
pub const NdisRequestQueryInformation: NDIS_REQUEST_TYPE = 0;
pub const NdisRequestSetInformation: NDIS_REQUEST_TYPE = 1;
pub const NdisRequestQueryStatistics: NDIS_REQUEST_TYPE = 2;
pub const NdisRequestMethod: NDIS_REQUEST_TYPE = 12;

/// `NDIS_DEVICE_POWER_STATE` (payload of OID_PNP_SET_POWER).
pub const NdisDeviceStateUnspecified: ULONG = 0;
pub const NdisDeviceStateD0: ULONG = 1;
pub const NdisDeviceStateD1: ULONG = 2;
pub const NdisDeviceStateD2: ULONG = 3;
pub const NdisDeviceStateD3: ULONG = 4;

/// `NDIS_HARDWARE_STATUS`.
pub const NdisHardwareStatusReady: ULONG = 0;

/// `DATA.QUERY_INFORMATION` of `NDIS_OID_REQUEST`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NDIS_OID_REQUEST_QUERY_INFORMATION {
    pub Oid: NDIS_OID,
    pub InformationBuffer: PVOID,
    pub InformationBufferLength: UINT,
    pub BytesWritten: UINT,
    pub BytesNeeded: UINT,
}

/// `DATA.SET_INFORMATION` of `NDIS_OID_REQUEST`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NDIS_OID_REQUEST_SET_INFORMATION {
    pub Oid: NDIS_OID,
    pub InformationBuffer: PVOID,
    pub InformationBufferLength: UINT,
    pub BytesRead: UINT,
    pub BytesNeeded: UINT,
}

/// `DATA.METHOD_INFORMATION` of `NDIS_OID_REQUEST`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NDIS_OID_REQUEST_METHOD_INFORMATION {
    pub Oid: NDIS_OID,
    pub InformationBuffer: PVOID,
    pub InputBufferLength: ULONG,
    pub OutputBufferLength: ULONG,
    pub MethodId: ULONG,
    pub BytesWritten: UINT,
    pub BytesRead: UINT,
    pub BytesNeeded: UINT,
}

/// The `DATA` union (`_REQUEST_DATA` in C), selected by `RequestType`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union NDIS_OID_REQUEST_DATA {
    pub QUERY_INFORMATION: NDIS_OID_REQUEST_QUERY_INFORMATION,
    pub SET_INFORMATION: NDIS_OID_REQUEST_SET_INFORMATION,
    pub METHOD_INFORMATION: NDIS_OID_REQUEST_METHOD_INFORMATION,
}

pub const NDIS_OID_REQUEST_NDIS_RESERVED_SIZE: usize = 16;

/// `NDIS_OID_REQUEST` (revision 1).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_OID_REQUEST {
    pub Header: NDIS_OBJECT_HEADER,
    pub RequestType: NDIS_REQUEST_TYPE,
    pub PortNumber: NDIS_PORT_NUMBER,
    pub Timeout: UINT,
    pub RequestId: PVOID,
    pub RequestHandle: NDIS_HANDLE,
    pub DATA: NDIS_OID_REQUEST_DATA,
    pub NdisReserved: [UCHAR; NDIS_OID_REQUEST_NDIS_RESERVED_SIZE * size_of::<PVOID>()],
    pub MiniportReserved: [UCHAR; 2 * size_of::<PVOID>()],
    pub SourceReserved: [UCHAR; 2 * size_of::<PVOID>()],
    pub SupportedRevision: UCHAR,
    pub Reserved1: UCHAR,
    pub Reserved2: USHORT,
}
pub type PNDIS_OID_REQUEST = *mut NDIS_OID_REQUEST;
pub const NDIS_OID_REQUEST_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_OID_REQUEST_REVISION_1: USHORT =
    (core::mem::offset_of!(NDIS_OID_REQUEST, Reserved2) + size_of::<USHORT>()) as USHORT;

// General OIDs (ntddndis.h).
pub const OID_GEN_SUPPORTED_LIST: NDIS_OID = 0x0001_0101;
pub const OID_GEN_HARDWARE_STATUS: NDIS_OID = 0x0001_0102;
pub const OID_GEN_MEDIA_SUPPORTED: NDIS_OID = 0x0001_0103;
pub const OID_GEN_MEDIA_IN_USE: NDIS_OID = 0x0001_0104;
pub const OID_GEN_MAXIMUM_LOOKAHEAD: NDIS_OID = 0x0001_0105;
pub const OID_GEN_MAXIMUM_FRAME_SIZE: NDIS_OID = 0x0001_0106;
pub const OID_GEN_LINK_SPEED: NDIS_OID = 0x0001_0107;
pub const OID_GEN_TRANSMIT_BUFFER_SPACE: NDIS_OID = 0x0001_0108;
pub const OID_GEN_RECEIVE_BUFFER_SPACE: NDIS_OID = 0x0001_0109;
pub const OID_GEN_TRANSMIT_BLOCK_SIZE: NDIS_OID = 0x0001_010A;
pub const OID_GEN_RECEIVE_BLOCK_SIZE: NDIS_OID = 0x0001_010B;
pub const OID_GEN_VENDOR_ID: NDIS_OID = 0x0001_010C;
pub const OID_GEN_VENDOR_DESCRIPTION: NDIS_OID = 0x0001_010D;
pub const OID_GEN_CURRENT_PACKET_FILTER: NDIS_OID = 0x0001_010E;
pub const OID_GEN_CURRENT_LOOKAHEAD: NDIS_OID = 0x0001_010F;
pub const OID_GEN_DRIVER_VERSION: NDIS_OID = 0x0001_0110;
pub const OID_GEN_MAXIMUM_TOTAL_SIZE: NDIS_OID = 0x0001_0111;
pub const OID_GEN_MAC_OPTIONS: NDIS_OID = 0x0001_0113;
pub const OID_GEN_MEDIA_CONNECT_STATUS: NDIS_OID = 0x0001_0114;
pub const OID_GEN_MAXIMUM_SEND_PACKETS: NDIS_OID = 0x0001_0115;
pub const OID_GEN_VENDOR_DRIVER_VERSION: NDIS_OID = 0x0001_0116;
pub const OID_GEN_LINK_PARAMETERS: NDIS_OID = 0x0001_0208;
pub const OID_GEN_INTERRUPT_MODERATION: NDIS_OID = 0x0001_0209;
pub const OID_GEN_XMIT_OK: NDIS_OID = 0x0002_0101;
pub const OID_GEN_RCV_OK: NDIS_OID = 0x0002_0102;
pub const OID_GEN_XMIT_ERROR: NDIS_OID = 0x0002_0103;
pub const OID_GEN_RCV_ERROR: NDIS_OID = 0x0002_0104;
pub const OID_GEN_RCV_NO_BUFFER: NDIS_OID = 0x0002_0105;
pub const OID_GEN_STATISTICS: NDIS_OID = 0x0002_0106;
pub const OID_802_3_PERMANENT_ADDRESS: NDIS_OID = 0x0101_0101;
pub const OID_802_3_CURRENT_ADDRESS: NDIS_OID = 0x0101_0102;
pub const OID_802_3_MULTICAST_LIST: NDIS_OID = 0x0101_0103;
pub const OID_802_3_MAXIMUM_LIST_SIZE: NDIS_OID = 0x0101_0104;
pub const OID_PNP_CAPABILITIES: NDIS_OID = 0xFD01_0100;
pub const OID_PNP_SET_POWER: NDIS_OID = 0xFD01_0101;
pub const OID_PNP_QUERY_POWER: NDIS_OID = 0xFD01_0102;

// Offload and chimney OIDs (spec §8.3).
pub const OID_OFFLOAD_ENCAPSULATION: NDIS_OID = 0x0101_010A;
pub const OID_TCP_TASK_OFFLOAD: NDIS_OID = 0xFC01_0201;
pub const OID_TCP4_OFFLOAD_STATS: NDIS_OID = 0xFC01_0207;
pub const OID_TCP6_OFFLOAD_STATS: NDIS_OID = 0xFC01_0208;
pub const OID_IP4_OFFLOAD_STATS: NDIS_OID = 0xFC01_0209;
pub const OID_IP6_OFFLOAD_STATS: NDIS_OID = 0xFC01_020A;
pub const OID_TCP_OFFLOAD_CURRENT_CONFIG: NDIS_OID = 0xFC01_020B;
pub const OID_TCP_OFFLOAD_PARAMETERS: NDIS_OID = 0xFC01_020C;
pub const OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES: NDIS_OID = 0xFC01_020D;
pub const OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG: NDIS_OID = 0xFC01_020E;
pub const OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES: NDIS_OID = 0xFC01_020F;
pub const OID_TCP_CONNECTION_OFFLOAD_PARAMETERS: NDIS_OID = 0xFC03_0201;

/// `NDIS_OFFLOAD_PARAMETERS` (OID_TCP_OFFLOAD_PARAMETERS), through revision 2.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_PARAMETERS {
    pub Header: NDIS_OBJECT_HEADER,
    pub IPv4Checksum: UCHAR,
    pub TCPIPv4Checksum: UCHAR,
    pub UDPIPv4Checksum: UCHAR,
    pub TCPIPv6Checksum: UCHAR,
    pub UDPIPv6Checksum: UCHAR,
    pub LsoV1: UCHAR,
    pub IPsecV1: UCHAR,
    pub LsoV2IPv4: UCHAR,
    pub LsoV2IPv6: UCHAR,
    pub TcpConnectionIPv4: UCHAR,
    pub TcpConnectionIPv6: UCHAR,
    pub Flags: ULONG,
    /// Revision 2 (NDIS 6.1+).
    pub IPsecV2: UCHAR,
    pub IPsecV2IPv4: UCHAR,
}
pub const NDIS_OFFLOAD_PARAMETERS_REVISION_1: UCHAR = 1;
pub const NDIS_OFFLOAD_PARAMETERS_REVISION_2: UCHAR = 2;
pub const NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1: USHORT =
    (core::mem::offset_of!(NDIS_OFFLOAD_PARAMETERS, Flags) + 4) as USHORT;
pub const NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_2: USHORT =
    (core::mem::offset_of!(NDIS_OFFLOAD_PARAMETERS, IPsecV2IPv4) + 1) as USHORT;

const_assert_eq!(size_of::<NDIS_OFFLOAD_PARAMETERS>(), 24);
const_assert_eq!(
    core::mem::offset_of!(NDIS_OFFLOAD_PARAMETERS, IPv4Checksum),
    4
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_OFFLOAD_PARAMETERS, TcpConnectionIPv4),
    13
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_OFFLOAD_PARAMETERS, TcpConnectionIPv6),
    14
);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD_PARAMETERS, Flags), 16);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD_PARAMETERS, IPsecV2), 20);
const_assert_eq!(NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1, 20);
const_assert_eq!(NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_2, 22);

#[cfg(target_pointer_width = "64")]
mod layout64 {
    use super::*;
    use core::mem::offset_of;
    const_assert_eq!(size_of::<NDIS_OID_REQUEST_QUERY_INFORMATION>(), 32);
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_QUERY_INFORMATION, InformationBuffer),
        8
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_QUERY_INFORMATION, InformationBufferLength),
        16
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_QUERY_INFORMATION, BytesWritten),
        20
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_QUERY_INFORMATION, BytesNeeded),
        24
    );
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST_SET_INFORMATION, BytesRead), 20);
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_SET_INFORMATION, BytesNeeded),
        24
    );
    const_assert_eq!(size_of::<NDIS_OID_REQUEST_METHOD_INFORMATION>(), 40);
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_METHOD_INFORMATION, InputBufferLength),
        16
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_METHOD_INFORMATION, OutputBufferLength),
        20
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_METHOD_INFORMATION, MethodId),
        24
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_METHOD_INFORMATION, BytesWritten),
        28
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_METHOD_INFORMATION, BytesRead),
        32
    );
    const_assert_eq!(
        offset_of!(NDIS_OID_REQUEST_METHOD_INFORMATION, BytesNeeded),
        36
    );
    const_assert_eq!(size_of::<NDIS_OID_REQUEST_DATA>(), 40);
    const_assert_eq!(size_of::<NDIS_OID_REQUEST>(), 240);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, RequestType), 4);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, PortNumber), 8);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, Timeout), 12);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, RequestId), 16);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, RequestHandle), 24);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, DATA), 32);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, NdisReserved), 72);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, MiniportReserved), 200);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, SourceReserved), 216);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, SupportedRevision), 232);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, Reserved1), 233);
    const_assert_eq!(offset_of!(NDIS_OID_REQUEST, Reserved2), 234);
    const_assert_eq!(NDIS_SIZEOF_OID_REQUEST_REVISION_1, 236);
}
