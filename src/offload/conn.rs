//! The send side of one offloaded connection: its NBL queue and the TCP send
//! variables, under the connection's own spin lock (one per TCP pool slot,
//! so the data path never takes an adapter-wide lock).
//!
//! What it does: segmentation at most the effective MSS and never across an
//! NBL boundary (PSH on the last segment of each NBL), the peer's window and
//! the congestion window (RFC 5681 slow start / congestion avoidance),
//! cumulative ACK processing that completes NBLs only once all their bytes
//! are acknowledged, acceptable-RST handling (RFC 5961 §3), and handing the
//! queue back at upload. In-order received data is buffered and acknowledged
//! (delayed ACK per `TcpAckFrequency` / `TcpDelayedAckTicks`) through
//! [`super::rx::RxQueue`]. Retransmission, reassembly and the remaining
//! timers arrive with the software engine.

use super::backlog::{self, Throttle};
use super::close::{FinOut, Finished};
use super::objects::TcpDelegated;
use super::rx::RxQueue;
use crate::ffi::{NDIS_STATUS, ULONG};
use crate::ffi::{NDIS_STATUS_REQUEST_ABORTED, NDIS_STATUS_UPLOAD_IN_PROGRESS, PNET_BUFFER_LIST};
use crate::hw::index::FlowKey;
use crate::hw::soft::flow_of;
use crate::hw::{NicError, OffloadNic, RxSegment};
use crate::ndis::recvq::{Head, RecvQueue};
use crate::ndis::rxpool::RxPool;
use crate::ndis::sendq::{Completions, Segment, SendQueue};
use crate::ndis::spinlock::SpinGuard;
use crate::ndis::{NdisHandle, PoolSlice, SpinLock};
use crate::sync::{AtomicU64, Ordering};
use crate::wire::{self, FrameTemplate, IpPair, SegmentFields};

/// Where a connection stands, as far as sending goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxState {
    /// The slot holds no connection.
    Free,
    /// Offloaded, sending.
    Open,
    /// A terminate is pending: new sends complete UPLOAD_IN_PROGRESS.
    Uploading,
    /// An acceptable RST arrived: everything completes REQUEST_ABORTED.
    Reset,
}

/// Out-of-order segments one connection may hold for reassembly.
pub const OOO_SEGMENTS: u8 = 64;
/// Receive buffers reassembly leaves free for everyone else (the ordinary
/// path and in-order data).
pub const OOO_RESERVE: usize = 32;

/// Send variables and queue of one connection.
pub struct ConnTx {
    /// Generation of the context value that owns this slot (0 when free).
    pub generation: u32,
    /// `NdisOffloadHandle` of the connection (for indications).
    pub offload_handle: usize,
    pub state: TxState,
    /// Set after invalidation (rule 37): nothing more is transmitted.
    pub halted: bool,
    /// The hardware refused a segment for lack of ring space.
    pub ring_blocked: bool,
    /// Queued on the adapter's list of connections waiting for the hardware.
    pub waiting: bool,
    pub template: FrameTemplate,
    pub queue: SendQueue,
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub snd_max: u32,
    /// Peer's window in bytes (scaled), and the segment that last set it.
    pub snd_wnd: u32,
    pub max_snd_wnd: u32,
    pub snd_wl1: u32,
    pub snd_wl2: u32,
    pub cwnd: u32,
    pub ssthresh: u32,
    /// Effective send MSS: payload bytes per segment, options excluded.
    pub mss: u32,
    pub rcv_nxt: u32,
    pub rcv_wnd: u32,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub timestamps: bool,
    /// Nagle's algorithm (RFC 896) is on for this connection.
    pub nagle: bool,
    /// SACK was negotiated (`TCP_FLAG_SACK_ENABLED`).
    pub sack: bool,
    pub ts_recent: u32,
    /// TSval = NIC ticks + ts_delta.
    pub ts_delta: u32,
    /// Next IPv4 Identification (always within 0x8000–0xFFFF, rule 64).
    pub ip_id: u16,
    /// Anything sent or received since the offload (until then the host's
    /// delegated values are handed back untouched).
    pub touched: bool,
    /// The host's slow-start threshold (0 means "none": no limit).
    ssthresh_host: u32,
    /// The send backlog the host knows and when it was last indicated.
    backlog: Throttle,
    pub fault: HwFault,
    /// Received data held for the host, ACK and indication state.
    pub rx: RxQueue,
    /// Receive requests the host posted (spec §6.3).
    pub posted: RecvQueue,
    /// Our FIN: the host's graceful disconnect (spec §6.8).
    pub fin_out: FinOut,
    /// The peer's FIN had arrived when ours went out (LAST_ACK, not CLOSING).
    pub fin_after_peer: bool,
    /// Retransmit timer deadline in NIC ticks, while running; in
    /// FIN_WAIT_2 the same timer is the FIN_WAIT_2 timer (spec §7.3).
    pub rexmit_due: Option<u32>,
    /// Retransmission timeout now (ticks), and the RTT estimates it comes
    /// from, scaled as the host keeps them (SRTT × 8, RTTVAR × 4).
    pub rto: u32,
    pub srtt_x8: u16,
    pub rttvar_x4: u16,
    /// Retransmissions of the oldest unacknowledged segment so far.
    pub rexmit_count: u8,
    /// A segment is being timed (no timestamps): its end and when it left.
    pub rtt_timing: bool,
    pub rtt_seq: u32,
    pub rtt_time: u32,
    /// NIC tick of the first retransmission of the oldest segment (TotalRT
    /// counts from it while `rexmit_count` > 0).
    pub rt_start: u32,
    /// `MaxRT` of the cached state: 0 = `TcpMaximumRetransmissions`
    /// counts, `u32::MAX` = unlimited, else ticks of retransmitting.
    pub max_rt: u32,
    /// Persist mode (the peer's window is zero with data waiting), its
    /// round (`SndWndProbeCount`), and a window probe allowed now.
    pub persist: bool,
    pub probe_count: u8,
    pub probe_now: bool,
    /// Fast retransmit and recovery (RFC 5681 §3.2, RFC 6582): duplicate
    /// ACKs in a row (`DupAckCount`), in recovery until SND.UNA reaches
    /// `recover`, and one segment at SND.UNA to send again now.
    pub dup_acks: u8,
    pub in_recovery: bool,
    pub resend_una: bool,
    pub recover: u32,
    /// SACK (`offload::sack`): the ranges the peer reported above SND.UNA,
    /// and where the search for the next hole to resend starts in recovery.
    pub sacked: wire::SackBlocks,
    pub rexmit_next: u32,
    /// The tail-loss probe's state (`offload::rexmit`, `TLP_*`).
    pub tlp: u8,
    /// Keep-alive (spec §7.3, §6.15): its deadline while running, the
    /// probes sent unanswered (`KeepAlive.ProbeCount`), the host's settings
    /// (`KaTimeout`, `KaInterval` in ticks, `KaProbeCount`, enabled), and
    /// the blind-reset mitigation's state: the timer was started (or
    /// pulled in) by it, a challenge ACK for an in-window RST was sent in
    /// this validation period, and when the last one for a SYN went out.
    pub ka_due: Option<u32>,
    pub ka_sent: u8,
    pub ka_limit: u8,
    pub ka_enabled: bool,
    pub ka_mitigation: bool,
    pub rst_challenged: bool,
    pub ka_timeout: u32,
    pub ka_interval: u32,
    pub syn_challenge_at: Option<u32>,
    /// Slot of the neighbor this connection sends through (its forward
    /// progress and reachability, spec §6.14).
    pub neighbor: u32,
    /// Urgent data arrived (spec §6.10): nothing more is processed or sent;
    /// the connection's frames are held for the ordinary path until the
    /// upload completes.
    pub urgent: bool,
}

