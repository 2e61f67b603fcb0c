//! ndis.h miniport structures: driver characteristics and handler types, init
//! parameters, adapter attributes (registration, general, offload), the task
//! offload description, status indications, configuration and timers.
//! Offsets for 64-bit Windows, asserted below.

use super::base::*;
use super::chimney::PNDIS_TCP_CONNECTION_OFFLOAD;
use super::nbl::PNET_BUFFER_LIST;
use super::oid::PNDIS_OID_REQUEST;
use static_assertions::const_assert_eq;

// ---------------------------------------------------------------- enums and flags

/// `EX_POOL_PRIORITY`.
pub type EX_POOL_PRIORITY = i32;
pub const LowPoolPriority: EX_POOL_PRIORITY = 0;
pub const NormalPoolPriority: EX_POOL_PRIORITY = 16;
pub const HighPoolPriority: EX_POOL_PRIORITY = 32;

/// `NDIS_HALT_ACTION`.
pub type NDIS_HALT_ACTION = i32;
pub const NdisHaltDeviceDisabled: NDIS_HALT_ACTION = 0;
pub const NdisHaltDeviceInstanceDeInitialized: NDIS_HALT_ACTION = 1;
pub const NdisHaltDevicePoweredDown: NDIS_HALT_ACTION = 2;
pub const NdisHaltDeviceSurpriseRemoved: NDIS_HALT_ACTION = 3;
pub const NdisHaltDeviceFailed: NDIS_HALT_ACTION = 4;
pub const NdisHaltDeviceInitializationFailed: NDIS_HALT_ACTION = 5;
pub const NdisHaltDeviceStopped: NDIS_HALT_ACTION = 6;

/// `NDIS_SHUTDOWN_ACTION`.
pub type NDIS_SHUTDOWN_ACTION = i32;
pub const NdisShutdownPowerOff: NDIS_SHUTDOWN_ACTION = 0;
pub const NdisShutdownBugCheck: NDIS_SHUTDOWN_ACTION = 1;

/// `NDIS_INTERFACE_TYPE`.
pub type NDIS_INTERFACE_TYPE = i32;
pub const NdisInterfaceInternal: NDIS_INTERFACE_TYPE = 0;

pub const NdisMedium802_3: NDIS_MEDIUM = 0;
pub const NdisPhysicalMedium802_3: NDIS_PHYSICAL_MEDIUM = 14;

/// `NDIS_MEDIA_CONNECT_STATE`.
pub type NDIS_MEDIA_CONNECT_STATE = i32;
pub const MediaConnectStateUnknown: NDIS_MEDIA_CONNECT_STATE = 0;
pub const MediaConnectStateConnected: NDIS_MEDIA_CONNECT_STATE = 1;
pub const MediaConnectStateDisconnected: NDIS_MEDIA_CONNECT_STATE = 2;

/// `NDIS_MEDIA_DUPLEX_STATE`.
pub type NDIS_MEDIA_DUPLEX_STATE = i32;
pub const MediaDuplexStateUnknown: NDIS_MEDIA_DUPLEX_STATE = 0;
pub const MediaDuplexStateHalf: NDIS_MEDIA_DUPLEX_STATE = 1;
pub const MediaDuplexStateFull: NDIS_MEDIA_DUPLEX_STATE = 2;

/// `NET_IF_ACCESS_TYPE`, `NET_IF_DIRECTION_TYPE`, `NET_IF_CONNECTION_TYPE`.
pub type NET_IF_ACCESS_TYPE = i32;
pub type NET_IF_DIRECTION_TYPE = i32;
pub type NET_IF_CONNECTION_TYPE = i32;
pub const NET_IF_ACCESS_BROADCAST: NET_IF_ACCESS_TYPE = 2;
pub const NET_IF_DIRECTION_SENDRECEIVE: NET_IF_DIRECTION_TYPE = 0;
pub const NET_IF_CONNECTION_DEDICATED: NET_IF_CONNECTION_TYPE = 1;
pub const IF_TYPE_ETHERNET_CSMACD: NET_IFTYPE = 6;

pub const NDIS_MAX_PHYS_ADDRESS_LENGTH: usize = 32;

pub const NDIS_PACKET_TYPE_DIRECTED: ULONG = 0x01;
pub const NDIS_PACKET_TYPE_MULTICAST: ULONG = 0x02;
pub const NDIS_PACKET_TYPE_ALL_MULTICAST: ULONG = 0x04;
pub const NDIS_PACKET_TYPE_BROADCAST: ULONG = 0x08;
pub const NDIS_PACKET_TYPE_PROMISCUOUS: ULONG = 0x20;

