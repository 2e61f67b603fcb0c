//! The simulated host's own TCP, as far as it goes before an offload: an
//! active open on the ordinary path (SYN out through
//! MiniportSendNetBufferLists, the SYN-ACK back through the ordinary
//! receive indication, the ACK), and the offload state that handshake
//! leaves, as the Windows stack would hand it to MiniportInitiateOffload.
//! Frames are built and parsed with `etherparse`, not the driver's code.

use crate::builders::TcpSpec;
use crate::peer::build::ip_headers;
use chimney_miniport::ffi::*;
use etherparse::{PacketBuilder, SlicedPacket, TcpHeader, TcpOptionElement, TransportSlice};
use std::net::IpAddr;

/// One side of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub mac: [u8; 6],
    pub ip: IpAddr,
    pub port: u16,
}

/// What the peer's SYN-ACK said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynAck {
    /// The peer's initial sequence number.
    pub irs: u32,
    /// Its window field (never scaled in a SYN).
    pub window: u16,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    /// (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
    pub sack_permitted: bool,
}

/// The host's side of an active open.
#[derive(Clone, Debug)]
pub struct ActiveOpen {
    pub local: Endpoint,
    pub remote: Endpoint,
    pub iss: u32,
    /// The MSS the host announces (its receive side: 1,460 on a 1,500 MTU).
    pub mss: u16,
    /// The window scale the host announces.
    pub rcv_wscale: u8,
    /// The host's receive window (bytes).
    pub rcv_wnd: u32,
    ip_id: u16,
}

impl ActiveOpen {
    pub fn new(local: Endpoint, remote: Endpoint, iss: u32) -> Self {
        ActiveOpen {
            local,
            remote,
            iss,
            // A 1,500-byte MTU less the IP and TCP headers.
            mss: if local.ip.is_ipv6() { 1440 } else { 1460 },
            rcv_wscale: 7,
            rcv_wnd: 65_535,
            ip_id: 0x8000,
        }
    }

    fn frame(&mut self, tcp: TcpHeader) -> Vec<u8> {
        // The host numbers its own datagrams in the upper half, as the
        // driver does for offloaded ones (the wire checks both the same way).
        self.ip_id = self.ip_id.wrapping_add(1) | 0x8000;
        let ip = ip_headers(self.local.ip, self.remote.ip, self.ip_id);
        let mut out = Vec::with_capacity(80);
        PacketBuilder::ethernet2(self.local.mac, self.remote.mac)
            .ip(ip)
            .tcp_header(tcp)
            .write(&mut out, &[])
            .expect("a handshake frame fits");
        if out.len() < 60 {
            out.resize(60, 0);
        }
        out
    }

    /// The SYN, with MSS, SACK-permitted, timestamps (TSval `tsval`) and
    /// window scale.
    pub fn syn(&mut self, tsval: u32) -> Vec<u8> {
        let mut tcp = TcpHeader::new(self.local.port, self.remote.port, self.iss, 65_535);
        tcp.syn = true;
        tcp.set_options(&[
            TcpOptionElement::MaximumSegmentSize(self.mss),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(tsval, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(self.rcv_wscale),
        ])
        .expect("SYN options fit");
        self.frame(tcp)
    }

    /// The peer's SYN-ACK to our SYN, if `frame` is one.
    pub fn parse_syn_ack(&self, frame: &[u8]) -> Option<SynAck> {
        let p = SlicedPacket::from_ethernet(frame).ok()?;
        let Some(TransportSlice::Tcp(t)) = &p.transport else {
            return None;
        };
        if !(t.syn() && t.ack())
            || t.source_port() != self.remote.port
            || t.destination_port() != self.local.port
            || t.acknowledgment_number() != self.iss.wrapping_add(1)
        {
            return None;
        }
        let mut sa = SynAck {
            irs: t.sequence_number(),
            window: t.window_size(),
            mss: None,
            wscale: None,
            timestamps: None,
            sack_permitted: false,
        };
        for o in t.options_iterator().flatten() {
            match o {
                TcpOptionElement::MaximumSegmentSize(m) => sa.mss = Some(m),
                TcpOptionElement::WindowScale(w) => sa.wscale = Some(w.min(14)),
                TcpOptionElement::Timestamp(v, e) => sa.timestamps = Some((v, e)),
                TcpOptionElement::SelectiveAcknowledgementPermitted => sa.sack_permitted = true,
                _ => {}
            }
        }
        Some(sa)
    }

    /// The window field the host writes once scaling is agreed.
    fn window_field(&self, sa: &SynAck) -> u16 {
        let shift = if sa.wscale.is_some() {
            self.rcv_wscale
        } else {
            0
        };
        (self.rcv_wnd >> shift).min(0xFFFF) as u16
    }

    /// The handshake's final ACK.
    pub fn ack(&mut self, sa: &SynAck, tsval: u32) -> Vec<u8> {
        let mut tcp = TcpHeader::new(
            self.local.port,
            self.remote.port,
            self.iss.wrapping_add(1),
            self.window_field(sa),
        );
        tcp.ack = true;
        tcp.acknowledgment_number = sa.irs.wrapping_add(1);
        if let Some((v, _)) = sa.timestamps {
            tcp.set_options(&[
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::Timestamp(tsval, v),
            ])
            .expect("ACK options fit");
        }
        self.frame(tcp)
    }

    /// The state the handshake leaves, for MiniportInitiateOffload: an
    /// ESTABLISHED connection with nothing sent or received yet, the
    /// options as agreed, `ts_time` the host's timestamp clock now.
    pub fn offload_spec(&self, sa: &SynAck, ts_time: u32) -> TcpSpec {
        let mut s = TcpSpec::established(self.local.port.to_be(), self.remote.port.to_be());
        let k = &mut s.konst;
        k.Flags = 0;
        if sa.timestamps.is_some() {
            k.Flags |= TCP_FLAG_TIMESTAMP_ENABLED;
        }
        if sa.sack_permitted {
            k.Flags |= TCP_FLAG_SACK_ENABLED;
        }
        match sa.wscale {
            Some(w) => {
                k.Flags |= TCP_FLAG_WINDOW_SCALING_ENABLED;
                k.set_SndWindScale(w);
                k.set_RcvWindScale(self.rcv_wscale);
            }
            None => {
                k.set_SndWindScale(0);
                k.set_RcvWindScale(0);
            }
        }
        // RFC 9293: 536 when the peer sent no MSS option.
        k.RemoteMss = sa.mss.unwrap_or(536);
        s.cached.InitialRcvWnd = self.rcv_wnd;
        s.cached.Flags = 0; // Nagle off: the host's TCP_NODELAY
        let d = &mut s.delegated;
        let iss1 = self.iss.wrapping_add(1);
        let irs1 = sa.irs.wrapping_add(1);
        d.RcvNxt = irs1;
        d.RcvWnd = self.rcv_wnd;
        d.SndUna = iss1;
        d.SndNxt = iss1;
        d.SndMax = iss1;
        d.SndWnd = u32::from(sa.window);
        d.MaxSndWnd = u32::from(sa.window);
        d.SendWL1 = sa.irs;
        d.CWnd = 10 * u32::from(k.RemoteMss);
        d.SsThresh = u32::MAX;
        d.TsRecent = sa.timestamps.map_or(0, |t| t.0);
        d.TsRecentAge = 0;
        d.TsTime = ts_time;
        s
    }
}
