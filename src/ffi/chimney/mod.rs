//! TCP chimney offload types from `ndischimney.h`, plus the chimney-related
//! pieces of `ntddndis.h` (`NDIS_TCP_CONNECTION_OFFLOAD`,
//! `NDIS_OFFLOAD_ENCAPSULATION` and the offload/encapsulation values).
//!
//! Contents, in order:
//! - the C enumerations, as `pub const` items under their C names, and a safe
//!   Rust mirror of `OFFLOAD_STATE_TYPE` ([`OffloadStateType`]);
//! - the flag values, raw and as `bitflags` sets for safe code;
//! - the offload block list and the neighbor / path / TCP state structures
//!   that follow it in memory (spec §3.2, §3.3, §5);
//! - the provider characteristics the target registers and the handler
//!   typedefs they hold (spec §1.2, §2.1);
//! - the NDIS event-handler table returned by `NdisMGetOffloadHandlers`
//!   (spec §2.2);
//! - capability, encapsulation and parameter structures (spec §2.3, §7.1);
//! - the statistics structures (spec §7.6).
//!
//! Layout rules. Every structure is `#[repr(C)]` with the header's field names
//! and order. Anonymous C unions and structs become named types (documented at
//! each). A C bit-field run becomes one storage-unit field (`_bitfield_N`)
//! with getter/setter methods; the unit has the size of the declared type and
//! starts a new unit whenever the declared type changes, which is how MSVC
//! lays bit-fields out (GCC would pack them differently). Sizes and offsets
//! for 64-bit Windows are checked at compile time in `layout64` below.
//!
//! The NDIS 6.1+ form of each structure is modelled (the target is built with
//! `NDIS_SUPPORT_NDIS61`); where NDIS 6.0 differs it is said at the item.

use super::base::*;
use super::nbl::PNET_BUFFER_LIST;

/// `RTL_SIZEOF_THROUGH_FIELD(type, field)` as a `USHORT`: the size of `type`
/// up to and including `field` (whose type must be given), for the
/// `NDIS_SIZEOF_…` revision sizes.
macro_rules! sizeof_through {
    ($ty:ty, $field:ident, $field_ty:ty) => {
        (core::mem::offset_of!($ty, $field) + core::mem::size_of::<$field_ty>()) as USHORT
    };
}