pub const NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA: ULONG = 0x01;
pub const NDIS_MAC_OPTION_RECEIVE_SERIALIZED: ULONG = 0x02;
pub const NDIS_MAC_OPTION_TRANSFERS_NOT_PEND: ULONG = 0x04;
pub const NDIS_MAC_OPTION_NO_LOOPBACK: ULONG = 0x08;

pub const NDIS_STATISTICS_XMIT_OK_SUPPORTED: ULONG = 0x01;
pub const NDIS_STATISTICS_RCV_OK_SUPPORTED: ULONG = 0x02;

/// `NDIS_SUPPORTED_PAUSE_FUNCTIONS`.
pub const NdisPauseFunctionsUnsupported: ULONG = 0;
pub const NDIS_LINK_STATE_DUPLEX_AUTO_NEGOTIATED: ULONG = 0x04;

pub const NDIS_MINIPORT_ATTRIBUTES_HARDWARE_DEVICE: ULONG = 0x0001;
pub const NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM: ULONG = 0x0002;
pub const NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK: ULONG = 0x0004;
pub const NDIS_MINIPORT_ATTRIBUTES_NOT_CO_NDIS: ULONG = 0x0008;
pub const NDIS_MINIPORT_ATTRIBUTES_DO_NOT_BIND_TO_ALL_CO: ULONG = 0x0010;
pub const NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND: ULONG = 0x0020;
pub const NDIS_MINIPORT_ATTRIBUTES_BUS_MASTER: ULONG = 0x0040;
pub const NDIS_MINIPORT_ATTRIBUTES_CONTROLS_DEFAULT_PORT: ULONG = 0x0080;
pub const NDIS_MINIPORT_ATTRIBUTES_NO_PAUSE_ON_SUSPEND: ULONG = 0x0100;

// ---------------------------------------------------------------- handler types

/// Opaque structures the driver only passes through.
pub type PNDIS_MINIPORT_PAUSE_PARAMETERS = PVOID;
pub type PNDIS_MINIPORT_RESTART_PARAMETERS = PVOID;
pub type PNET_DEVICE_PNP_EVENT = PVOID;
pub type PNDIS_RESOURCE_LIST = PVOID;
pub type PNDIS_PORT_AUTHENTICATION_PARAMETERS = PVOID;
pub type PNDIS_PCI_DEVICE_CUSTOM_PROPERTIES = PVOID;
pub type PNDIS_PNP_CAPABILITIES = PVOID;
pub type PNDIS_PM_CAPABILITIES = PVOID;
pub type PNDIS_RECEIVE_SCALE_CAPABILITIES = PVOID;
pub type PNDIS_OID = *mut NDIS_OID;

pub type SET_OPTIONS_HANDLER = Option<
    unsafe extern "system" fn(
        NdisDriverHandle: NDIS_HANDLE,
        DriverContext: NDIS_HANDLE,
    ) -> NDIS_STATUS,
>;
pub type MINIPORT_INITIALIZE_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterHandle: NDIS_HANDLE,
        MiniportDriverContext: NDIS_HANDLE,
        MiniportInitParameters: PNDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS,
>;
pub type MINIPORT_HALT_HANDLER = Option<
    unsafe extern "system" fn(MiniportAdapterContext: NDIS_HANDLE, HaltAction: NDIS_HALT_ACTION),
>;
pub type MINIPORT_UNLOAD_HANDLER = Option<unsafe extern "system" fn(DriverObject: PDRIVER_OBJECT)>;
pub type MINIPORT_PAUSE_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        PauseParameters: PNDIS_MINIPORT_PAUSE_PARAMETERS,
    ) -> NDIS_STATUS,
>;
pub type MINIPORT_RESTART_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        RestartParameters: PNDIS_MINIPORT_RESTART_PARAMETERS,
    ) -> NDIS_STATUS,
>;
pub type MINIPORT_OID_REQUEST_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        OidRequest: PNDIS_OID_REQUEST,
    ) -> NDIS_STATUS,
>;
pub type MINIPORT_SEND_NET_BUFFER_LISTS_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        NetBufferList: PNET_BUFFER_LIST,
        PortNumber: NDIS_PORT_NUMBER,
        SendFlags: ULONG,
    ),
>;
pub type MINIPORT_RETURN_NET_BUFFER_LISTS_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        NetBufferLists: PNET_BUFFER_LIST,
        ReturnFlags: ULONG,
    ),
>;
pub type MINIPORT_CANCEL_SEND_HANDLER =
    Option<unsafe extern "system" fn(MiniportAdapterContext: NDIS_HANDLE, CancelId: PVOID)>;
