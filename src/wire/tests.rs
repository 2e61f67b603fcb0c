//! Tests for the wire module: round trips, cross-checks against the
//! independent `etherparse` crate, corruption and truncation, fuzzing.

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_macros,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use super::*;
use etherparse::{
    EtherType, IpDscp, IpEcn, IpHeaders, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header,
    NetHeaders, PacketBuilder, PacketHeaders, SingleVlanHeader, TcpHeader, TcpOptionElement,
    TransportHeader, VlanHeader, VlanId, VlanPcp,
};
use proptest::prelude::*;

const MAC_A: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];

fn v4() -> IpPair {
    IpPair::V4 {
        src: [192, 168, 7, 1],
        dst: [10, 0, 0, 254],
        ttl: 64,
        tos: 0xb8,
    }
}

fn v6() -> IpPair {
    IpPair::V6 {
        src: [
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78,
        ],
        dst: [
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55,
        ],
        hop_limit: 63,
        traffic_class: 0x2e,
        flow_label: 0xa_bcde,
    }
}

fn template(ip: IpPair, vlan: bool) -> FrameTemplate {
    FrameTemplate {
        dst_mac: MAC_B,
        src_mac: MAC_A,
        vlan_tci: vlan.then_some((5 << 13) | 0x123),
        ip,
        src_port: 49152,
        dst_port: 443,
    }
}

fn fields(ts: bool) -> SegmentFields {
    SegmentFields {
        seq: 0xdead_beef,
        ack: 0x0102_0304,
        flags: tcp_flags::ACK | tcp_flags::PSH,
        window: 0xfedc,
        ip_id: 0x4321,
        timestamps: ts.then_some((0x1111_2222, 0x3333_4444)),
        sack: SackBlocks::default(),
    }
}

/// Payload bytes that make every position distinct.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// Splits `data` into fragments of the given lengths (the last takes the rest).
fn split<'a>(mut data: &'a [u8], lens: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    for &n in lens {
        let (a, b) = data.split_at(n.min(data.len()));
        out.push(a);
        data = b;
    }
    out.push(data);
    out
}

fn build(t: &FrameTemplate, s: &SegmentFields, payload: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0u8; 70_000];
    let n = build_frame(t, s, payload, &mut out).unwrap();
    out.truncate(n);
    out
}

/// Every combination the builder supports.
fn variants() -> Vec<(FrameTemplate, SegmentFields)> {
    let mut v = Vec::new();
    for ip in [v4(), v6()] {
        for vlan in [false, true] {
            for ts in [false, true] {
                v.push((template(ip, vlan), fields(ts)));
            }
        }
    }
    v
}

const ODD_FRAGMENTS: [usize; 5] = [3, 1, 0, 1000, 7];

// ---------------------------------------------------------------------------
// Checksum

/// Reference: RFC 1071 byte by byte.
fn slow_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, &b) in data.iter().enumerate() {
        sum += if i % 2 == 0 {
            u32::from(b) << 8
        } else {
            u32::from(b)
        };
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn checksum_rfc1071_example() {
    // RFC 1071 section 3: the sum of these bytes is 0xddf2.
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    let mut c = Checksum::new();
    c.add(&data);
    assert_eq!(c.sum(), 0xddf2);
    assert_eq!(checksum(&data), !0xddf2);
    assert_eq!(checksum(&[]), 0xffff);
    assert_eq!(checksum(&[0, 0, 0]), 0xffff);
    // An odd trailing byte is padded with zero.
    assert_eq!(checksum(&[0x12]), !0x1200);
}

#[test]
fn checksum_incremental_matches_contiguous_at_every_split() {
    let data = pattern(301);
    let whole = checksum(&data);
    assert_eq!(whole, slow_checksum(&data));
    for i in 0..=data.len() {
        for j in i..=data.len().min(i + 9) {
            let mut c = Checksum::new();
            c.add(&data[..i]);
            c.add(&data[i..j]);
            c.add(&[]);
            c.add(&data[j..]);
            assert_eq!(c.finish(), whole, "split at {i}, {j}");
        }
    }
}

#[test]
fn checksum_one_byte_slices_and_fields() {
    let data = pattern(77);
    let mut c = Checksum::new();
    for b in &data {
        c.add(core::slice::from_ref(b));
    }
    assert_eq!(c.finish(), checksum(&data));

    let mut c = Checksum::new();
    c.add_u16(0x1234);
    c.add_u32(0x5678_9abc);
    assert_eq!(c.finish(), checksum(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]));
}

