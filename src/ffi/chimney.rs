//! ndischimney.h (and the chimney parts of ntddndis.h): offload block lists,
//! state structures, provider characteristics, the TCP event-handler table,
//! chimney parameters and statistics. Offsets are for 64-bit Windows and are
//! asserted below (spec §3, §5, §2, §7).

use super::base::*;
use super::nbl::PNET_BUFFER_LIST;
use static_assertions::const_assert_eq;

// ---------------------------------------------------------------- enums

/// `NDIS_CHIMNEY_OFFLOAD_TYPE` (a C enum: 4 bytes).
pub type NDIS_CHIMNEY_OFFLOAD_TYPE = i32;
pub const NdisTcpChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 1;
pub const NdisIpsecChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 2;
pub const NdisRdmaChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 3;
pub const NdisMaxChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 4;

/// `OFFLOAD_STATE_TYPE`: values of a block list's `Header.Type` (a UCHAR there),
/// naming the state structures that follow the block.
pub type OFFLOAD_STATE_TYPE = UCHAR;
pub const NeighborOffloadConstState: OFFLOAD_STATE_TYPE = 1;
pub const NeighborOffloadCachedState: OFFLOAD_STATE_TYPE = 2;
pub const NeighborOffloadDelegatedState: OFFLOAD_STATE_TYPE = 3;
pub const NeighborOffloadState: OFFLOAD_STATE_TYPE = 4;
pub const Ip4OffloadConstState: OFFLOAD_STATE_TYPE = 5;
pub const Ip4OffloadCachedState: OFFLOAD_STATE_TYPE = 6;
pub const Ip4OffloadDelegatedState: OFFLOAD_STATE_TYPE = 7;
pub const Ip4OffloadState: OFFLOAD_STATE_TYPE = 8;
pub const Ip6OffloadConstState: OFFLOAD_STATE_TYPE = 9;
pub const Ip6OffloadCachedState: OFFLOAD_STATE_TYPE = 10;
pub const Ip6OffloadDelegatedState: OFFLOAD_STATE_TYPE = 11;
pub const Ip6OffloadState: OFFLOAD_STATE_TYPE = 12;
pub const TcpOffloadConstState: OFFLOAD_STATE_TYPE = 13;
pub const TcpOffloadCachedState: OFFLOAD_STATE_TYPE = 14;
pub const TcpOffloadDelegatedState: OFFLOAD_STATE_TYPE = 15;
pub const TcpOffloadResourceState: OFFLOAD_STATE_TYPE = 16;
pub const TcpOffloadState: OFFLOAD_STATE_TYPE = 17;
pub const FilterReservedOffloadState: OFFLOAD_STATE_TYPE = 0xFE;
pub const MaximumOffloadState: OFFLOAD_STATE_TYPE = 0xFF;

/// `TCP_OFFLOAD_CONNECTION_STATE` (RFC 793 states; a C enum: 4 bytes).
pub type TCP_OFFLOAD_CONNECTION_STATE = i32;
pub const TcpConnectionClosed: TCP_OFFLOAD_CONNECTION_STATE = 0;
pub const TcpConnectionListen: TCP_OFFLOAD_CONNECTION_STATE = 1;
pub const TcpConnectionSynSent: TCP_OFFLOAD_CONNECTION_STATE = 2;
pub const TcpConnectionSynRcvd: TCP_OFFLOAD_CONNECTION_STATE = 3;
pub const TcpConnectionEstablished: TCP_OFFLOAD_CONNECTION_STATE = 4;
pub const TcpConnectionFinWait1: TCP_OFFLOAD_CONNECTION_STATE = 5;
pub const TcpConnectionFinWait2: TCP_OFFLOAD_CONNECTION_STATE = 6;
pub const TcpConnectionCloseWait: TCP_OFFLOAD_CONNECTION_STATE = 7;
pub const TcpConnectionClosing: TCP_OFFLOAD_CONNECTION_STATE = 8;
pub const TcpConnectionLastAck: TCP_OFFLOAD_CONNECTION_STATE = 9;
pub const TcpConnectionTimeWait: TCP_OFFLOAD_CONNECTION_STATE = 10;
pub const TcpConnectionMaxState: TCP_OFFLOAD_CONNECTION_STATE = 11;

/// `TCP_OFFLOAD_EVENT_TYPE` (EventType of NdisTcpOffloadEventHandler).
pub const TcpIndicateSendBacklogChange: ULONG = 1;
pub const TcpIndicateDisconnect: ULONG = 2;
pub const TcpIndicateRetrieve: ULONG = 3;
pub const TcpIndicateAbort: ULONG = 4;

/// `TCP_UPLOAD_REASON` (EventSpecificInformation of TcpIndicateRetrieve).
pub const LowActivity: ULONG = 1;
pub const HighDropRate: ULONG = 2;
pub const SmallIO: ULONG = 3;
pub const NoBufferPreposting: ULONG = 4;
pub const NoBufferProposting: ULONG = 4;
pub const ReceivedUrgentData: ULONG = 5;
pub const HighFragmentation: ULONG = 6;
pub const HighOutOfOrderPackets: ULONG = 7;
pub const TimeoutExpiration: ULONG = 8;
pub const InvalidState: ULONG = 9;
pub const UploadRequested: ULONG = 10;
pub const HardwareFailure: ULONG = 11;
pub const MaxUploadReason: ULONG = 12;

