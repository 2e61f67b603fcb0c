//! Ethernet frames carrying TCP over IPv4 or IPv6, for the software TCP
//! offload engine: [`build_frame`] for outgoing segments, [`parse_frame`]
//! for received ones.
//!
//! Safe Rust only, no allocation, and no path that can panic: every access
//! goes through checked splits or fixed-size arrays, so a hostile frame can
//! at worst produce a [`WireError`].

mod checksum;
#[cfg(test)]
mod tests;

pub use checksum::{Checksum, checksum};

/// Ethernet II header: destination MAC, source MAC, EtherType.
pub const ETH_HEADER: usize = 14;
/// 802.1Q tag inserted after the MACs: TPID 0x8100 and the TCI.
pub const VLAN_TAG: usize = 4;
/// IPv4 header without options (this module never sends options).
pub const IPV4_HEADER: usize = 20;
/// IPv6 fixed header.
pub const IPV6_HEADER: usize = 40;
/// TCP header without options.
pub const TCP_HEADER: usize = 20;
/// The timestamp option as sent: NOP, NOP, kind 8, length 10, TSval, TSecr.
pub const TCP_TIMESTAMP_OPTION: usize = 12;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// TPID of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// TPID of an 802.1ad (QinQ) service tag.
pub const ETHERTYPE_QINQ: u16 = 0x88A8;
/// IP protocol number of TCP.
pub const IP_PROTO_TCP: u8 = 6;

/// TCP header flag bits (byte 13 of the header).
pub mod tcp_flags {
    /// No more data from the sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push.
    pub const PSH: u8 = 0x08;
    /// The acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
    /// The urgent pointer is significant.
    pub const URG: u8 = 0x20;
    /// ECN echo (RFC 3168).
    pub const ECE: u8 = 0x40;
    /// Congestion window reduced (RFC 3168).
    pub const CWR: u8 = 0x80;
}

/// IPv4 flags/fragment field: don't fragment.
const IPV4_DF: u16 = 0x4000;
/// IPv4 flags/fragment field: more fragments, plus the 13-bit offset.
const IPV4_FRAGMENT_MASK: u16 = 0x3FFF;

/// The IP layer of a connection: addresses plus the per-version fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpPair {
    /// IPv4; `tos` is the whole DSCP/ECN byte.
    V4 {
        src: [u8; 4],
        dst: [u8; 4],
        ttl: u8,
        tos: u8,
    },
    /// IPv6; only the low 20 bits of `flow_label` go on the wire.
    V6 {
        src: [u8; 16],
        dst: [u8; 16],
        hop_limit: u8,
        traffic_class: u8,
        flow_label: u32,
    },
}

impl IpPair {
    /// Length of the IP header this module writes for this pair.
    #[must_use]
    pub const fn header_len(&self) -> usize {
        match self {
            Self::V4 { .. } => IPV4_HEADER,
            Self::V6 { .. } => IPV6_HEADER,
        }
    }

    /// The TCP pseudo-header sum (RFC 793 / RFC 8200 §8.1) for a TCP
    /// segment (header and payload) of `tcp_len` bytes.
    fn pseudo_header(&self, tcp_len: u16) -> Checksum {
        let mut c = Checksum::new();
        match self {
            Self::V4 { src, dst, .. } => {
                c.add(src);
                c.add(dst);
            }
            Self::V6 { src, dst, .. } => {
                c.add(src);
                c.add(dst);
            }
        }
        // IPv4 has a zero byte, the protocol and a 16-bit length; IPv6 a
        // 32-bit length, three zero bytes and the next header. Both sum to
        // protocol + length.
        c.add_u16(u16::from(IP_PROTO_TCP));
        c.add_u16(tcp_len);
        c
    }
}

/// Everything constant for one connection's outgoing frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameTemplate {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    /// 802.1Q TCI (PCP << 13 | DEI << 12 | VID); `None` sends untagged.
    pub vlan_tci: Option<u16>,
    pub ip: IpPair,
    pub src_port: u16,
    pub dst_port: u16,
}

impl FrameTemplate {
    /// Length of the link header: Ethernet, plus the tag if any.
    #[must_use]
    pub const fn link_header_len(&self) -> usize {
        if self.vlan_tci.is_some() {
            ETH_HEADER + VLAN_TAG
        } else {
            ETH_HEADER
        }
    }