#[test]
fn checksum_of_all_ones_never_collapses_to_zero() {
    // Many 0xffff words, over several inner blocks: the one's complement
    // sum stays 0xffff, not 0.
    let data = vec![0xffu8; 600_000];
    let mut c = Checksum::new();
    c.add(&data);
    assert_eq!(c.sum(), 0xffff);
    assert_eq!(c.finish(), slow_checksum(&data));
}

#[test]
fn checksum_large_buffers_match_reference() {
    // Longer than several inner blocks, odd start offset, odd length.
    let data: Vec<u8> = (0..700_003u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for start in [0, 1, 3] {
        assert_eq!(checksum(&data[start..]), slow_checksum(&data[start..]));
    }
    let mut c = Checksum::new();
    c.add(&data[..262_145]);
    c.add(&data[262_145..]);
    assert_eq!(c.finish(), slow_checksum(&data));
}

// ---------------------------------------------------------------------------
// Round trip

#[test]
fn round_trip_all_variants_with_odd_fragments() {
    let payload = pattern(ODD_FRAGMENTS.iter().sum::<usize>() + 5);
    let frags = split(&payload, &ODD_FRAGMENTS);
    for (t, s) in variants() {
        let frame = build(&t, &s, &frags);
        assert_eq!(
            frame.len(),
            t.header_len(s.timestamps.is_some()) + payload.len()
        );
        let seg = parse_frame(&frame).unwrap();
        assert_eq!(seg.src_mac, t.src_mac);
        assert_eq!(seg.dst_mac, t.dst_mac);
        assert_eq!(seg.vlan_tci, t.vlan_tci);
        assert_eq!(seg.ip, t.ip);
        assert_eq!(seg.src_port, t.src_port);
        assert_eq!(seg.dst_port, t.dst_port);
        assert_eq!(seg.seq, s.seq);
        assert_eq!(seg.ack, s.ack);
        assert_eq!(seg.flags, s.flags);
        assert_eq!(seg.window, s.window);
        assert_eq!(seg.urgent, 0);
        assert_eq!(seg.timestamps, s.timestamps);
        assert_eq!(seg.mss, None);
        assert_eq!(seg.window_scale, None);
        assert!(!seg.sack_permitted);
        assert_eq!(seg.payload, &payload[..]);
        match t.ip {
            IpPair::V4 { .. } => {
                assert!(seg.dont_fragment);
                assert_eq!(seg.ip_id, s.ip_id);
            }
            IpPair::V6 { .. } => {
                assert!(!seg.dont_fragment);
                assert_eq!(seg.ip_id, 0);
            }
        }
        assert_eq!(seg.seq_len(), payload.len() as u32);
    }
}

#[test]
fn round_trip_empty_payload_and_control_flags() {
    for (t, mut s) in variants() {
        s.flags = tcp_flags::SYN | tcp_flags::FIN | tcp_flags::ECE | tcp_flags::CWR;
        let frame = build(&t, &s, &[]);
        let seg = parse_frame(&frame).unwrap();
        assert_eq!(seg.flags, s.flags);
        assert!(seg.payload.is_empty());
        assert_eq!(seg.seq_len(), 2);
        // No fragments at all is the same as one empty fragment.
        assert_eq!(build(&t, &s, &[&[]]), frame);
    }
}

#[test]
fn flow_label_is_masked_to_20_bits() {
    let mut t = template(v6(), false);
    if let IpPair::V6 { flow_label, .. } = &mut t.ip {
        *flow_label = 0xfff1_2345;
    }
    let frame = build(&t, &fields(false), &[b"x"]);
    let seg = parse_frame(&frame).unwrap();
    let IpPair::V6 { flow_label, .. } = seg.ip else {
        panic!("not v6")
    };
    assert_eq!(flow_label, 0x1_2345);
}

// ---------------------------------------------------------------------------
// Build errors

#[test]
fn build_reports_small_buffer_at_every_length() {
    let payload = pattern(33);
    for (t, s) in variants() {
        let need = t.header_len(s.timestamps.is_some()) + payload.len();
        for len in 0..need {
            let mut out = vec![0xa5u8; len];
            assert_eq!(
                build_frame(&t, &s, &[&payload], &mut out),
                Err(WireError::BufferTooSmall)
            );
            // Nothing written on error.
            assert!(out.iter().all(|&b| b == 0xa5));
        }
        let mut out = vec![0u8; need + 10];
        assert_eq!(build_frame(&t, &s, &[&payload], &mut out), Ok(need));
    }
}

#[test]
fn build_limits_to_16_bit_ip_length() {
    let big = vec![0u8; 65_535];
    let mut out = vec![0u8; 70_000];
    for (t, s) in variants() {
        let tcp_header =
            t.header_len(s.timestamps.is_some()) - t.link_header_len() - t.ip.header_len();
        // Largest payload the length field can describe.
        let max = match t.ip {
            IpPair::V4 { .. } => 65_535 - IPV4_HEADER - tcp_header,
            IpPair::V6 { .. } => 65_535 - tcp_header,
        };
        let n = build_frame(&t, &s, &[&big[..max]], &mut out).unwrap();
        let seg = parse_frame(&out[..n]).unwrap();
        assert_eq!(seg.payload.len(), max);
        assert_eq!(
            build_frame(&t, &s, &[&big[..max], b"x"], &mut out),
            Err(WireError::TooLong)
        );
    }
}

// ---------------------------------------------------------------------------
// Cross-check with etherparse

#[test]
fn etherparse_reads_built_frames() {
    let payload = pattern(1011 + 5);
    let frags = split(&payload, &ODD_FRAGMENTS);
    for (t, s) in variants() {
        let frame = build(&t, &s, &frags);
        let h = PacketHeaders::from_ethernet_slice(&frame).unwrap();
        let Some(etherparse::LinkHeader::Ethernet2(eth)) = &h.link else {
            panic!("no ethernet")
        };
        assert_eq!(eth.source, t.src_mac);
        assert_eq!(eth.destination, t.dst_mac);
        match (t.vlan_tci, h.vlan()) {
            (None, None) => {}
            (Some(tci), Some(VlanHeader::Single(v))) => {
                assert_eq!(v.pcp.value(), (tci >> 13) as u8);
                assert_eq!(v.vlan_id.value(), tci & 0xfff);
                assert!(!v.drop_eligible_indicator);
            }
            other => panic!("vlan mismatch {other:?}"),
        }
        let Some(TransportHeader::Tcp(tcp)) = &h.transport else {
            panic!("no tcp")
        };
        let tcp_payload = h.payload.slice();
        assert_eq!(tcp_payload, &payload[..]);
        match (&h.net, t.ip) {
            (Some(NetHeaders::Ipv4(ip, ext)), IpPair::V4 { src, dst, ttl, tos }) => {
                assert!(ext.is_empty());
                assert_eq!(ip.source, src);
                assert_eq!(ip.destination, dst);
                assert_eq!(ip.time_to_live, ttl);
                assert_eq!(ip.dscp.value(), tos >> 2);
                assert_eq!(ip.ecn.value(), tos & 3);
                assert!(ip.dont_fragment);
                assert!(!ip.more_fragments);
                assert_eq!(ip.fragment_offset.value(), 0);
                assert_eq!(ip.identification, s.ip_id);
                assert_eq!(ip.protocol, IpNumber::TCP);
                assert_eq!(usize::from(ip.total_len), frame.len() - t.link_header_len());
                assert_eq!(ip.header_checksum, ip.calc_header_checksum());
                assert_eq!(
                    tcp.checksum,
                    tcp.calc_checksum_ipv4(ip, tcp_payload).unwrap()
                );
            }
            (
                Some(NetHeaders::Ipv6(ip, ext)),
                IpPair::V6 {
                    src,
                    dst,
                    hop_limit,
                    traffic_class,
                    flow_label,
                },
            ) => {
                assert!(ext.is_empty());
                assert_eq!(ip.source, src);
                assert_eq!(ip.destination, dst);
                assert_eq!(ip.hop_limit, hop_limit);
                assert_eq!(ip.traffic_class, traffic_class);
                assert_eq!(ip.flow_label.value(), flow_label);
                assert_eq!(ip.next_header, IpNumber::TCP);
                assert_eq!(
                    usize::from(ip.payload_length),
                    frame.len() - t.link_header_len() - IPV6_HEADER
                );
                assert_eq!(
                    tcp.checksum,
                    tcp.calc_checksum_ipv6(ip, tcp_payload).unwrap()
                );
            }
            other => panic!("ip mismatch {other:?}"),
        }
        assert_eq!(tcp.source_port, t.src_port);
        assert_eq!(tcp.destination_port, t.dst_port);
        assert_eq!(tcp.sequence_number, s.seq);
        assert_eq!(tcp.acknowledgment_number, s.ack);
        assert_eq!(tcp.window_size, s.window);
        assert_eq!(tcp.urgent_pointer, 0);
        assert!(tcp.ack && tcp.psh);
        assert!(!(tcp.syn || tcp.fin || tcp.rst || tcp.urg || tcp.ece || tcp.cwr || tcp.ns));
        let options: Vec<_> = tcp.options_iterator().map(Result::unwrap).collect();
        match s.timestamps {
            None => assert!(options.is_empty()),
            Some((val, ecr)) => assert_eq!(
                options,
                [
                    TcpOptionElement::Noop,
                    TcpOptionElement::Noop,
                    TcpOptionElement::Timestamp(val, ecr)
                ]
            ),
        }
    }
}

/// Builds a frame with etherparse: every option we parse, arbitrary flags.
fn etherparse_frame(ipv6: bool, vlan: Option<(u8, u16)>, payload: &[u8]) -> Vec<u8> {
    let mut tcp = TcpHeader::new(1234, 80, 0x8000_0001, 29200);
    tcp.acknowledgment_number = 0x7fff_fffe;
    tcp.syn = true;
    tcp.ack = true;
    tcp.urg = true;
    tcp.urgent_pointer = 3;
    tcp.set_options(&[
        TcpOptionElement::MaximumSegmentSize(1460),
        TcpOptionElement::SelectiveAcknowledgementPermitted,
        TcpOptionElement::Timestamp(0xabcd_ef01, 0x2345_6789),
        TcpOptionElement::Noop,
        TcpOptionElement::WindowScale(7),
    ])
    .unwrap();
    let ip = if ipv6 {
        IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: 0x11,
                flow_label: Ipv6FlowLabel::try_new(0x5_4321).unwrap(),
                payload_length: 0,
                next_header: IpNumber::TCP,
                hop_limit: 9,
                source: [1; 16],
                destination: [2; 16],
            },
            Default::default(),
        )
    } else {
        let mut h =
            Ipv4Header::new(0, 17, IpNumber::TCP, [172, 16, 0, 1], [172, 16, 9, 9]).unwrap();
        h.identification = 0xbeef;
        h.dscp = IpDscp::try_new(10).unwrap();
        h.ecn = IpEcn::try_new(1).unwrap();
        IpHeaders::Ipv4(h, Default::default())
    };
    let eth = PacketBuilder::ethernet2(MAC_A, MAC_B);
    let builder = match vlan {
        Some((pcp, vid)) => eth
            .vlan(VlanHeader::Single(SingleVlanHeader {
                pcp: VlanPcp::try_new(pcp).unwrap(),
                drop_eligible_indicator: false,
                vlan_id: VlanId::try_new(vid).unwrap(),
                ether_type: EtherType(0),
            }))
            .ip(ip)
            .tcp_header(tcp),
        None => eth.ip(ip).tcp_header(tcp),
    };
    let mut out = Vec::new();
    builder.write(&mut out, payload).unwrap();
    out
}