pub type MINIPORT_CHECK_FOR_HANG_HANDLER =
    Option<unsafe extern "system" fn(MiniportAdapterContext: NDIS_HANDLE) -> BOOLEAN>;
pub type MINIPORT_RESET_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        AddressingReset: PBOOLEAN,
    ) -> NDIS_STATUS,
>;
pub type MINIPORT_DEVICE_PNP_EVENT_NOTIFY_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        NetDevicePnPEvent: PNET_DEVICE_PNP_EVENT,
    ),
>;
pub type MINIPORT_SHUTDOWN_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        ShutdownAction: NDIS_SHUTDOWN_ACTION,
    ),
>;
pub type MINIPORT_CANCEL_OID_REQUEST_HANDLER =
    Option<unsafe extern "system" fn(MiniportAdapterContext: NDIS_HANDLE, RequestId: PVOID)>;
pub type MINIPORT_DIRECT_OID_REQUEST_HANDLER = MINIPORT_OID_REQUEST_HANDLER;
pub type MINIPORT_CANCEL_DIRECT_OID_REQUEST_HANDLER = MINIPORT_CANCEL_OID_REQUEST_HANDLER;
pub type MINIPORT_SYNCHRONOUS_OID_REQUEST_HANDLER = MINIPORT_OID_REQUEST_HANDLER;

/// `NDIS_TIMER_FUNCTION` (timer-object callback, DISPATCH_LEVEL).
pub type NDIS_TIMER_FUNCTION = Option<
    unsafe extern "system" fn(
        SystemSpecific1: PVOID,
        FunctionContext: PVOID,
        SystemSpecific2: PVOID,
        SystemSpecific3: PVOID,
    ),
>;
/// `NDIS_IO_WORKITEM_FUNCTION` (work-item routine, PASSIVE_LEVEL).
pub type NDIS_IO_WORKITEM_FUNCTION =
    Option<unsafe extern "system" fn(WorkItemContext: PVOID, NdisIoWorkItemHandle: NDIS_HANDLE)>;

// ---------------------------------------------------------------- driver characteristics

/// `NDIS_MINIPORT_DRIVER_CHARACTERISTICS` (declared through revision 3, NDIS 6.80).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
    pub Header: NDIS_OBJECT_HEADER,
    pub MajorNdisVersion: UCHAR,
    pub MinorNdisVersion: UCHAR,
    pub MajorDriverVersion: UCHAR,
    pub MinorDriverVersion: UCHAR,
    pub Flags: ULONG,
    pub SetOptionsHandler: SET_OPTIONS_HANDLER,
    pub InitializeHandlerEx: MINIPORT_INITIALIZE_HANDLER,
    pub HaltHandlerEx: MINIPORT_HALT_HANDLER,
    pub UnloadHandler: MINIPORT_UNLOAD_HANDLER,
    pub PauseHandler: MINIPORT_PAUSE_HANDLER,
    pub RestartHandler: MINIPORT_RESTART_HANDLER,
    pub OidRequestHandler: MINIPORT_OID_REQUEST_HANDLER,
    pub SendNetBufferListsHandler: MINIPORT_SEND_NET_BUFFER_LISTS_HANDLER,
    pub ReturnNetBufferListsHandler: MINIPORT_RETURN_NET_BUFFER_LISTS_HANDLER,
    pub CancelSendHandler: MINIPORT_CANCEL_SEND_HANDLER,
    pub CheckForHangHandlerEx: MINIPORT_CHECK_FOR_HANG_HANDLER,
    pub ResetHandlerEx: MINIPORT_RESET_HANDLER,
    pub DevicePnPEventNotifyHandler: MINIPORT_DEVICE_PNP_EVENT_NOTIFY_HANDLER,
    pub ShutdownHandlerEx: MINIPORT_SHUTDOWN_HANDLER,
    pub CancelOidRequestHandler: MINIPORT_CANCEL_OID_REQUEST_HANDLER,
    /// Revision 2 (NDIS 6.1+).
    pub DirectOidRequestHandler: MINIPORT_DIRECT_OID_REQUEST_HANDLER,
    pub CancelDirectOidRequestHandler: MINIPORT_CANCEL_DIRECT_OID_REQUEST_HANDLER,
    /// Revision 3 (NDIS 6.80+).
    pub SynchronousOidRequestHandler: MINIPORT_SYNCHRONOUS_OID_REQUEST_HANDLER,
}
pub type PNDIS_MINIPORT_DRIVER_CHARACTERISTICS = *mut NDIS_MINIPORT_DRIVER_CHARACTERISTICS;

pub const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1: UCHAR = 1;
pub const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2: UCHAR = 2;
pub const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3: UCHAR = 3;
/// Size through `CancelOidRequestHandler` (NDIS 6.0).
pub const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1: USHORT = (core::mem::offset_of!(
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    CancelOidRequestHandler
) + size_of::<PVOID>())
    as USHORT;
