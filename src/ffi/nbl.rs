//! NET_BUFFER_LIST, NET_BUFFER and MDL (ndis/nbl.h, wdm.h), with the 16-byte
//! aligned reserved arrays and the unions of the headers.
//!
//! Anonymous unions are modelled by their named C twin: the leading anonymous
//! union of NET_BUFFER_LIST is exactly the `NET_BUFFER_LIST_HEADER` union it
//! contains as member `NetBufferListHeader` (so `nbl.NetBufferListHeader.
//! NetBufferListData.Next` is also valid C); likewise for NET_BUFFER. The
//! `Status`/`NdisReserved2` union of two 4-byte integers is the field `Status`.

use super::base::*;
use static_assertions::const_assert_eq;

/// `MEMORY_ALLOCATION_ALIGNMENT` on 64-bit Windows.
pub const MEMORY_ALLOCATION_ALIGNMENT: usize = 16;

/// A member declared `DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT)` in C.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct Aligned16<T>(pub T);

/// `SLIST_HEADER` (x64/ARM64: two 64-bit halves, 16-byte aligned).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SLIST_HEADER {
    pub Alignment: ULONGLONG,
    pub Region: ULONGLONG,
}

pub type CSHORT = i16;

/// `MDL`: describes (part of) a buffer's physical pages. The driver reads only
/// `Next`, `MappedSystemVa`/`StartVa`, `ByteCount`, `ByteOffset`, `MdlFlags`.
#[repr(C)]
#[derive(Debug)]
pub struct MDL {
    pub Next: *mut MDL,
    pub Size: CSHORT,
    pub MdlFlags: CSHORT,
    /// `struct _EPROCESS *`.
    pub Process: PVOID,
    pub MappedSystemVa: PVOID,
    pub StartVa: PVOID,
    pub ByteCount: ULONG,
    pub ByteOffset: ULONG,
}
pub type PMDL = *mut MDL;

pub const MDL_MAPPED_TO_SYSTEM_VA: CSHORT = 0x0001;
pub const MDL_PAGES_LOCKED: CSHORT = 0x0002;
pub const MDL_SOURCE_IS_NONPAGED_POOL: CSHORT = 0x0004;
pub const MDL_ALLOCATED_FIXED_SIZE: CSHORT = 0x0008;
pub const MDL_PARTIAL: CSHORT = 0x0010;

/// `KPROCESSOR_MODE` value for MmMapLockedPagesSpecifyCache.
pub const KernelMode: i8 = 0;
/// `MEMORY_CACHING_TYPE::MmCached`.
pub const MmCached: i32 = 1;
/// `MM_PAGE_PRIORITY::NormalPagePriority`, and the flag that asks for a
/// non-executable mapping (Windows 8 and later).
pub const NormalPagePriority: ULONG = 16;
pub const MdlMappingNoExecute: ULONG = 0x4000_0000;

/// `NET_BUFFER_DATA_LENGTH`, the `DataLength` / `stDataLength` union
/// (member `NbDataLength` of NET_BUFFER_DATA): a ULONG that
/// shares storage with a SIZE_T (8 bytes on 64-bit, so the next field is at +8).
#[repr(C)]
#[derive(Clone, Copy)]
pub union NET_BUFFER_DATA_LENGTH {
    pub DataLength: ULONG,
    pub stDataLength: SIZE_T,
}

/// `NET_BUFFER_DATA`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NET_BUFFER_DATA {
    pub Next: *mut NET_BUFFER,
    pub CurrentMdl: PMDL,
    pub CurrentMdlOffset: ULONG,
    pub NbDataLength: NET_BUFFER_DATA_LENGTH,
    pub MdlChain: PMDL,
    pub DataOffset: ULONG,
}

/// `NET_BUFFER_HEADER`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union NET_BUFFER_HEADER {
    pub NetBufferData: NET_BUFFER_DATA,
    pub Link: SLIST_HEADER,
}

/// The `SharedMemoryInfo` / `ScatterGatherList` union (both pointers).
#[repr(C)]
#[derive(Clone, Copy)]
pub union NET_BUFFER_SHARED_MEMORY_OR_SG {
    pub SharedMemoryInfo: PVOID,
    pub ScatterGatherList: PVOID,
}