/// Getter and setter for bit-fields packed into one storage-unit field.
///
/// Each entry names the getter, the setter, the first bit (counted from the
/// least significant bit of the unit, where MSVC places the first declared
/// bit-field) and the width. The getter returns the field right-aligned; the
/// setter keeps only the low `width` bits of its argument, as a C assignment
/// to a bit-field does, and leaves the unit's other bits as they were.
macro_rules! bitfields {
    ($unit:ident: $ty:ty { $($(#[$doc:meta])* $get:ident, $set:ident: $shift:literal, $width:literal;)+ }) => {
        $(
            $(#[$doc])*
            #[inline]
            pub const fn $get(&self) -> $ty {
                (self.$unit >> $shift) & (<$ty>::MAX >> (<$ty>::BITS - $width))
            }

            #[doc = concat!(
                "Stores the low ", stringify!($width), " bits of `value` as `",
                stringify!($get), "`; the other bits of `", stringify!($unit), "` are kept."
            )]
            #[inline]
            pub const fn $set(&mut self, value: $ty) {
                let mask: $ty = (<$ty>::MAX >> (<$ty>::BITS - $width)) << $shift;
                self.$unit = (self.$unit & !mask) | ((value << $shift) & mask);
            }
        )+
    };
}

// =====================================================================
// Enumerations
// =====================================================================

/// `NDIS_CHIMNEY_OFFLOAD_TYPE`: which chimney a table or request is about.
/// A C enum, hence 4 bytes (`int` under MSVC).
pub type NDIS_CHIMNEY_OFFLOAD_TYPE = i32;
pub type PNDIS_CHIMNEY_OFFLOAD_TYPE = *mut NDIS_CHIMNEY_OFFLOAD_TYPE;
/// TCP chimney: the only chimney type NDIS defines behaviour for.
pub const NdisTcpChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 1;
/// Reserved.
pub const NdisIpsecChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 2;
/// Reserved.
pub const NdisRdmaChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 3;
/// One past the last value.
pub const NdisMaxChimneyOffload: NDIS_CHIMNEY_OFFLOAD_TYPE = 4;

/// `OFFLOAD_STATE_TYPE`: the code in a block list's `Header.Type` that says
/// which state structures follow the block (spec §3.3).
///
/// The C type is a 4-byte enum, but the only place the target meets it is the
/// one-byte `NDIS_OBJECT_HEADER.Type`, so the constants are typed `UCHAR`
/// (every value fits). For a checked conversion see [`OffloadStateType`].
pub type OFFLOAD_STATE_TYPE = UCHAR;
/// Neighbor constant state only.
pub const NeighborOffloadConstState: OFFLOAD_STATE_TYPE = 1;
/// Neighbor cached state only.
pub const NeighborOffloadCachedState: OFFLOAD_STATE_TYPE = 2;
/// Neighbor delegated state only.
pub const NeighborOffloadDelegatedState: OFFLOAD_STATE_TYPE = 3;
/// Neighbor constant, cached and delegated state, in that order.
pub const NeighborOffloadState: OFFLOAD_STATE_TYPE = 4;
/// IPv4 path constant state only.
pub const Ip4OffloadConstState: OFFLOAD_STATE_TYPE = 5;
/// IPv4 path cached state only.
pub const Ip4OffloadCachedState: OFFLOAD_STATE_TYPE = 6;
/// IPv4 path delegated state only (a bare header).
pub const Ip4OffloadDelegatedState: OFFLOAD_STATE_TYPE = 7;
/// IPv4 path constant, cached and delegated state.
pub const Ip4OffloadState: OFFLOAD_STATE_TYPE = 8;
/// IPv6 path constant state only.
pub const Ip6OffloadConstState: OFFLOAD_STATE_TYPE = 9;
/// IPv6 path cached state only.
pub const Ip6OffloadCachedState: OFFLOAD_STATE_TYPE = 10;
/// IPv6 path delegated state only (a bare header).
pub const Ip6OffloadDelegatedState: OFFLOAD_STATE_TYPE = 11;
/// IPv6 path constant, cached and delegated state.
pub const Ip6OffloadState: OFFLOAD_STATE_TYPE = 12;
/// TCP constant state only.
pub const TcpOffloadConstState: OFFLOAD_STATE_TYPE = 13;
/// TCP cached state only.
pub const TcpOffloadCachedState: OFFLOAD_STATE_TYPE = 14;
/// TCP delegated state only.
pub const TcpOffloadDelegatedState: OFFLOAD_STATE_TYPE = 15;
/// Reserved; never sent to a target.
pub const TcpOffloadResourceState: OFFLOAD_STATE_TYPE = 16;
/// TCP constant, cached and delegated state.
pub const TcpOffloadState: OFFLOAD_STATE_TYPE = 17;
/// Reserved for filter drivers.
pub const FilterReservedOffloadState: OFFLOAD_STATE_TYPE = 0xFE;
/// Sentinel; never a real block type.
pub const MaximumOffloadState: OFFLOAD_STATE_TYPE = 0xFF;

/// Safe mirror of [`OFFLOAD_STATE_TYPE`]: one variant per value the header
/// defines, so that a block's `Header.Type` can be checked once with
/// `OffloadStateType::try_from(byte)` and then matched exhaustively.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OffloadStateType {
    NeighborOffloadConstState = NeighborOffloadConstState,
    NeighborOffloadCachedState = NeighborOffloadCachedState,
    NeighborOffloadDelegatedState = NeighborOffloadDelegatedState,
    NeighborOffloadState = NeighborOffloadState,
    Ip4OffloadConstState = Ip4OffloadConstState,
    Ip4OffloadCachedState = Ip4OffloadCachedState,
    Ip4OffloadDelegatedState = Ip4OffloadDelegatedState,
    Ip4OffloadState = Ip4OffloadState,
    Ip6OffloadConstState = Ip6OffloadConstState,
    Ip6OffloadCachedState = Ip6OffloadCachedState,
    Ip6OffloadDelegatedState = Ip6OffloadDelegatedState,
    Ip6OffloadState = Ip6OffloadState,
    TcpOffloadConstState = TcpOffloadConstState,
    TcpOffloadCachedState = TcpOffloadCachedState,
    TcpOffloadDelegatedState = TcpOffloadDelegatedState,
    TcpOffloadResourceState = TcpOffloadResourceState,
    TcpOffloadState = TcpOffloadState,
    FilterReservedOffloadState = FilterReservedOffloadState,
    MaximumOffloadState = MaximumOffloadState,
}

impl OffloadStateType {
    /// The raw header byte.
    #[inline]
    pub const fn raw(self) -> OFFLOAD_STATE_TYPE {
        self as OFFLOAD_STATE_TYPE
    }
}

impl From<OffloadStateType> for u8 {
    #[inline]
    fn from(t: OffloadStateType) -> u8 {
        t.raw()
    }
}

impl TryFrom<u8> for OffloadStateType {
    /// The byte that names no state type.
    type Error = u8;

    fn try_from(v: u8) -> Result<Self, u8> {
        use OffloadStateType as T;
        Ok(match v {
            NeighborOffloadConstState => T::NeighborOffloadConstState,
            NeighborOffloadCachedState => T::NeighborOffloadCachedState,
            NeighborOffloadDelegatedState => T::NeighborOffloadDelegatedState,
            NeighborOffloadState => T::NeighborOffloadState,
            Ip4OffloadConstState => T::Ip4OffloadConstState,
            Ip4OffloadCachedState => T::Ip4OffloadCachedState,
            Ip4OffloadDelegatedState => T::Ip4OffloadDelegatedState,
            Ip4OffloadState => T::Ip4OffloadState,
            Ip6OffloadConstState => T::Ip6OffloadConstState,
            Ip6OffloadCachedState => T::Ip6OffloadCachedState,
            Ip6OffloadDelegatedState => T::Ip6OffloadDelegatedState,
            Ip6OffloadState => T::Ip6OffloadState,
            TcpOffloadConstState => T::TcpOffloadConstState,
            TcpOffloadCachedState => T::TcpOffloadCachedState,
            TcpOffloadDelegatedState => T::TcpOffloadDelegatedState,
            TcpOffloadResourceState => T::TcpOffloadResourceState,
            TcpOffloadState => T::TcpOffloadState,
            FilterReservedOffloadState => T::FilterReservedOffloadState,
            MaximumOffloadState => T::MaximumOffloadState,
            other => return Err(other),
        })
    }
}

/// `TCP_OFFLOAD_CONNECTION_STATE`: RFC 793 connection state, as carried in
/// `TCP_OFFLOAD_STATE_DELEGATED.State` (a C enum: 4 bytes).
pub type TCP_OFFLOAD_CONNECTION_STATE = i32;
pub type PTCP_OFFLOAD_CONNECTION_STATE = *mut TCP_OFFLOAD_CONNECTION_STATE;
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
/// One past the last state.
pub const TcpConnectionMaxState: TCP_OFFLOAD_CONNECTION_STATE = 11;

/// `TCP_OFFLOAD_EVENT_TYPE`: the `EventType` argument of
/// `NdisTcpOffloadEventHandler` (spec §6.12).
///
/// A 4-byte C enum, but the target only ever passes these values as that
/// `ULONG` argument, so they are typed `ULONG` here (same for
/// [`TCP_UPLOAD_REASON`] and [`INDICATE_OFFLOAD_EVENT`]).
pub type TCP_OFFLOAD_EVENT_TYPE = ULONG;
/// The preferred send backlog changed; the new size in bytes is the event's
/// specific information.
pub const TcpIndicateSendBacklogChange: TCP_OFFLOAD_EVENT_TYPE = 1;
/// The peer closed its half and every byte before its FIN was consumed.
pub const TcpIndicateDisconnect: TCP_OFFLOAD_EVENT_TYPE = 2;
/// The target asks for this connection to be uploaded; the specific
/// information is a [`TCP_UPLOAD_REASON`].
pub const TcpIndicateRetrieve: TCP_OFFLOAD_EVENT_TYPE = 3;
/// An acceptable RST arrived.
pub const TcpIndicateAbort: TCP_OFFLOAD_EVENT_TYPE = 4;

/// `TCP_UPLOAD_REASON`: why the target asks for an upload (the
/// `EventSpecificInformation` of `TcpIndicateRetrieve`; spec §6.12 says which
/// ones oblige the host). Typed `ULONG`, see [`TCP_OFFLOAD_EVENT_TYPE`].
pub type TCP_UPLOAD_REASON = ULONG;
pub const LowActivity: TCP_UPLOAD_REASON = 1;
pub const HighDropRate: TCP_UPLOAD_REASON = 2;
pub const SmallIO: TCP_UPLOAD_REASON = 3;
pub const NoBufferPreposting: TCP_UPLOAD_REASON = 4;
/// The header's older, misspelt name for [`NoBufferPreposting`] (same value).
pub const NoBufferProposting: TCP_UPLOAD_REASON = NoBufferPreposting;
pub const ReceivedUrgentData: TCP_UPLOAD_REASON = 5;
pub const HighFragmentation: TCP_UPLOAD_REASON = 6;
pub const HighOutOfOrderPackets: TCP_UPLOAD_REASON = 7;
pub const TimeoutExpiration: TCP_UPLOAD_REASON = 8;
pub const InvalidState: TCP_UPLOAD_REASON = 9;
pub const UploadRequested: TCP_UPLOAD_REASON = 10;
pub const HardwareFailure: TCP_UPLOAD_REASON = 11;
/// One past the last reason.
pub const MaxUploadReason: TCP_UPLOAD_REASON = 12;

/// `INDICATE_OFFLOAD_EVENT`: the `IndicationCode` argument of
/// `NdisMOffloadEventIndicate`. Typed `ULONG`, see [`TCP_OFFLOAD_EVENT_TYPE`].
pub type INDICATE_OFFLOAD_EVENT = ULONG;
/// Reserved (defined, but targets do not indicate it).
pub const NeighborReachabilityInDoubt: INDICATE_OFFLOAD_EVENT = 1;
/// The target asks the host to confirm a neighbor's reachability (spec §6.14).
pub const NeighborReachabilityQuery: INDICATE_OFFLOAD_EVENT = 2;
/// One past the last code.
pub const MaxOffloadEvent: INDICATE_OFFLOAD_EVENT = 3;

// =====================================================================
// Flags
// =====================================================================

/// `TCP_OFFLOAD_STATE_CONST.Flags`: RFC 1323 timestamps are in use.
pub const TCP_FLAG_TIMESTAMP_ENABLED: USHORT = 0x01;
/// `TCP_OFFLOAD_STATE_CONST.Flags`: selective acknowledgement is in use.
pub const TCP_FLAG_SACK_ENABLED: USHORT = 0x02;
/// `TCP_OFFLOAD_STATE_CONST.Flags`: the window scale shifts apply.
pub const TCP_FLAG_WINDOW_SCALING_ENABLED: USHORT = 0x04;
/// `TCP_OFFLOAD_STATE_CACHED.Flags`: keep-alives are on.
pub const TCP_FLAG_KEEP_ALIVE_ENABLED: USHORT = 0x01;
/// `TCP_OFFLOAD_STATE_CACHED.Flags`: the Nagle algorithm is on.
pub const TCP_FLAG_NAGLING_ENABLED: USHORT = 0x02;
/// `TCP_OFFLOAD_STATE_CACHED.Flags`: start the keep-alive timer afresh.
pub const TCP_FLAG_KEEP_ALIVE_RESTART: USHORT = 0x04;
/// `TCP_OFFLOAD_STATE_CACHED.Flags`: `MaxRT` changed; reset `TotalRT`.
pub const TCP_FLAG_MAX_RT_RESTART: USHORT = 0x08;
/// `TCP_OFFLOAD_STATE_CACHED.Flags`: `InitialRcvWnd` changed.
pub const TCP_FLAG_UPDATE_RCV_WND: USHORT = 0x10;
/// `Flags` of `MiniportTcpOffloadDisconnect`: send a FIN after queued data.
pub const TCP_DISCONNECT_GRACEFUL_CLOSE: ULONG = 0x01;
/// `Flags` of `MiniportTcpOffloadDisconnect`: send a RST now.
pub const TCP_DISCONNECT_ABORTIVE_CLOSE: ULONG = 0x02;

bitflags::bitflags! {
    /// The bits of `TCP_OFFLOAD_STATE_CONST.Flags`, for safe code
    /// (`TcpConstFlags::from_bits_truncate(k.Flags)`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct TcpConstFlags: USHORT {
        const TIMESTAMP_ENABLED = TCP_FLAG_TIMESTAMP_ENABLED;
        const SACK_ENABLED = TCP_FLAG_SACK_ENABLED;
        const WINDOW_SCALING_ENABLED = TCP_FLAG_WINDOW_SCALING_ENABLED;
    }

    /// The bits of `TCP_OFFLOAD_STATE_CACHED.Flags`, for safe code.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct TcpCachedFlags: USHORT {
        const KEEP_ALIVE_ENABLED = TCP_FLAG_KEEP_ALIVE_ENABLED;
        const NAGLING_ENABLED = TCP_FLAG_NAGLING_ENABLED;
        const KEEP_ALIVE_RESTART = TCP_FLAG_KEEP_ALIVE_RESTART;
        const MAX_RT_RESTART = TCP_FLAG_MAX_RT_RESTART;
        const UPDATE_RCV_WND = TCP_FLAG_UPDATE_RCV_WND;
    }

    /// The `Flags` argument of `MiniportTcpOffloadDisconnect`, for safe code.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct TcpDisconnectFlags: ULONG {
        const GRACEFUL_CLOSE = TCP_DISCONNECT_GRACEFUL_CLOSE;
        const ABORTIVE_CLOSE = TCP_DISCONNECT_ABORTIVE_CLOSE;
    }
}