/// Size through `CancelDirectOidRequestHandler` (NDIS 6.1 – 6.7x).
pub const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2: USHORT = (core::mem::offset_of!(
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    CancelDirectOidRequestHandler
) + size_of::<PVOID>())
    as USHORT;
/// Size through `SynchronousOidRequestHandler` (NDIS 6.80).
pub const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3: USHORT = (core::mem::offset_of!(
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    SynchronousOidRequestHandler
) + size_of::<PVOID>())
    as USHORT;

// ---------------------------------------------------------------- init parameters

/// `NDIS_MINIPORT_INIT_PARAMETERS` (revision 1).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_MINIPORT_INIT_PARAMETERS {
    pub Header: NDIS_OBJECT_HEADER,
    pub Flags: ULONG,
    pub AllocatedResources: PNDIS_RESOURCE_LIST,
    pub IMDeviceInstanceContext: NDIS_HANDLE,
    pub MiniportAddDeviceContext: NDIS_HANDLE,
    pub IfIndex: NET_IFINDEX,
    pub NetLuid: NET_LUID,
    pub DefaultPortAuthStates: PNDIS_PORT_AUTHENTICATION_PARAMETERS,
    pub PciDeviceCustomProperties: PNDIS_PCI_DEVICE_CUSTOM_PROPERTIES,
}
pub type PNDIS_MINIPORT_INIT_PARAMETERS = *mut NDIS_MINIPORT_INIT_PARAMETERS;
pub const NDIS_MINIPORT_INIT_PARAMETERS_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_MINIPORT_INIT_PARAMETERS_REVISION_1: USHORT =
    size_of::<NDIS_MINIPORT_INIT_PARAMETERS>() as USHORT;

// ---------------------------------------------------------------- adapter attributes

/// `NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES {
    pub Header: NDIS_OBJECT_HEADER,
    pub MiniportAdapterContext: NDIS_HANDLE,
    pub AttributeFlags: ULONG,
    pub CheckForHangTimeInSeconds: UINT,
    pub InterfaceType: NDIS_INTERFACE_TYPE,
}
pub const NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1: UCHAR = 1;
/// Revision 2 (NDIS 6.30) adds no field; it allows the 6.30 attribute flags.
pub const NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2: UCHAR = 2;
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1: USHORT =
    (core::mem::offset_of!(NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, InterfaceType) + 4)
        as USHORT;
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2: USHORT =
    NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;

/// `NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES` (through revision 2).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES {
    pub Header: NDIS_OBJECT_HEADER,
    pub Flags: ULONG,
    pub MediaType: NDIS_MEDIUM,
    pub PhysicalMediumType: NDIS_PHYSICAL_MEDIUM,
    pub MtuSize: ULONG,
    pub MaxXmitLinkSpeed: ULONG64,
    pub XmitLinkSpeed: ULONG64,
    pub MaxRcvLinkSpeed: ULONG64,
    pub RcvLinkSpeed: ULONG64,
    pub MediaConnectState: NDIS_MEDIA_CONNECT_STATE,
    pub MediaDuplexState: NDIS_MEDIA_DUPLEX_STATE,
    pub LookaheadSize: ULONG,
    pub PowerManagementCapabilities: PNDIS_PNP_CAPABILITIES,
    pub MacOptions: ULONG,
    pub SupportedPacketFilters: ULONG,
    pub MaxMulticastListSize: ULONG,
    pub MacAddressLength: USHORT,
    pub PermanentMacAddress: [UCHAR; NDIS_MAX_PHYS_ADDRESS_LENGTH],
    pub CurrentMacAddress: [UCHAR; NDIS_MAX_PHYS_ADDRESS_LENGTH],
    pub RecvScaleCapabilities: PNDIS_RECEIVE_SCALE_CAPABILITIES,
    pub AccessType: NET_IF_ACCESS_TYPE,
    pub DirectionType: NET_IF_DIRECTION_TYPE,
    pub ConnectionType: NET_IF_CONNECTION_TYPE,
    pub IfType: NET_IFTYPE,
    pub IfConnectorPresent: BOOLEAN,
    pub SupportedStatistics: ULONG,
    pub SupportedPauseFunctions: ULONG,
    pub DataBackFillSize: ULONG,
    pub ContextBackFillSize: ULONG,
    pub SupportedOidList: PNDIS_OID,
    pub SupportedOidListLength: ULONG,
    pub AutoNegotiationFlags: ULONG,
    /// Revision 2 (NDIS 6.20+).
    pub PowerManagementCapabilitiesEx: PNDIS_PM_CAPABILITIES,
}
pub const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1: UCHAR = 1;
pub const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2: UCHAR = 2;
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1: USHORT = (core::mem::offset_of!(
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    AutoNegotiationFlags
) + 4) as USHORT;
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2: USHORT = (core::mem::offset_of!(
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    PowerManagementCapabilitiesEx
) + size_of::<PVOID>(
)) as USHORT;

