//! Size and field-offset assertions for 64-bit Windows (x64 / ARM64).

use super::*;
use core::mem::{offset_of, size_of};
use static_assertions::const_assert_eq;

// Block list and handle.
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
const_assert_eq!(size_of::<NDIS_OFFLOAD_HANDLE>(), 16);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_HANDLE, NdisReserved), 0);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_HANDLE, MiniportOffloadContext), 8);

// State header.
const_assert_eq!(size_of::<OFFLOAD_STATE_HEADER>(), 8);
const_assert_eq!(offset_of!(OFFLOAD_STATE_HEADER, Length), 0);
const_assert_eq!(offset_of!(OFFLOAD_STATE_HEADER, RecognizedOptions), 4);

// Neighbor.
const_assert_eq!(size_of::<NEIGHBOR_OFFLOAD_STATE_CONST>(), 44);
const_assert_eq!(offset_of!(NEIGHBOR_OFFLOAD_STATE_CONST, Header), 0);
const_assert_eq!(offset_of!(NEIGHBOR_OFFLOAD_STATE_CONST, DlSourceAddress), 8);
const_assert_eq!(offset_of!(NEIGHBOR_OFFLOAD_STATE_CONST, _bitfield_1), 40);
const_assert_eq!(size_of::<NEIGHBOR_OFFLOAD_STATE_CACHED>(), 44);
const_assert_eq!(offset_of!(NEIGHBOR_OFFLOAD_STATE_CACHED, Header), 0);
const_assert_eq!(
    offset_of!(NEIGHBOR_OFFLOAD_STATE_CACHED, DlDestinationAddress),
    8
);
const_assert_eq!(
    offset_of!(NEIGHBOR_OFFLOAD_STATE_CACHED, HostReachabilityDelta),
    40
);
const_assert_eq!(size_of::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>(), 12);
const_assert_eq!(offset_of!(NEIGHBOR_OFFLOAD_STATE_DELEGATED, Header), 0);
const_assert_eq!(
    offset_of!(NEIGHBOR_OFFLOAD_STATE_DELEGATED, NicReachabilityDelta),
    8
);

// Path.
const_assert_eq!(size_of::<PATH_OFFLOAD_STATE_CONST>(), 24);
const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_CONST, Header), 0);
const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_CONST, SourceAddress), 8);
const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_CONST, DestinationAddress), 16);
const_assert_eq!(size_of::<PATH_OFFLOAD_STATE_CACHED>(), 12);
const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_CACHED, Header), 0);
const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_CACHED, PathMtu), 8);
const_assert_eq!(size_of::<PATH_OFFLOAD_STATE_DELEGATED>(), 8);
const_assert_eq!(offset_of!(PATH_OFFLOAD_STATE_DELEGATED, Header), 0);

// TCP constant.
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_CONST>(), 24);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CONST, Header), 0);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CONST, Flags), 8);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CONST, RemotePort), 10);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CONST, LocalPort), 12);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CONST, _bitfield_1), 14);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CONST, RemoteMss), 16);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CONST, HashValue), 20);

// TCP cached.
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_CACHED>(), 44);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, Header), 0);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, Flags), 8);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, InitialRcvWnd), 12);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, RcvIndicationSize), 16);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, KaProbeCount), 20);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, KaTimeout), 24);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, KaInterval), 28);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, MaxRT), 32);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, _bitfield_1), 36);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, TtlOrHopLimit), 40);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, TosOrTrafficClass), 41);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_CACHED, _bitfield_2), 42);

// TCP delegated and its pieces.
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE>(), 8);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE, ProbeCount),
    0
);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE, TimeoutDelta),
    4
);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT>(), 8);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT, Count), 0);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT, TimeoutDelta),
    4
);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA>(), 16);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA, SendDataHead),
    0
);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA, SendDataTail),
    8
);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED_SEND>(), 16);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED_SEND, SendData), 0);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_SEND, SendBacklogSize),
    0
);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED_RECEIVE>(), 8);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_RECEIVE, BufferedData),
    0
);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED_RECEIVE, ReceiveBacklogSize),
    0
);
const_assert_eq!(size_of::<TCP_OFFLOAD_STATE_DELEGATED>(), 128);
const_assert_eq!(TCP_OFFLOAD_STATE_DELEGATED_SIZE_WITHOUT_DWND, 120);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Header), 0);
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
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED, KeepAlive.ProbeCount),
    80
);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED, KeepAlive.TimeoutDelta),
    84
);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Retransmit), 88);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Retransmit.Count),
    88
);
const_assert_eq!(
    offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Retransmit.TimeoutDelta),
    92
);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Send), 96);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Receive), 112);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATE_DELEGATED, DWnd), 120);