/// Not a header name: the value the spec (§5.6, §8.5) gives a delegated
/// `TimeoutDelta` when its timer is stopped.
pub const TIMER_NOT_RUNNING: ULONG = 0xFFFF_FFFF;
/// Not a header name: the value the spec (§5.6, §8.5) gives a queried
/// `SendBacklogSize` / `ReceiveBacklogSize` when the target does not
/// support reporting it.
pub const BACKLOG_UNSUPPORTED: ULONG = 0xFFFF_FFFF;

// =====================================================================
// Block list and offload handle
// =====================================================================

/// `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST`: one node of the offload state tree the
/// host hands to the target (spec §3.2). The state structures named by
/// `Header.Type` are laid out right after it in the same allocation.
#[repr(C)]
#[derive(Debug)]
pub struct NDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
    /// `Type` is an [`OFFLOAD_STATE_TYPE`]; `Size` is this block's size.
    pub Header: NDIS_OBJECT_HEADER,
    /// Next block of the same layer, or null.
    pub NextBlock: *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    /// First block of the layer above that hangs off this one, or null.
    pub DependentBlockList: *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    /// Written by the target: this block's outcome.
    pub Status: NDIS_STATUS,
    /// Owned by NDIS.
    pub NdisReserved: [PVOID; 2],
    /// Address of the host's slot for the target's per-object context; null
    /// for a placeholder block (spec §3.4).
    pub MiniportOffloadContext: *mut PVOID,
    /// Handle to give back in TCP event and receive indications.
    pub NdisOffloadHandle: NDIS_HANDLE,
    /// Owned by the protocol.
    pub ProtocolReserved: [PVOID; 2],
    /// Free for the target while it holds the block.
    pub MiniportReserved: [PVOID; 2],
    /// Owned by intermediate drivers.
    pub ImReserved: [PVOID; 2],
    /// Free for the target while it holds the block.
    pub Scratch: [PVOID; 2],
    /// Not for the target.
    pub SourceHandle: PVOID,
    /// NDIS port the request is for.
    pub PortNumber: NDIS_PORT_NUMBER,
    /// Outstanding send data travelling with an initiate or terminate, or null.
    pub NetBufferListChain: PNET_BUFFER_LIST,
}
pub type PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST = *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;