/// `NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES`: task offloads plus the chimney
/// capability (hardware) and configuration (current).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES {
    pub Header: NDIS_OBJECT_HEADER,
    pub DefaultOffloadConfiguration: PNDIS_OFFLOAD,
    pub HardwareOffloadCapabilities: PNDIS_OFFLOAD,
    pub DefaultTcpConnectionOffloadConfiguration: PNDIS_TCP_CONNECTION_OFFLOAD,
    pub TcpConnectionOffloadHardwareCapabilities: PNDIS_TCP_CONNECTION_OFFLOAD,
}
pub const NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1: USHORT =
    size_of::<NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES>() as USHORT;

// ---------------------------------------------------------------- task offload (ntddndis.h)

/// Transmit/receive checksum capability of one IP version (`Encapsulation` plus
/// a ULONG of 2-bit fields; unnamed structs in C).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_TCP_IP_CHECKSUM_OFFLOAD_PART {
    pub Encapsulation: ULONG,
    /// IPv4: IpOptionsSupported:2, TcpOptionsSupported:2, TcpChecksum:2,
    /// UdpChecksum:2, IpChecksum:2. IPv6: IpExtensionHeadersSupported:2,
    /// TcpOptionsSupported:2, TcpChecksum:2, UdpChecksum:2.
    pub _bitfield_1: ULONG,
}

/// `NDIS_TCP_IP_CHECKSUM_OFFLOAD`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_TCP_IP_CHECKSUM_OFFLOAD {
    pub IPv4Transmit: NDIS_TCP_IP_CHECKSUM_OFFLOAD_PART,
    pub IPv4Receive: NDIS_TCP_IP_CHECKSUM_OFFLOAD_PART,
    pub IPv6Transmit: NDIS_TCP_IP_CHECKSUM_OFFLOAD_PART,
    pub IPv6Receive: NDIS_TCP_IP_CHECKSUM_OFFLOAD_PART,
}

/// IPv4 member of `NDIS_TCP_LARGE_SEND_OFFLOAD_V1`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_TCP_LARGE_SEND_OFFLOAD_V1_IPV4 {
    pub Encapsulation: ULONG,
    pub MaxOffLoadSize: ULONG,
    pub MinSegmentCount: ULONG,
    /// TcpOptions:2, IpOptions:2.
    pub _bitfield_1: ULONG,
}

/// `NDIS_TCP_LARGE_SEND_OFFLOAD_V1`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_TCP_LARGE_SEND_OFFLOAD_V1 {
    pub IPv4: NDIS_TCP_LARGE_SEND_OFFLOAD_V1_IPV4,
}

/// `Supported` member of `NDIS_IPSEC_OFFLOAD_V1`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_IPSEC_OFFLOAD_V1_SUPPORTED {
    pub Encapsulation: ULONG,
    pub AhEspCombined: ULONG,
    pub TransportTunnelCombined: ULONG,
    pub IPv4Options: ULONG,
    pub Flags: ULONG,
}

/// `NDIS_IPSEC_OFFLOAD_V1`: IPv4AH and IPv4ESP are ULONGs of 2-bit fields.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_IPSEC_OFFLOAD_V1 {
    pub Supported: NDIS_IPSEC_OFFLOAD_V1_SUPPORTED,
    pub IPv4AH: ULONG,
    pub IPv4ESP: ULONG,
}

/// IPv4 member of `NDIS_TCP_LARGE_SEND_OFFLOAD_V2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_TCP_LARGE_SEND_OFFLOAD_V2_IPV4 {
    pub Encapsulation: ULONG,
    pub MaxOffLoadSize: ULONG,
    pub MinSegmentCount: ULONG,
}

/// IPv6 member of `NDIS_TCP_LARGE_SEND_OFFLOAD_V2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_TCP_LARGE_SEND_OFFLOAD_V2_IPV6 {
    pub Encapsulation: ULONG,
    pub MaxOffLoadSize: ULONG,
    pub MinSegmentCount: ULONG,
    /// IpExtensionHeadersSupported:2, TcpOptionsSupported:2.
    pub _bitfield_1: ULONG,
}

