//! The peer's parser and rule checks for frames the driver transmits. It uses
//! `etherparse`, never the driver's code, so it checks the driver's framing
//! and checksums independently.

use super::{ConnKey, PeerConn, flags, seq_gt};
use etherparse::{LinkExtSlice, LinkSlice, NetSlice, SlicedPacket, TransportSlice, ip_number};
use std::net::IpAddr;

/// A TCP segment parsed out of a driver frame.
pub struct Seg {
    /// Source = the target, destination = the peer.
    pub key: ConnKey,
    pub dst_mac: [u8; 6],
    /// The 802.1Q TCI, if tagged.
    pub vlan: Option<u16>,
    pub ip_id: Option<u16>,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub payload: Vec<u8>,
    /// Both checksums are right (otherwise the peer drops the segment).
    pub intact: bool,
}

/// What a frame turned out to be.
pub enum Parsed {
    /// Unusable (a violation was recorded).
    Bad,
    /// Well-formed, but not TCP over IP.
    Other,
    Tcp(Seg),
}

/// Parse a driver frame and check the rules that hold for every frame.
pub fn parse(frame: &[u8], port_mac: [u8; 6], problems: &mut Vec<String>) -> Parsed {
    let p = match SlicedPacket::from_ethernet(frame) {
        Ok(p) => p,
        Err(e) => {
            problems.push(format!("unparseable frame ({} bytes): {e}", frame.len()));
            return Parsed::Bad;
        }
    };
    let Some(LinkSlice::Ethernet2(eth)) = &p.link else {
        problems.push("no Ethernet II header".into());
        return Parsed::Bad;
    };
    if eth.source() != port_mac {
        problems.push(format!(
            "Ethernet source {:02x?} is not the port MAC {port_mac:02x?}",
            eth.source()
        ));
    }
    let mut vlan = None;
    for (i, ext) in p.link_exts.iter().enumerate() {
        match ext {
            LinkExtSlice::Vlan(v) if i == 0 => {
                vlan = Some(
                    (u16::from(v.priority_code_point().value()) << 13)
                        | (u16::from(v.drop_eligible_indicator()) << 12)
                        | v.vlan_identifier().value(),
                );
            }
            _ => problems.push("more than one 802.1Q tag, or MACsec".into()),
        }
    }
    let mut intact = true;
    let (ip_id, src, dst) = match &p.net {
        Some(NetSlice::Ipv4(v4)) => {
            let h = v4.header();
            if h.header_checksum() != h.to_header().calc_header_checksum() {
                problems.push(format!(
                    "bad IPv4 header checksum {:#06x}",
                    h.header_checksum()
                ));
                intact = false;
            }
            if !h.dont_fragment() {
                problems.push(format!("IPv4 without DF (id {:#06x})", h.identification()));
            }
            if h.more_fragments() || h.fragments_offset().value() != 0 {
                problems.push("IPv4 fragment (MF or a fragment offset)".into());
                return Parsed::Bad;
            }
            if h.identification() < 0x8000 {
                problems.push(format!(
                    "IPv4 Identification {:#06x} outside 0x8000..=0xFFFF",
                    h.identification()
                ));
            }
            if h.protocol() != ip_number::TCP {
                return Parsed::Other;
            }
            (
                Some(h.identification()),
                IpAddr::from(h.source()),
                IpAddr::from(h.destination()),
            )
        }
        Some(NetSlice::Ipv6(v6)) => {
            let h = v6.header();
            if v6.is_payload_fragmented() {
                problems.push("IPv6 fragment".into());
                return Parsed::Bad;
            }
            (
                None,
                IpAddr::from(h.source()),
                IpAddr::from(h.destination()),
            )
        }
        _ => return Parsed::Other,
    };
    let Some(TransportSlice::Tcp(t)) = &p.transport else {
        return Parsed::Other;
    };
    let sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => t.calc_checksum_ipv4(s.octets(), d.octets()),
        (IpAddr::V6(s), IpAddr::V6(d)) => t.calc_checksum_ipv6(s.octets(), d.octets()),
        _ => unreachable!("one IP header has one address family"),
    };
    if sum.as_ref().ok() != Some(&t.checksum()) {
        let want = sum.map_or_else(|e| e.to_string(), |v| format!("{v:#06x}"));
        problems.push(format!(
            "bad TCP checksum {:#06x} (expected {want})",
            t.checksum()
        ));
        intact = false;
    }
    if t.urg() || t.urgent_pointer() != 0 {
        problems.push(format!(
            "URG flag {} / urgent pointer {} (the target never sends urgent data)",
            t.urg(),
            t.urgent_pointer()
        ));
    }
    let fl = [
        (t.fin(), flags::FIN),
        (t.syn(), flags::SYN),
        (t.rst(), flags::RST),
        (t.psh(), flags::PSH),
        (t.ack(), flags::ACK),
        (t.urg(), flags::URG),
        (t.ece(), flags::ECE),
        (t.cwr(), flags::CWR),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0u8, |a, (_, b)| a | b);
    Parsed::Tcp(Seg {
        key: ConnKey {
            target_ip: src,
            target_port: t.source_port(),
            peer_ip: dst,
            peer_port: t.destination_port(),
        },
        dst_mac: eth.destination(),
        vlan,
        ip_id,
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags: fl,
        window: t.window_size(),
        payload: t.payload().to_vec(),
        intact,
    })
}

/// Rules that depend on the connection: addressing, MSS and the peer's window.
pub fn conn_rules(c: &PeerConn, right_edge: u32, s: &Seg, problems: &mut Vec<String>) {
    let key = s.key;
    if s.dst_mac != c.peer_mac {
        problems.push(format!(
            "{key:?}: Ethernet destination {:02x?} is not the peer MAC {:02x?}",
            s.dst_mac, c.peer_mac
        ));
    }
    let vid = |t: Option<u16>| t.map(|t| t & 0x0FFF);
    if vid(s.vlan) != vid(c.vlan_tci) {
        problems.push(format!(
            "{key:?}: VLAN {:?}, the connection's is {:?}",
            s.vlan, c.vlan_tci
        ));
    }
    let len = s.payload.len() as u32;
    if len > u32::from(c.mss) {
        problems.push(format!(
            "{key:?}: payload {len} bytes > MSS {} (seq {})",
            c.mss, s.seq
        ));
    }
    // A one-byte zero-window probe at the right edge is allowed.
    let probe = len == 1 && s.seq == right_edge;
    // A FIN takes the sequence number after the data; a receiver drops an
    // in-order FIN that finds no window for it (Linux does, at a zero window).
    let fin_seq = s.seq.wrapping_add(len);
    if s.flags & flags::FIN != 0 && !seq_gt(right_edge, fin_seq) {
        problems.push(format!(
            "{key:?}: FIN at {fin_seq} beyond the peer's window edge {right_edge}"
        ));
    }
    if len > 0 && !probe && seq_gt(s.seq.wrapping_add(len), right_edge) {
        problems.push(format!(
            "{key:?}: data {}..{} beyond the peer's window edge {right_edge}",
            s.seq,
            s.seq.wrapping_add(len)
        ));
    }
}