impl Default for NDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
    /// All fields zero / null (what a zero-filled allocation holds).
    fn default() -> Self {
        use core::ptr::null_mut;
        Self {
            Header: NDIS_OBJECT_HEADER::default(),
            NextBlock: null_mut(),
            DependentBlockList: null_mut(),
            Status: 0,
            NdisReserved: [null_mut(); 2],
            MiniportOffloadContext: null_mut(),
            NdisOffloadHandle: null_mut(),
            ProtocolReserved: [null_mut(); 2],
            MiniportReserved: [null_mut(); 2],
            ImReserved: [null_mut(); 2],
            Scratch: [null_mut(); 2],
            SourceHandle: null_mut(),
            PortNumber: 0,
            NetBufferListChain: null_mut(),
        }
    }
}

/// `NDIS_OFFLOAD_HANDLE`: the per-object handle an offloading protocol or
/// intermediate driver keeps; the target only ever sees it through a block
/// list's `NdisOffloadHandle` / `MiniportOffloadContext` values.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NDIS_OFFLOAD_HANDLE {
    pub NdisReserved: [PVOID; 1],
    pub MiniportOffloadContext: PVOID,
}
pub type PNDIS_OFFLOAD_HANDLE = *mut NDIS_OFFLOAD_HANDLE;

impl Default for NDIS_OFFLOAD_HANDLE {
    fn default() -> Self {
        Self {
            NdisReserved: [core::ptr::null_mut()],
            MiniportOffloadContext: core::ptr::null_mut(),
        }
    }
}

// =====================================================================
// State structures
// =====================================================================

/// `OFFLOAD_STATE_HEADER`: leads every state structure.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OFFLOAD_STATE_HEADER {
    /// Bytes in the whole state structure, this header included; step to the
    /// next structure by this amount.
    pub Length: ULONG,
    /// Reserved.
    pub RecognizedOptions: ULONG,
}
pub type POFFLOAD_STATE_HEADER = *mut OFFLOAD_STATE_HEADER;

// ---------------------------------------------------------------- neighbor

/// `NEIGHBOR_OFFLOAD_STATE_CONST`: link-layer values fixed for the neighbor's
/// life (spec §5.2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NEIGHBOR_OFFLOAD_STATE_CONST {
    pub Header: OFFLOAD_STATE_HEADER,
    /// Source MAC to use through this neighbor; all zero means the
    /// interface's own address.
    pub DlSourceAddress: [UCHAR; 32],
    /// Storage unit (a `ULONG`) of the bit-field `VlanId:12` (bits 0–11);
    /// the other 20 bits are padding. Use [`Self::VlanId`] /
    /// [`Self::set_VlanId`].
    pub _bitfield_1: ULONG,
}
pub type PNEIGHBOR_OFFLOAD_STATE_CONST = *mut NEIGHBOR_OFFLOAD_STATE_CONST;

impl NEIGHBOR_OFFLOAD_STATE_CONST {
    bitfields! { _bitfield_1: ULONG {
        /// `VlanId:12`: 802.1Q VLAN of this neighbor; 0 means the interface's
        /// configured VLAN.
        VlanId, set_VlanId: 0, 12;
    }}
}

/// `NEIGHBOR_OFFLOAD_STATE_CACHED`: host-owned neighbor values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NEIGHBOR_OFFLOAD_STATE_CACHED {
    pub Header: OFFLOAD_STATE_HEADER,
    /// Next-hop MAC address.
    pub DlDestinationAddress: [UCHAR; 32],
    /// Ticks since the host last confirmed the neighbor reachable.
    pub HostReachabilityDelta: ULONG,
}
pub type PNEIGHBOR_OFFLOAD_STATE_CACHED = *mut NEIGHBOR_OFFLOAD_STATE_CACHED;

/// `NEIGHBOR_OFFLOAD_STATE_DELEGATED`: target-owned neighbor values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NEIGHBOR_OFFLOAD_STATE_DELEGATED {
    pub Header: OFFLOAD_STATE_HEADER,
    /// Ticks since the target last saw forward progress through the neighbor.
    pub NicReachabilityDelta: ULONG,
}
pub type PNEIGHBOR_OFFLOAD_STATE_DELEGATED = *mut NEIGHBOR_OFFLOAD_STATE_DELEGATED;

// ---------------------------------------------------------------- path

/// `PATH_OFFLOAD_STATE_CONST`: the path's address pair (spec §5.3). Each
/// pointer addresses 4 (IPv4) or 16 (IPv6) bytes in network order, owned by
/// the host and valid only during the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PATH_OFFLOAD_STATE_CONST {
    pub Header: OFFLOAD_STATE_HEADER,
    pub SourceAddress: *const UCHAR,
    pub DestinationAddress: *const UCHAR,
}
pub type PPATH_OFFLOAD_STATE_CONST = *mut PATH_OFFLOAD_STATE_CONST;

impl Default for PATH_OFFLOAD_STATE_CONST {
    fn default() -> Self {
        Self {
            Header: OFFLOAD_STATE_HEADER::default(),
            SourceAddress: core::ptr::null(),
            DestinationAddress: core::ptr::null(),
        }
    }
}

/// `PATH_OFFLOAD_STATE_CACHED`: host-owned path values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PATH_OFFLOAD_STATE_CACHED {
    pub Header: OFFLOAD_STATE_HEADER,
    /// Path MTU in bytes.
    pub PathMtu: ULONG,
}
pub type PPATH_OFFLOAD_STATE_CACHED = *mut PATH_OFFLOAD_STATE_CACHED;

/// `PATH_OFFLOAD_STATE_DELEGATED`: a path has no delegated variables, so this
/// is the header alone.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PATH_OFFLOAD_STATE_DELEGATED {
    pub Header: OFFLOAD_STATE_HEADER,
}
pub type PPATH_OFFLOAD_STATE_DELEGATED = *mut PATH_OFFLOAD_STATE_DELEGATED;

// ---------------------------------------------------------------- TCP

/// `TCP_OFFLOAD_STATE_CONST`: connection values fixed at setup (spec §5.4).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_CONST {
    pub Header: OFFLOAD_STATE_HEADER,
    /// `TCP_FLAG_TIMESTAMP_ENABLED` etc.; see [`TcpConstFlags`].
    pub Flags: USHORT,
    pub RemotePort: USHORT,
    pub LocalPort: USHORT,
    /// Storage unit (a `UCHAR`) shared by `SndWindScale:4` (bits 0–3) and
    /// `RcvWindScale:4` (bits 4–7).
    pub _bitfield_1: UCHAR,
    /// MSS the peer announced.
    pub RemoteMss: USHORT,
    /// RSS hash the host computed for the connection.
    pub HashValue: ULONG,
}
pub type PTCP_OFFLOAD_STATE_CONST = *mut TCP_OFFLOAD_STATE_CONST;

impl TCP_OFFLOAD_STATE_CONST {
    bitfields! { _bitfield_1: UCHAR {
        /// `SndWindScale:4`: shift applied to windows the peer advertises.
        SndWindScale, set_SndWindScale: 0, 4;
        /// `RcvWindScale:4`: shift applied to windows the target advertises.
        RcvWindScale, set_RcvWindScale: 4, 4;
    }}
}