    /// Bytes in front of the payload in a frame from [`build_frame`].
    #[must_use]
    pub const fn header_len(&self, with_timestamps: bool) -> usize {
        let tcp = if with_timestamps {
            TCP_HEADER + TCP_TIMESTAMP_OPTION
        } else {
            TCP_HEADER
        };
        self.link_header_len() + self.ip.header_len() + tcp
    }
}

/// SACK blocks (RFC 2018): `[left, right)` sequence ranges, the first `n`
/// of `blocks` in use. At most three: with the timestamp option, three are
/// all the 40 bytes of TCP options hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SackBlocks {
    pub n: u8,
    pub blocks: [(u32, u32); 3],
}

impl SackBlocks {
    /// The blocks in use.
    #[must_use]
    pub fn as_slice(&self) -> &[(u32, u32)] {
        self.blocks.get(..usize::from(self.n)).unwrap_or(&[])
    }

    /// Append a block (ignored when full).
    pub fn push(&mut self, left: u32, right: u32) {
        if let Some(b) = self.blocks.get_mut(usize::from(self.n)) {
            *b = (left, right);
            self.n += 1;
        }
    }

    /// Bytes the option takes on the wire: two NOPs, kind, length and
    /// eight bytes per block; nothing without blocks.
    #[must_use]
    pub const fn option_len(&self) -> usize {
        if self.n == 0 {
            0
        } else {
            4 + 8 * self.n as usize
        }
    }
}

/// Per-segment fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentFields {
    pub seq: u32,
    pub ack: u32,
    /// [`tcp_flags`] bits.
    pub flags: u8,
    pub window: u16,
    /// IPv4 Identification; unused for IPv6.
    pub ip_id: u16,
    /// (TSval, TSecr): sends the timestamp option when present.
    pub timestamps: Option<(u32, u32)>,
    /// SACK blocks: sends the SACK option (after the timestamps) when any.
    pub sack: SackBlocks,
}

/// Why a frame could not be built or parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The frame ends before the bytes a header says are there.
    Truncated,
    /// The output buffer cannot hold the frame.
    BufferTooSmall,
    /// The segment does not fit the 16-bit IP length field.
    TooLong,
    /// The EtherType is neither IPv4 nor IPv6 (nor a VLAN tag).
    NotIp,
    /// The IP packet does not carry TCP.
    NotTcp,
    /// Valid but outside what this module handles: stacked VLAN tags,
    /// IPv6 extension headers.
    Unsupported,
    /// An IPv4 fragment (more-fragments set or non-zero offset).
    Fragment,
    /// The IPv4 header checksum or the TCP checksum is wrong.
    Checksum,
    /// A header field holds an impossible value (version, IHL, data
    /// offset, an IP length shorter than its own header).
    BadHeader,
}

/// A parsed received segment. Everything is as on the wire; the options
/// are reported raw (for example a window scale above 14 is not clamped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub vlan_tci: Option<u16>,
    pub ip: IpPair,
    /// IPv4 DF; always false for IPv6 (which has no such bit).
    pub dont_fragment: bool,
    /// The IPv4 header carried options (they are skipped, not interpreted).
    pub ip_options: bool,
    /// Length of the IP datagram: IP header(s), TCP header and payload.
    pub ip_len: u32,
    /// IPv4 Identification; zero for IPv6.
    pub ip_id: u16,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// [`tcp_flags`] bits.
    pub flags: u8,
    pub window: u16,
    pub urgent: u16,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
    /// The SACK option's blocks (the first three, as sent).
    pub sack: SackBlocks,
    /// TCP payload, bounded by the IP length (Ethernet padding excluded).
    pub payload: &'a [u8],
}

impl Segment<'_> {
    /// Sequence space the segment occupies: payload, plus one each for
    /// SYN and FIN.
    #[must_use]
    pub fn seq_len(&self) -> u32 {
        // The payload fits a 16-bit IP length, so none of this can overflow.
        let data = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        data.saturating_add(u32::from(self.flags & tcp_flags::SYN != 0))
            .saturating_add(u32::from(self.flags & tcp_flags::FIN != 0))
    }
}

// ---------------------------------------------------------------------------
// Building