/// `NDIS_TCP_LARGE_SEND_OFFLOAD_V2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_TCP_LARGE_SEND_OFFLOAD_V2 {
    pub IPv4: NDIS_TCP_LARGE_SEND_OFFLOAD_V2_IPV4,
    pub IPv6: NDIS_TCP_LARGE_SEND_OFFLOAD_V2_IPV6,
}

/// `NDIS_OFFLOAD` (declared through revision 1; later revisions append
/// IPsecV2, RSC and encapsulated-packet members we do not report).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_OFFLOAD {
    pub Header: NDIS_OBJECT_HEADER,
    pub Checksum: NDIS_TCP_IP_CHECKSUM_OFFLOAD,
    pub LsoV1: NDIS_TCP_LARGE_SEND_OFFLOAD_V1,
    pub IPsecV1: NDIS_IPSEC_OFFLOAD_V1,
    pub LsoV2: NDIS_TCP_LARGE_SEND_OFFLOAD_V2,
    pub Flags: ULONG,
}
pub type PNDIS_OFFLOAD = *mut NDIS_OFFLOAD;
pub const NDIS_OFFLOAD_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1: USHORT = size_of::<NDIS_OFFLOAD>() as USHORT;

// ---------------------------------------------------------------- status indication

/// `NDIS_STATUS_INDICATION`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_STATUS_INDICATION {
    pub Header: NDIS_OBJECT_HEADER,
    pub SourceHandle: NDIS_HANDLE,
    pub PortNumber: NDIS_PORT_NUMBER,
    pub StatusCode: NDIS_STATUS,
    pub Flags: ULONG,
    pub DestinationHandle: NDIS_HANDLE,
    pub RequestId: PVOID,
    pub StatusBuffer: PVOID,
    pub StatusBufferSize: ULONG,
    pub Guid: GUID,
    pub NdisReserved: [PVOID; 4],
}
pub type PNDIS_STATUS_INDICATION = *mut NDIS_STATUS_INDICATION;
pub const NDIS_STATUS_INDICATION_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_STATUS_INDICATION_REVISION_1: USHORT =
    size_of::<NDIS_STATUS_INDICATION>() as USHORT;

// ---------------------------------------------------------------- configuration

/// `NDIS_CONFIGURATION_OBJECT`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_CONFIGURATION_OBJECT {
    pub Header: NDIS_OBJECT_HEADER,
    pub NdisHandle: NDIS_HANDLE,
    pub Flags: ULONG,
}
pub type PNDIS_CONFIGURATION_OBJECT = *mut NDIS_CONFIGURATION_OBJECT;
pub const NDIS_CONFIGURATION_OBJECT_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1: USHORT =
    (core::mem::offset_of!(NDIS_CONFIGURATION_OBJECT, Flags) + 4) as USHORT;

/// `NDIS_PARAMETER_TYPE` values.
pub const NdisParameterInteger: NDIS_PARAMETER_TYPE = 0;
pub const NdisParameterHexInteger: NDIS_PARAMETER_TYPE = 1;
pub const NdisParameterString: NDIS_PARAMETER_TYPE = 2;
pub const NdisParameterMultiString: NDIS_PARAMETER_TYPE = 3;
pub const NdisParameterBinary: NDIS_PARAMETER_TYPE = 4;

/// `BINARY_DATA`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BINARY_DATA {
    pub Length: USHORT,
    pub Buffer: PVOID,
}

/// `ParameterData` union of `NDIS_CONFIGURATION_PARAMETER`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union NDIS_CONFIGURATION_PARAMETER_DATA {
    pub IntegerData: ULONG,
    pub StringData: NDIS_STRING,
    pub BinaryData: BINARY_DATA,
}

/// `NDIS_CONFIGURATION_PARAMETER`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_CONFIGURATION_PARAMETER {
    pub ParameterType: NDIS_PARAMETER_TYPE,
    pub ParameterData: NDIS_CONFIGURATION_PARAMETER_DATA,
}
pub type PNDIS_CONFIGURATION_PARAMETER = *mut NDIS_CONFIGURATION_PARAMETER;

// ---------------------------------------------------------------- timers

/// `NDIS_TIMER_CHARACTERISTICS`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_TIMER_CHARACTERISTICS {
    pub Header: NDIS_OBJECT_HEADER,
    pub AllocationTag: ULONG,
    pub TimerFunction: NDIS_TIMER_FUNCTION,
    pub FunctionContext: PVOID,
}
pub const NDIS_TIMER_CHARACTERISTICS_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1: USHORT =
    size_of::<NDIS_TIMER_CHARACTERISTICS>() as USHORT;

// ---------------------------------------------------------------- layout

