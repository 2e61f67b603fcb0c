//! The wire and the scripted TCP peer at its far end.
//!
//! The wire carries the driver's frames out of the frame port's transmit ring
//! one per simulator step ([`wire_step`]) to the peer, which parses them with
//! `etherparse` — a parser independent of the driver's own wire code — checks
//! them ([`check`]), and keeps per connection a record of what it received
//! ([`PeerRecord`]). The peer answers with ACKs on its own schedule
//! ([`AckPolicy::Auto`]) or when a test tells it to (`Simulator::peer_ack`
//! and friends); its frames wait in a queue keyed on virtual time and reach
//! the driver's ReceiveHandler at DISPATCH_LEVEL, in order, with no simulator
//! lock held. Every frame in either direction is captured (see [`pcap`]).

pub mod build;
pub mod check;
pub mod impair;
pub mod pcap;
pub mod reasm;

use crate::exports::phy;
use crate::state::{SimCore, lock};
use crate::verifier::Violation;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;

/// Virtual-time units (100 ns) per millisecond.
const TICKS_PER_MS: u64 = 10_000;

/// TCP flag bits, as in the TCP header's flags byte (and [`SegInfo::flags`]).
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// Which way a captured frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Transmitted by the driver (the offload target) through the frame port.
    FromTarget,
    /// Sent by the scripted peer towards the driver.
    FromPeer,
}

/// A connection, named from both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnKey {
    pub target_ip: IpAddr,
    pub target_port: u16,
    pub peer_ip: IpAddr,
    pub peer_port: u16,
}

/// When the peer acknowledges what it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckPolicy {
    /// Never by itself: the test calls `Simulator::peer_ack`.
    Manual,
    /// A cumulative ACK `delay_ms` of virtual time after each data segment
    /// (0 = in the next simulator step). With `max_step = Some(n)` each ACK
    /// advances at most `n` bytes past the previous one and further ACKs
    /// follow every `delay_ms` (at least one step apart) until all is acked.
    Auto {
        delay_ms: u64,
        max_step: Option<u32>,
    },
}

/// A connection a test registers with the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConn {
    pub target_ip: IpAddr,
    pub target_port: u16,
    pub peer_ip: IpAddr,
    pub peer_port: u16,
    /// The port MAC (destination of the peer's frames).
    pub target_mac: [u8; 6],
    pub peer_mac: [u8; 6],
    /// 802.1Q tag of both directions (PCP, DEI, VLAN ID), if tagged.
    pub vlan_tci: Option<u16>,
    /// Next sequence number the peer expects from the target.
    pub rcv_nxt: u32,
    /// The peer's own next sequence number.
    pub snd_nxt: u32,
    /// Bytes the peer advertises, before scaling.
    pub window: u32,
    /// Scale the peer applies when it writes the 16-bit window field.
    pub window_shift: u8,
    /// Largest TCP payload the target may send.
    pub mss: u16,
    /// SACK was negotiated: the peer keeps out-of-order data and its ACKs
    /// carry SACK blocks (`reasm`); otherwise it drops such data.
    pub sack: bool,
    pub policy: AckPolicy,
}

impl PeerConn {
    pub fn key(&self) -> ConnKey {
        ConnKey {
            target_ip: self.target_ip,
            target_port: self.target_port,
            peer_ip: self.peer_ip,
            peer_port: self.peer_port,
        }
    }

    /// The 16-bit window field for `window` bytes.
    fn window_field(&self) -> u16 {
        (self.window >> self.window_shift).min(0xFFFF) as u16
    }
}

/// One TCP segment the peer received from the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegInfo {
    pub seq: u32,
    pub ack: u32,
    /// Payload bytes.
    pub len: u32,
    /// The TCP flags byte (see [`flags`]).
    pub flags: u8,
    /// The raw 16-bit window field.
    pub window: u16,
    /// IPv4 Identification (None for IPv6).
    pub ip_id: Option<u16>,
}