/// `TCP_OFFLOAD_STATE_CACHED`: host-owned connection values (spec §5.5).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_CACHED {
    pub Header: OFFLOAD_STATE_HEADER,
    /// `TCP_FLAG_KEEP_ALIVE_ENABLED` etc.; see [`TcpCachedFlags`].
    pub Flags: USHORT,
    /// Default receive window, bytes.
    pub InitialRcvWnd: ULONG,
    /// Preferred bytes per receive indication (0: no preference).
    pub RcvIndicationSize: ULONG,
    /// Keep-alive probes before giving up.
    pub KaProbeCount: UCHAR,
    /// Idle ticks before the first keep-alive probe.
    pub KaTimeout: ULONG,
    /// Ticks between unanswered keep-alive probes.
    pub KaInterval: ULONG,
    /// Retransmission time limit in ticks (0: use the global count;
    /// all ones: no limit).
    pub MaxRT: ULONG,
    /// Storage unit (a `ULONG`) of `FlowLabel:20` (bits 0–19). The next
    /// member is a `UCHAR`, a different type, so it starts a fresh byte after
    /// this whole unit.
    pub _bitfield_1: ULONG,
    /// IPv4 TTL or IPv6 hop limit.
    pub TtlOrHopLimit: UCHAR,
    /// IPv4 TOS or IPv6 traffic class.
    pub TosOrTrafficClass: UCHAR,
    /// Storage unit (a `UCHAR`) of `UserPriority:3` (bits 0–2).
    pub _bitfield_2: UCHAR,
}
pub type PTCP_OFFLOAD_STATE_CACHED = *mut TCP_OFFLOAD_STATE_CACHED;

impl TCP_OFFLOAD_STATE_CACHED {
    bitfields! { _bitfield_1: ULONG {
        /// `FlowLabel:20`: IPv6 flow label.
        FlowLabel, set_FlowLabel: 0, 20;
    }}
    bitfields! { _bitfield_2: UCHAR {
        /// `UserPriority:3`: 802.1p priority for tagged frames.
        UserPriority, set_UserPriority: 0, 3;
    }}
}

/// The unnamed struct type of `TCP_OFFLOAD_STATE_DELEGATED.KeepAlive`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE {
    /// Keep-alive probes sent without an answer.
    pub ProbeCount: UCHAR,
    /// Ticks until the keep-alive timer fires; [`TIMER_NOT_RUNNING`] if
    /// stopped.
    pub TimeoutDelta: ULONG,
}

/// The unnamed struct type of `TCP_OFFLOAD_STATE_DELEGATED.Retransmit`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT {
    /// Retransmissions sent so far.
    pub Count: UCHAR,
    /// Ticks until the retransmit timer fires; [`TIMER_NOT_RUNNING`] if
    /// stopped.
    pub TimeoutDelta: ULONG,
}

/// The unnamed struct inside the first unnamed union of
/// `TCP_OFFLOAD_STATE_DELEGATED` (member `Send.SendData` here): the chain of
/// outstanding send data, first and last NBL.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA {
    pub SendDataHead: PNET_BUFFER_LIST,
    pub SendDataTail: PNET_BUFFER_LIST,
}

impl Default for TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA {
    fn default() -> Self {
        Self {
            SendDataHead: core::ptr::null_mut(),
            SendDataTail: core::ptr::null_mut(),
        }
    }
}

/// The first unnamed union of `TCP_OFFLOAD_STATE_DELEGATED`, member `Send`
/// here. Initiate and terminate use `SendData`; query uses
/// `SendBacklogSize` (bytes the host should keep posted, or
/// [`BACKLOG_UNSUPPORTED`]).
#[repr(C)]
#[derive(Clone, Copy)]
pub union TCP_OFFLOAD_STATE_DELEGATED_SEND {
    pub SendData: TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA,
    pub SendBacklogSize: ULONG,
}

impl Default for TCP_OFFLOAD_STATE_DELEGATED_SEND {
    /// Both pointers null, so all 16 bytes are zero.
    fn default() -> Self {
        Self {
            SendData: TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA::default(),
        }
    }
}

/// The second unnamed union of `TCP_OFFLOAD_STATE_DELEGATED`, member
/// `Receive` here. Initiate and terminate use `BufferedData` (received bytes
/// not yet delivered); query uses `ReceiveBacklogSize` (bytes buffered in the
/// target, or [`BACKLOG_UNSUPPORTED`]).
#[repr(C)]
#[derive(Clone, Copy)]
pub union TCP_OFFLOAD_STATE_DELEGATED_RECEIVE {
    pub BufferedData: PNET_BUFFER_LIST,
    pub ReceiveBacklogSize: ULONG,
}

impl Default for TCP_OFFLOAD_STATE_DELEGATED_RECEIVE {
    /// A null pointer, so all 8 bytes are zero.
    fn default() -> Self {
        Self {
            BufferedData: core::ptr::null_mut(),
        }
    }
}

/// `TCP_OFFLOAD_STATE_DELEGATED`: target-owned connection values (spec §5.6).
///
/// This is the NDIS 6.1+ declaration, ending with `DWnd`: 128 bytes on
/// 64-bit Windows. Headers built without `NDIS_SUPPORT_NDIS61` omit `DWnd`
/// and the structure is then 120 bytes
/// ([`TCP_OFFLOAD_STATE_DELEGATED_SIZE_WITHOUT_DWND`]); trust the
/// `Header.Length` the host supplies.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct TCP_OFFLOAD_STATE_DELEGATED {
    pub Header: OFFLOAD_STATE_HEADER,
    /// A `TcpConnection…` value.
    pub State: TCP_OFFLOAD_CONNECTION_STATE,
    /// Reserved for the system.
    pub Flags: USHORT,
    pub RcvNxt: ULONG,
    pub RcvWnd: ULONG,
    pub SndUna: ULONG,
    pub SndNxt: ULONG,
    /// Highest sequence number sent.
    pub SndMax: ULONG,
    pub SndWnd: ULONG,
    /// Largest send window seen.
    pub MaxSndWnd: ULONG,
    pub SendWL1: ULONG,
    pub CWnd: ULONG,
    pub SsThresh: ULONG,
    /// Smoothed round-trip time in ticks, times 8.
    pub SRtt: USHORT,
    /// Round-trip time variance in ticks, times 4.
    pub RttVar: USHORT,
    pub TsRecent: ULONG,
    /// Ticks since `TsRecent` was recorded.
    pub TsRecentAge: ULONG,
    pub TsTime: ULONG,
    /// Ticks spent retransmitting the current segment.
    pub TotalRT: ULONG,
    pub DupAckCount: UCHAR,
    /// Current persist-probe round.
    pub SndWndProbeCount: UCHAR,
    pub KeepAlive: TCP_OFFLOAD_STATE_DELEGATED_KEEPALIVE,
    pub Retransmit: TCP_OFFLOAD_STATE_DELEGATED_RETRANSMIT,
    /// First unnamed union: `SendDataHead`/`SendDataTail` or `SendBacklogSize`.
    pub Send: TCP_OFFLOAD_STATE_DELEGATED_SEND,
    /// Second unnamed union: `BufferedData` or `ReceiveBacklogSize`.
    pub Receive: TCP_OFFLOAD_STATE_DELEGATED_RECEIVE,
    /// NDIS 6.1+ only; undocumented — keep and return the host's value.
    pub DWnd: ULONG,
}
pub type PTCP_OFFLOAD_STATE_DELEGATED = *mut TCP_OFFLOAD_STATE_DELEGATED;