// Provider characteristics.
const_assert_eq!(
    size_of::<NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS>(),
    48
);
const_assert_eq!(
    offset_of!(
        NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
        Header
    ),
    0
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
    offset_of!(NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS, Header),
    0
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

// NDIS event-handler tables.
const_assert_eq!(size_of::<NDIS_OFFLOAD_EVENT_HANDLERS>(), 4);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_EVENT_HANDLERS, Header), 0);
const_assert_eq!(size_of::<NDIS_TCP_OFFLOAD_EVENT_HANDLERS>(), 56);
const_assert_eq!(offset_of!(NDIS_TCP_OFFLOAD_EVENT_HANDLERS, Header), 0);
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

// Capabilities.
const_assert_eq!(size_of::<NDIS_TCP_CONNECTION_OFFLOAD>(), 20);
const_assert_eq!(offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, Header), 0);
const_assert_eq!(offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, Encapsulation), 4);
const_assert_eq!(offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, _bitfield_1), 8);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, TcpConnectionOffloadCapacity),
    12
);
const_assert_eq!(offset_of!(NDIS_TCP_CONNECTION_OFFLOAD, Flags), 16);
const_assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_1, 20);
const_assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_2, 20);

// Encapsulation.
const_assert_eq!(size_of::<NDIS_OFFLOAD_ENCAPSULATION_IPV4>(), 12);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_ENCAPSULATION_IPV4, Enabled), 0);
const_assert_eq!(
    offset_of!(NDIS_OFFLOAD_ENCAPSULATION_IPV4, EncapsulationType),
    4
);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_ENCAPSULATION_IPV4, HeaderSize), 8);
const_assert_eq!(size_of::<NDIS_OFFLOAD_ENCAPSULATION_IPV6>(), 12);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_ENCAPSULATION_IPV6, Enabled), 0);
const_assert_eq!(
    offset_of!(NDIS_OFFLOAD_ENCAPSULATION_IPV6, EncapsulationType),
    4
);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_ENCAPSULATION_IPV6, HeaderSize), 8);
const_assert_eq!(size_of::<NDIS_OFFLOAD_ENCAPSULATION>(), 28);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_ENCAPSULATION, Header), 0);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_ENCAPSULATION, IPv4), 4);
const_assert_eq!(offset_of!(NDIS_OFFLOAD_ENCAPSULATION, IPv6), 16);
const_assert_eq!(NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1, 28);

// Chimney parameters.
const_assert_eq!(size_of::<NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS>(), 60);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, Header),
    0
);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, Encapsulation),
    4
);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TicksPerSecond),
    32
);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TcpAckFrequency),
    36
);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TcpDelayedAckTicks),
    37
);
const_assert_eq!(
    offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpMaximumRetransmissions
    ),
    38
);
const_assert_eq!(
    offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpDoubtReachabilityRetransmissions
    ),
    39
);
const_assert_eq!(
    offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpSwsPreventionTicks
    ),
    40
);
const_assert_eq!(
    offset_of!(
        NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        TcpDuplicateAckThreshold
    ),
    44
);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, TcpPushTicks),
    48
);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, NceStaleTicks),
    52
);
const_assert_eq!(
    offset_of!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, CongestionAlgorithm),
    56
);
const_assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1, 56);
const_assert_eq!(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_2, 60);

// Statistics.
const_assert_eq!(size_of::<TCP_OFFLOAD_STATS>(), 40);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATS, InSegments), 0);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATS, OutSegments), 8);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATS, CurrentlyEstablished), 16);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATS, ResetEstablished), 20);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATS, RetransmittedSegments), 24);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATS, InErrors), 28);
const_assert_eq!(offset_of!(TCP_OFFLOAD_STATS, OutResets), 32);
const_assert_eq!(size_of::<IP_OFFLOAD_STATS>(), 64);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, InReceives), 0);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, InOctets), 8);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, InDelivers), 16);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, OutRequests), 24);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, OutOctets), 32);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, InHeaderErrors), 40);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, InTruncatedPackets), 44);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, InDiscards), 48);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, OutDiscards), 52);
const_assert_eq!(offset_of!(IP_OFFLOAD_STATS, OutNoRoutes), 56);