#[test]
fn parses_frames_built_by_etherparse() {
    for ipv6 in [false, true] {
        for vlan in [None, Some((3u8, 0x0abcu16))] {
            for len in [0usize, 1, 2, 3, 1400] {
                let payload = pattern(len);
                let frame = etherparse_frame(ipv6, vlan, &payload);
                let seg = parse_frame(&frame).unwrap();
                assert_eq!(seg.src_mac, MAC_A);
                assert_eq!(seg.dst_mac, MAC_B);
                assert_eq!(
                    seg.vlan_tci,
                    vlan.map(|(pcp, vid)| (u16::from(pcp) << 13) | vid)
                );
                if ipv6 {
                    assert_eq!(
                        seg.ip,
                        IpPair::V6 {
                            src: [1; 16],
                            dst: [2; 16],
                            hop_limit: 9,
                            traffic_class: 0x11,
                            flow_label: 0x5_4321,
                        }
                    );
                    assert!(!seg.dont_fragment);
                } else {
                    assert_eq!(
                        seg.ip,
                        IpPair::V4 {
                            src: [172, 16, 0, 1],
                            dst: [172, 16, 9, 9],
                            ttl: 17,
                            tos: (10 << 2) | 1,
                        }
                    );
                    assert!(seg.dont_fragment);
                    assert_eq!(seg.ip_id, 0xbeef);
                }
                assert_eq!(seg.src_port, 1234);
                assert_eq!(seg.dst_port, 80);
                assert_eq!(seg.seq, 0x8000_0001);
                assert_eq!(seg.ack, 0x7fff_fffe);
                assert_eq!(seg.flags, tcp_flags::SYN | tcp_flags::ACK | tcp_flags::URG);
                assert_eq!(seg.window, 29200);
                assert_eq!(seg.urgent, 3);
                assert_eq!(seg.mss, Some(1460));
                assert_eq!(seg.window_scale, Some(7));
                assert!(seg.sack_permitted);
                assert_eq!(seg.timestamps, Some((0xabcd_ef01, 0x2345_6789)));
                assert_eq!(seg.payload, &payload[..]);
            }
        }
    }
}