/// `INDICATE_OFFLOAD_EVENT` (IndicationCode of NdisMOffloadEventIndicate).
pub const NeighborReachabilityInDoubt: ULONG = 1;
pub const NeighborReachabilityQuery: ULONG = 2;
pub const MaxOffloadEvent: ULONG = 3;

// ---------------------------------------------------------------- flags

pub const TCP_FLAG_TIMESTAMP_ENABLED: USHORT = 0x01;
pub const TCP_FLAG_SACK_ENABLED: USHORT = 0x02;
pub const TCP_FLAG_WINDOW_SCALING_ENABLED: USHORT = 0x04;
pub const TCP_FLAG_KEEP_ALIVE_ENABLED: USHORT = 0x01;
pub const TCP_FLAG_NAGLING_ENABLED: USHORT = 0x02;
pub const TCP_FLAG_KEEP_ALIVE_RESTART: USHORT = 0x04;
pub const TCP_FLAG_MAX_RT_RESTART: USHORT = 0x08;
pub const TCP_FLAG_UPDATE_RCV_WND: USHORT = 0x10;
pub const TCP_DISCONNECT_GRACEFUL_CLOSE: ULONG = 0x01;
pub const TCP_DISCONNECT_ABORTIVE_CLOSE: ULONG = 0x02;

bitflags::bitflags! {
    /// `TCP_OFFLOAD_STATE_CONST.Flags`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TcpConstFlags: USHORT {
        const TIMESTAMP_ENABLED = TCP_FLAG_TIMESTAMP_ENABLED;
        const SACK_ENABLED = TCP_FLAG_SACK_ENABLED;
        const WINDOW_SCALING_ENABLED = TCP_FLAG_WINDOW_SCALING_ENABLED;
    }

    /// `TCP_OFFLOAD_STATE_CACHED.Flags`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TcpCachedFlags: USHORT {
        const KEEP_ALIVE_ENABLED = TCP_FLAG_KEEP_ALIVE_ENABLED;
        const NAGLING_ENABLED = TCP_FLAG_NAGLING_ENABLED;
        const KEEP_ALIVE_RESTART = TCP_FLAG_KEEP_ALIVE_RESTART;
        const MAX_RT_RESTART = TCP_FLAG_MAX_RT_RESTART;
        const UPDATE_RCV_WND = TCP_FLAG_UPDATE_RCV_WND;
    }

    /// `Flags` of MiniportTcpOffloadDisconnect.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TcpDisconnectFlags: ULONG {
        const GRACEFUL_CLOSE = TCP_DISCONNECT_GRACEFUL_CLOSE;
        const ABORTIVE_CLOSE = TCP_DISCONNECT_ABORTIVE_CLOSE;
    }
}

/// Spec value (not a header name): a `…TimeoutDelta` of all ones means the timer is not running.
pub const TIMER_NOT_RUNNING: ULONG = 0xFFFF_FFFF;
/// Spec value: `SendBacklogSize`/`ReceiveBacklogSize` when the feature is unsupported.
pub const BACKLOG_UNSUPPORTED: ULONG = 0xFFFF_FFFF;

// ---------------------------------------------------------------- block list

/// `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST`: one node of an offload state tree;
/// its state structures follow it in memory.
#[repr(C)]
pub struct NDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
    pub Header: NDIS_OBJECT_HEADER,
    pub NextBlock: *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    pub DependentBlockList: *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    pub Status: NDIS_STATUS,
    pub NdisReserved: [PVOID; 2],
    /// Pointer to the caller's context slot (NULL for a placeholder).
    pub MiniportOffloadContext: *mut PVOID,
    pub NdisOffloadHandle: NDIS_HANDLE,
    pub ProtocolReserved: [PVOID; 2],
    pub MiniportReserved: [PVOID; 2],
    pub ImReserved: [PVOID; 2],
    pub Scratch: [PVOID; 2],
    pub SourceHandle: PVOID,
    pub PortNumber: NDIS_PORT_NUMBER,
    pub NetBufferListChain: PNET_BUFFER_LIST,
}
pub type PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST = *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;

/// `NDIS_OFFLOAD_HANDLE`: the handle an offloading protocol or intermediate
/// driver keeps per offloaded object (the target sees its contents as the
/// `NdisOffloadHandle` / `MiniportOffloadContext` values of block lists).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NDIS_OFFLOAD_HANDLE {
    pub NdisReserved: [PVOID; 1],
    pub MiniportOffloadContext: PVOID,
}
pub type PNDIS_OFFLOAD_HANDLE = *mut NDIS_OFFLOAD_HANDLE;

/// `OFFLOAD_STATE_HEADER`: first member of every state structure.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OFFLOAD_STATE_HEADER {
    /// Size of the whole state structure, header included.
    pub Length: ULONG,
    pub RecognizedOptions: ULONG,
}

// ---------------------------------------------------------------- neighbor

/// `NEIGHBOR_OFFLOAD_STATE_CONST`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NEIGHBOR_OFFLOAD_STATE_CONST {
    pub Header: OFFLOAD_STATE_HEADER,
    pub DlSourceAddress: [UCHAR; 32],
    /// Storage unit of `VlanId:12` (bits 0–11).
    pub _bitfield_1: ULONG,
}

