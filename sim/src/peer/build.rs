//! Frames the peer sends, built with `etherparse` (lengths and checksums
//! computed by the builder, not by the driver's code).

use super::{PeerConn, flags};
use etherparse::{
    EtherType, IpHeaders, IpNumber, Ipv4Header, Ipv6Header, PacketBuilder, SingleVlanHeader,
    TcpHeader, VlanHeader, VlanId, VlanPcp,
};
use std::net::IpAddr;

/// Shortest Ethernet frame without FCS: shorter frames are padded, as on a real wire.
pub const MIN_FRAME: usize = 60;

/// A TCP segment of connection `c` from the peer to the target, padded to
/// [`MIN_FRAME`] bytes.
pub fn tcp_frame(
    c: &PeerConn,
    ip_id: u16,
    seq: u32,
    ack: u32,
    fl: u8,
    window: u16,
    payload: &[u8],
) -> Vec<u8> {
    tcp_frame_with_sack(c, ip_id, seq, ack, fl, window, payload, &[])
}

/// [`tcp_frame`] with a SACK option carrying `sack` (one to four blocks;
/// none: no option).
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame_with_sack(
    c: &PeerConn,
    ip_id: u16,
    seq: u32,
    ack: u32,
    fl: u8,
    window: u16,
    payload: &[u8],
    sack: &[(u32, u32)],
) -> Vec<u8> {
    let mut tcp = TcpHeader::new(c.peer_port, c.target_port, seq, window);
    if let Some((&first, rest)) = sack.split_first() {
        let mut more = [None; 3];
        for (m, &b) in more.iter_mut().zip(rest) {
            *m = Some(b);
        }
        tcp.set_options(&[
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::SelectiveAcknowledgement(first, more),
        ])
        .expect("SACK option fits");
    }
    tcp.fin = fl & flags::FIN != 0;
    tcp.syn = fl & flags::SYN != 0;
    tcp.rst = fl & flags::RST != 0;
    tcp.psh = fl & flags::PSH != 0;
    tcp.ack = fl & flags::ACK != 0;
    tcp.ece = fl & flags::ECE != 0;
    tcp.cwr = fl & flags::CWR != 0;
    if tcp.ack {
        tcp.acknowledgment_number = ack;
    }
    let mut out = Vec::with_capacity(MIN_FRAME.max(payload.len() + 80));
    let eth = PacketBuilder::ethernet2(c.peer_mac, c.target_mac);
    let ip = ip_headers(c.peer_ip, c.target_ip, ip_id);
    let step = match c.vlan_tci {
        Some(tci) => eth
            .vlan(VlanHeader::Single(SingleVlanHeader {
                pcp: VlanPcp::try_new((tci >> 13) as u8).expect("3-bit PCP"),
                drop_eligible_indicator: tci & 0x1000 != 0,
                vlan_id: VlanId::try_new(tci & 0x0FFF).expect("12-bit VID"),
                ether_type: EtherType(0),
            }))
            .ip(ip),
        None => eth.ip(ip),
    };
    step.tcp_header(tcp)
        .write(&mut out, payload)
        .expect("peer frame fits");
    if out.len() < MIN_FRAME {
        out.resize(MIN_FRAME, 0);
    }
    out
}

/// IP headers from `src` to `dst` (same family), DF set for IPv4, TTL/hop limit 64.
pub fn ip_headers(src: IpAddr, dst: IpAddr, ip_id: u16) -> IpHeaders {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = Ipv4Header::new(0, 64, IpNumber::TCP, s.octets(), d.octets())
                .expect("empty payload");
            h.identification = ip_id;
            h.dont_fragment = true;
            IpHeaders::Ipv4(h, Default::default())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: 0,
                flow_label: Default::default(),
                payload_length: 0,
                next_header: IpNumber::TCP,
                hop_limit: 64,
                source: s.octets(),
                destination: d.octets(),
            },
            Default::default(),
        ),
        _ => panic!("peer connection mixes IPv4 and IPv6 addresses: {src} / {dst}"),
    }
}
