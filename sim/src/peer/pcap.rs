//! Classic libpcap files of the captured wire traffic.

use super::Direction;

/// Magic of a microsecond-resolution pcap file (written little-endian).
pub const MAGIC: u32 = 0xA1B2_C3D4;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Snapshot length written in the header.
pub const SNAPLEN: u32 = 65_535;

/// A pcap file of `frames` ((virtual time in 100 ns, direction, bytes)).
pub fn write(frames: &[(u64, Direction, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.2.len()).sum::<usize>());
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes()); // version major
    out.extend_from_slice(&4u16.to_le_bytes()); // version minor
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&SNAPLEN.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    for (t, _, bytes) in frames {
        let us = t / 10;
        let len = bytes.len() as u32;
        out.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&len.min(SNAPLEN).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&bytes[..bytes.len().min(SNAPLEN as usize)]);
    }
    out
}