/// A hardware fault on a connection (the NIC refused its frames): the
/// spec's hardware-corruption sequence (§4.2, rule 54) runs at terminate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwFault {
    None,
    /// Seen; the next terminate fails.
    Detected,
    /// The terminate failed; Retrieve/HardwareFailure and Abort are due.
    Reporting,
    /// Indicated; the next terminate aborts every outstanding request.
    Reported,
}

/// The largest value `ip_id` may take and the first of its range.
const IP_ID_FIRST: u16 = 0x8000;

/// The effective send MSS: the peer's MSS, bounded by the path MTU less the
/// IP and TCP headers, less 12 bytes for the timestamp option when in use.
pub fn effective_mss(remote_mss: u16, path_mtu: u32, ipv6: bool, timestamps: bool) -> u32 {
    let ip = if ipv6 { 40 } else { 20 };
    let by_mtu = path_mtu.clamp(576, 1500).saturating_sub(ip + 20);
    let mss = u32::from(remote_mss).min(by_mtu);
    let opts = if timestamps { 12 } else { 0 };
    mss.saturating_sub(opts).max(1)
}

/// Sequence-space comparisons (RFC 793 modulo 2^32).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn seq_le(a: u32, b: u32) -> bool {
    !seq_lt(b, a)
}

/// What processing a received segment asks of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxOutcome {
    /// Nothing beyond the completions.
    None,
    /// An acceptable RST: indicate `TcpIndicateAbort`.
    Aborted,
}

/// What one [`ConnTx::pump`] handed to the hardware.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pumped {
    /// Segments posted.
    pub sent: u32,
    /// Of those, segments carrying bytes (or a FIN) sent before.
    pub retransmitted: u32,
}

/// What received data asks of the caller about acknowledging it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckNeed {
    /// Nothing (no data, or the ACK is already owed on the delayed timer).
    None,
    /// Send an ACK now (out-of-order or excess data, `TcpAckFrequency` reached).
    Now,
    /// A delayed ACK was started: put the connection on the ACK timer list.
    Delayed,
    /// A delayed ACK was started on a connection already on the timer list
    /// (for a later deadline, perhaps): make sure the timer fires in time.
    Arm,
}

impl Default for ConnTx {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnTx {
    pub const fn new() -> Self {
        ConnTx {
            generation: 0,
            offload_handle: 0,
            state: TxState::Free,
            halted: false,
            ring_blocked: false,
            waiting: false,
            template: FrameTemplate {
                dst_mac: [0; 6],
                src_mac: [0; 6],
                vlan_tci: None,
                ip: IpPair::V4 {
                    src: [0; 4],
                    dst: [0; 4],
                    ttl: 0,
                    tos: 0,
                },
                src_port: 0,
                dst_port: 0,
            },
            queue: SendQueue::new(),
            snd_una: 0,
            snd_nxt: 0,
            snd_max: 0,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: 0,
            snd_wl2: 0,
            cwnd: 0,
            ssthresh: 0,
            mss: 1,
            rcv_nxt: 0,
            rcv_wnd: 0,
            snd_wscale: 0,
            rcv_wscale: 0,
            timestamps: false,
            nagle: false,
            sack: false,
            ts_recent: 0,
            ts_delta: 0,
            ip_id: IP_ID_FIRST,
            touched: false,
            ssthresh_host: 0,
            backlog: Throttle::start(0),
            fault: HwFault::None,
            rx: RxQueue::new(),
            posted: RecvQueue::new(),
            fin_out: FinOut::None,
            fin_after_peer: false,
            rexmit_due: None,
            rto: 0,
            srtt_x8: 0,
            rttvar_x4: 0,
            rexmit_count: 0,
            rtt_timing: false,
            rtt_seq: 0,
            rtt_time: 0,
            rt_start: 0,
            max_rt: 0,
            persist: false,
            probe_count: 0,
            probe_now: false,
            dup_acks: 0,
            in_recovery: false,
            resend_una: false,
            recover: 0,
            sacked: wire::SackBlocks {
                n: 0,
                blocks: [(0, 0); 3],
            },
            rexmit_next: 0,
            tlp: 0,
            ka_due: None,
            ka_sent: 0,
            ka_limit: 0,
            ka_enabled: false,
            ka_mitigation: false,
            rst_challenged: false,
            ka_timeout: 0,
            ka_interval: 0,
            syn_challenge_at: None,
            neighbor: 0,
            urgent: false,
        }
    }