const_assert_eq!(size_of::<NDIS_TCP_IP_CHECKSUM_OFFLOAD>(), 32);
const_assert_eq!(size_of::<NDIS_TCP_LARGE_SEND_OFFLOAD_V1>(), 16);
const_assert_eq!(size_of::<NDIS_IPSEC_OFFLOAD_V1>(), 28);
const_assert_eq!(size_of::<NDIS_TCP_LARGE_SEND_OFFLOAD_V2>(), 28);
const_assert_eq!(size_of::<NDIS_OFFLOAD>(), 112);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD, Checksum), 4);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD, LsoV1), 36);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD, IPsecV1), 52);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD, LsoV2), 80);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD, Flags), 108);

#[cfg(target_pointer_width = "64")]
mod layout64 {
    use super::*;
    use core::mem::offset_of;
    type C = NDIS_MINIPORT_DRIVER_CHARACTERISTICS;
    const_assert_eq!(size_of::<C>(), 160);
    const_assert_eq!(offset_of!(C, MajorNdisVersion), 4);
    const_assert_eq!(offset_of!(C, MinorNdisVersion), 5);
    const_assert_eq!(offset_of!(C, MajorDriverVersion), 6);
    const_assert_eq!(offset_of!(C, MinorDriverVersion), 7);
    const_assert_eq!(offset_of!(C, Flags), 8);
    const_assert_eq!(offset_of!(C, SetOptionsHandler), 16);
    const_assert_eq!(offset_of!(C, InitializeHandlerEx), 24);
    const_assert_eq!(offset_of!(C, HaltHandlerEx), 32);
    const_assert_eq!(offset_of!(C, UnloadHandler), 40);
    const_assert_eq!(offset_of!(C, PauseHandler), 48);
    const_assert_eq!(offset_of!(C, RestartHandler), 56);
    const_assert_eq!(offset_of!(C, OidRequestHandler), 64);
    const_assert_eq!(offset_of!(C, SendNetBufferListsHandler), 72);
    const_assert_eq!(offset_of!(C, ReturnNetBufferListsHandler), 80);
    const_assert_eq!(offset_of!(C, CancelSendHandler), 88);
    const_assert_eq!(offset_of!(C, CheckForHangHandlerEx), 96);
    const_assert_eq!(offset_of!(C, ResetHandlerEx), 104);
    const_assert_eq!(offset_of!(C, DevicePnPEventNotifyHandler), 112);
    const_assert_eq!(offset_of!(C, ShutdownHandlerEx), 120);
    const_assert_eq!(offset_of!(C, CancelOidRequestHandler), 128);
    const_assert_eq!(offset_of!(C, DirectOidRequestHandler), 136);
    const_assert_eq!(offset_of!(C, CancelDirectOidRequestHandler), 144);
    const_assert_eq!(offset_of!(C, SynchronousOidRequestHandler), 152);
    const_assert_eq!(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1, 136);
    const_assert_eq!(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2, 152);
    const_assert_eq!(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3, 160);

    type I = NDIS_MINIPORT_INIT_PARAMETERS;
    const_assert_eq!(size_of::<I>(), 64);
    const_assert_eq!(offset_of!(I, Flags), 4);
    const_assert_eq!(offset_of!(I, AllocatedResources), 8);
    const_assert_eq!(offset_of!(I, IMDeviceInstanceContext), 16);
    const_assert_eq!(offset_of!(I, MiniportAddDeviceContext), 24);
    const_assert_eq!(offset_of!(I, IfIndex), 32);
    const_assert_eq!(offset_of!(I, NetLuid), 40);
    const_assert_eq!(offset_of!(I, DefaultPortAuthStates), 48);
    const_assert_eq!(offset_of!(I, PciDeviceCustomProperties), 56);

    type R = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    const_assert_eq!(size_of::<R>(), 32);
    const_assert_eq!(offset_of!(R, MiniportAdapterContext), 8);
    const_assert_eq!(offset_of!(R, AttributeFlags), 16);
    const_assert_eq!(offset_of!(R, CheckForHangTimeInSeconds), 20);
    const_assert_eq!(offset_of!(R, InterfaceType), 24);
    const_assert_eq!(
        NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
        28
    );