/// `NET_BUFFER`: one packet's worth of data, described by an MDL chain.
#[repr(C)]
pub struct NET_BUFFER {
    pub NetBufferHeader: NET_BUFFER_HEADER,
    pub ChecksumBias: USHORT,
    pub Reserved: USHORT,
    pub NdisPoolHandle: NDIS_HANDLE,
    pub NdisReserved: Aligned16<[PVOID; 2]>,
    pub ProtocolReserved: Aligned16<[PVOID; 6]>,
    pub MiniportReserved: Aligned16<[PVOID; 4]>,
    pub DataPhysicalAddress: PHYSICAL_ADDRESS,
    pub SharedMemory: NET_BUFFER_SHARED_MEMORY_OR_SG,
}
pub type PNET_BUFFER = *mut NET_BUFFER;

/// `NET_BUFFER_LIST_DATA`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NET_BUFFER_LIST_DATA {
    pub Next: *mut NET_BUFFER_LIST,
    pub FirstNetBuffer: PNET_BUFFER,
}

/// `NET_BUFFER_LIST_HEADER`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union NET_BUFFER_LIST_HEADER {
    pub NetBufferListData: NET_BUFFER_LIST_DATA,
    pub Link: SLIST_HEADER,
}

/// `NET_BUFFER_LIST_CONTEXT` (followed by `Size` bytes of context data).
#[repr(C)]
pub struct NET_BUFFER_LIST_CONTEXT {
    pub Next: *mut NET_BUFFER_LIST_CONTEXT,
    pub Size: USHORT,
    pub Offset: USHORT,
    pub ContextData: [UCHAR; 0],
}
pub type PNET_BUFFER_LIST_CONTEXT = *mut NET_BUFFER_LIST_CONTEXT;

/// `NDIS_NET_BUFFER_LIST_INFO`: indices into `NetBufferListInfo`.
pub type NDIS_NET_BUFFER_LIST_INFO = ULONG;
pub const TcpIpChecksumNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 0;
/// Chimney alias of slot 0: bytes sent+acked / placed (a ULONG in the slot).
pub const TcpOffloadBytesTransferred: NDIS_NET_BUFFER_LIST_INFO = 0;
pub const IPsecOffloadV1NetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 1;
pub const TcpLargeSendNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 2;
/// Chimney alias of slot 2: a BOOLEAN, TRUE for a non-push receive buffer.
pub const TcpReceiveNoPush: NDIS_NET_BUFFER_LIST_INFO = 2;
pub const ClassificationHandleNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 3;
pub const Ieee8021QNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 4;
pub const NetBufferListCancelId: NDIS_NET_BUFFER_LIST_INFO = 5;
pub const MediaSpecificInformation: NDIS_NET_BUFFER_LIST_INFO = 6;
pub const NetBufferListFrameType: NDIS_NET_BUFFER_LIST_INFO = 7;
pub const NetBufferListProtocolId: NDIS_NET_BUFFER_LIST_INFO = 7;
pub const NetBufferListHashValue: NDIS_NET_BUFFER_LIST_INFO = 8;
pub const NetBufferListHashInfo: NDIS_NET_BUFFER_LIST_INFO = 9;
pub const WfpNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 10;
pub const IPsecOffloadV2TunnelNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 11;
pub const IPsecOffloadV2HeaderNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 12;
pub const NetBufferListCorrelationId: NDIS_NET_BUFFER_LIST_INFO = 13;
pub const NetBufferListFilteringInfo: NDIS_NET_BUFFER_LIST_INFO = 14;
pub const MediaSpecificInformationEx: NDIS_NET_BUFFER_LIST_INFO = 15;
pub const NblOriginalInterfaceIfIndex: NDIS_NET_BUFFER_LIST_INFO = 16;
/// NDIS 6.20+: bytes the host already placed in a posted receive buffer.
pub const TcpReceiveBytesTransferred: NDIS_NET_BUFFER_LIST_INFO = 17;
pub const SwitchForwardingReserved: NDIS_NET_BUFFER_LIST_INFO = 18;
pub const SwitchForwardingDetail: NDIS_NET_BUFFER_LIST_INFO = 19;
pub const VirtualSubnetInfo: NDIS_NET_BUFFER_LIST_INFO = 20;
pub const IMReserved: NDIS_NET_BUFFER_LIST_INFO = 21;
pub const TcpRecvSegCoalesceInfo: NDIS_NET_BUFFER_LIST_INFO = 22;
pub const RscTcpTimestampDelta: NDIS_NET_BUFFER_LIST_INFO = 23;
pub const TcpSendOffloadsSupplementalNetBufferListInfo: NDIS_NET_BUFFER_LIST_INFO = 23;
/// Number of info slots for an NDIS 6.30 driver on AMD64/ARM64: the 6.30
/// additions (the three switch/subnet slots exist only on 64-bit, then
/// IMReserved, RSC coalesce info, RSC timestamp delta) end at 23. Drivers
/// never see the NDIS-internal reserved slots. NDIS allocates NBLs with the
/// OS's own size; the driver reads only slots 0–17.
pub const MaxNetBufferListInfo: usize = 24;