/// Not a header name: the size of `TCP_OFFLOAD_STATE_DELEGATED` when the
/// header is built for NDIS 6.0 (no `DWnd`), which is where `DWnd` starts.
pub const TCP_OFFLOAD_STATE_DELEGATED_SIZE_WITHOUT_DWND: usize =
    core::mem::offset_of!(TCP_OFFLOAD_STATE_DELEGATED, DWnd);

// =====================================================================
// Provider characteristics (registered with NdisSetOptionalHandlers)
// =====================================================================

/// `W_INITIATE_OFFLOAD_HANDLER`: the target's `MiniportInitiateOffload`.
pub type W_INITIATE_OFFLOAD_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    ),
>;
/// `W_TERMINATE_OFFLOAD_HANDLER`: the target's `MiniportTerminateOffload`.
pub type W_TERMINATE_OFFLOAD_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    ),
>;
/// `W_UPDATE_OFFLOAD_HANDLER`: the target's `MiniportUpdateOffload`.
pub type W_UPDATE_OFFLOAD_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    ),
>;
/// `W_INVALIDATE_OFFLOAD_HANDLER`: the target's `MiniportInvalidateOffload`.
pub type W_INVALIDATE_OFFLOAD_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    ),
>;
/// `W_QUERY_OFFLOAD_HANDLER`: the target's `MiniportQueryOffload`.
pub type W_QUERY_OFFLOAD_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    ),
>;
/// `W_TCP_OFFLOAD_SEND_HANDLER`: the target's `MiniportTcpOffloadSend`.
pub type W_TCP_OFFLOAD_SEND_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        MiniportOffloadContext: PVOID,
        NetBufferList: PNET_BUFFER_LIST,
    ) -> NDIS_STATUS,
>;
/// `W_TCP_OFFLOAD_RECEIVE_HANDLER`: the target's `MiniportTcpOffloadReceive`
/// (the host posts receive buffers).
pub type W_TCP_OFFLOAD_RECEIVE_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        MiniportOffloadContext: PVOID,
        NetBufferList: PNET_BUFFER_LIST,
    ) -> NDIS_STATUS,
>;
/// `W_TCP_OFFLOAD_DISCONNECT_HANDLER`: the target's
/// `MiniportTcpOffloadDisconnect`; `Flags` holds `TCP_DISCONNECT_…` bits.
pub type W_TCP_OFFLOAD_DISCONNECT_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        MiniportOffloadContext: PVOID,
        NetBufferList: PNET_BUFFER_LIST,
        Flags: ULONG,
    ) -> NDIS_STATUS,
>;
/// `W_TCP_OFFLOAD_FORWARD_HANDLER`: the target's `MiniportTcpOffloadForward`.
pub type W_TCP_OFFLOAD_FORWARD_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        MiniportOffloadContext: PVOID,
        NetBufferList: PNET_BUFFER_LIST,
    ) -> NDIS_STATUS,
>;
/// `W_TCP_OFFLOAD_RECEIVE_RETURN_HANDLER`: the target's
/// `MiniportTcpOffloadReceiveReturn` (no offload context argument).
pub type W_TCP_OFFLOAD_RECEIVE_RETURN_HANDLER = Option<
    unsafe extern "system" fn(
        MiniportAdapterContext: NDIS_HANDLE,
        NetBufferList: PNET_BUFFER_LIST,
    ) -> NDIS_STATUS,
>;

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS`: the
/// state-manipulation entry points (spec §2.1). Mind the member order:
/// Initiate, Terminate, Update, Invalidate, Query.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS {
    /// Type `NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS`.
    pub Header: NDIS_OBJECT_HEADER,
    /// Reserved, 0.
    pub Flags: ULONG,
    pub InitiateOffloadHandler: W_INITIATE_OFFLOAD_HANDLER,
    pub TerminateOffloadHandler: W_TERMINATE_OFFLOAD_HANDLER,
    pub UpdateOffloadHandler: W_UPDATE_OFFLOAD_HANDLER,
    pub InvalidateOffloadHandler: W_INVALIDATE_OFFLOAD_HANDLER,
    pub QueryOffloadHandler: W_QUERY_OFFLOAD_HANDLER,
}
pub type PNDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS =
    *mut NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS;

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS`: the TCP data-path
/// entry points (spec §2.1).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS {
    /// Type `NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS`.
    pub Header: NDIS_OBJECT_HEADER,
    /// Reserved, 0.
    pub Flags: ULONG,
    /// Must be [`NdisTcpChimneyOffload`].
    pub OffloadType: NDIS_CHIMNEY_OFFLOAD_TYPE,
    pub TcpOffloadSendHandler: W_TCP_OFFLOAD_SEND_HANDLER,
    pub TcpOffloadReceiveHandler: W_TCP_OFFLOAD_RECEIVE_HANDLER,
    pub TcpOffloadDisconnectHandler: W_TCP_OFFLOAD_DISCONNECT_HANDLER,
    pub TcpOffloadForwardHandler: W_TCP_OFFLOAD_FORWARD_HANDLER,
    pub TcpOffloadReceiveReturnHandler: W_TCP_OFFLOAD_RECEIVE_RETURN_HANDLER,
}
pub type PNDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS =
    *mut NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS;

// =====================================================================
// NDIS entry points reached through NdisMGetOffloadHandlers
// =====================================================================

/// `NDIS_TCP_OFFLOAD_SEND_COMPLETE`: hands a finished send back to the host.
pub type NDIS_TCP_OFFLOAD_SEND_COMPLETE = Option<
    unsafe extern "system" fn(NdisMiniportHandle: NDIS_HANDLE, NetBufferList: PNET_BUFFER_LIST),
>;
/// `NDIS_TCP_OFFLOAD_RECEIVE_COMPLETE`: hands filled (or returned) posted
/// receive buffers back to the host.
pub type NDIS_TCP_OFFLOAD_RECEIVE_COMPLETE = Option<
    unsafe extern "system" fn(NdisMiniportHandle: NDIS_HANDLE, NetBufferList: PNET_BUFFER_LIST),