impl NEIGHBOR_OFFLOAD_STATE_CONST {
    pub const fn VlanId(&self) -> ULONG {
        self._bitfield_1 & 0xFFF
    }
    pub fn set_VlanId(&mut self, v: ULONG) {
        self._bitfield_1 = (self._bitfield_1 & !0xFFF) | (v & 0xFFF);
    }
}

/// `NEIGHBOR_OFFLOAD_STATE_CACHED`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NEIGHBOR_OFFLOAD_STATE_CACHED {
    pub Header: OFFLOAD_STATE_HEADER,
    pub DlDestinationAddress: [UCHAR; 32],
    pub HostReachabilityDelta: ULONG,
}

/// `NEIGHBOR_OFFLOAD_STATE_DELEGATED`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NEIGHBOR_OFFLOAD_STATE_DELEGATED {
    pub Header: OFFLOAD_STATE_HEADER,
    pub NicReachabilityDelta: ULONG,
}

// ---------------------------------------------------------------- path

/// `PATH_OFFLOAD_STATE_CONST`: the addresses point to 4 (IPv4) or 16 (IPv6)
/// bytes in network order, valid during the call only.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PATH_OFFLOAD_STATE_CONST {
    pub Header: OFFLOAD_STATE_HEADER,
    pub SourceAddress: *const UCHAR,
    pub DestinationAddress: *const UCHAR,
}

/// `PATH_OFFLOAD_STATE_CACHED`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PATH_OFFLOAD_STATE_CACHED {
    pub Header: OFFLOAD_STATE_HEADER,
    pub PathMtu: ULONG,
}

/// `PATH_OFFLOAD_STATE_DELEGATED`: no delegated path variables exist.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PATH_OFFLOAD_STATE_DELEGATED {
    pub Header: OFFLOAD_STATE_HEADER,
}

// ---------------------------------------------------------------- TCP

/// `TCP_OFFLOAD_STATE_CONST`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_CONST {
    pub Header: OFFLOAD_STATE_HEADER,
    pub Flags: USHORT,
    pub RemotePort: USHORT,
    pub LocalPort: USHORT,
    /// Storage unit of `SndWindScale:4` (bits 0–3) and `RcvWindScale:4` (bits 4–7).
    pub _bitfield_1: UCHAR,
    pub RemoteMss: USHORT,
    pub HashValue: ULONG,
}

impl TCP_OFFLOAD_STATE_CONST {
    pub const fn SndWindScale(&self) -> UCHAR {
        self._bitfield_1 & 0x0F
    }
    pub fn set_SndWindScale(&mut self, v: UCHAR) {
        self._bitfield_1 = (self._bitfield_1 & 0xF0) | (v & 0x0F);
    }
    pub const fn RcvWindScale(&self) -> UCHAR {
        self._bitfield_1 >> 4
    }
    pub fn set_RcvWindScale(&mut self, v: UCHAR) {
        self._bitfield_1 = (self._bitfield_1 & 0x0F) | ((v & 0x0F) << 4);
    }
}

/// `TCP_OFFLOAD_STATE_CACHED`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_CACHED {
    pub Header: OFFLOAD_STATE_HEADER,
    pub Flags: USHORT,
    pub InitialRcvWnd: ULONG,
    pub RcvIndicationSize: ULONG,
    pub KaProbeCount: UCHAR,
    pub KaTimeout: ULONG,
    pub KaInterval: ULONG,
    pub MaxRT: ULONG,
    /// Storage unit of `FlowLabel:20` (bits 0–19 of a ULONG).
    pub _bitfield_1: ULONG,
    pub TtlOrHopLimit: UCHAR,
    pub TosOrTrafficClass: UCHAR,
    /// Storage unit of `UserPriority:3` (bits 0–2 of a UCHAR).
    pub _bitfield_2: UCHAR,
}

impl TCP_OFFLOAD_STATE_CACHED {
    pub const fn FlowLabel(&self) -> ULONG {
        self._bitfield_1 & 0xF_FFFF
    }
    pub fn set_FlowLabel(&mut self, v: ULONG) {
        self._bitfield_1 = (self._bitfield_1 & !0xF_FFFF) | (v & 0xF_FFFF);
    }
    pub const fn UserPriority(&self) -> UCHAR {
        self._bitfield_2 & 0x7
    }
    pub fn set_UserPriority(&mut self, v: UCHAR) {
        self._bitfield_2 = (self._bitfield_2 & !0x7) | (v & 0x7);
    }
}

/// `KeepAlive` member of `TCP_OFFLOAD_STATE_DELEGATED` (an unnamed struct type in C).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE {
    pub ProbeCount: UCHAR,
    pub TimeoutDelta: ULONG,
}

/// `Retransmit` member of `TCP_OFFLOAD_STATE_DELEGATED` (an unnamed struct type in C).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT {
    pub Count: UCHAR,
    pub TimeoutDelta: ULONG,
}

/// Send-data head/tail (initiate, terminate) of the first anonymous union.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA {
    pub SendDataHead: PNET_BUFFER_LIST,
    pub SendDataTail: PNET_BUFFER_LIST,
}