/// `NET_BUFFER_LIST`: a list of NET_BUFFERs sharing out-of-band information.
#[repr(C)]
pub struct NET_BUFFER_LIST {
    pub NetBufferListHeader: NET_BUFFER_LIST_HEADER,
    pub Context: PNET_BUFFER_LIST_CONTEXT,
    pub ParentNetBufferList: *mut NET_BUFFER_LIST,
    pub NdisPoolHandle: NDIS_HANDLE,
    pub NdisReserved: Aligned16<[PVOID; 2]>,
    pub ProtocolReserved: Aligned16<[PVOID; 4]>,
    /// Ours while we own the NBL (the send queue links through it).
    pub MiniportReserved: Aligned16<[PVOID; 2]>,
    pub Scratch: PVOID,
    pub SourceHandle: NDIS_HANDLE,
    pub NblFlags: ULONG,
    pub ChildRefCount: LONG,
    pub Flags: ULONG,
    /// The `Status` / `NdisReserved2` union (two 4-byte members).
    pub Status: NDIS_STATUS,
    pub NetBufferListInfo: [PVOID; MaxNetBufferListInfo],
}
pub type PNET_BUFFER_LIST = *mut NET_BUFFER_LIST;

/// `NET_BUFFER_LIST_POOL_PARAMETERS`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NET_BUFFER_LIST_POOL_PARAMETERS {
    pub Header: NDIS_OBJECT_HEADER,
    pub ProtocolId: UCHAR,
    pub fAllocateNetBuffer: BOOLEAN,
    pub ContextSize: USHORT,
    pub PoolTag: ULONG,
    pub DataSize: ULONG,
}
pub const NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1: UCHAR = 1;
pub const NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1: USHORT = 16;
pub const NDIS_PROTOCOL_ID_DEFAULT: UCHAR = 0x00;
pub const NDIS_PROTOCOL_ID_TCP_IP: UCHAR = 0x02;

pub const NDIS_SEND_FLAGS_DISPATCH_LEVEL: ULONG = 0x01;
pub const NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL: ULONG = 0x01;
pub const NDIS_RETURN_FLAGS_DISPATCH_LEVEL: ULONG = 0x01;
pub const NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL: ULONG = 0x01;
/// The NBLs must be reclaimed as soon as the indication returns (the
/// protocol copies what it keeps); no `MiniportReturnNetBufferLists` follows.
pub const NDIS_RECEIVE_FLAGS_RESOURCES: ULONG = 0x02;
pub const NDIS_DEFAULT_PORT_NUMBER: NDIS_PORT_NUMBER = 0;

const_assert_eq!(size_of::<NET_BUFFER_LIST_POOL_PARAMETERS>(), 16);
const_assert_eq!(
    core::mem::offset_of!(NET_BUFFER_LIST_POOL_PARAMETERS, ContextSize),
    6
);
const_assert_eq!(
    core::mem::offset_of!(NET_BUFFER_LIST_POOL_PARAMETERS, PoolTag),
    8
);
const_assert_eq!(
    core::mem::offset_of!(NET_BUFFER_LIST_POOL_PARAMETERS, DataSize),
    12
);

#[cfg(target_pointer_width = "64")]
mod layout64 {
    use super::*;
    use core::mem::{align_of, offset_of};
    const_assert_eq!(size_of::<SLIST_HEADER>(), 16);
    const_assert_eq!(align_of::<SLIST_HEADER>(), 16);
    const_assert_eq!(size_of::<MDL>(), 48);
    const_assert_eq!(offset_of!(MDL, Size), 8);
    const_assert_eq!(offset_of!(MDL, MdlFlags), 10);
    const_assert_eq!(offset_of!(MDL, Process), 16);
    const_assert_eq!(offset_of!(MDL, MappedSystemVa), 24);
    const_assert_eq!(offset_of!(MDL, StartVa), 32);
    const_assert_eq!(offset_of!(MDL, ByteCount), 40);
    const_assert_eq!(offset_of!(MDL, ByteOffset), 44);