#[test]
fn ipv4_options_are_skipped_and_checksummed() {
    let mut h = Ipv4Header::new(0, 5, IpNumber::TCP, [1, 2, 3, 4], [5, 6, 7, 8]).unwrap();
    // Two NOPs and end-of-list, padded: 8 bytes of options.
    h.options = [1, 1, 0, 0, 0, 0, 0, 0].into();
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ip(IpHeaders::Ipv4(h, Default::default()))
        .tcp(7, 8, 9, 10)
        .write(&mut out, b"hello")
        .unwrap();
    let seg = parse_frame(&out).unwrap();
    assert_eq!(seg.payload, b"hello");
    assert!(seg.ip_options, "reported, for the ordinary path");
    assert_eq!(
        (seg.src_port, seg.dst_port, seg.seq, seg.window),
        (7, 8, 9, 10)
    );
    // An option byte is covered by the header checksum.
    out[ETH_HEADER + IPV4_HEADER] ^= 0x40;
    assert_eq!(parse_frame(&out), Err(WireError::Checksum));
}

#[test]
fn ethernet_padding_is_ignored() {
    for (t, s) in variants() {
        let mut frame = build(&t, &s, &[b"ab"]);
        let expect = parse_frame(&frame).unwrap().payload.to_vec();
        frame.extend_from_slice(&[0xee; 40]);
        assert_eq!(parse_frame(&frame).unwrap().payload, &expect[..]);
    }
}