    /// Take the connection over at offload. The queue must be empty (a free slot).
    pub fn open(&mut self, i: &TxInit) {
        *self = ConnTx {
            generation: i.generation,
            offload_handle: i.offload_handle,
            state: TxState::Open,
            template: i.template,
            snd_una: i.snd_una,
            snd_nxt: i.snd_nxt,
            snd_max: i.snd_max,
            snd_wnd: i.snd_wnd,
            max_snd_wnd: i.max_snd_wnd.max(i.snd_wnd),
            snd_wl1: i.snd_wl1,
            snd_wl2: i.snd_una,
            // A zero congestion window would never send: start at one segment.
            cwnd: i.cwnd.max(i.mss),
            ssthresh: if i.ssthresh == 0 {
                u32::MAX
            } else {
                i.ssthresh
            },
            mss: i.mss.max(1),
            rcv_nxt: i.rcv_nxt,
            rcv_wnd: i.rcv_wnd,
            snd_wscale: i.snd_wscale.min(14),
            rcv_wscale: i.rcv_wscale.min(14),
            timestamps: i.timestamps,
            nagle: i.nagle,
            sack: i.sack,
            ts_recent: i.ts_recent,
            ts_delta: i.ts_delta,
            ip_id: IP_ID_FIRST | (i.ip_id_seed & 0x7FFF),
            ssthresh_host: i.ssthresh,
            srtt_x8: i.srtt_x8,
            rttvar_x4: i.rttvar_x4,
            rexmit_count: i.rexmit_count,
            max_rt: i.max_rt,
            ka_enabled: i.ka_enabled,
            ka_timeout: i.ka_timeout,
            ka_interval: i.ka_interval,
            ka_limit: i.ka_limit,
            ka_sent: i.ka_sent,
            neighbor: i.neighbor,
            ..ConnTx::new()
        };
        self.backlog = Throttle::start(self.send_backlog());
        self.rx.adv_edge = self.rcv_nxt.wrapping_add(self.rcv_wnd);
        self.take_close_state(i.tcp_state, i.rexmit_deadline);
    }

    /// The preferred send backlog now (spec §6.12; reported by query).
    pub fn send_backlog(&self) -> u32 {
        backlog::preferred(self.cwnd, self.snd_wnd, self.mss)
    }

    /// A backlog change worth a `TcpIndicateSendBacklogChange` now (rule
    /// 90: throttled), if any. Only an open connection indicates.
    pub fn backlog_change(&mut self, now: u32, ticks_per_second: u32) -> Option<u32> {
        if self.state != TxState::Open {
            return None;
        }
        let value = self.send_backlog();
        self.backlog.check(value, self.mss, now, ticks_per_second)
    }

    /// Addressing, MTU or cached variables changed (an update).
    pub fn refresh(&mut self, i: &TxInit) {
        self.template = i.template;
        self.mss = i.mss.max(1);
        self.rcv_wnd = i.rcv_wnd;
        self.nagle = i.nagle;
        self.max_rt = i.max_rt;
        self.ka_enabled = i.ka_enabled;
        self.ka_timeout = i.ka_timeout;
        self.ka_interval = i.ka_interval;
        self.ka_limit = i.ka_limit;
    }

    /// Copy the live send variables into the connection's delegated state
    /// (`now`: the NIC clock, for the time spent retransmitting).
    pub fn sync_to(&self, d: &mut TcpDelegated, now: u32) {
        if !self.touched {
            return;
        }
        self.sync_rexmit(d, now);
        self.sync_keepalive(d);
        d.snd_una = self.snd_una;
        d.snd_nxt = self.snd_nxt;
        d.snd_max = self.snd_max;
        d.snd_wnd = self.snd_wnd;
        d.max_snd_wnd = self.max_snd_wnd;
        d.send_wl1 = self.snd_wl1;
        d.cwnd = self.cwnd;
        // The live threshold once loss set one; the host's value before.
        d.ssthresh = if self.ssthresh == u32::MAX {
            self.ssthresh_host
        } else {
            self.ssthresh
        };
        d.ts_recent = self.ts_recent;
        d.rcv_nxt = self.rcv_nxt;
        if let Some(state) = self.close_state() {
            // A FIN went one way or both (RCV.NXT and SND.MAX count them).
            d.state = state;
            // FIN_WAIT_2's timer is carried in the retransmit fields.
            if matches!(self.fin_out, FinOut::Acked | FinOut::Closed) {
                d.rexmit_deadline = self.rexmit_due;
            }
        }
        // RCV.WND as last advertised (the right edge never moves back).
        d.rcv_wnd = self.rx.adv_edge.wrapping_sub(self.rcv_nxt);
    }

    /// The receive window to advertise now: the host's window less what
    /// is buffered, never pulling the advertised right edge back
    /// (RFC 793 / RFC 1122 §4.2.2.16).
    pub fn window_now(&self) -> u32 {
        let open = self.rcv_wnd.saturating_sub(self.rx.bytes);
        let kept = self.rx.adv_edge.wrapping_sub(self.rcv_nxt);
        if kept <= self.rcv_wnd && kept > open {
            kept
        } else {
            open
        }
    }

    /// The window field of a segment sent now, and the right edge it
    /// advertises (record it with [`ConnTx::advertised`] once sent).
    fn window_field(&self) -> (u16, u32) {
        let field = (self.window_now() >> self.rcv_wscale).min(0xFFFF);
        (
            field as u16,
            self.rcv_nxt.wrapping_add(field << self.rcv_wscale),
        )
    }

    /// The fields of a segment starting at SND.NXT with `flags`, carrying
    /// the current ACK, window, IP-ID and timestamps; and the right edge its
    /// window advertises (record it once the segment is posted).
    fn segment_at_snd_nxt(&self, flags: u8, now: u32) -> (SegmentFields, u32) {
        let (window, edge) = self.window_field();
        let seg = SegmentFields {
            seq: self.snd_nxt,
            ack: self.rcv_nxt,
            flags,
            window,
            ip_id: match self.template.ip {
                IpPair::V4 { .. } => self.ip_id,
                IpPair::V6 { .. } => 0,
            },
            timestamps: self
                .timestamps
                .then(|| (now.wrapping_add(self.ts_delta), self.ts_recent)),
            sack: wire::SackBlocks::default(),
        };
        (seg, edge)
    }

    fn advertised(&mut self, edge: u32) {
        if seq_lt(self.rx.adv_edge, edge) {
            self.rx.adv_edge = edge;
        }
    }

    /// An ACK went out (alone or on data): nothing is owed any more.
    fn acked_now(&mut self) {
        self.rx.unacked_segments = 0;
        self.rx.ack_due = None;
    }