/// Splits the first `N` bytes off `buf` as an array.
#[inline]
fn take_mut<const N: usize>(buf: &mut [u8]) -> Result<(&mut [u8; N], &mut [u8]), WireError> {
    buf.split_first_chunk_mut::<N>()
        .ok_or(WireError::BufferTooSmall)
}

/// Writes a whole frame into `out` and returns its length.
///
/// The frame is Ethernet II (with an 802.1Q tag when the template has a
/// TCI), then IPv4 (no options, DF set, offset 0, `s.ip_id`) or IPv6 (next
/// header TCP), then TCP with the timestamp option (NOP, NOP, TS) when
/// `s.timestamps` is set, then the `payload` fragments in order. Lengths,
/// the IPv4 header checksum and the TCP checksum are filled in. Short
/// frames are not padded to the Ethernet minimum (the send path does that).
///
/// # Errors
/// [`WireError::TooLong`] if the segment does not fit the IP length field,
/// [`WireError::BufferTooSmall`] if `out` cannot hold the frame. Nothing is
/// written to `out` on error.
pub fn build_frame(
    t: &FrameTemplate,
    s: &SegmentFields,
    payload: &[&[u8]],
    out: &mut [u8],
) -> Result<usize, WireError> {
    let payload_len = payload
        .iter()
        .try_fold(0usize, |n, f| n.checked_add(f.len()))
        .ok_or(WireError::TooLong)?;
    let tcp_header_len = if s.timestamps.is_some() {
        TCP_HEADER + TCP_TIMESTAMP_OPTION
    } else {
        TCP_HEADER
    } + s.sack.option_len();
    let tcp_len = payload_len
        .checked_add(tcp_header_len)
        .ok_or(WireError::TooLong)?;
    // IPv4 counts its own header in the length field, IPv6 does not.
    let ip_len_field = match t.ip {
        IpPair::V4 { .. } => tcp_len.checked_add(IPV4_HEADER),
        IpPair::V6 { .. } => Some(tcp_len),
    }
    .and_then(|n| u16::try_from(n).ok())
    .ok_or(WireError::TooLong)?;
    let tcp_len16 = u16::try_from(tcp_len).map_err(|_| WireError::TooLong)?;
    // At most 18 + 40 + 65535: no overflow.
    let frame_len = t.link_header_len() + t.ip.header_len() + tcp_len;
    let frame = out.get_mut(..frame_len).ok_or(WireError::BufferTooSmall)?;

    // Link header.
    let (dst_mac, rest) = take_mut::<6>(frame)?;
    *dst_mac = t.dst_mac;
    let (src_mac, rest) = take_mut::<6>(rest)?;
    *src_mac = t.src_mac;
    let rest = match t.vlan_tci {
        Some(tci) => {
            let (tag, rest) = take_mut::<VLAN_TAG>(rest)?;
            let [p0, p1] = ETHERTYPE_VLAN.to_be_bytes();
            let [t0, t1] = tci.to_be_bytes();
            *tag = [p0, p1, t0, t1];
            rest
        }
        None => rest,
    };
    let (ethertype, rest) = take_mut::<2>(rest)?;

    // IP header.
    let seg = match t.ip {
        IpPair::V4 { src, dst, ttl, tos } => {
            *ethertype = ETHERTYPE_IPV4.to_be_bytes();
            let (ip, seg) = take_mut::<IPV4_HEADER>(rest)?;
            let [l0, l1] = ip_len_field.to_be_bytes();
            let [i0, i1] = s.ip_id.to_be_bytes();
            let [f0, f1] = IPV4_DF.to_be_bytes();
            let [s0, s1, s2, s3] = src;
            let [d0, d1, d2, d3] = dst;
            let mut h = [
                0x45,
                tos,
                l0,
                l1,
                i0,
                i1,
                f0,
                f1,
                ttl,
                IP_PROTO_TCP,
                0,
                0,
                s0,
                s1,
                s2,
                s3,
                d0,
                d1,
                d2,
                d3,
            ];
            let [c0, c1] = checksum(&h).to_be_bytes();
            h[10] = c0;
            h[11] = c1;
            *ip = h;
            seg
        }
        IpPair::V6 {
            src,
            dst,
            hop_limit,
            traffic_class,
            flow_label,
        } => {
            *ethertype = ETHERTYPE_IPV6.to_be_bytes();
            let (ip, seg) = take_mut::<IPV6_HEADER>(rest)?;
            let first = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0xF_FFFF);
            let (word, rest) = take_mut::<4>(ip)?;
            *word = first.to_be_bytes();
            let (fields, rest) = take_mut::<4>(rest)?;
            let [l0, l1] = ip_len_field.to_be_bytes();
            *fields = [l0, l1, IP_PROTO_TCP, hop_limit];
            let (src_out, rest) = take_mut::<16>(rest)?;
            *src_out = src;
            let (dst_out, _) = take_mut::<16>(rest)?;
            *dst_out = dst;
            seg
        }
    };

    // TCP header (checksum zero for now), options, payload.
    {
        let (h, rest) = take_mut::<TCP_HEADER>(seg)?;
        let [sp0, sp1] = t.src_port.to_be_bytes();
        let [dp0, dp1] = t.dst_port.to_be_bytes();
        let [q0, q1, q2, q3] = s.seq.to_be_bytes();
        let [a0, a1, a2, a3] = s.ack.to_be_bytes();
        let [w0, w1] = s.window.to_be_bytes();
        // Data offset in 32-bit words: 5, plus 3 for the timestamp
        // option and 1 + 2 per block for the SACK option.
        let offset = ((tcp_header_len / 4) as u8) << 4;
        *h = [
            sp0, sp1, dp0, dp1, q0, q1, q2, q3, a0, a1, a2, a3, offset, s.flags, w0, w1, 0, 0, 0, 0,
        ];
        let mut data = rest;
        if let Some((tsval, tsecr)) = s.timestamps {
            let (opt, rest) = take_mut::<TCP_TIMESTAMP_OPTION>(data)?;
            let [v0, v1, v2, v3] = tsval.to_be_bytes();
            let [e0, e1, e2, e3] = tsecr.to_be_bytes();
            // Two NOPs align the 32-bit values (RFC 7323 appendix A).
            *opt = [1, 1, 8, 10, v0, v1, v2, v3, e0, e1, e2, e3];
            data = rest;
        }
        if s.sack.n > 0 {
            // NOP, NOP, kind 5, length, then the blocks (RFC 2018 §3).
            let (opt, rest) = take_mut::<4>(data)?;
            *opt = [1, 1, 5, (2 + 8 * s.sack.n as usize) as u8];
            data = rest;
            for &(left, right) in s.sack.as_slice() {
                let (b, rest) = take_mut::<8>(data)?;
                let [l0, l1, l2, l3] = left.to_be_bytes();
                let [r0, r1, r2, r3] = right.to_be_bytes();
                *b = [l0, l1, l2, l3, r0, r1, r2, r3];
                data = rest;
            }
        }
        for fragment in payload {
            let (dst, rest) = data
                .split_at_mut_checked(fragment.len())
                .ok_or(WireError::BufferTooSmall)?;
            dst.copy_from_slice(fragment);
            data = rest;
        }
    }

    // One pass over the contiguous segment in `out`, which is still hot in
    // the cache, rather than over the caller's fragments.
    let mut sum = t.ip.pseudo_header(tcp_len16);
    sum.add(seg);
    let (h, _) = take_mut::<TCP_HEADER>(seg)?;
    let [c0, c1] = sum.finish().to_be_bytes();
    h[16] = c0;
    h[17] = c1;
    Ok(frame_len)
}