>;
/// `NDIS_TCP_OFFLOAD_DISCONNECT_COMPLETE`: completes a disconnect request.
pub type NDIS_TCP_OFFLOAD_DISCONNECT_COMPLETE = Option<
    unsafe extern "system" fn(NdisMiniportHandle: NDIS_HANDLE, NetBufferList: PNET_BUFFER_LIST),
>;
/// `NDIS_TCP_OFFLOAD_FORWARD_COMPLETE`: completes a forward request.
pub type NDIS_TCP_OFFLOAD_FORWARD_COMPLETE = Option<
    unsafe extern "system" fn(NdisMiniportHandle: NDIS_HANDLE, NetBufferList: PNET_BUFFER_LIST),
>;
/// `NDIS_TCP_OFFLOAD_EVENT_INDICATE`: reports a [`TCP_OFFLOAD_EVENT_TYPE`]
/// for one connection; the first argument is that connection's
/// `NdisOffloadHandle`, not the miniport handle.
pub type NDIS_TCP_OFFLOAD_EVENT_INDICATE = Option<
    unsafe extern "system" fn(
        NdisOffloadHandle: NDIS_HANDLE,
        EventType: ULONG,
        EventSpecificInformation: ULONG,
    ),
>;
/// `NDIS_TCP_OFFLOAD_RECEIVE_INDICATE`: offers received bytes for one
/// connection (first argument: its `NdisOffloadHandle`); the host reports
/// how many it took through `BytesConsumed`.
pub type NDIS_TCP_OFFLOAD_RECEIVE_INDICATE = Option<
    unsafe extern "system" fn(
        NdisOffloadHandle: NDIS_HANDLE,
        NetBufferList: PNET_BUFFER_LIST,
        Status: NDIS_STATUS,
        BytesConsumed: PULONG,
    ) -> NDIS_STATUS,
>;

/// `NDIS_OFFLOAD_EVENT_HANDLERS`: the common beginning of every table
/// `NdisMGetOffloadHandlers` returns. Check `Header` before treating it as
/// the table for a given chimney type.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_EVENT_HANDLERS {
    pub Header: NDIS_OBJECT_HEADER,
}
pub type PNDIS_OFFLOAD_EVENT_HANDLERS = *mut NDIS_OFFLOAD_EVENT_HANDLERS;

/// `NDIS_TCP_OFFLOAD_EVENT_HANDLERS`: the TCP chimney table
/// (`Header.Type` = [`NdisTcpChimneyOffload`], revision
/// [`NDIS_OBJECT_TCP_OFFLOAD_REVISION_1`]). Copy the entries out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
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

/// Revision of [`NDIS_TCP_OFFLOAD_EVENT_HANDLERS`].
pub const NDIS_OBJECT_TCP_OFFLOAD_REVISION_1: UCHAR = 1;
/// Minimum `Header.Size` of revision 1: through `NdisTcpOffloadForwardComplete`.
pub const NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1: USHORT = sizeof_through!(
    NDIS_TCP_OFFLOAD_EVENT_HANDLERS,
    NdisTcpOffloadForwardComplete,
    NDIS_TCP_OFFLOAD_FORWARD_COMPLETE
);

// =====================================================================
// Capabilities and encapsulation (ntddndis.h)
// =====================================================================

/// 2-bit capability value: not supported.
pub const NDIS_OFFLOAD_NOT_SUPPORTED: ULONG = 0;
/// 2-bit capability value: supported.
pub const NDIS_OFFLOAD_SUPPORTED: ULONG = 1;

/// `NDIS_OFFLOAD_ENCAPSULATION` `Enabled` value: leave as is.
pub const NDIS_OFFLOAD_SET_NO_CHANGE: ULONG = 0;
/// `NDIS_OFFLOAD_ENCAPSULATION` `Enabled` value: turn on.
pub const NDIS_OFFLOAD_SET_ON: ULONG = 1;
/// `NDIS_OFFLOAD_ENCAPSULATION` `Enabled` value: turn off.
pub const NDIS_OFFLOAD_SET_OFF: ULONG = 2;

/// Encapsulation bit: none supported.
pub const NDIS_ENCAPSULATION_NOT_SUPPORTED: ULONG = 0x0000_0000;
/// Encapsulation bit: no link header.
pub const NDIS_ENCAPSULATION_NULL: ULONG = 0x0000_0001;
/// Encapsulation bit: Ethernet (802.3).
pub const NDIS_ENCAPSULATION_IEEE_802_3: ULONG = 0x0000_0002;
/// Encapsulation bit: Ethernet with 802.1Q/802.1p tags in the frame.
pub const NDIS_ENCAPSULATION_IEEE_802_3_P_AND_Q: ULONG = 0x0000_0004;
/// Encapsulation bit: Ethernet with 802.1Q/802.1p data out of band.
pub const NDIS_ENCAPSULATION_IEEE_802_3_P_AND_Q_IN_OOB: ULONG = 0x0000_0008;
/// Encapsulation bit: LLC/SNAP routed.
pub const NDIS_ENCAPSULATION_IEEE_LLC_SNAP_ROUTED: ULONG = 0x0000_0010;

/// `NDIS_OFFLOAD_PARAMETERS.TcpConnectionIPv4/IPv6` value: leave as is.
pub const NDIS_OFFLOAD_PARAMETERS_NO_CHANGE: UCHAR = 0;
/// `NDIS_OFFLOAD_PARAMETERS.TcpConnectionIPv4/IPv6` value: chimney off.
pub const NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_DISABLED: UCHAR = 1;
/// `NDIS_OFFLOAD_PARAMETERS.TcpConnectionIPv4/IPv6` value: chimney on.
pub const NDIS_OFFLOAD_PARAMETERS_CONNECTION_OFFLOAD_ENABLED: UCHAR = 2;

/// `NDIS_TCP_CONNECTION_OFFLOAD`: chimney capabilities or current
/// configuration, reported in the adapter offload attributes and in
/// `NDIS_STATUS_OFFLOAD_RESUME` (spec §2.3). 20 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_TCP_CONNECTION_OFFLOAD {
    /// Type `NDIS_OBJECT_TYPE_DEFAULT`, revision
    /// [`NDIS_TCP_CONNECTION_OFFLOAD_REVISION_1`] or `_2`.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NDIS_ENCAPSULATION_…` bits.
    pub Encapsulation: ULONG,
    /// Storage unit (a `ULONG`) of `SupportIPv4:2` (bits 0–1),
    /// `SupportIPv6:2` (2–3), `SupportIPv6ExtensionHeaders:2` (4–5),
    /// `SupportSack:2` (6–7) and, NDIS 6.1+, `CongestionAlgorithm:4` (8–11).
    pub _bitfield_1: ULONG,
    /// Most connections offloadable at once, IPv4 and IPv6 together.
    pub TcpConnectionOffloadCapacity: ULONG,
    /// Reserved.
    pub Flags: ULONG,
}
pub type PNDIS_TCP_CONNECTION_OFFLOAD = *mut NDIS_TCP_CONNECTION_OFFLOAD;