    /// Take the data of `seg` (already passed [`ConnTx::on_segment`]).
    /// Data at RCV.NXT joins the in-order queue, and with it any held
    /// out-of-order segments it joins up with; data beyond RCV.NXT is held
    /// for reassembly (within the advertised window, up to
    /// [`OOO_SEGMENTS`] segments, leaving [`OOO_RESERVE`] buffers free);
    /// what exceeds the window or the free buffers is dropped, and an ACK
    /// tells the peer where the stream stands.
    pub fn on_data(
        &mut self,
        seg: &RxSegment<'_>,
        pool: &RxPool,
        ack_frequency: u32,
        ack_due: u32,
    ) -> AckNeed {
        if self.state != TxState::Open {
            return AckNeed::None;
        }
        if seg.payload.is_empty() {
            return self.on_fin(seg, 0, pool);
        }
        if self.rx.fin_in {
            // The peer's stream ended at its FIN: text after it is ignored
            // (RFC 9293 §3.10.7.4, CLOSE-WAIT and later), and an ACK says
            // where the stream ended.
            return AckNeed::Now;
        }
        let len = seg.payload.len() as u32;
        let end = seg.seq.wrapping_add(len);
        if !seq_lt(self.rcv_nxt, end) {
            // Entirely old (a retransmission we have): re-ACK.
            return AckNeed::Now;
        }
        if seq_lt(self.rcv_nxt, seg.seq) {
            // Out of order: held if it fits (RFC 9293 §3.10.7.4 lets a
            // receiver keep it), and RFC 5681 §4.2 asks for an immediate
            // duplicate ACK either way. Counted for `HighOutOfOrderPackets`.
            self.rx.out_of_order = self.rx.out_of_order.saturating_add(1);
            let edge = self.rcv_nxt.wrapping_add(self.window_now());
            let fits = edge.wrapping_sub(seg.seq).min(len) as usize;
            if seq_lt(seg.seq, edge) {
                let data = seg.payload.get(..fits).unwrap_or(&[]);
                // Only PSH matters once the data joins the stream.
                let flags = seg.flags & wire::tcp_flags::PSH;
                let _ = self.rx.hold_out_of_order(
                    pool,
                    seg.seq,
                    data,
                    flags,
                    OOO_SEGMENTS,
                    OOO_RESERVE,
                );
            }
            return AckNeed::Now;
        }
        let skip = self.rcv_nxt.wrapping_sub(seg.seq) as usize;
        let fresh = seg.payload.get(skip..).unwrap_or(&[]);
        let room = self.window_now() as usize;
        let want = fresh.len().min(room);
        let taken = self.rx.append(pool, fresh.get(..want).unwrap_or(&[]));
        self.rcv_nxt = self.rcv_nxt.wrapping_add(taken as u32);
        if taken > 0 && seg.flags & wire::tcp_flags::PSH != 0 {
            self.rx.psh = true;
        }
        self.touched = true;
        // A hole filled: held segments continue the stream, and the ACK
        // goes out at once (RFC 5681 §4.2).
        let (moved, psh) = if taken == fresh.len() {
            self.rx.drain_in_order(pool, &mut self.rcv_nxt)
        } else {
            (0, false)
        };
        self.rx.psh |= psh;
        // A segment that fills all or part of a gap is acknowledged at once
        // (RFC 5681 §4.2): data joined, or held data still waits beyond.
        if taken < fresh.len() || skip > 0 || moved > 0 || self.rx.ooo_segments > 0 {
            return AckNeed::Now;
        }
        if seg.flags & wire::tcp_flags::FIN != 0 {
            return self.on_fin(seg, len, pool);
        }
        self.rx.unacked_segments = self.rx.unacked_segments.saturating_add(1);
        if u32::from(self.rx.unacked_segments) >= ack_frequency.max(1) {
            return AckNeed::Now;
        }
        if self.rx.ack_due.is_none() {
            self.rx.ack_due = Some(ack_due);
            if !self.rx.ack_listed {
                self.rx.ack_listed = true;
                return AckNeed::Delayed;
            }
            return AckNeed::Arm;
        }
        AckNeed::None
    }

    /// A FIN in `seg`, after its `len` data bytes: accepted only in order
    /// (it must sit at RCV.NXT, all data before it taken); it takes one
    /// sequence number and is acknowledged at once. Segments held beyond it
    /// are not of the stream, and are let go. Only the receive half
    /// closes: sending goes on (spec §6.12).
    fn on_fin(&mut self, seg: &RxSegment<'_>, len: u32, pool: &RxPool) -> AckNeed {
        if seg.flags & wire::tcp_flags::FIN == 0 {
            return AckNeed::None;
        }
        let fin_seq = seg.seq.wrapping_add(len);
        if self.rx.fin_in {
            // A retransmitted FIN: ACK it again.
            return AckNeed::Now;
        }
        if fin_seq != self.rcv_nxt {
            // Out of order (data missing before it) or old: a duplicate ACK.
            return AckNeed::Now;
        }
        self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
        self.rx.fin_in = true;
        self.rx.drop_out_of_order(pool);
        self.touched = true;
        AckNeed::Now
    }

    /// The host should hear of the peer's FIN now (`TcpIndicateDisconnect`,
    /// rule 86): it arrived, and every byte before it has been delivered.
    pub fn disconnect_due(&self) -> bool {
        self.state == TxState::Open
            && self.rx.fin_in
            && !self.rx.disconnect_indicated
            && self.rx.is_empty()
            && !self.rx.indicating
    }

    /// Something for the delivery algorithm to do (spec §6.6): settled
    /// requests to hand back, buffered data for posted requests or for an
    /// indication the host has not refused, a request that completes at the
    /// head (zero bytes, malformed), a push timer that fired, or a partly
    /// filled push-mode request (pre-filled by the host) whose push timer
    /// has not started.
    pub fn delivery_due(&self) -> bool {
        let head = self.posted.head();
        if head == Head::Settled && self.state != TxState::Free {
            // Finished requests wait to be handed back (any live state).
            return true;
        }
        if self.state != TxState::Open {
            return false;
        }
        let timer_due = matches!(head, Head::Open { placed, push: true, .. } if placed > 0)
            && self.rx.push_due.is_none();
        (!self.rx.is_empty() && (head != Head::None || !self.rx.refused))
            || head == Head::Empty
            || self.rx.push_fire
            || timer_due
            || self.disconnect_due()
    }