/// What the peer knows about one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerRecord {
    /// In-order bytes received, starting at the registered `rcv_nxt`.
    pub stream: Vec<u8>,
    /// Every segment received (checksums intact), in arrival order.
    pub segments: Vec<SegInfo>,
    /// Stream offset just after each segment that carried PSH and new data.
    pub psh_ends: Vec<usize>,
    /// Bytes that overlapped data already received.
    pub retransmitted_bytes: u64,
    /// Segments starting beyond `rcv_nxt` (dropped: the peer does not reassemble).
    pub out_of_order: u64,
    /// The ack number of the last segment the peer sent.
    pub last_ack_sent: u32,
    pub rst_received: bool,
    pub fin_received: bool,
    /// Next sequence number the peer expects from the target (FIN included).
    pub rcv_nxt: u32,
    /// The peer's own next sequence number.
    pub snd_nxt: u32,
    /// Segments the peer sent with ACK set (pure ACKs, window updates, RST,
    /// data, FIN): (virtual time in 100 ns, ack, window field).
    pub acks_sent: Vec<(u64, u32, u16)>,
}

/// `a` after `b` in sequence space.
pub fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

struct Conn {
    cfg: PeerConn,
    rec: PeerRecord,
    /// Right edge of the window the peer has advertised (highest ack + window).
    right_edge: u32,
    /// A max_step ACK chain is scheduled.
    chain_pending: bool,
    /// Out-of-order data kept (SACK connections).
    reasm: reasm::Reassembly,
}

/// A peer event waiting for its virtual time.
enum Event {
    /// A frame built already (manual injections).
    Frame(Vec<u8>),
    /// A frame already through the impairments, delivered as it is.
    Late(Vec<u8>),
    /// A cumulative ACK up to `upto` (skipped if nothing new), or, for
    /// `None`, a duplicate ACK of what was acked last.
    Ack { key: ConnKey, upto: Option<u32> },
    /// The next ACK of a max_step chain.
    Chain { key: ConnKey },
}

/// The scripted peer: its connections and its queue of frames to send.
#[derive(Default)]
pub struct Peer {
    conns: BTreeMap<ConnKey, Conn>,
    /// Events keyed by (due time, order).
    events: BTreeMap<(u64, u64), Event>,
    order: u64,
    ip_id: u16,
    /// Frames for no registered connection (or not TCP at all).
    pub unknown_frames: u64,
    /// Seeded impairments on this wire, if any.
    pub impair: Option<impair::Impaired>,
}

impl Peer {
    /// Drop the per-connection history (stream, segments, ACK log); the
    /// sequence state stays, so the connections carry on.
    pub fn forget_history(&mut self) {
        for c in self.conns.values_mut() {
            c.rec.stream = Vec::new();
            c.rec.segments = Vec::new();
            c.rec.psh_ends = Vec::new();
            c.rec.acks_sent = Vec::new();
        }
    }

    /// Register (or replace) a connection.
    pub fn connect(&mut self, c: PeerConn) -> ConnKey {
        let key = c.key();
        let rec = PeerRecord {
            last_ack_sent: c.rcv_nxt,
            rcv_nxt: c.rcv_nxt,
            snd_nxt: c.snd_nxt,
            ..Default::default()
        };
        let right_edge = c.rcv_nxt.wrapping_add(c.window);
        self.conns.insert(
            key,
            Conn {
                cfg: c,
                rec,
                right_edge,
                chain_pending: false,
                reasm: reasm::Reassembly::default(),
            },
        );
        key
    }

    fn conn(&mut self, key: ConnKey) -> &mut Conn {
        self.conns
            .get_mut(&key)
            .unwrap_or_else(|| panic!("no peer connection {key:?}"))
    }

    /// A copy of the record of `key`.
    pub fn record(&self, key: ConnKey) -> Option<PeerRecord> {
        self.conns.get(&key).map(|c| c.rec.clone())
    }