/// First anonymous union of `TCP_OFFLOAD_STATE_DELEGATED`: the send data
/// chain (initiate/terminate) or `SendBacklogSize` (query).
#[repr(C)]
#[derive(Clone, Copy)]
pub union TCP_OFFLOAD_STATE_DELEGATED_SEND {
    pub SendData: TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA,
    pub SendBacklogSize: ULONG,
}

/// Second anonymous union: buffered receive data (initiate/terminate) or
/// `ReceiveBacklogSize` (query).
#[repr(C)]
#[derive(Clone, Copy)]
pub union TCP_OFFLOAD_STATE_DELEGATED_RECEIVE {
    pub BufferedData: PNET_BUFFER_LIST,
    pub ReceiveBacklogSize: ULONG,
}

/// `TCP_OFFLOAD_STATE_DELEGATED` (NDIS 6.1+ layout, with `DWnd`: 128 bytes;
/// builds for NDIS 6.0 lack `DWnd` and are 120 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TCP_OFFLOAD_STATE_DELEGATED {
    pub Header: OFFLOAD_STATE_HEADER,
    pub State: TCP_OFFLOAD_CONNECTION_STATE,
    pub Flags: USHORT,
    pub RcvNxt: ULONG,
    pub RcvWnd: ULONG,
    pub SndUna: ULONG,
    pub SndNxt: ULONG,
    pub SndMax: ULONG,
    pub SndWnd: ULONG,
    pub MaxSndWnd: ULONG,
    pub SendWL1: ULONG,
    pub CWnd: ULONG,
    pub SsThresh: ULONG,
    /// Smoothed RTT in ticks, scaled ×8.
    pub SRtt: USHORT,
    /// RTT variance in ticks, scaled ×4.
    pub RttVar: USHORT,
    pub TsRecent: ULONG,
    pub TsRecentAge: ULONG,
    pub TsTime: ULONG,
    pub TotalRT: ULONG,
    pub DupAckCount: UCHAR,
    pub SndWndProbeCount: UCHAR,
    pub KeepAlive: TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE,
    pub Retransmit: TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT,
    pub Send: TCP_OFFLOAD_STATE_DELEGATED_SEND,
    pub Receive: TCP_OFFLOAD_STATE_DELEGATED_RECEIVE,
    pub DWnd: ULONG,
}

// ---------------------------------------------------------------- handler tables

pub type W_INITIATE_OFFLOAD_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    ),
>;
pub type W_TERMINATE_OFFLOAD_HANDLER = W_INITIATE_OFFLOAD_HANDLER;
pub type W_UPDATE_OFFLOAD_HANDLER = W_INITIATE_OFFLOAD_HANDLER;
pub type W_INVALIDATE_OFFLOAD_HANDLER = W_INITIATE_OFFLOAD_HANDLER;
pub type W_QUERY_OFFLOAD_HANDLER = W_INITIATE_OFFLOAD_HANDLER;
pub type W_TCP_OFFLOAD_SEND_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        MiniportOffloadContext: PVOID,
        NetBufferList: PNET_BUFFER_LIST,
    ) -> NDIS_STATUS,
>;
pub type W_TCP_OFFLOAD_RECEIVE_HANDLER = W_TCP_OFFLOAD_SEND_HANDLER;
pub type W_TCP_OFFLOAD_FORWARD_HANDLER = W_TCP_OFFLOAD_SEND_HANDLER;
pub type W_TCP_OFFLOAD_DISCONNECT_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        MiniportOffloadContext: PVOID,
        NetBufferList: PNET_BUFFER_LIST,
        Flags: ULONG,
    ) -> NDIS_STATUS,
>;
pub type W_TCP_OFFLOAD_RECEIVE_RETURN_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        NetBufferList: PNET_BUFFER_LIST,
    ) -> NDIS_STATUS,