// ---------------------------------------------------------------------------
// Parsing

/// Reads fixed-size fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(WireError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, WireError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, WireError> {
        self.array::<2>().map(u16::from_be_bytes)
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, WireError> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        self.0
    }
}

/// The IP layer of a received frame.
struct IpLayer<'a> {
    ip: IpPair,
    dont_fragment: bool,
    /// IPv4 options were present.
    options: bool,
    /// Bytes of IP header (IPv4 with its options; 40 for IPv6).
    header_len: usize,
    ip_id: u16,
    /// TCP header and payload, bounded by the IP length.
    segment: &'a [u8],
}

/// Parses a received frame: Ethernet II with at most one 802.1Q tag, IPv4
/// (options skipped, fragments refused) or IPv6 (TCP directly after the
/// fixed header), then TCP. The IPv4 header checksum and the TCP checksum
/// are verified; the payload ends where the IP length says.
///
/// TCP options: MSS, window scale, SACK-permitted and timestamps are
/// reported; others, and known ones with a wrong length, are skipped. As
/// in common stacks, an option whose length is malformed or overruns the
/// header ends option parsing without failing the segment.
///
/// # Errors
/// See [`WireError`].
pub fn parse_frame(frame: &[u8]) -> Result<Segment<'_>, WireError> {
    let mut r = Reader(frame);
    let dst_mac = r.array::<6>()?;
    let src_mac = r.array::<6>()?;
    let mut ethertype = r.u16()?;
    let mut vlan_tci = None;
    if ethertype == ETHERTYPE_VLAN {
        vlan_tci = Some(r.u16()?);
        ethertype = r.u16()?;
    }
    let ip = match ethertype {
        ETHERTYPE_IPV4 => parse_ipv4(r.rest())?,
        ETHERTYPE_IPV6 => parse_ipv6(r.rest())?,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ => return Err(WireError::Unsupported),
        _ => return Err(WireError::NotIp),
    };

    // Checksum first, so that a corrupted data offset reads as corruption.
    let tcp_len = u16::try_from(ip.segment.len()).map_err(|_| WireError::BadHeader)?;
    let mut sum = ip.ip.pseudo_header(tcp_len);
    sum.add(ip.segment);
    if sum.finish() != 0 {
        return Err(WireError::Checksum);
    }

    let t = parse_tcp_header(ip.segment)?;
    let payload = ip.segment.get(t.header_len..).ok_or(WireError::Truncated)?;
    let TcpHeader {
        src_port,
        dst_port,
        seq,
        ack,
        flags,
        window,
        urgent,
        header_len: _,
        mss,
        window_scale,
        sack_permitted,
        timestamps,
        sack,
    } = t;

    Ok(Segment {
        src_mac,
        dst_mac,
        vlan_tci,
        ip: ip.ip,
        dont_fragment: ip.dont_fragment,
        ip_options: ip.options,
        ip_len: (ip.header_len + ip.segment.len()) as u32,
        ip_id: ip.ip_id,
        src_port,
        dst_port,
        seq,
        ack,
        flags,
        window,
        urgent,
        mss,
        window_scale,
        sack_permitted,
        timestamps,
        sack,
        payload,
    })
}