    fn schedule(&mut self, due: u64, ev: Event) {
        self.order += 1;
        self.events.insert((due, self.order), ev);
    }

    /// Due time of the earliest queued event (or held-back driver frame).
    pub fn next_due(&self) -> Option<u64> {
        let ev = self.events.keys().next().map(|k| k.0);
        let held = self.impair.as_ref().and_then(impair::Impaired::next_due);
        match (ev, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Build a segment of `key` from the peer (seq = its snd_nxt) and record
    /// what it advertises.
    fn emit(&mut self, now: u64, key: ConnKey, fl: u8, ack: u32, payload: &[u8]) -> Vec<u8> {
        self.ip_id = self.ip_id.wrapping_add(1);
        let ip_id = self.ip_id;
        let c = self.conn(key);
        let win = c.cfg.window_field();
        let sack = if c.cfg.sack && fl & flags::ACK != 0 {
            c.reasm.blocks(c.cfg.rcv_nxt)
        } else {
            Vec::new()
        };
        let frame =
            build::tcp_frame_with_sack(&c.cfg, ip_id, c.rec.snd_nxt, ack, fl, win, payload, &sack);
        if fl & flags::ACK != 0 {
            c.rec.last_ack_sent = ack;
            c.rec.acks_sent.push((now, ack, win));
            let edge = ack.wrapping_add(u32::from(win) << c.cfg.window_shift);
            if seq_gt(edge, c.right_edge) {
                c.right_edge = edge;
            }
        }
        let used = payload.len() as u32 + u32::from(fl & (flags::SYN | flags::FIN) != 0);
        c.rec.snd_nxt = c.rec.snd_nxt.wrapping_add(used);
        frame
    }

    /// Deliver `frame` to the driver as it is (in the next step): the
    /// peer's own manual frames, and forged, corrupt or foreign frames for
    /// robustness tests.
    pub fn inject(&mut self, now: u64, frame: Vec<u8>) {
        self.schedule(now, Event::Frame(frame));
    }

    /// Deliver `frame` to the driver at virtual time `due` (frames from a
    /// link, after its impairments).
    pub fn inject_at(&mut self, due: u64, frame: Vec<u8>) {
        self.schedule(due, Event::Frame(frame));
    }

    /// Manual ACK carrying SACK blocks (the peer's window stays).
    pub fn ack_sack(&mut self, now: u64, key: ConnKey, ack: u32, blocks: &[(u32, u32)]) {
        self.ip_id = self.ip_id.wrapping_add(1);
        let ip_id = self.ip_id;
        let c = self.conn(key);
        let win = c.cfg.window_field();
        let f = build::tcp_frame_with_sack(
            &c.cfg,
            ip_id,
            c.rec.snd_nxt,
            ack,
            flags::ACK,
            win,
            &[],
            blocks,
        );
        c.rec.last_ack_sent = ack;
        c.rec.acks_sent.push((now, ack, win));
        self.inject(now, f);
    }

    /// Manual ACK: `ack` with `window` bytes (which also becomes the peer's window).
    pub fn ack(&mut self, now: u64, key: ConnKey, ack: u32, window: u32) {
        self.conn(key).cfg.window = window;
        let f = self.emit(now, key, flags::ACK, ack, &[]);
        self.inject(now, f);
    }

    /// A pure window update: the last ack again, with `window` bytes.
    pub fn set_window(&mut self, now: u64, key: ConnKey, window: u32) {
        let c = self.conn(key);
        c.cfg.window = window;
        let ack = c.rec.last_ack_sent;
        let f = self.emit(now, key, flags::ACK, ack, &[]);
        self.inject(now, f);
    }

    /// An acceptable RST (seq = the peer's snd_nxt).
    pub fn rst(&mut self, now: u64, key: ConnKey) {
        let ack = self.conn(key).rec.last_ack_sent;
        let f = self.emit(now, key, flags::RST | flags::ACK, ack, &[]);
        self.inject(now, f);
    }

    /// A data segment from the peer (seq = snd_nxt, which then advances).
    pub fn send(&mut self, now: u64, key: ConnKey, data: &[u8], psh: bool) {
        let ack = self.conn(key).rec.last_ack_sent;
        let fl = flags::ACK | if psh { flags::PSH } else { 0 };
        let f = self.emit(now, key, fl, ack, data);
        self.inject(now, f);
    }

    /// A data segment from the peer at sequence number `seq` (out of
    /// order, overlapping, a repeat); `snd_nxt` moves to its end if that is
    /// further.
    pub fn send_at(&mut self, now: u64, key: ConnKey, seq: u32, data: &[u8], psh: bool) {
        let c = self.conn(key);
        let next = c.rec.snd_nxt;
        c.rec.snd_nxt = seq;
        let ack = c.rec.last_ack_sent;
        let fl = flags::ACK | if psh { flags::PSH } else { 0 };
        let f = self.emit(now, key, fl, ack, data);
        let c = self.conn(key);
        if seq_gt(next, c.rec.snd_nxt) {
            c.rec.snd_nxt = next;
        }
        self.inject(now, f);
    }

    /// A FIN from the peer (it consumes one sequence number).
    pub fn fin(&mut self, now: u64, key: ConnKey) {
        let ack = self.conn(key).rec.last_ack_sent;
        let f = self.emit(now, key, flags::FIN | flags::ACK, ack, &[]);
        self.inject(now, f);
    }

    /// Run the earliest event due at `now`: None if none is due, else the
    /// frame (if any) to deliver to the driver.
    pub fn step(&mut self, now: u64) -> Option<Option<Vec<u8>>> {
        let (&k, _) = self.events.iter().next()?;
        if k.0 > now {
            return None;
        }
        let ev = self.events.remove(&k)?;
        let frame = match ev {
            Event::Late(f) => return Some(Some(f)),
            Event::Frame(f) => Some(f),
            Event::Ack { key, upto } => self.fire_ack(now, key, upto),
            Event::Chain { key } => self.fire_chain(now, key),
        };
        let (Some(f), Some(imp)) = (frame.as_ref(), self.impair.as_mut()) else {
            return Some(frame);
        };
        // Through the inbound impairments: copies due later wait as Late
        // events; one due now goes at once.
        let mut now_copy = None;
        for due in imp.to_driver(now, f) {
            if due <= now && now_copy.is_none() {
                now_copy = Some(f.clone());
            } else {
                self.schedule(due, Event::Late(f.clone()));
            }
        }
        Some(now_copy)
    }

    fn fire_ack(&mut self, now: u64, key: ConnKey, upto: Option<u32>) -> Option<Vec<u8>> {
        let c = self.conns.get(&key)?;
        let last = c.rec.last_ack_sent;
        let ack = match upto {
            Some(u) if seq_gt(u, last) => u,
            Some(_) => return None,
            None => last,
        };
        Some(self.emit(now, key, flags::ACK, ack, &[]))
    }

    fn fire_chain(&mut self, now: u64, key: ConnKey) -> Option<Vec<u8>> {
        let c = self.conns.get_mut(&key)?;
        c.chain_pending = false;
        let AckPolicy::Auto {
            delay_ms,
            max_step: Some(n),
        } = c.cfg.policy
        else {
            return None;
        };
        let target = c.rec.rcv_nxt;
        let last = c.rec.last_ack_sent;
        let limit = last.wrapping_add(n);
        let ack = if seq_gt(target, limit) { limit } else { target };
        if ack != target {
            c.chain_pending = true;
            self.schedule(now + delay_ms * TICKS_PER_MS, Event::Chain { key });
        }
        (ack != last).then(|| self.emit(now, key, flags::ACK, ack, &[]))
    }

    /// Receive one frame the driver transmitted; returns the rule violations found.
    pub fn on_driver_frame(&mut self, now: u64, frame: &[u8], port_mac: [u8; 6]) -> Vec<String> {
        let mut problems = Vec::new();
        let seg = match check::parse(frame, port_mac, &mut problems) {
            check::Parsed::Bad => return problems,
            check::Parsed::Other => {
                self.unknown_frames += 1;
                return problems;
            }
            check::Parsed::Tcp(s) => s,
        };
        let Some(c) = self.conns.get_mut(&seg.key) else {
            self.unknown_frames += 1;
            return problems;
        };
        check::conn_rules(&c.cfg, c.right_edge, &seg, &mut problems);
        if !seg.intact {
            // A receiver drops a segment whose checksum fails.
            return problems;
        }
        let reply = receive(c, &seg, &mut problems);
        let AckPolicy::Auto { delay_ms, max_step } = c.cfg.policy else {
            return problems;
        };
        let due = now + delay_ms * TICKS_PER_MS;
        let key = seg.key;
        let ev = match reply {
            Reply::None => None,
            Reply::Duplicate => Some(Event::Ack { key, upto: None }),
            Reply::Advanced if max_step.is_none() => Some(Event::Ack {
                key,
                upto: Some(c.rec.rcv_nxt),
            }),
            Reply::Advanced if !c.chain_pending => {
                c.chain_pending = true;
                Some(Event::Chain { key })
            }
            Reply::Advanced => None,
        };
        if let Some(ev) = ev {
            self.schedule(due, ev);
        }
        problems
    }
}

/// What a received segment calls for.
enum Reply {
    None,
    /// New data or a FIN: acknowledge it.
    Advanced,
    /// Old or out-of-order data: repeat the last ACK.
    Duplicate,
}

/// Apply a segment to a connection's receive state.
fn receive(c: &mut Conn, seg: &check::Seg, problems: &mut Vec<String>) -> Reply {
    let r = &mut c.rec;
    let len = seg.payload.len() as u32;
    r.segments.push(SegInfo {
        seq: seg.seq,
        ack: seg.ack,
        len,
        flags: seg.flags,
        window: seg.window,
        ip_id: seg.ip_id,
    });
    if seg.flags & flags::RST != 0 {
        r.rst_received = true;
        return Reply::None;
    }
    let fin = seg.flags & flags::FIN != 0;
    if len == 0 && !fin {
        // A segment before RCV.NXT (a keep-alive probe, SEQ = RCV.NXT − 1)
        // is not acceptable: answered with an ACK (RFC 793 §3.9). A pure
        // ACK at RCV.NXT needs no answer.
        if seq_gt(r.rcv_nxt, seg.seq) {
            return Reply::Duplicate;
        }
        return Reply::None;
    }
    if seq_gt(seg.seq, r.rcv_nxt) {
        r.out_of_order += 1;
        // A SACK peer keeps it; its ACK then reports it (a FIN waits).
        if c.cfg.sack
            && len > 0
            && let Some(at) = reasm::offset(c.cfg.rcv_nxt, seg.seq)
        {
            c.reasm.hold(at, &seg.payload);
        }
        return Reply::Duplicate;
    }
    let mut reply = Reply::Duplicate;
    // Bytes of this segment before rcv_nxt: already received.
    let overlap = r.rcv_nxt.wrapping_sub(seg.seq).min(len);
    if overlap > 0 {
        r.retransmitted_bytes += u64::from(overlap);
        compare_retransmission(c.cfg.rcv_nxt, seg, overlap, &r.stream, problems);
    }
    if len > overlap {
        r.stream.extend_from_slice(&seg.payload[overlap as usize..]);
        r.rcv_nxt = r.rcv_nxt.wrapping_add(len - overlap);
        if seg.flags & flags::PSH != 0 {
            r.psh_ends.push(r.stream.len());
        }
        // Kept data that now continues the stream joins it.
        if c.cfg.sack && !c.reasm.is_empty() {
            let more = c.reasm.take_in_order(r.rcv_nxt.wrapping_sub(c.cfg.rcv_nxt));
            r.stream.extend_from_slice(&more);
            r.rcv_nxt = r.rcv_nxt.wrapping_add(more.len() as u32);
        }
        reply = Reply::Advanced;
    }
    if fin {
        let fin_seq = seg.seq.wrapping_add(len);
        if fin_seq == r.rcv_nxt && !r.fin_received {
            r.fin_received = true;
            r.rcv_nxt = r.rcv_nxt.wrapping_add(1);
            reply = Reply::Advanced;
        }
    }
    reply
}

/// A retransmission must carry the very bytes first sent at those sequence numbers.
fn compare_retransmission(
    start: u32,
    seg: &check::Seg,
    overlap: u32,
    stream: &[u8],
    problems: &mut Vec<String>,
) {
    for i in 0..overlap {
        let s = seg.seq.wrapping_add(i);
        if seq_gt(start, s) {
            continue; // before the registered start: nothing to compare with
        }
        let off = s.wrapping_sub(start) as usize;
        if let Some(&b) = stream.get(off)
            && b != seg.payload[i as usize]
        {
            problems.push(format!(
                "{:?}: retransmitted byte at stream offset {off} is {:#04x}, first sent as {b:#04x}",
                seg.key, seg.payload[i as usize]
            ));
            return;
        }
    }
}

/// One wire step: carry one frame from a transmit ring to the peer (calling
/// TxReadyHandler if a transmit was refused), or else deliver one due peer
/// event to the driver. Returns false when there was nothing to do.
pub fn wire_step(sim: &SimCore) -> bool {
    // NDIS gives lent receive NBLs back at some later point: here, before
    // the next frame moves.
    if crate::exports::nblpool::return_lent(sim, false) > 0 {
        return true;
    }
    let now = sim.now_100ns.load(Ordering::SeqCst);
    // A driver frame the impairments held back, due now.
    let held = lock(&sim.peer)
        .impair
        .as_mut()
        .and_then(|i| i.take_due(now));
    if let Some(frame) = held {
        let mac = lock(&sim.phy).mac;
        let problems = lock(&sim.peer).on_driver_frame(now, &frame, mac);
        for detail in problems {
            sim.violation(Violation::Wire { detail });
        }
        return true;
    }
    if let Some((handle, frame, owed)) = phy::pop_frame(sim) {
        let mac = lock(&sim.phy).mac;
        let mut link = lock(&sim.link);
        let problems = match link.as_mut() {
            // Through the link to the outside: the frame-level rules are
            // checked here, the connection's by the far end's own TCP.
            Some(l) => {
                let mut problems = Vec::new();
                let _ = check::parse(&frame, mac, &mut problems);
                l.from_driver(now, frame);
                problems
            }
            None => {
                let mut peer = lock(&sim.peer);
                let copies = match peer.impair.as_mut() {
                    Some(i) => i.from_driver(now, frame),
                    None => vec![frame],
                };
                let mut problems = Vec::new();
                for f in copies {
                    problems.extend(peer.on_driver_frame(now, &f, mac));
                }
                problems
            }
        };
        drop(link);
        for detail in problems {
            sim.violation(Violation::Wire { detail });
        }
        if owed {
            phy::call_tx_ready(sim, handle);
        }
        return true;
    }
    let step = lock(&sim.peer).step(now);
    match step {
        None => false,
        Some(frame) => {
            if let Some(f) = frame {
                phy::deliver_to_driver(sim, &f);
            }
            true
        }
    }
}

/// Due time of the peer's next event.
pub fn next_due(sim: &SimCore) -> Option<u64> {
    lock(&sim.peer).next_due()
}