// ---------------------------------------------------------------------------
// Corruption and truncation

#[test]
fn every_single_bit_flip_is_detected_or_changes_the_parse() {
    let payload = pattern(1011 + 5);
    let frags = split(&payload, &ODD_FRAGMENTS);
    for (t, s) in variants() {
        let frame = build(&t, &s, &frags);
        let good = parse_frame(&frame).unwrap();
        let ip_start = t.link_header_len();
        let tcp_start = ip_start + t.ip.header_len();
        for pos in 0..frame.len() {
            for bit in 0..8 {
                let mut bad = frame.clone();
                bad[pos] ^= 1 << bit;
                let got = parse_frame(&bad);
                assert_ne!(got, Ok(good), "flip at {pos} bit {bit}");
                // Bytes covered by a checksum (or a length/version check)
                // must fail outright. IPv6 has no header checksum: only the
                // version, length, next header and addresses are checked.
                let covered = match t.ip {
                    IpPair::V4 { .. } => pos >= ip_start,
                    IpPair::V6 { .. } => {
                        (pos >= ip_start + 4 && pos != ip_start + 7)
                            || (pos == ip_start && bit >= 4)
                    }
                };
                if covered {
                    assert!(got.is_err(), "flip at {pos} bit {bit} accepted: {got:?}");
                }
            }
        }
        // The checksum errors are reported as such for the TCP part.
        let mut bad = frame.clone();
        bad[tcp_start + 4] ^= 1;
        assert_eq!(parse_frame(&bad), Err(WireError::Checksum));
        let mut bad = frame.clone();
        *bad.last_mut().unwrap() ^= 0x80;
        assert_eq!(parse_frame(&bad), Err(WireError::Checksum));
    }
}