    /// FILL (spec §6.6): copy buffered data into the posted requests,
    /// oldest first; full ones, and ones that take no data, complete into
    /// `done`. A partly filled push-mode request completes once a PSH's data
    /// is all placed or its push timer fired; otherwise its push timer
    /// starts at its first byte and restarts when more arrives (rules
    /// 66–68). Returns true if the push timer is running.
    pub fn fill(
        &mut self,
        pool: &RxPool,
        now: u32,
        push_ticks: u32,
        done: &mut Completions,
    ) -> bool {
        let mut placed_now = false;
        let mut guard = 1usize << 20;
        while guard > 0 {
            guard -= 1;
            match self.posted.head() {
                // Settled requests are handed back by the delivery
                // algorithm before it fills (they never sit behind open ones).
                Head::None | Head::Settled => break,
                Head::Empty | Head::Open { room: 0, .. } => {
                    // A zero-byte request also lets indications resume (§6.5).
                    self.posted.complete_head(done);
                    self.rx.refused = false;
                    self.rx.push_due = None;
                }
                Head::Open { .. } => {
                    let Some(b) = self.rx.front() else {
                        break;
                    };
                    let posted = &mut self.posted;
                    let n = pool.with_pending(b, |data| posted.fill_head(data));
                    if n == 0 {
                        break;
                    }
                    self.rx.consume_front(pool, n);
                    placed_now = true;
                }
            }
        }
        let all_placed = self.rx.is_empty();
        match self.posted.head() {
            Head::Open {
                placed, push: true, ..
            } if placed > 0 => {
                if (all_placed && self.rx.psh) || self.rx.push_fire {
                    self.posted.complete_head(done);
                    self.rx.push_due = None;
                } else if self.rx.push_due.is_none() || placed_now {
                    self.rx.push_due = Some(now.wrapping_add(push_ticks));
                }
            }
            _ => self.rx.push_due = None,
        }
        if all_placed {
            self.rx.psh = false;
        }
        self.rx.push_fire = false;
        self.rx.push_due.is_some()
    }

    /// After an acceptable RST the connection's data is not handed back
    /// (RFC 793: a reset flushes the receive queue).
    pub fn rx_dropped_by_reset(&self) -> bool {
        self.state == TxState::Reset
    }

    /// True when an ACK is owed (delayed or not yet sent).
    pub fn ack_owed(&self) -> bool {
        self.rx.ack_due.is_some() || self.rx.unacked_segments > 0
    }

    /// Send a pure ACK now (RCV.NXT, current window). Best effort: a full
    /// ring leaves it owed. Returns true if it went out.
    pub fn send_ack(&mut self, nic: &impl OffloadNic, pool: &RxPool, now: u32) -> bool {
        if !matches!(self.state, TxState::Open | TxState::Uploading) || self.halted {
            return false;
        }
        let (mut seg, edge) = self.segment_at_snd_nxt(wire::tcp_flags::ACK, now);
        if self.sack {
            // Pure ACKs carry what is held beyond RCV.NXT (RFC 2018); data
            // segments do not, so their payload keeps the whole MSS.
            seg.sack = self.rx.sack_blocks(pool);
        }
        if nic.post(&self.template, &seg, &[]).is_err() {
            return false;
        }
        self.advertised(edge);
        if let IpPair::V4 { .. } = self.template.ip {
            self.next_ip_id();
        }
        self.acked_now();
        true
    }

    /// After data left the receive buffers: true when the window opened
    /// enough to be worth announcing (receiver SWS avoidance, RFC 1122
    /// §4.2.3.3: by at least min(MSS, half the window)).
    pub fn window_update_due(&self) -> bool {
        let edge = self.rcv_nxt.wrapping_add(self.window_now());
        let grow = edge.wrapping_sub(self.rx.adv_edge);
        seq_lt(self.rx.adv_edge, edge) && grow >= self.mss.min(self.rcv_wnd / 2).max(1)
    }

    /// The 4-tuple this connection answers to.
    pub fn flow(&self) -> FlowKey {
        flow_of(&self.template)
    }

    /// True if the context generation `g` names this connection.
    pub fn is(&self, g: u32) -> bool {
        self.state != TxState::Free && self.generation == g
    }

    /// Advance the IPv4 Identification after a segment went out.
    pub(super) fn bump_ip_id(&mut self) {
        if let IpPair::V4 { .. } = self.template.ip {
            self.next_ip_id();
        }
    }

    fn next_ip_id(&mut self) -> u16 {
        let id = self.ip_id;
        self.ip_id = IP_ID_FIRST | (id.wrapping_add(1) & 0x7FFF);
        id
    }

    /// Bytes in flight.
    pub fn in_flight(&self) -> u32 {
        self.snd_nxt.wrapping_sub(self.snd_una)
    }

    /// Transmit what the windows allow (first, a fast retransmission if
    /// one is due). `now` is the NIC clock in ticks (for timestamps).
    pub fn pump(&mut self, nic: &impl OffloadNic, now: u32) -> Pumped {
        if self.state != TxState::Open || self.halted {
            return Pumped::default();
        }
        self.ring_blocked = false;
        let mut first = if self.resend_una {
            self.resend_oldest(nic, now)
        } else {
            Pumped::default()
        };
        if self.tlp == super::rexmit::TLP_SEND {
            let probe = self.send_tail_probe(nic, now);
            first.sent += probe.sent;
            first.retransmitted += probe.retransmitted;
        }
        if self.in_recovery && self.sack {
            let holes = self.resend_holes(nic, now);
            first.sent += holes.sent;
            first.retransmitted += holes.retransmitted;
        }
        let rest = self.transmit(nic, now, u32::MAX);
        Pumped {
            sent: first.sent + rest.sent,
            retransmitted: first.retransmitted + rest.retransmitted,
        }
    }