impl NDIS_TCP_CONNECTION_OFFLOAD {
    bitfields! { _bitfield_1: ULONG {
        /// `SupportIPv4:2`: an `NDIS_OFFLOAD_…SUPPORTED` value.
        SupportIPv4, set_SupportIPv4: 0, 2;
        /// `SupportIPv6:2`: an `NDIS_OFFLOAD_…SUPPORTED` value.
        SupportIPv6, set_SupportIPv6: 2, 2;
        /// `SupportIPv6ExtensionHeaders:2`.
        SupportIPv6ExtensionHeaders, set_SupportIPv6ExtensionHeaders: 4, 2;
        /// `SupportSack:2`.
        SupportSack, set_SupportSack: 6, 2;
        /// `CongestionAlgorithm:4` (NDIS 6.1+; reserved, leave 0).
        CongestionAlgorithm, set_CongestionAlgorithm: 8, 4;
    }}
}

pub const NDIS_TCP_CONNECTION_OFFLOAD_REVISION_1: UCHAR = 1;
/// NDIS 6.1+ (adds the `CongestionAlgorithm` bits, same size).
pub const NDIS_TCP_CONNECTION_OFFLOAD_REVISION_2: UCHAR = 2;
/// Through `Flags`.
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_1: USHORT =
    sizeof_through!(NDIS_TCP_CONNECTION_OFFLOAD, Flags, ULONG);
/// Through `Flags` as well: revision 2 only uses spare bits.
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_2: USHORT =
    sizeof_through!(NDIS_TCP_CONNECTION_OFFLOAD, Flags, ULONG);

/// The unnamed struct type of `NDIS_OFFLOAD_ENCAPSULATION.IPv4`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_ENCAPSULATION_IPV4 {
    /// An `NDIS_OFFLOAD_SET_…` value.
    pub Enabled: ULONG,
    /// One `NDIS_ENCAPSULATION_…` value.
    pub EncapsulationType: ULONG,
    /// Link header length in bytes.
    pub HeaderSize: ULONG,
}

/// The unnamed struct type of `NDIS_OFFLOAD_ENCAPSULATION.IPv6` (same
/// members as the IPv4 one).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_ENCAPSULATION_IPV6 {
    /// An `NDIS_OFFLOAD_SET_…` value.
    pub Enabled: ULONG,
    /// One `NDIS_ENCAPSULATION_…` value.
    pub EncapsulationType: ULONG,
    /// Link header length in bytes.
    pub HeaderSize: ULONG,
}

/// `NDIS_OFFLOAD_ENCAPSULATION`: the framing the host will use, per IP
/// version (`OID_OFFLOAD_ENCAPSULATION`, and inside the chimney parameters).
/// 28 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_ENCAPSULATION {
    /// Type `NDIS_OBJECT_TYPE_OFFLOAD_ENCAPSULATION`, revision
    /// [`NDIS_OFFLOAD_ENCAPSULATION_REVISION_1`].
    pub Header: NDIS_OBJECT_HEADER,
    pub IPv4: NDIS_OFFLOAD_ENCAPSULATION_IPV4,
    pub IPv6: NDIS_OFFLOAD_ENCAPSULATION_IPV6,
}
pub type PNDIS_OFFLOAD_ENCAPSULATION = *mut NDIS_OFFLOAD_ENCAPSULATION;

pub const NDIS_OFFLOAD_ENCAPSULATION_REVISION_1: UCHAR = 1;
/// Through `IPv6`.
pub const NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1: USHORT = sizeof_through!(
    NDIS_OFFLOAD_ENCAPSULATION,
    IPv6,
    NDIS_OFFLOAD_ENCAPSULATION_IPV6
);

// =====================================================================
// Chimney parameters (OID_TCP_CONNECTION_OFFLOAD_PARAMETERS)
// =====================================================================

/// `NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS`: host-wide TCP settings the
/// target must apply to offloaded connections (spec §7.1). The revision 2
/// (NDIS 6.1+) form is modelled; a revision 1 buffer ends before
/// `CongestionAlgorithm`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS {
    /// Type `NDIS_OBJECT_TYPE_DEFAULT`, revision
    /// [`NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_1`] or `_2`.
    pub Header: NDIS_OBJECT_HEADER,
    pub Encapsulation: NDIS_OFFLOAD_ENCAPSULATION,
    /// Rate of the host's tick, the unit of every tick-valued field.
    pub TicksPerSecond: ULONG,
    /// Segments that may arrive before an ACK is due.
    pub TcpAckFrequency: UCHAR,
    /// Delayed-ACK timeout, ticks.
    pub TcpDelayedAckTicks: UCHAR,
    /// Retransmissions of one segment before giving up.
    pub TcpMaximumRetransmissions: UCHAR,
    /// Retransmissions after which the neighbor is in doubt.
    pub TcpDoubtReachabilityRetransmissions: UCHAR,
    /// Silly-window-syndrome timer, ticks.
    pub TcpSwsPreventionTicks: ULONG,
    /// Duplicate ACKs that trigger fast retransmit.
    pub TcpDuplicateAckThreshold: ULONG,
    /// Push timer, ticks.
    pub TcpPushTicks: ULONG,
    /// Idle ticks after which a neighbor is stale.
    pub NceStaleTicks: ULONG,
    /// Revision 2 only; reserved.
    pub CongestionAlgorithm: ULONG,
}
pub type PNDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS = *mut NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS;

/// Revision 1 of [`NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS`].
pub const NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_1: UCHAR = 1;
/// Revision 2 (NDIS 6.1+), which adds `CongestionAlgorithm`.
pub const NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_2: UCHAR = 2;
/// Through `NceStaleTicks`.
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1: USHORT =
    sizeof_through!(NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, NceStaleTicks, ULONG);
/// Through `CongestionAlgorithm`.
pub const NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_2: USHORT = sizeof_through!(
    NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
    CongestionAlgorithm,
    ULONG
);

// =====================================================================
// Statistics
// =====================================================================

/// `TCP_OFFLOAD_STATS`: TCP counters for offloaded connections of one IP
/// version (`OID_TCP4_OFFLOAD_STATS` / `OID_TCP6_OFFLOAD_STATS`).
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
pub type PTCP_OFFLOAD_STATS = *mut TCP_OFFLOAD_STATS;

/// `IP_OFFLOAD_STATS`: IP counters for offloaded traffic of one IP version
/// (`OID_IP4_OFFLOAD_STATS` / `OID_IP6_OFFLOAD_STATS`).
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
pub type PIP_OFFLOAD_STATS = *mut IP_OFFLOAD_STATS;

// =====================================================================
// Layout on 64-bit Windows (x64, ARM64; the Linux test host agrees)
// =====================================================================

#[cfg(target_pointer_width = "64")]
mod layout;

#[cfg(test)]
mod tests;