/// The fields of a TCP header (options parsed as [`parse_frame`] does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// [`tcp_flags`] bits.
    pub flags: u8,
    pub window: u16,
    pub urgent: u16,
    /// Bytes of header, options included (20..=60).
    pub header_len: usize,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
    /// The SACK option's blocks.
    pub sack: SackBlocks,
}

/// Parses the TCP header at the start of `segment` (no checksum check: the
/// caller verified it, or it comes from the host, spec §6.9). `segment`
/// must hold at least the whole header; what follows is not looked at.
///
/// # Errors
/// [`WireError::Truncated`] for a header cut short, [`WireError::BadHeader`]
/// for a data offset below 5 words.
pub fn parse_tcp_header(segment: &[u8]) -> Result<TcpHeader, WireError> {
    let mut r = Reader(segment);
    let src_port = r.u16()?;
    let dst_port = r.u16()?;
    let seq = r.u32()?;
    let ack = r.u32()?;
    let offset = r.u8()?;
    let flags = r.u8()?;
    let window = r.u16()?;
    let _checksum = r.u16()?;
    let urgent = r.u16()?;
    let header_len = usize::from(offset >> 4) * 4;
    let options_len = header_len
        .checked_sub(TCP_HEADER)
        .ok_or(WireError::BadHeader)?;
    let options = r.rest().get(..options_len).ok_or(WireError::Truncated)?;
    let opts = parse_options(options);
    Ok(TcpHeader {
        src_port,
        dst_port,
        seq,
        ack,
        flags,
        window,
        urgent,
        header_len,
        mss: opts.mss,
        window_scale: opts.window_scale,
        sack_permitted: opts.sack_permitted,
        timestamps: opts.timestamps,
        sack: opts.sack,
    })
}