    /// Transmit at most `limit` segments from SND.NXT as the windows allow.
    pub(super) fn transmit(&mut self, nic: &impl OffloadNic, now: u32, limit: u32) -> Pumped {
        let mut sent = 0;
        let mut retransmitted = 0;
        // Limited Transmit (RFC 3042): each of the first two duplicate
        // ACKs lets one new segment go beyond cwnd, so a small window still
        // draws the duplicates a fast retransmit needs.
        let cwnd = self.cwnd.saturating_add(self.limited_transmit() * self.mss);
        // With SACK in recovery, what the peer holds is out of the network:
        // the pipe (outstanding less SACKed) is what cwnd bounds.
        let sacked = if self.in_recovery && self.sack {
            self.sacked_bytes()
        } else {
            0
        };
        while sent < limit {
            let in_flight = self.in_flight();
            let mut usable = self
                .snd_wnd
                .saturating_sub(in_flight)
                .min(cwnd.saturating_sub(in_flight.saturating_sub(sacked)));
            if usable == 0 && self.probe_now && self.in_flight() == 0 {
                // A window probe: one byte past the zero window (§7.3).
                usable = 1;
            }
            self.probe_now = false;
            if usable == 0 {
                break;
            }
            let max = self.mss.min(usable);
            let mut segment = Segment::new();
            let Some(chunk) = self.queue.peek(max, &mut segment) else {
                break;
            };
            // Sender-side silly-window avoidance (RFC 1122 4.2.3.4): a
            // window-limited segment shorter than the MSS waits while data is
            // in flight, since the ACK for it will open the window.
            if chunk.bytes < self.mss && chunk.bytes == usable && !chunk.ends_nbl {
                let window_limited = self.in_flight() > 0;
                if window_limited {
                    break;
                }
            }
            // Nagle (RFC 896, when the host enabled it): a small segment
            // that is the last of the queued data waits while data is in
            // flight. A short segment that only ends an NBL (segments never
            // span NBLs) goes at once when more data queues behind it: it
            // could have been coalesced, so it is not a tinygram.
            let last_queued = u64::from(chunk.bytes) >= self.queue.unsent();
            // A closing connection pushes its last data out at once.
            let closing = self.fin_out == FinOut::Wanted;
            if self.nagle
                && !closing
                && chunk.bytes < self.mss
                && self.in_flight() > 0
                && last_queued
            {
                break;
            }
            let psh = if chunk.ends_nbl {
                wire::tcp_flags::PSH
            } else {
                0
            };
            // The FIN rides on the last data segment when the window has
            // room for its sequence number too.
            let fin = if closing && last_queued && chunk.ends_nbl && usable > chunk.bytes {
                wire::tcp_flags::FIN
            } else {
                0
            };
            let (seg, edge) = self.segment_at_snd_nxt(wire::tcp_flags::ACK | psh | fin, now);
            match nic.post(&self.template, &seg, segment.payload()) {
                Ok(()) => {}
                Err(NicError::RingFull) => {
                    self.ring_blocked = true;
                    break;
                }
                Err(NicError::Refused) => {
                    // The hardware cannot carry this connection: stop sending
                    // on it; its terminate runs the corruption sequence.
                    self.halted = true;
                    if self.fault == HwFault::None {
                        self.fault = HwFault::Detected;
                    }
                    break;
                }
            }
            if let IpPair::V4 { .. } = self.template.ip {
                self.next_ip_id();
            }
            self.queue.commit(&chunk);
            self.acked_now();
            self.advertised(edge);
            if self.snd_nxt == self.snd_max {
                self.time_segment(self.snd_nxt.wrapping_add(chunk.bytes), now);
            } else {
                retransmitted += 1;
            }
            self.snd_nxt = self.snd_nxt.wrapping_add(chunk.bytes);
            if fin != 0 {
                self.fin_sent();
            }
            if seq_lt(self.snd_max, self.snd_nxt) {
                self.snd_max = self.snd_nxt;
            }
            self.touched = true;
            sent += 1;
        }
        if sent < limit && self.fin_due() && !self.ring_blocked && !self.halted {
            let again = self.snd_nxt != self.snd_max;
            let n = self.send_fin(nic, now);
            sent += n;
            if again {
                retransmitted += n;
            }
        }
        Pumped {
            sent,
            retransmitted,
        }
    }

    /// A FIN of its own once the data before it is out (none left, or the
    /// window had no room for the FIN on the last segment). It needs one
    /// sequence number of window (a receiver drops an in-order FIN at a
    /// zero window). Returns the segments sent (0 or 1).
    pub(super) fn send_fin(&mut self, nic: &impl OffloadNic, now: u32) -> u32 {
        let window = self.snd_wnd.min(self.cwnd);
        if window.saturating_sub(self.in_flight()) == 0 {
            return 0;
        }
        let (seg, edge) = self.segment_at_snd_nxt(wire::tcp_flags::ACK | wire::tcp_flags::FIN, now);
        match nic.post(&self.template, &seg, &[]) {
            Ok(()) => {}
            Err(NicError::RingFull) => {
                self.ring_blocked = true;
                return 0;
            }
            Err(NicError::Refused) => {
                self.halted = true;
                if self.fault == HwFault::None {
                    self.fault = HwFault::Detected;
                }
                return 0;
            }
        }
        if let IpPair::V4 { .. } = self.template.ip {
            self.next_ip_id();
        }
        self.acked_now();
        self.advertised(edge);
        self.fin_sent();
        if seq_lt(self.snd_max, self.snd_nxt) {
            self.snd_max = self.snd_nxt;
        }
        self.touched = true;
        1
    }