#[test]
fn every_truncation_is_an_error() {
    let payload = pattern(1011 + 5);
    let frags = split(&payload, &ODD_FRAGMENTS);
    for (t, s) in variants() {
        let frame = build(&t, &s, &frags);
        for len in 0..frame.len() {
            assert_eq!(
                parse_frame(&frame[..len]),
                Err(WireError::Truncated),
                "length {len}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Specific rejections

/// A plain IPv4 frame without VLAN, for patching.
fn v4_frame(payload: &[u8]) -> Vec<u8> {
    build(&template(v4(), false), &fields(false), &[payload])
}

/// Recomputes both checksums of an untagged IPv4 frame after a patch.
fn refresh_v4(frame: &mut [u8]) {
    let ip = ETH_HEADER;
    let ihl = usize::from(frame[ip] & 0xf) * 4;
    frame[ip + 10..ip + 12].fill(0);
    let c = checksum(&frame[ip..ip + ihl]);
    frame[ip + 10..ip + 12].copy_from_slice(&c.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([frame[ip + 2], frame[ip + 3]]));
    let tcp = ip + ihl;
    let end = (ip + total).min(frame.len());
    // The TCP checksum field ends at byte 18 of the segment.
    if end < tcp + 18 {
        return;
    }
    frame[tcp + 16..tcp + 18].fill(0);
    let mut sum = Checksum::new();
    sum.add(&frame[ip + 12..ip + 20]);
    sum.add_u16(u16::from(frame[ip + 9]));
    sum.add_u16((total - ihl) as u16);
    sum.add(&frame[tcp..end]);
    frame[tcp + 16..tcp + 18].copy_from_slice(&sum.finish().to_be_bytes());
}

#[test]
fn rejects_ipv4_fragments() {
    for frag in [0x2000u16, 0x0001, 0x1fff, 0x6000 | 0x0010] {
        let mut f = v4_frame(b"data");
        f[ETH_HEADER + 6..ETH_HEADER + 8].copy_from_slice(&frag.to_be_bytes());
        refresh_v4(&mut f);
        assert_eq!(parse_frame(&f), Err(WireError::Fragment), "{frag:#x}");
    }
    // DF off is fine.
    let mut f = v4_frame(b"data");
    f[ETH_HEADER + 6] = 0;
    refresh_v4(&mut f);
    assert!(!parse_frame(&f).unwrap().dont_fragment);
}

#[test]
fn rejects_other_protocols_and_ethertypes() {
    let mut f = v4_frame(b"data");
    f[ETH_HEADER + 9] = 17;
    refresh_v4(&mut f);
    assert_eq!(parse_frame(&f), Err(WireError::NotTcp));

    let mut f = v4_frame(b"data");
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(parse_frame(&f), Err(WireError::NotIp));

    // Double tags (QinQ outer, or 802.1Q twice) are not handled.
    let mut f = build(&template(v4(), true), &fields(false), &[b"x"]);
    f[12..14].copy_from_slice(&ETHERTYPE_QINQ.to_be_bytes());
    assert_eq!(parse_frame(&f), Err(WireError::Unsupported));
    let mut f = build(&template(v4(), true), &fields(false), &[b"x"]);
    f[16..18].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
    assert_eq!(parse_frame(&f), Err(WireError::Unsupported));

    // IPv6: extension headers unsupported, anything else not TCP.
    let t6 = template(v6(), false);
    for (nh, err) in [
        (0u8, WireError::Unsupported),
        (44, WireError::Unsupported),
        (60, WireError::Unsupported),
        (17, WireError::NotTcp),
        (58, WireError::NotTcp),
    ] {
        let mut f = build(&t6, &fields(false), &[b"x"]);
        f[ETH_HEADER + 6] = nh;
        assert_eq!(parse_frame(&f), Err(err), "next header {nh}");
    }
}

#[test]
fn rejects_bad_header_fields() {
    // IPv4 IHL below 5.
    let mut f = v4_frame(b"data");
    f[ETH_HEADER] = 0x44;
    refresh_v4(&mut f);
    assert_eq!(parse_frame(&f), Err(WireError::BadHeader));
    // IPv4 version wrong.
    let mut f = v4_frame(b"data");
    f[ETH_HEADER] = 0x65;
    assert_eq!(parse_frame(&f), Err(WireError::BadHeader));
    // IPv4 total length shorter than the header.
    let mut f = v4_frame(b"data");
    f[ETH_HEADER + 2..ETH_HEADER + 4].copy_from_slice(&19u16.to_be_bytes());
    refresh_v4(&mut f);
    assert_eq!(parse_frame(&f), Err(WireError::BadHeader));
    // IP length leaves less than a TCP header (18 bytes: the checksum
    // field is still inside, so the checksum can be made right).
    let mut f = v4_frame(b"");
    f[ETH_HEADER + 2..ETH_HEADER + 4].copy_from_slice(&38u16.to_be_bytes());
    refresh_v4(&mut f);
    assert_eq!(parse_frame(&f), Err(WireError::Truncated));
    // TCP data offset below 5.
    let mut f = v4_frame(b"data");
    f[ETH_HEADER + IPV4_HEADER + 12] = 0x40;
    refresh_v4(&mut f);
    assert_eq!(parse_frame(&f), Err(WireError::BadHeader));
    // TCP data offset past the segment end.
    let mut f = v4_frame(b"data");
    f[ETH_HEADER + IPV4_HEADER + 12] = 0xf0;
    refresh_v4(&mut f);
    assert_eq!(parse_frame(&f), Err(WireError::Truncated));
    // IPv6 version wrong.
    let mut f = build(&template(v6(), false), &fields(false), &[b"x"]);
    f[ETH_HEADER] = 0x4e;
    assert_eq!(parse_frame(&f), Err(WireError::BadHeader));
}

/// An untagged IPv4 frame whose TCP options are `options` (padded to 4).
fn frame_with_options(options: &[u8]) -> Vec<u8> {
    let mut opts = options.to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(0);
    }
    let base = v4_frame(b"pay");
    let tcp = ETH_HEADER + IPV4_HEADER;
    let mut f = base[..tcp + TCP_HEADER].to_vec();
    f.extend_from_slice(&opts);
    f.extend_from_slice(b"pay");
    f[tcp + 12] = (((TCP_HEADER + opts.len()) / 4) as u8) << 4;
    let total = (f.len() - ETH_HEADER) as u16;
    f[ETH_HEADER + 2..ETH_HEADER + 4].copy_from_slice(&total.to_be_bytes());
    refresh_v4(&mut f);
    f
}

#[test]
fn tcp_option_edge_cases() {
    let parse = |o: &[u8]| {
        let f = frame_with_options(o);
        let s = parse_frame(&f).unwrap();
        assert_eq!(s.payload, b"pay");
        (s.mss, s.window_scale, s.sack_permitted, s.timestamps)
    };
    // All four, unaligned, with an unknown option in between.
    assert_eq!(
        parse(&[
            2, 4, 5, 0xb4, 99, 3, 0xaa, 3, 3, 14, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2
        ]),
        (Some(1460), Some(14), true, Some((1, 2)))
    );
    // End of list stops parsing.
    assert_eq!(parse(&[0, 2, 4, 5, 0xb4]), (None, None, false, None));
    // Wrong lengths for known kinds are skipped, parsing goes on.
    assert_eq!(
        parse(&[2, 5, 1, 2, 3, 3, 2, 4, 3, 0, 3, 3, 9]),
        (None, Some(9), false, None)
    );
    // A length of 0 or 1, or past the end, ends parsing harmlessly.
    assert_eq!(
        parse(&[3, 3, 2, 2, 0, 2, 4, 1, 1]),
        (None, Some(2), false, None)
    );
    assert_eq!(parse(&[3, 3, 2, 4, 1]), (None, Some(2), false, None));
    assert_eq!(parse(&[1, 1, 1, 8, 40, 0, 0, 0]), (None, None, false, None));
    // A kind with no room for its length byte.
    assert_eq!(parse(&[1, 1, 1, 2]), (None, None, false, None));
    // The last of a repeated option wins.
    assert_eq!(parse(&[3, 3, 1, 3, 3, 2]), (None, Some(2), false, None));
}

// ---------------------------------------------------------------------------
// Property tests

#[test]
fn sack_blocks_are_written_after_the_timestamps_and_etherparse_reads_them() {
    for ts in [false, true] {
        let mut s = fields(ts);
        s.sack.push(1000, 2000);
        s.sack.push(3000, 4500);
        s.sack.push(0xFFFF_FF00, 16);
        let t = template(v4(), false);
        let f = build(&t, &s, &[b"x"]);
        let h = PacketHeaders::from_ethernet_slice(&f).unwrap();
        let Some(TransportHeader::Tcp(tcp)) = &h.transport else {
            panic!("no tcp")
        };
        let got: Vec<etherparse::TcpOptionElement> =
            tcp.options_iterator().map(|o| o.unwrap()).collect();
        let sack = got
            .iter()
            .find_map(|o| match o {
                etherparse::TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                    let mut v = vec![*first];
                    v.extend(rest.iter().flatten().copied());
                    Some(v)
                }
                _ => None,
            })
            .expect("a SACK option");
        assert_eq!(sack, vec![(1000, 2000), (3000, 4500), (0xFFFF_FF00, 16)]);
        assert_eq!(h.payload.slice(), b"x");
        assert_eq!(parse_frame(&f).unwrap().sack, s.sack);
    }
    // Malformed SACK options (a length that is not 2 + 8n) are ignored.
    let f = frame_with_options(&[5, 7, 0, 0, 0, 1, 0, 1, 0]);
    assert_eq!(parse_frame(&f).map(|s| s.sack.n).ok(), Some(0));
}

fn arb_ip() -> impl Strategy<Value = IpPair> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>(), any::<u8>(), any::<u8>())
            .prop_map(|(src, dst, ttl, tos)| IpPair::V4 { src, dst, ttl, tos }),
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u8>(),
            any::<u8>(),
            0u32..0x10_0000
        )
            .prop_map(
                |(src, dst, hop_limit, traffic_class, flow_label)| IpPair::V6 {
                    src,
                    dst,
                    hop_limit,
                    traffic_class,
                    flow_label
                }
            ),
    ]
}