>;

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS` (note the order:
/// Initiate, Terminate, Update, Invalidate, Query).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS {
    pub Header: NDIS_OBJECT_HEADER,
    pub Flags: ULONG,
    pub InitiateOffloadHandler: W_INITIATE_OFFLOAD_HANDLER,
    pub TerminateOffloadHandler: W_TERMINATE_OFFLOAD_HANDLER,
    pub UpdateOffloadHandler: W_UPDATE_OFFLOAD_HANDLER,
    pub InvalidateOffloadHandler: W_INVALIDATE_OFFLOAD_HANDLER,
    pub QueryOffloadHandler: W_QUERY_OFFLOAD_HANDLER,
}

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS {
    pub Header: NDIS_OBJECT_HEADER,
    pub Flags: ULONG,
    pub OffloadType: NDIS_CHIMNEY_OFFLOAD_TYPE,
    pub TcpOffloadSendHandler: W_TCP_OFFLOAD_SEND_HANDLER,
    pub TcpOffloadReceiveHandler: W_TCP_OFFLOAD_RECEIVE_HANDLER,
    pub TcpOffloadDisconnectHandler: W_TCP_OFFLOAD_DISCONNECT_HANDLER,
    pub TcpOffloadForwardHandler: W_TCP_OFFLOAD_FORWARD_HANDLER,
    pub TcpOffloadReceiveReturnHandler: W_TCP_OFFLOAD_RECEIVE_RETURN_HANDLER,
}

pub type NDIS_TCP_OFFLOAD_EVENT_INDICATE = Option<
    unsafe extern "system" fn(
        NdisOffloadHandle: NDIS_HANDLE,
        EventType: ULONG,
        EventSpecificInformation: ULONG,
    ),
>;
pub type NDIS_TCP_OFFLOAD_RECEIVE_INDICATE = Option<
    unsafe extern "system" fn(
        NdisOffloadHandle: NDIS_HANDLE,
        NetBufferList: PNET_BUFFER_LIST,
        Status: NDIS_STATUS,
        BytesConsumed: PULONG,
    ) -> NDIS_STATUS,
>;
pub type NDIS_TCP_OFFLOAD_SEND_COMPLETE = Option<
    unsafe extern "system" fn(NdisMiniportHandle: NDIS_HANDLE, NetBufferList: PNET_BUFFER_LIST),
>;
pub type NDIS_TCP_OFFLOAD_RECEIVE_COMPLETE = NDIS_TCP_OFFLOAD_SEND_COMPLETE;
pub type NDIS_TCP_OFFLOAD_DISCONNECT_COMPLETE = NDIS_TCP_OFFLOAD_SEND_COMPLETE;
pub type NDIS_TCP_OFFLOAD_FORWARD_COMPLETE = NDIS_TCP_OFFLOAD_SEND_COMPLETE;

/// `NDIS_OFFLOAD_EVENT_HANDLERS`: the common head of every chimney table.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NDIS_OFFLOAD_EVENT_HANDLERS {
    pub Header: NDIS_OBJECT_HEADER,
}
pub type PNDIS_OFFLOAD_EVENT_HANDLERS = *mut NDIS_OFFLOAD_EVENT_HANDLERS;

/// `NDIS_TCP_OFFLOAD_EVENT_HANDLERS`, returned by NdisMGetOffloadHandlers.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NDIS_TCP_OFFLOAD_EVENT_HANDLERS {
    pub Header: NDIS_OBJECT_HEADER,
    pub NdisTcpOffloadEventHandler: NDIS_TCP_OFFLOAD_EVENT_INDICATE,
    pub NdisTcpOffloadReceiveHandler: NDIS_TCP_OFFLOAD_RECEIVE_INDICATE,
    pub NdisTcpOffloadSendComplete: NDIS_TCP_OFFLOAD_SEND_COMPLETE,
    pub NdisTcpOffloadReceiveComplete: NDIS_TCP_OFFLOAD_RECEIVE_COMPLETE,
    pub NdisTcpOffloadDisconnectComplete: NDIS_TCP_OFFLOAD_DISCONNECT_COMPLETE,
    pub NdisTcpOffloadForwardComplete: NDIS_TCP_OFFLOAD_FORWARD_COMPLETE,
}
pub type PNDIS_TCP_OFFLOAD_EVENT_HANDLERS = *mut NDIS_TCP_OFFLOAD_EVENT_HANDLERS;

pub const NDIS_OBJECT_TCP_OFFLOAD_REVISION_1: UCHAR = 1;
/// Size through `NdisTcpOffloadForwardComplete`.
pub const NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1: USHORT = (core::mem::offset_of!(
    NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
    NdisTcpOffloadForwardComplete
) + size_of::<PVOID>())
    as USHORT;

// ---------------------------------------------------------------- capability (ntddndis.h)

pub const NDIS_ENCAPSULATION_NOT_SUPPORTED: ULONG = 0;
pub const NDIS_ENCAPSULATION_NULL: ULONG = 1;
pub const NDIS_ENCAPSULATION_IEEE_802_3: ULONG = 2;
pub const NDIS_ENCAPSULATION_IEEE_802_3_P_AND_Q: ULONG = 4;
pub const NDIS_ENCAPSULATION_IEEE_802_3_P_AND_Q_IN_OOB: ULONG = 8;
pub const NDIS_ENCAPSULATION_IEEE_LLC_SNAP_ROUTED: ULONG = 0x10;
pub const NDIS_OFFLOAD_NOT_SUPPORTED: ULONG = 0;
pub const NDIS_OFFLOAD_SUPPORTED: ULONG = 1;
pub const NDIS_OFFLOAD_SET_NO_CHANGE: ULONG = 0;
pub const NDIS_OFFLOAD_SET_ON: ULONG = 1;
pub const NDIS_OFFLOAD_SET_OFF: ULONG = 2;
pub const NDIS_OFFLOAD_PARAMETERS_NO_CHANGE: UCHAR = 0;
pub const NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_DISABLED: UCHAR = 1;
pub const NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_ENABLED: UCHAR = 2;

/// `NDIS_TCP_CONNECTION_OFFLOAD`: chimney capability or configuration.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_TCP_CONNECTION_OFFLOAD {
    pub Header: NDIS_OBJECT_HEADER,
    pub Encapsulation: ULONG,
    /// Storage unit of `SupportIPv4:2`, `SupportIPv6:2`,
    /// `SupportIPv6ExtensionHeaders:2`, `SupportSack:2`, `CongestionAlgorithm:4`.
    pub _bitfield_1: ULONG,
    pub TcpConnectionOffloadCapacity: ULONG,
    pub Flags: ULONG,
}
pub type PNDIS_TCP_CONNECTION_OFFLOAD = *mut NDIS_TCP_CONNECTION_OFFLOAD;

macro_rules! bitfield {
    ($get:ident, $set:ident, $shift:expr, $width:expr) => {
        pub const fn $get(&self) -> ULONG {
            (self._bitfield_1 >> $shift) & ((1 << $width) - 1)
        }
        pub fn $set(&mut self, v: ULONG) {
            let mask: ULONG = ((1 << $width) - 1) << $shift;
            self._bitfield_1 = (self._bitfield_1 & !mask) | ((v << $shift) & mask);
        }
    };
}

impl NDIS_TCP_CONNECTION_OFFLOAD {
    bitfield!(SupportIPv4, set_SupportIPv4, 0, 2);
    bitfield!(SupportIPv6, set_SupportIPv6, 2, 2);
    bitfield!(
        SupportIPv6ExtensionHeaders,
        set_SupportIPv6ExtensionHeaders,
        4,
        2
    );
    bitfield!(SupportSack, set_SupportSack, 6, 2);
    bitfield!(CongestionAlgorithm, set_CongestionAlgorithm, 8, 4);
}

pub const NDIS_TCP_CONNECTION_OFFLOAD_REVISION_1: UCHAR = 1;
pub const NDIS_TCP_CONNECTION_OFFLOAD_REVISION_2: UCHAR = 2;
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_1: USHORT = 20;
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_2: USHORT = 20;

/// Per-IP-version member of `NDIS_OFFLOAD_ENCAPSULATION` (an unnamed struct in C).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_ENCAPSULATION_IP {
    pub Enabled: ULONG,
    pub EncapsulationType: ULONG,
    pub HeaderSize: ULONG,
}

/// `NDIS_OFFLOAD_ENCAPSULATION` (OID_OFFLOAD_ENCAPSULATION).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_ENCAPSULATION {
    pub Header: NDIS_OBJECT_HEADER,
    pub IPv4: NDIS_OFFLOAD_ENCAPSULATION_IP,
    pub IPv6: NDIS_OFFLOAD_ENCAPSULATION_IP,
}
pub const NDIS_OFFLOAD_ENCAPSULATION_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1: USHORT = 28;

/// `NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS` (OID_TCP_CONNECTION_OFFLOAD_PARAMETERS).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS {
    pub Header: NDIS_OBJECT_HEADER,
    pub Encapsulation: NDIS_OFFLOAD_ENCAPSULATION,
    pub TicksPerSecond: ULONG,
    pub TcpAckFrequency: UCHAR,
    pub TcpDelayedAckTicks: UCHAR,
    pub TcpMaximumRetransmissions: UCHAR,
    pub TcpDoubtReachabilityRetransmissions: UCHAR,
    pub TcpSwsPreventionTicks: ULONG,
    pub TcpDuplicateAckThreshold: ULONG,
    pub TcpPushTicks: ULONG,
    pub NceStaleTicks: ULONG,
    /// Revision 2 (NDIS 6.1+) only.
    pub CongestionAlgorithm: ULONG,
}
pub const NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_1: UCHAR = 1;
pub const NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_2: UCHAR = 2;
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1: USHORT =
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, CongestionAlgorithm) as USHORT;
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_2: USHORT =
    size_of::<NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS>() as USHORT;

/// `TCP_OFFLOAD_STATS` (OID_TCP4/6_OFFLOAD_STATS).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATS {
    pub InSegments: ULONG64,
    pub OutSegments: ULONG64,
    pub CurrentlyEstablished: ULONG,
    pub ResetEstablished: ULONG,
    pub RetransmittedSegments: ULONG,
    pub InErrors: ULONG,
    pub OutResets: ULONG,
}

/// `IP_OFFLOAD_STATS` (OID_IP4/6_OFFLOAD_STATS).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IP_OFFLOAD_STATS {
    pub InReceives: ULONG64,
    pub InOctets: ULONG64,
    pub InDelivers: ULONG64,
    pub OutRequests: ULONG64,
    pub OutOctets: ULONG64,
    pub InHeaderErrors: ULONG,
    pub InTruncatedPackets: ULONG,
    pub InDiscards: ULONG,
    pub OutDiscards: ULONG,
    pub OutNoRoutes: ULONG,
}

// ---------------------------------------------------------------- layout (x64 / ARM64)

const_assert_eq!(size_of::<OFFLOAD_STATE_HEADER>(), 8);
const_assert_eq!(
    core::mem::offset_of!(OFFLOAD_STATE_HEADER, RecognizedOptions),
    4
);
const_assert_eq!(size_of::<NEIGHBOR_OFFLOAD_STATE_CONST>(), 44);
const_assert_eq!(
    core::mem::offset_of!(NEIGHBOR_OFFLOAD_STATE_CONST, DlSourceAddress),
    8
);
const_assert_eq!(
    core::mem::offset_of!(NEIGHBOR_OFFLOAD_STATE_CONST, _bitfield_1),
    40
);
const_assert_eq!(size_of::<NEIGHBOR_OFFLOAD_STATE_CACHED>(), 44);
const_assert_eq!(
    core::mem::offset_of!(NEIGHBOR_OFFLOAD_STATE_CACHED, DlDestinationAddress),
    8
);
const_assert_eq!(
    core::mem::offset_of!(NEIGHBOR_OFFLOAD_STATE_CACHED, HostReachabilityDelta),
    40
);
const_assert_eq!(size_of::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>(), 12);
const_assert_eq!(
    core::mem::offset_of!(NEIGHBOR_OFFLOAD_STATE_DELEGATED, NicReachabilityDelta),
    8
);
const_assert_eq!(size_of::<PATH_OFFLOAD_STATE_CACHED>(), 12);
const_assert_eq!(core::mem::offset_of!(PATH_OFFLOAD_STATE_CACHED, PathMtu), 8);
const_assert_eq!(size_of::<PATH_OFFLOAD_STATE_DELEGATED>(), 8);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_CONST>(), 24);
const_assert_eq!(core::mem::offset_of!(TCP_OFFLOAD_STATE_CONST, Flags), 8);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CONST, RemotePort),
    10
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CONST, LocalPort),
    12
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CONST, _bitfield_1),
    14
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CONST, RemoteMss),
    16
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CONST, HashValue),
    20
);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_CACHED>(), 44);
const_assert_eq!(core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, Flags), 8);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, InitialRcvWnd),
    12
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, RcvIndicationSize),
    16
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, KaProbeCount),
    20
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, KaTimeout),
    24
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, KaInterval),
    28
);
const_assert_eq!(core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, MaxRT), 32);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, _bitfield_1),
    36
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, TtlOrHopLimit),
    40
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, TosOrTrafficClass),
    41
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATE_CACHED, _bitfield_2),
    42
);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE>(), 8);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT>(), 8);
const_assert_eq!(size_of::<NDIS_TCP_CONNECTION_OFFLOAD>(), 20);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, Encapsulation),
    4
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, _bitfield_1),
    8
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, TcpConnectionOffloadCapacity),
    12
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, Flags),
    16
);
const_assert_eq!(size_of::<NDIS_OFFLOAD_ENCAPSULATION>(), 28);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD_ENCAPSULATION, IPv4), 4);
const_assert_eq!(core::mem::offset_of!(NDIS_OFFLOAD_ENCAPSULATION, IPv6), 16);
const_assert_eq!(size_of::<NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS>(), 60);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, Encapsulation),
    4
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TicksPerSecond),
    32
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TcpAckFrequency),
    36
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TcpDelayedAckTicks),
    37
);
const_assert_eq!(
    core::mem::offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpMaximumRetransmissions
    ),
    38
);
const_assert_eq!(
    core::mem::offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpDoubtReachabilityRetransmissions
    ),
    39
);
const_assert_eq!(
    core::mem::offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpSwsPreventionTicks
    ),
    40
);
const_assert_eq!(
    core::mem::offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpDuplicateAckThreshold
    ),
    44
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TcpPushTicks),
    48
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, NceStaleTicks),
    52
);
const_assert_eq!(
    core::mem::offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, CongestionAlgorithm),
    56
);
const_assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1, 56);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATS>(), 40);
const_assert_eq!(core::mem::offset_of!(TCP_OFFLOAD_STATS, OutSegments), 8);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATS, CurrentlyEstablished),
    16
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATS, ResetEstablished),
    20
);
const_assert_eq!(
    core::mem::offset_of!(TCP_OFFLOAD_STATS, RetransmittedSegments),
    24
);
const_assert_eq!(core::mem::offset_of!(TCP_OFFLOAD_STATS, InErrors), 28);
const_assert_eq!(core::mem::offset_of!(TCP_OFFLOAD_STATS, OutResets), 32);
const_assert_eq!(size_of::<IP_OFFLOAD_STATS>(), 64);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, InOctets), 8);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, InDelivers), 16);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, OutRequests), 24);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, OutOctets), 32);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, InHeaderErrors), 40);
const_assert_eq!(
    core::mem::offset_of!(IP_OFFLOAD_STATS, InTruncatedPackets),
    44
);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, InDiscards), 48);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, OutDiscards), 52);
const_assert_eq!(core::mem::offset_of!(IP_OFFLOAD_STATS, OutNoRoutes), 56);
const_assert_eq!(size_of::<NDIS_OFFLOAD_EVENT_HANDLERS>(), 4);

#[cfg(target_pointer_width = "64")]
mod layout64 {
    use super::*;
    use core::mem::offset_of;
    const_assert_eq!(size_of::<NDIS_OFFLOAD_HANDLE>(), 16);
    const_assert_eq!(offset_of!(NDIS_OFFLOAD_HANDLE, NdisReserved), 0);
    const_assert_eq!(offset_of!(NDIS_OFFLOAD_HANDLE, MiniportOffloadContext), 8);
    const_assert_eq!(size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>(), 152);
    const_assert_eq!(offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Header), 0);
    const_assert_eq!(offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NextBlock), 8);
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, DependentBlockList),
        16
    );
    const_assert_eq!(offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Status), 24);
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NdisReserved),
        32
    );
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, MiniportOffloadContext),
        48
    );
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NdisOffloadHandle),
        56
    );
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, ProtocolReserved),
        64
    );
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, MiniportReserved),
        80
    );
    const_assert_eq!(offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, ImReserved), 96);
    const_assert_eq!(offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, Scratch), 112);
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, SourceHandle),
        128
    );
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, PortNumber),
        136
    );
    const_assert_eq!(
        offset_of!(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NetBufferListChain),
        144
    );
    const_assert_eq!(size_of::<PATH_OFFLOAD_STATE_CONST>(), 24);
    const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_CONST, SourceAddress), 8);
    const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_CONST, DestinationAddress), 16);
    const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED>(), 128);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, State), 8);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Flags), 12);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, RcvNxt), 16);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, RcvWnd), 20);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SndUna), 24);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SndNxt), 28);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SndMax), 32);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SndWnd), 36);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, MaxSndWnd), 40);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SendWL1), 44);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, CWnd), 48);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SsThresh), 52);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SRtt), 56);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, RttVar), 58);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, TsRecent), 60);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, TsRecentAge), 64);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, TsTime), 68);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, TotalRT), 72);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, DupAckCount), 76);
    const_assert_eq!(
        offset_of!(TCP_OFFLOAD_STATE_DELEGATED, SndWndProbeCount),
        77
    );
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, KeepAlive), 80);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Retransmit), 88);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Send), 96);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Receive), 112);
    const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, DWnd), 120);
    const_assert_eq!(
        offset_of!(TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA, SendDataTail),
        8
    );
    const_assert_eq!(
        size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS>(),
        48
    );
    const_assert_eq!(
        offset_of!(NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS, Flags),
        4
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
            InitiateOffloadHandler
        ),
        8
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
            TerminateOffloadHandler
        ),
        16
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
            UpdateOffloadHandler
        ),
        24
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
            InvalidateOffloadHandler
        ),
        32
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
            QueryOffloadHandler
        ),
        40
    );
    const_assert_eq!(
        size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS>(),
        56
    );
    const_assert_eq!(
        offset_of!(NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS, Flags),
        4
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS,
            OffloadType
        ),
        8
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS,
            TcpOffloadSendHandler
        ),
        16
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS,
            TcpOffloadReceiveHandler
        ),
        24
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS,
            TcpOffloadDisconnectHandler
        ),
        32
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS,
            TcpOffloadForwardHandler
        ),
        40
    );
    const_assert_eq!(
        offset_of!(
            NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS,
            TcpOffloadReceiveReturnHandler
        ),
        48
    );
    const_assert_eq!(size_of::<NDIS_TCP_OFFLOAD_EVENT_HANDLERS>(), 56);
    const_assert_eq!(
        offset_of!(NDIS_TCP_OFFLOAD_EVENT_HANDLERS, NdisTcpOffloadEventHandler),
        8
    );
    const_assert_eq!(
        offset_of!(
            NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
            NdisTcpOffloadReceiveHandler
        ),
        16
    );
    const_assert_eq!(
        offset_of!(NDIS_TCP_OFFLOAD_EVENT_HANDLERS, NdisTcpOffloadSendComplete),
        24
    );
    const_assert_eq!(
        offset_of!(
            NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
            NdisTcpOffloadReceiveComplete
        ),
        32
    );
    const_assert_eq!(
        offset_of!(
            NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
            NdisTcpOffloadDisconnectComplete
        ),
        40
    );
    const_assert_eq!(
        offset_of!(
            NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
            NdisTcpOffloadForwardComplete
        ),
        48
    );
    const_assert_eq!(NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1, 56);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfields_round_trip_without_touching_neighbours() {
        let mut t = NDIS_TCP_CONNECTION_OFFLOAD::default();
        t.set_SupportIPv6(3);
        t.set_CongestionAlgorithm(0xF);
        assert_eq!(
            (
                t.SupportIPv4(),
                t.SupportIPv6(),
                t.SupportSack(),
                t.CongestionAlgorithm()
            ),
            (0, 3, 0, 0xF)
        );
        assert_eq!(t._bitfield_1, 0b1111_0000_1100);
        t.set_SupportIPv6(0);
        assert_eq!(t._bitfield_1, 0xF00);

        let mut c = TCP_OFFLOAD_STATE_CONST::default();
        c.set_SndWindScale(14);
        c.set_RcvWindScale(7);
        assert_eq!(
            (c.SndWindScale(), c.RcvWindScale(), c._bitfield_1),
            (14, 7, 0x7E)
        );

        let mut k = TCP_OFFLOAD_STATE_CACHED::default();
        k.set_FlowLabel(0xFFFFF);
        k.set_UserPriority(7);
        k.TtlOrHopLimit = 64;
        assert_eq!(
            (k.FlowLabel(), k.UserPriority(), k.TtlOrHopLimit),
            (0xFFFFF, 7, 64)
        );
        k.set_FlowLabel(0x1_23456);
        assert_eq!(k.FlowLabel(), 0x23456, "truncated to 20 bits");

        let mut n = NEIGHBOR_OFFLOAD_STATE_CONST {
            Header: Default::default(),
            DlSourceAddress: [0; 32],
            _bitfield_1: 0xFFFF_F000,
        };
        n.set_VlanId(0xABC);
        assert_eq!((n.VlanId(), n._bitfield_1), (0xABC, 0xFFFF_FABC));
    }

    #[test]
    fn runtime_offsets_of_the_block_list() {
        // SAFETY: all-zero is a valid block list value.
        let b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST = unsafe { core::mem::zeroed() };
        let base = &b as *const _ as usize;
        assert_eq!(&b.Status as *const _ as usize - base, 24);
        assert_eq!(&b.MiniportOffloadContext as *const _ as usize - base, 48);
        assert_eq!(&b.NetBufferListChain as *const _ as usize - base, 144);
    }
}