    /// Process a received segment for this connection at NIC time `now`
    /// (`tps` ticks per second): acknowledgements (with RTT measurement and
    /// the retransmit timer), window updates, RST. Completed NBLs go to
    /// `done`.
    pub fn on_segment(
        &mut self,
        seg: &RxSegment<'_>,
        now: u32,
        tps: u32,
        dup_threshold: u32,
        done: &mut Completions,
    ) -> RxOutcome {
        if self.state == TxState::Free || self.state == TxState::Reset {
            return RxOutcome::None;
        }
        if seg.flags & wire::tcp_flags::RST != 0 {
            // RFC 5961 §3 / spec §6.15: only an exact match is acceptable
            // (the caller answers an in-window one with a challenge ACK);
            // anything else is dropped.
            if seg.seq == self.rcv_nxt {
                self.state = TxState::Reset;
                self.queue.fail_all(NDIS_STATUS_REQUEST_ABORTED, done);
                return RxOutcome::Aborted;
            }
            return RxOutcome::None;
        }
        if seg.flags & wire::tcp_flags::ACK == 0 {
            return RxOutcome::None;
        }
        self.touched = true;
        let ack = seg.ack;
        let duplicate = self.is_duplicate_ack(seg);
        let advances = seq_lt(self.snd_una, ack) && seq_le(ack, self.snd_max);
        if advances {
            let mut acked = ack.wrapping_sub(self.snd_una);
            // Our FIN is the last sequence number sent (SND.MAX − 1) once it
            // went out, even if a retransmission went back before it.
            let fin_in_max = matches!(self.fin_out, FinOut::Sent | FinOut::Wanted)
                && u64::from(self.snd_max.wrapping_sub(self.snd_una)) == self.queue.unacked() + 1;
            if fin_in_max && ack == self.snd_max {
                // Our FIN (the last sequence number sent) is acknowledged:
                // it is not a data byte of the queue.
                acked -= 1;
                self.fin_out = FinOut::Acked;
            }
            self.snd_una = ack;
            self.queue.ack(u64::from(acked), done);
            // Data handed over at offload as "sent" may be acked before we
            // ever transmit it (or acked in full after a retransmission
            // went back): the transmit point never trails snd_una.
            if seq_lt(self.snd_nxt, ack) {
                self.snd_nxt = ack;
                self.queue.seek_from_una(0);
            }
            self.sack_trim();
            self.on_sack(&seg.sack);
            self.lost_retransmission();
            if !self.recovery_ack(ack, acked) {
                self.grow_cwnd(acked);
            }
            self.new_ack(ack, seg.timestamps.map(|t| t.1), now, tps);
        } else if duplicate {
            self.on_sack(&seg.sack);
            self.lost_retransmission();
            self.duplicate_ack(dup_threshold);
            self.sack_loss(dup_threshold);
        } else if ack == self.snd_una {
            // A window update or a segment with data: its blocks count too.
            // An ACK that SACKs new data is a duplicate whatever its window
            // says (RFC 6675 §2, DupAck): receivers grow their window as
            // out-of-order data queues.
            let before = self.sacked_bytes();
            self.on_sack(&seg.sack);
            self.lost_retransmission();
            if self.sack
                && seg.payload.is_empty()
                && self.in_flight() > 0
                && self.sacked_bytes() > before
            {
                self.duplicate_ack(dup_threshold);
                self.sack_loss(dup_threshold);
            }
        }
        // Window update: RFC 793's SND.WL1/WL2 rule, and (as Linux's
        // tcp_may_update_window) any ACK of new data. Without the latter a
        // segment whose sequence number ran ahead of the peer's real one
        // (forged, in the window) left SND.WL1 there, and the peer's real
        // ACKs could never reopen a zero window (found by the `rx_frames`
        // fuzzer).
        if seq_le(self.snd_una, ack)
            && seq_le(ack, self.snd_max)
            && (advances
                || seq_lt(self.snd_wl1, seg.seq)
                || (self.snd_wl1 == seg.seq && seq_le(self.snd_wl2, ack)))
        {
            self.snd_wnd = u32::from(seg.window) << self.snd_wscale;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
        }
        if ack == self.snd_una && seg.payload.is_empty() {
            // A zero window still, with a probe out: the next persist round.
            self.zero_window_ack(now, tps);
        }
        if let Some((val, _)) = seg.timestamps {
            self.ts_recent = val;
        }
        RxOutcome::None
    }

    /// RFC 5681 §3.1: slow start below ssthresh, then about one MSS per RTT.
    fn grow_cwnd(&mut self, acked: u32) {
        let inc = if self.cwnd < self.ssthresh {
            acked.min(self.mss)
        } else {
            (u64::from(self.mss) * u64::from(self.mss) / u64::from(self.cwnd.max(1))).max(1) as u32
        };
        self.cwnd = self.cwnd.saturating_add(inc);
    }

    /// Abortive close: one RST at SND.NXT (RFC 793 ABORT; not retransmitted,
    /// so a full ring loses it like any unreliable RST), then every
    /// outstanding send fails with REQUEST_ABORTED (rule 62) and the
    /// connection sends nothing more. False if it was not open.
    pub fn abort(&mut self, nic: &impl OffloadNic, now: u32, done: &mut Completions) -> bool {
        if self.state != TxState::Open {
            return false;
        }
        let seg = SegmentFields {
            seq: self.snd_nxt,
            ack: self.rcv_nxt,
            flags: wire::tcp_flags::RST | wire::tcp_flags::ACK,
            window: 0,
            ip_id: match self.template.ip {
                IpPair::V4 { .. } => self.next_ip_id(),
                IpPair::V6 { .. } => 0,
            },
            timestamps: self
                .timestamps
                .then(|| (now.wrapping_add(self.ts_delta), self.ts_recent)),
            sack: wire::SackBlocks::default(),
        };
        // Best effort: a lost RST is what the peer's next segment repairs.
        let _ = nic.post(&self.template, &seg, &[]);
        self.state = TxState::Reset;
        self.touched = true;
        self.queue.fail_all(NDIS_STATUS_REQUEST_ABORTED, done);
        true
    }

    /// Step (a) of the corruption sequence: true when the hardware state
    /// is corrupt and this terminate must fail (the events become due).
    pub fn block_terminate(&mut self) -> bool {
        if self.fault == HwFault::Detected {
            self.fault = HwFault::Reporting;
            return true;
        }
        false
    }

    /// Steps (b) and (c) are being indicated now: returns the offload
    /// handle when they were due.
    pub fn take_fault_report(&mut self) -> Option<usize> {
        if self.fault != HwFault::Reporting {
            return None;
        }
        self.fault = HwFault::Reported;
        Some(self.offload_handle)
    }

    /// A terminate is pending: stop sending; new sends are refused.
    pub fn begin_upload(&mut self) {
        if self.state == TxState::Open {
            self.state = TxState::Uploading;
        }
    }

    /// Upload: hand back the unacknowledged NBLs in order (failed ones
    /// complete into `done`) and free the slot. Returns (head, tail), and
    /// the disconnect request still pending, if any (UPLOAD_IN_PROGRESS, or
    /// REQUEST_ABORTED when the connection was reset or is corrupt).
    pub fn close(
        &mut self,
        done: &mut Completions,
    ) -> (PNET_BUFFER_LIST, PNET_BUFFER_LIST, Option<Finished>) {
        let corrupt = matches!(self.fault, HwFault::Reporting | HwFault::Reported);
        let chain = if corrupt {
            // Step (d) of the corruption sequence: everything outstanding
            // is aborted, nothing is handed back.
            self.queue.fail_all(NDIS_STATUS_REQUEST_ABORTED, done);
            (core::ptr::null_mut(), core::ptr::null_mut())
        } else if self.state == TxState::Reset {
            // Already failed with REQUEST_ABORTED; nothing is left.
            (core::ptr::null_mut(), core::ptr::null_mut())
        } else {
            self.queue.take_for_upload(done)
        };
        let disconnect = self.finished_disconnect();
        self.state = TxState::Free;
        self.generation = 0;
        (chain.0, chain.1, disconnect)
    }

    /// Outstanding requests fail with REQUEST_ABORTED at upload: the
    /// hardware state is corrupt (step (d) of that sequence) or a reset
    /// already ended the connection.
    pub fn outstanding_aborted(&self) -> bool {
        matches!(self.fault, HwFault::Reporting | HwFault::Reported) || self.state == TxState::Reset
    }

