//! Constants describing the virtual NIC this miniport drives (the role
//! netvmini's hardware.h plays): frame sizes, link speed, pool tags,
//! chimney capacity limits and registry defaults.

use crate::ffi::ULONG;

/// NDIS version we register as: 6.30 (see docs/windows.md, "NDIS version").
pub const NDIS_MAJOR_VERSION: u8 = 6;
pub const NDIS_MINOR_VERSION: u8 = 30;
/// Driver version reported to NDIS (major.minor).
pub const DRIVER_MAJOR_VERSION: u8 = 0;
pub const DRIVER_MINOR_VERSION: u8 = 1;

/// Ethernet payload MTU and header size.
pub const MTU: ULONG = 1500;
pub const ETH_HEADER_SIZE: ULONG = 14;
pub const MAX_FRAME_SIZE: ULONG = MTU + ETH_HEADER_SIZE;
/// Link speed reported, bits per second (10 Gbit/s).
pub const LINK_SPEED_BPS: u64 = 10_000_000_000;
/// Multicast list size the virtual NIC filters.
pub const MAX_MULTICAST_LIST: ULONG = 32;
/// Send/receive buffer space reported by OID_GEN_*_BUFFER_SPACE.
pub const BUFFER_SPACE: ULONG = MAX_FRAME_SIZE * 256;

/// Locally administered permanent MAC address of the virtual NIC.
pub const PERMANENT_MAC: [u8; 6] = [0x02, 0x43, 0x48, 0x4D, 0x4E, 0x59];

/// Vendor id (OID_GEN_VENDOR_ID): 0xFFFFFF OUI marks "no IEEE OUI", low byte = NIC index.
pub const VENDOR_ID: ULONG = 0x00FF_FFFF;
/// Vendor description (OID_GEN_VENDOR_DESCRIPTION), NUL-terminated ASCII.
pub const VENDOR_DESCRIPTION: &[u8] = b"chimney-miniport TCP offload target\0";

/// Pool tags, one per purpose (read backwards in a pool dump: "Cm??").
pub const TAG_ADAPTER: ULONG = u32::from_le_bytes(*b"CmAd");
pub const TAG_TIMER: ULONG = u32::from_le_bytes(*b"CmTm");

/// Default and bounds of the `TcpConnectionOffloadCapacity` registry keyword.
pub const DEFAULT_OFFLOAD_CAPACITY: ULONG = 1024;
pub const MIN_OFFLOAD_CAPACITY: ULONG = 1;
pub const MAX_OFFLOAD_CAPACITY: ULONG = 1 << 20;
/// Receive buffers (`*ReceiveBuffers`), each 2 KiB with its own NBL: the
/// ordinary receive path and the data offloaded connections hold.
pub const DEFAULT_RECEIVE_BUFFERS: ULONG = 512;
pub const MIN_RECEIVE_BUFFERS: ULONG = 16;
pub const MAX_RECEIVE_BUFFERS: ULONG = 65536;
/// Largest `InitialRcvWnd` the target accepts (bytes): 1 GiB, the RFC 7323 limit.
pub const MAX_RCV_WINDOW: ULONG = 1 << 30;
/// Interval of the adapter's completion timer when work is queued (ms).
pub const COMPLETION_DELAY_MS: u32 = 0;