    const_assert_eq!(size_of::<NET_BUFFER_DATA_LENGTH>(), 8);
    const_assert_eq!(size_of::<NET_BUFFER_DATA>(), 48);
    const_assert_eq!(offset_of!(NET_BUFFER_DATA, CurrentMdl), 8);
    const_assert_eq!(offset_of!(NET_BUFFER_DATA, CurrentMdlOffset), 16);
    const_assert_eq!(offset_of!(NET_BUFFER_DATA, NbDataLength), 24);
    const_assert_eq!(offset_of!(NET_BUFFER_DATA, MdlChain), 32);
    const_assert_eq!(offset_of!(NET_BUFFER_DATA, DataOffset), 40);
    const_assert_eq!(size_of::<NET_BUFFER_HEADER>(), 48);
    const_assert_eq!(align_of::<NET_BUFFER_HEADER>(), 16);
    const_assert_eq!(size_of::<NET_BUFFER>(), 176);
    const_assert_eq!(offset_of!(NET_BUFFER, ChecksumBias), 48);
    const_assert_eq!(offset_of!(NET_BUFFER, Reserved), 50);
    const_assert_eq!(offset_of!(NET_BUFFER, NdisPoolHandle), 56);
    const_assert_eq!(offset_of!(NET_BUFFER, NdisReserved), 64);
    const_assert_eq!(offset_of!(NET_BUFFER, ProtocolReserved), 80);
    const_assert_eq!(offset_of!(NET_BUFFER, MiniportReserved), 128);
    const_assert_eq!(offset_of!(NET_BUFFER, DataPhysicalAddress), 160);
    const_assert_eq!(offset_of!(NET_BUFFER, SharedMemory), 168);

    const_assert_eq!(size_of::<NET_BUFFER_LIST_DATA>(), 16);
    const_assert_eq!(size_of::<NET_BUFFER_LIST_HEADER>(), 16);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, Context), 16);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, ParentNetBufferList), 24);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, NdisPoolHandle), 32);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, NdisReserved), 48);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, ProtocolReserved), 64);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, MiniportReserved), 96);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, Scratch), 112);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, SourceHandle), 120);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, NblFlags), 128);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, ChildRefCount), 132);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, Flags), 136);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, Status), 140);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST, NetBufferListInfo), 144);
    const_assert_eq!(
        size_of::<NET_BUFFER_LIST>(),
        (144 + 8 * MaxNetBufferListInfo).next_multiple_of(16)
    );
    const_assert_eq!(size_of::<NET_BUFFER_LIST>(), 336);
    const_assert_eq!(size_of::<NET_BUFFER_LIST_CONTEXT>(), 16);
    const_assert_eq!(offset_of!(NET_BUFFER_LIST_CONTEXT, ContextData), 12);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_offsets_match_the_c_layout() {
        // SAFETY: all-zero is a valid value of these plain C structures.
        let nbl: NET_BUFFER_LIST = unsafe { core::mem::zeroed() };
        let base = &nbl as *const _ as usize;
        assert_eq!(base % 16, 0, "16-byte alignment");
        assert_eq!(&nbl.MiniportReserved as *const _ as usize - base, 96);
        assert_eq!(&nbl.Status as *const _ as usize - base, 140);
        // SAFETY: reading a field of the union's data member of a zeroed value.
        let first = unsafe { &nbl.NetBufferListHeader.NetBufferListData.FirstNetBuffer } as *const _
            as usize;
        assert_eq!(first - base, 8);
        // SAFETY: as above.
        let nb: NET_BUFFER = unsafe { core::mem::zeroed() };
        let nbase = &nb as *const _ as usize;
        // SAFETY: as above.
        let mdl_chain = unsafe { &nb.NetBufferHeader.NetBufferData.MdlChain } as *const _ as usize;
        assert_eq!(mdl_chain - nbase, 32, "DataLength union is SIZE_T-wide");
        assert_eq!(&nb.MiniportReserved as *const _ as usize - nbase, 128);
    }
}