    type G = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    const_assert_eq!(size_of::<G>(), 224);
    const_assert_eq!(offset_of!(G, Flags), 4);
    const_assert_eq!(offset_of!(G, MediaType), 8);
    const_assert_eq!(offset_of!(G, PhysicalMediumType), 12);
    const_assert_eq!(offset_of!(G, MtuSize), 16);
    const_assert_eq!(offset_of!(G, MaxXmitLinkSpeed), 24);
    const_assert_eq!(offset_of!(G, XmitLinkSpeed), 32);
    const_assert_eq!(offset_of!(G, MaxRcvLinkSpeed), 40);
    const_assert_eq!(offset_of!(G, RcvLinkSpeed), 48);
    const_assert_eq!(offset_of!(G, MediaConnectState), 56);
    const_assert_eq!(offset_of!(G, MediaDuplexState), 60);
    const_assert_eq!(offset_of!(G, LookaheadSize), 64);
    const_assert_eq!(offset_of!(G, PowerManagementCapabilities), 72);
    const_assert_eq!(offset_of!(G, MacOptions), 80);
    const_assert_eq!(offset_of!(G, SupportedPacketFilters), 84);
    const_assert_eq!(offset_of!(G, MaxMulticastListSize), 88);
    const_assert_eq!(offset_of!(G, MacAddressLength), 92);
    const_assert_eq!(offset_of!(G, PermanentMacAddress), 94);
    const_assert_eq!(offset_of!(G, CurrentMacAddress), 126);
    const_assert_eq!(offset_of!(G, RecvScaleCapabilities), 160);
    const_assert_eq!(offset_of!(G, AccessType), 168);
    const_assert_eq!(offset_of!(G, DirectionType), 172);
    const_assert_eq!(offset_of!(G, ConnectionType), 176);
    const_assert_eq!(offset_of!(G, IfType), 180);
    const_assert_eq!(offset_of!(G, IfConnectorPresent), 182);
    const_assert_eq!(offset_of!(G, SupportedStatistics), 184);
    const_assert_eq!(offset_of!(G, SupportedPauseFunctions), 188);
    const_assert_eq!(offset_of!(G, DataBackFillSize), 192);
    const_assert_eq!(offset_of!(G, ContextBackFillSize), 196);
    const_assert_eq!(offset_of!(G, SupportedOidList), 200);
    const_assert_eq!(offset_of!(G, SupportedOidListLength), 208);
    const_assert_eq!(offset_of!(G, AutoNegotiationFlags), 212);
    const_assert_eq!(offset_of!(G, PowerManagementCapabilitiesEx), 216);
    const_assert_eq!(
        NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
        216
    );
    const_assert_eq!(
        NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2,
        224
    );

    type O = NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES;
    const_assert_eq!(size_of::<O>(), 40);
    const_assert_eq!(offset_of!(O, DefaultOffloadConfiguration), 8);
    const_assert_eq!(offset_of!(O, HardwareOffloadCapabilities), 16);
    const_assert_eq!(offset_of!(O, DefaultTcpConnectionOffloadConfiguration), 24);
    const_assert_eq!(offset_of!(O, TcpConnectionOffloadHardwareCapabilities), 32);

    type S = NDIS_STATUS_INDICATION;
    const_assert_eq!(size_of::<S>(), 112);
    const_assert_eq!(offset_of!(S, SourceHandle), 8);
    const_assert_eq!(offset_of!(S, PortNumber), 16);
    const_assert_eq!(offset_of!(S, StatusCode), 20);
    const_assert_eq!(offset_of!(S, Flags), 24);
    const_assert_eq!(offset_of!(S, DestinationHandle), 32);
    const_assert_eq!(offset_of!(S, RequestId), 40);
    const_assert_eq!(offset_of!(S, StatusBuffer), 48);
    const_assert_eq!(offset_of!(S, StatusBufferSize), 56);
    const_assert_eq!(offset_of!(S, Guid), 60);
    const_assert_eq!(offset_of!(S, NdisReserved), 80);

    const_assert_eq!(size_of::<NDIS_CONFIGURATION_OBJECT>(), 24);
    const_assert_eq!(offset_of!(NDIS_CONFIGURATION_OBJECT, NdisHandle), 8);
    const_assert_eq!(offset_of!(NDIS_CONFIGURATION_OBJECT, Flags), 16);
    const_assert_eq!(NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1, 20);
    const_assert_eq!(size_of::<NDIS_CONFIGURATION_PARAMETER>(), 24);
    const_assert_eq!(offset_of!(NDIS_CONFIGURATION_PARAMETER, ParameterData), 8);
    const_assert_eq!(size_of::<BINARY_DATA>(), 16);
    const_assert_eq!(offset_of!(BINARY_DATA, Buffer), 8);

    const_assert_eq!(size_of::<NDIS_TIMER_CHARACTERISTICS>(), 24);
    const_assert_eq!(offset_of!(NDIS_TIMER_CHARACTERISTICS, AllocationTag), 4);
    const_assert_eq!(offset_of!(NDIS_TIMER_CHARACTERISTICS, TimerFunction), 8);
    const_assert_eq!(offset_of!(NDIS_TIMER_CHARACTERISTICS, FunctionContext), 16);
}
