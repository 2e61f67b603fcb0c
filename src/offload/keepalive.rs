//! Keep-alive (spec §7.3) and the blind-reset mitigation that leans on it
//! (spec §6.15, rule 95).
//!
//! Keep-alive, when the host enabled it: after `KaTimeout` ticks without
//! an acceptable segment, a probe (SEQ = SND.UNA − 1, no data: RFC 1122
//! §4.2.3.6) every `KaInterval`; `KaProbeCount` probes unanswered end the
//! connection (CLOSED, upload requested with `TimeoutExpiration`).
//!
//! Mitigation (RFC 5961): an RST in the window but not at RCV.NXT gets one
//! challenge ACK per validation period (until an acceptable segment
//! arrives), a SYN in the window but not at RCV.NXT one per 3 s; after a
//! challenge the keep-alive timer fires within 5 minutes (started, or
//! pulled in). An acceptable segment ends the period: a timer the
//! mitigation started stops, otherwise normal keep-alive timing restarts.
//! If the probes go unanswered the connection is uploaded CLOSED.

use super::close::FinOut;
use super::conn::{ConnTx, TxInit, TxState};
use super::objects::TcpDelegated;
use crate::hw::{NicError, OffloadNic, RxSegment};
use crate::wire::{self, IpPair, SegmentFields};

/// §6.15: after a challenge ACK the keep-alive timer fires within this.
pub const MITIGATION_SECONDS: u32 = 300;
/// §6.15: at most one challenge ACK for a SYN per this many seconds.
pub const SYN_CHALLENGE_SECONDS: u32 = 3;
/// §6.15: probes and interval when the host's are 0.
pub const DEFAULT_PROBES: u8 = 10;
pub const DEFAULT_INTERVAL_SECONDS: u32 = 1;

/// What a keep-alive expiry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAlive {
    /// Nothing to do (not running, or not due).
    Idle,
    /// A probe went out (or the ring was full); the timer runs on.
    Probed,
    /// Every probe went unanswered: the connection is CLOSED; the caller
    /// requests the upload with `TimeoutExpiration`.
    Closed,
}

fn seconds(n: u32, tps: u32) -> u32 {
    n.saturating_mul(tps.max(1)).min(1 << 30)
}

impl ConnTx {
    /// At offload: the host's running keep-alive timer and probe count carry
    /// on; with keep-alive enabled and no timer given, it starts now.
    pub fn start_keepalive(&mut self, now: u32, i: &TxInit) {
        self.ka_due = i.ka_deadline;
        if self.ka_due.is_none() && self.ka_enabled {
            self.ka_due = Some(now.wrapping_add(self.ka_timeout.max(1)));
        }
    }

    /// An update changed the cached variables: `TCP_FLAG_KEEP_ALIVE_RESTART`
    /// restarts the timer from zero; disabling stops a timer the mitigation
    /// did not start. True when a timer runs that the caller must list.
    pub fn refresh_keepalive(&mut self, now: u32, restart: bool) -> bool {
        if !self.ka_enabled && !self.ka_mitigation {
            self.ka_due = None;
            return false;
        }
        if self.ka_enabled && (restart || self.ka_due.is_none()) && !self.ka_mitigation {
            self.ka_due = Some(now.wrapping_add(self.ka_timeout.max(1)));
            self.ka_sent = 0;
        }
        self.ka_due.is_some()
    }

    /// RFC 793's acceptability test for `seg` against the receive window
    /// (a segment with ACK, no SYN or RST).
    pub fn acceptable(&self, seg: &RxSegment<'_>) -> bool {
        let f = seg.flags;
        if f & wire::tcp_flags::ACK == 0 || f & (wire::tcp_flags::SYN | wire::tcp_flags::RST) != 0 {
            return false;
        }
        let window = self.rx.adv_edge.wrapping_sub(self.rcv_nxt);
        let start = seg.seq.wrapping_sub(self.rcv_nxt);
        let len = seg.payload.len() as u32;
        if len == 0 {
            return if window == 0 {
                seg.seq == self.rcv_nxt
            } else {
                start < window
            };
        }
        let end = start.wrapping_add(len - 1);
        window > 0 && (start < window || end < window)
    }

    /// Whether `seg`'s ACK, window and RST may be processed: not when it
    /// starts beyond the right edge of the window we advertised, nor more
    /// than the largest window we can advertise behind RCV.NXT. Such a
    /// segment's window would move SND.WL1 past the peer's real sequence,
    /// and every later window update would look older than it: one forged
    /// out-of-window ACK with a zero window stalled the connection for good
    /// (found by the `rx_frames` fuzzer). Old segments (a retransmission,
    /// a pure ACK sent before our last data arrived) still count, as in
    /// Linux's `tcp_sequence`; the WL1/WL2 rule keeps their windows from
    /// undoing newer ones. At RCV.NXT a segment counts even when our window
    /// is zero (RFC 9293 §3.10.7.4).
    pub fn ack_acceptable(&self, seg: &RxSegment<'_>) -> bool {
        let ahead = seg.seq.wrapping_sub(self.rcv_nxt);
        let window = self.rx.adv_edge.wrapping_sub(self.rcv_nxt);
        let behind = self.rcv_nxt.wrapping_sub(seg.seq);
        let largest = 0xFFFF_u32 << self.rcv_wscale.min(14);
        ahead == 0 || ahead < window || behind <= largest
    }