fn arb_template() -> impl Strategy<Value = FrameTemplate> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        proptest::option::of(any::<u16>()),
        arb_ip(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(
            |(dst_mac, src_mac, vlan_tci, ip, src_port, dst_port)| FrameTemplate {
                dst_mac,
                src_mac,
                vlan_tci,
                ip,
                src_port,
                dst_port,
            },
        )
}

fn arb_fields() -> impl Strategy<Value = SegmentFields> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        proptest::option::of(any::<(u32, u32)>()),
        prop::collection::vec(any::<(u32, u32)>(), 0..=3),
    )
        .prop_map(|(seq, ack, flags, window, ip_id, timestamps, blocks)| {
            let mut sack = SackBlocks::default();
            for (l, r) in blocks {
                sack.push(l, r);
            }
            SegmentFields {
                seq,
                ack,
                flags,
                window,
                ip_id,
                timestamps,
                sack,
            }
        })
}

proptest! {
    #[test]
    fn prop_parse_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_frame(&bytes);
    }

    #[test]
    fn prop_parse_arbitrary_after_ethernet_never_panics(
        ethertype in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x8100)],
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        // Arbitrary bytes rarely reach the IP parser; force the EtherType.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(&body);
        let _ = parse_frame(&f);
    }

    #[test]
    fn prop_parse_mutated_frames_never_panics(
        t in arb_template(),
        s in arb_fields(),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        cut_it in any::<bool>(),
    ) {
        let mut f = build(&t, &s, &[&payload]);
        for (at, v) in edits {
            let i = at.index(f.len());
            f[i] = v;
        }
        if cut_it {
            f.truncate(cut.index(f.len() + 1));
        }
        if let Ok(seg) = parse_frame(&f) {
            // Whatever parses, the payload lies inside the frame.
            prop_assert!(seg.payload.len() <= f.len());
        }
    }

    #[test]
    fn prop_round_trip(
        t in arb_template(),
        s in arb_fields(),
        payload in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(0usize..600, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let mut lens = Vec::new();
        let mut prev = 0;
        for c in cuts {
            // Sorted, so `c >= prev` even after clamping.
            let c = c.min(payload.len());
            lens.push(c - prev);
            prev = c;
        }
        let frags = split(&payload, &lens);
        let f = build(&t, &s, &frags);
        let seg = parse_frame(&f).unwrap();
        prop_assert_eq!(seg.ip, t.ip);
        prop_assert_eq!(seg.vlan_tci, t.vlan_tci);
        prop_assert_eq!((seg.src_mac, seg.dst_mac), (t.src_mac, t.dst_mac));
        prop_assert_eq!((seg.src_port, seg.dst_port), (t.src_port, t.dst_port));
        prop_assert_eq!((seg.seq, seg.ack, seg.flags, seg.window), (s.seq, s.ack, s.flags, s.window));
        prop_assert_eq!(seg.timestamps, s.timestamps);
        prop_assert_eq!(seg.sack, s.sack);
        prop_assert_eq!(seg.payload, &payload[..]);
    }

    #[test]
    fn prop_checksum_matches_reference(
        data in prop::collection::vec(any::<u8>(), 0..400),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        points.sort_unstable();
        let mut c = Checksum::new();
        let mut at = 0;
        for p in points {
            c.add(&data[at..p]);
            at = p;
        }
        c.add(&data[at..]);
        prop_assert_eq!(c.finish(), slow_checksum(&data));
    }
}