    /// The status a receive request posted now gets when it cannot be
    /// queued, if any: as for sends, and after the disconnect indication
    /// `NDIS_STATUS_INVALID_STATE` (rule 71).
    pub fn receive_refusal(&self) -> Option<crate::ffi::NDIS_STATUS> {
        match self.refusal() {
            None if self.rx.disconnect_indicated => Some(crate::ffi::NDIS_STATUS_INVALID_STATE),
            r => r,
        }
    }

    /// The status a send arriving now gets when it cannot be queued, if any.
    pub fn refusal(&self) -> Option<crate::ffi::NDIS_STATUS> {
        match self.state {
            TxState::Open => None,
            TxState::Uploading => Some(NDIS_STATUS_UPLOAD_IN_PROGRESS),
            TxState::Reset => Some(NDIS_STATUS_REQUEST_ABORTED),
            TxState::Free => Some(crate::ffi::NDIS_STATUS_INVALID_PARAMETER),
        }
    }
}

pub const TAG_CONNS: ULONG = u32::from_le_bytes(*b"CmCx");
pub const TAG_RING: ULONG = u32::from_le_bytes(*b"CmRq");

pub const TAG_MARKS: ULONG = u32::from_le_bytes(*b"CmUm");

/// One [`ConnTx`] per TCP pool slot, each under its own spin lock, and
/// beside it a lock-free upload mark, so a terminate handler can flag its
/// connections without touching (or locking) their state.
pub struct ConnTable {
    slots: PoolSlice<SpinLock<ConnTx>>,
    /// Per slot: the generation of the connection open there in the high
    /// half (0: none), and in the low half the generation a pending
    /// terminate named (0: none). The mark takes effect the next time the
    /// connection is locked (see [`ConnSlot::lock`]).
    marks: PoolSlice<AtomicU64>,
}

impl ConnTable {
    pub fn new(handle: NdisHandle, capacity: usize) -> Result<Self, NDIS_STATUS> {
        let slots =
            PoolSlice::try_new_with(
                handle,
                TAG_CONNS,
                capacity,
                |_| SpinLock::new(ConnTx::new()),
            )?;
        slots.iter().for_each(SpinLock::init);
        let marks = PoolSlice::try_new_with(handle, TAG_MARKS, capacity, |_| AtomicU64::new(0))?;
        Ok(ConnTable { slots, marks })
    }

    /// The connection slot `index` (the TCP pool index of its context).
    pub fn get(&self, index: u32) -> Option<ConnSlot<'_>> {
        Some(ConnSlot {
            lock: self.slots.get(index as usize)?,
            mark: self.marks.get(index as usize)?,
        })
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Start fetching connection `index`'s state (it is about to be used).
    pub fn prefetch(&self, index: u32) {
        if let Some(slot) = self.slots.get(index as usize) {
            crate::ndis::cpu::prefetch_range(
                core::ptr::from_ref(slot),
                size_of::<SpinLock<ConnTx>>(),
            );
        }
    }

    /// A terminate names connection `index` of `generation` (rule 61: from
    /// now on its sends are refused and its segments go up unprocessed).
    /// No lock and no access to the connection's state: the mark is kept
    /// only if that connection is the one open in the slot, and a stale or
    /// forged context changes nothing.
    pub fn request_upload(&self, index: u32, generation: u32) {
        let Some(m) = self.marks.get(index as usize) else {
            return;
        };
        let mut v = m.load(Ordering::Acquire);
        loop {
            let open = (v >> 32) as u32;
            if generation == 0 || open != generation || v as u32 == generation {
                return;
            }
            let marked = (v & !0xFFFF_FFFF) | u64::from(generation);
            match m.compare_exchange_weak(v, marked, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => v = now,
            }
        }
    }
}

/// A connection slot: its locked state and its upload mark.
#[derive(Clone, Copy)]
pub struct ConnSlot<'a> {
    lock: &'a SpinLock<ConnTx>,
    mark: &'a AtomicU64,
}

impl<'a> ConnSlot<'a> {
    /// Lock the connection (from PASSIVE or DISPATCH level), applying a
    /// pending upload mark first.
    pub fn lock(self) -> SpinGuard<'a, ConnTx> {
        let mut c = self.lock.lock();
        self.apply(&mut c);
        c
    }

    /// As [`ConnSlot::lock`], for callers already at DISPATCH_LEVEL.
    pub fn lock_at_dispatch(self) -> SpinGuard<'a, ConnTx> {
        let mut c = self.lock.lock_at_dispatch();
        self.apply(&mut c);
        c
    }

    fn apply(self, c: &mut ConnTx) {
        let marked = self.mark.load(Ordering::Acquire) as u32;
        if marked != 0 && marked == c.generation {
            c.begin_upload();
        }
    }

    /// The connection of `generation` is open in this slot now (called
    /// with its lock held).
    ///
    /// This and `set_closed` race `request_upload`'s compare-exchange, so
    /// they are read-modify-writes too (a swap), not plain stores: loom
    /// 0.7 lets a plain store fall between the read and the write of a
    /// concurrent compare-exchange (tokio-rs/loom#254), an execution no
    /// processor can produce. A swap costs one locked exchange at offload
    /// and upload, never on the data path (docs/decisions.md).
    pub fn set_open(self, generation: u32) {
        self.mark
            .swap(u64::from(generation) << 32, Ordering::AcqRel);
    }

    /// The slot is free again (called with its lock held).
    pub fn set_closed(self) {
        self.mark.swap(0, Ordering::AcqRel);
    }
}

/// A FIFO of connection ids waiting for the hardware (ring space, or a
/// first transmission after offload). Each id is in it at most once (the
/// connection's `ring_blocked` flag guards the push), so `capacity` entries
/// always suffice.
pub struct IdRing {
    ids: PoolSlice<u32>,
    head: usize,
    len: usize,
}

impl IdRing {
    pub fn new(handle: NdisHandle, capacity: usize) -> Result<Self, NDIS_STATUS> {
        Ok(IdRing {
            ids: PoolSlice::try_new_with(handle, TAG_RING, capacity.max(1), |_| 0)?,
            head: 0,
            len: 0,
        })
    }

    /// Append `id`; false if full (cannot happen while ids are unique).
    pub fn push(&mut self, id: u32) -> bool {
        let n = self.ids.len();
        if self.len >= n {
            return false;
        }
        let at = (self.head + self.len) % n;
        match self.ids.get_mut(at) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub fn pop(&mut self) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let id = self.ids.get(self.head).copied();
        self.head = (self.head + 1) % self.ids.len();
        self.len -= 1;
        id
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

pub use super::txinit::{TxInit, flow_key, port_from_state, tx_init};