    /// An acceptable segment arrived at `now`: the probes were answered;
    /// the mitigation's validation period ends; the idle timer restarts.
    /// True when a timer runs that the caller must list.
    pub fn keepalive_heard(&mut self, now: u32) -> bool {
        self.ka_sent = 0;
        self.rst_challenged = false;
        if self.ka_mitigation {
            self.ka_mitigation = false;
            self.ka_due = None;
        }
        if self.ka_enabled {
            self.ka_due = Some(now.wrapping_add(self.ka_timeout.max(1)));
        }
        self.ka_due.is_some()
    }

    /// An RST in the window but not at RCV.NXT (§6.15): true when a
    /// challenge ACK is to go out now (one per validation period).
    pub fn rst_in_window(&mut self, seq: u32) -> bool {
        let window = self.rx.adv_edge.wrapping_sub(self.rcv_nxt).max(1);
        if seq == self.rcv_nxt || seq.wrapping_sub(self.rcv_nxt) >= window {
            return false;
        }
        if self.rst_challenged {
            return false;
        }
        self.rst_challenged = true;
        true
    }

    /// A SYN in the window but not at RCV.NXT (§6.15): true when a
    /// challenge ACK is to go out now (at most one per 3 s).
    pub fn syn_in_window(&mut self, now: u32, tps: u32) -> bool {
        if let Some(at) = self.syn_challenge_at
            && now.wrapping_sub(at) < seconds(SYN_CHALLENGE_SECONDS, tps)
        {
            return false;
        }
        self.syn_challenge_at = Some(now);
        true
    }

    /// After a challenge ACK: the keep-alive timer fires within 5 minutes
    /// (started, or pulled in). True when the caller must (re)list it.
    pub fn mitigation_timer(&mut self, now: u32, tps: u32) -> bool {
        let limit = now.wrapping_add(seconds(MITIGATION_SECONDS, tps));
        let later = |due: u32| (limit.wrapping_sub(due) as i32) < 0;
        match self.ka_due {
            Some(due) if !later(due) => false,
            _ => {
                if self.ka_due.is_none() {
                    self.ka_mitigation = true;
                }
                self.ka_due = Some(limit);
                true
            }
        }
    }

    /// The keep-alive timer fired at `now`.
    pub fn keepalive_timeout(&mut self, nic: &impl OffloadNic, now: u32, tps: u32) -> KeepAlive {
        self.ka_due = None;
        if self.state != TxState::Open || self.halted {
            return KeepAlive::Idle;
        }
        if !self.ka_mitigation && self.in_flight() > 0 {
            // Not idle: the retransmit timer watches the peer.
            self.ka_due = Some(now.wrapping_add(self.ka_timeout.max(1)));
            return KeepAlive::Idle;
        }
        let limit = if self.ka_limit == 0 {
            DEFAULT_PROBES
        } else {
            self.ka_limit
        };
        if self.ka_sent >= limit {
            // Unanswered: CLOSED, waiting for the upload it asks for.
            self.fin_out = FinOut::Closed;
            self.state = TxState::Uploading;
            self.touched = true;
            return KeepAlive::Closed;
        }
        if self.send_probe(nic, now) {
            self.ka_sent = self.ka_sent.saturating_add(1);
        }
        let interval = if self.ka_interval == 0 {
            seconds(DEFAULT_INTERVAL_SECONDS, tps)
        } else {
            self.ka_interval
        };
        self.ka_due = Some(now.wrapping_add(interval));
        KeepAlive::Probed
    }

    /// A keep-alive probe: SEQ = SND.UNA − 1, no data, ACK (RFC 1122).
    fn send_probe(&mut self, nic: &impl OffloadNic, now: u32) -> bool {
        let window = (self.window_now() >> self.rcv_wscale).min(0xFFFF) as u16;
        let seg = SegmentFields {
            seq: self.snd_una.wrapping_sub(1),
            ack: self.rcv_nxt,
            flags: wire::tcp_flags::ACK,
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
        match nic.post(&self.template, &seg, &[]) {
            Ok(()) => {
                self.bump_ip_id();
                self.touched = true;
                true
            }
            Err(NicError::RingFull | NicError::Refused) => false,
        }
    }

    /// The keep-alive state the upload reports.
    pub(super) fn sync_keepalive(&self, d: &mut TcpDelegated) {
        d.ka_probe_count = self.ka_sent;
        d.ka_deadline = self.ka_due;
    }
}