fn parse_ipv4(packet: &[u8]) -> Result<IpLayer<'_>, WireError> {
    let (&version_ihl, _) = packet.split_first().ok_or(WireError::Truncated)?;
    if version_ihl >> 4 != 4 {
        return Err(WireError::BadHeader);
    }
    let ihl = usize::from(version_ihl & 0x0F) * 4;
    if ihl < IPV4_HEADER {
        return Err(WireError::BadHeader);
    }
    let header = packet.get(..ihl).ok_or(WireError::Truncated)?;
    // The header checksum covers the length and fragment fields: check it
    // before trusting them.
    if checksum(header) != 0 {
        return Err(WireError::Checksum);
    }
    let mut r = Reader(header);
    let _version_ihl = r.u8()?;
    let tos = r.u8()?;
    let total_len = usize::from(r.u16()?);
    let ip_id = r.u16()?;
    let fragment = r.u16()?;
    let ttl = r.u8()?;
    let protocol = r.u8()?;
    let _checksum = r.u16()?;
    let src = r.array::<4>()?;
    let dst = r.array::<4>()?;
    if fragment & IPV4_FRAGMENT_MASK != 0 {
        return Err(WireError::Fragment);
    }
    if protocol != IP_PROTO_TCP {
        return Err(WireError::NotTcp);
    }
    let datagram = packet.get(..total_len).ok_or(WireError::Truncated)?;
    let segment = datagram.get(ihl..).ok_or(WireError::BadHeader)?;
    Ok(IpLayer {
        ip: IpPair::V4 { src, dst, ttl, tos },
        dont_fragment: fragment & IPV4_DF != 0,
        options: ihl > IPV4_HEADER,
        header_len: ihl,
        ip_id,
        segment,
    })
}

fn parse_ipv6(packet: &[u8]) -> Result<IpLayer<'_>, WireError> {
    let mut r = Reader(packet);
    let first = r.u32()?;
    let payload_len = usize::from(r.u16()?);
    let next_header = r.u8()?;
    let hop_limit = r.u8()?;
    let src = r.array::<16>()?;
    let dst = r.array::<16>()?;
    if first >> 28 != 6 {
        return Err(WireError::BadHeader);
    }
    match next_header {
        IP_PROTO_TCP => {}
        // Hop-by-hop, routing, fragment, ESP, AH, destination options,
        // mobility, HIP, shim6, and the two experimental values.
        0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254 => {
            return Err(WireError::Unsupported);
        }
        _ => return Err(WireError::NotTcp),
    }
    let segment = r.rest().get(..payload_len).ok_or(WireError::Truncated)?;
    Ok(IpLayer {
        ip: IpPair::V6 {
            src,
            dst,
            hop_limit,
            traffic_class: (first >> 20) as u8,
            flow_label: first & 0xF_FFFF,
        },
        dont_fragment: false,
        options: false,
        header_len: IPV6_HEADER,
        ip_id: 0,
        segment,
    })
}

/// The TCP options the engine cares about.
#[derive(Default)]
struct TcpOptions {
    mss: Option<u16>,
    window_scale: Option<u8>,
    sack_permitted: bool,
    timestamps: Option<(u32, u32)>,
    sack: SackBlocks,
}

fn parse_options(mut options: &[u8]) -> TcpOptions {
    let mut found = TcpOptions::default();
    while let Some((&kind, after_kind)) = options.split_first() {
        match kind {
            // End of option list.
            0 => break,
            // No-operation (padding).
            1 => {
                options = after_kind;
                continue;
            }
            _ => {}
        }
        let Some(&len) = after_kind.first() else {
            break;
        };
        // `len` counts the kind and length bytes; under 2 cannot advance.
        let Some((option, rest)) = options
            .split_at_checked(usize::from(len))
            .filter(|_| len >= 2)
        else {
            break;
        };
        let body = option.get(2..).unwrap_or_default();
        match (kind, body) {
            (2, &[a, b]) => found.mss = Some(u16::from_be_bytes([a, b])),
            (3, &[shift]) => found.window_scale = Some(shift),
            (4, &[]) => found.sack_permitted = true,
            (8, &[v0, v1, v2, v3, e0, e1, e2, e3]) => {
                found.timestamps = Some((
                    u32::from_be_bytes([v0, v1, v2, v3]),
                    u32::from_be_bytes([e0, e1, e2, e3]),
                ));
            }
            (5, blocks) if !blocks.is_empty() && blocks.len() % 8 == 0 => {
                for b in blocks.chunks_exact(8) {
                    if let (Some(l), Some(r)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
                        found
                            .sack
                            .push(u32::from_be_bytes(*l), u32::from_be_bytes(*r));
                    }
                }
            }
            _ => {}
        }
        options = rest;
    }
    found
}
