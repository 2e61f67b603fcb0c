//! Retransmission (spec §7.3, RFC 6298 with RFC 2988's initial value, RFC
//! 5681 on timeout; rule 97): RTT estimation from timestamps or from one
//! timed segment at a time (Karn's rule: never from a retransmitted one),
//! the retransmission timeout with exponential backoff, go-back-N from
//! SND.UNA on expiry, and the limit after which the target stops and asks
//! for the upload (`MaxRT` ticks, or `TcpMaximumRetransmissions` attempts).
//!
//! The timer itself is the connection's `rexmit_due` on the adapter's
//! receive-timer list (the same deadline is FIN_WAIT_2's timer in that
//! state, spec §7.3).

use super::close::FinOut;
use super::conn::{ConnTx, Pumped, TxInit, TxState};
use super::objects::TcpDelegated;
use crate::wire::SackBlocks;

/// RFC 2988 §2.1: the RTO before any RTT sample, in seconds.
pub const INITIAL_RTO_SECONDS: u32 = 3;
/// RFC 6298 §2.4: the RTO never goes below one second.
pub const MIN_RTO_MS: u32 = 1_000;
/// RFC 6298 §2.5: an upper bound of at least 60 seconds.
pub const MAX_RTO_SECONDS: u32 = 60;

/// The tail-loss probe (RFC 8985 §7; on SACK connections only, as RACK-TLP
/// requires SACK): none armed.
pub const TLP_IDLE: u8 = 0;
/// The retransmit deadline is the probe timeout, not the RTO.
pub const TLP_ARMED: u8 = 1;
/// The probe timeout fired: the next transmission is the probe.
pub const TLP_SEND: u8 = 2;
/// A probe went out in this flight: none again until an ACK of new data.
pub const TLP_DONE: u8 = 3;
/// RFC 8985 §7.2: the smallest probe timeout, and the delayed-ACK allowance
/// added when one segment is outstanding.
const TLP_MIN_MS: u32 = 10;
const TLP_DELACK_MS: u32 = 200;

/// What a retransmission timeout did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rto {
    /// Nothing was outstanding (or the connection no longer sends).
    Idle,
    /// Back to SND.UNA: the caller transmits again (the timer runs on).
    Resent,
    /// The limit is exceeded: retransmission stopped; the caller requests
    /// the upload with `TimeoutExpiration`.
    GaveUp,
}

fn ms_to_ticks(ms: u32, tps: u32) -> u32 {
    (u64::from(ms) * u64::from(tps.max(1)) / 1000).clamp(1, 1 << 30) as u32
}

impl ConnTx {
    /// At offload, once the NIC clock is known: the RTO from the host's
    /// estimates (RFC 2988's 3 s without any), and the host's retransmit
    /// timer, carried on, while data is outstanding.
    pub fn start_rexmit(&mut self, now: u32, tps: u32, i: &TxInit) {
        self.update_rto(tps);
        if self.srtt_x8 == 0 {
            self.rto = ms_to_ticks(INITIAL_RTO_SECONDS * 1000, tps);
        }
        if self.rexmit_count > 0 {
            self.rt_start = now.wrapping_sub(i.total_rt);
        }
        if self.in_flight() > 0 && !self.in_fin_wait_2() {
            self.rexmit_due = i.rexmit_deadline;
        }
    }

    /// RFC 6298 §2.3: RTO = SRTT + max(G, 4 × RTTVAR), within [1 s, 60 s].
    fn update_rto(&mut self, tps: u32) {
        let srtt = u32::from(self.srtt_x8) / 8;
        let var4 = u32::from(self.rttvar_x4).max(1);
        self.rto = srtt.saturating_add(var4).clamp(
            ms_to_ticks(MIN_RTO_MS, tps),
            ms_to_ticks(MAX_RTO_SECONDS * 1000, tps),
        );
    }

    /// RFC 6298 §2.2–2.3: take one RTT measurement `r` (ticks).
    fn sample_rtt(&mut self, r: u32, tps: u32) {
        let r = r.min(u32::from(u16::MAX) / 8);
        if self.srtt_x8 == 0 {
            // First measurement: SRTT = R, RTTVAR = R / 2.
            self.srtt_x8 = (r * 8).max(1) as u16;
            self.rttvar_x4 = (r * 2) as u16;
        } else {
            // RTTVAR = 3/4 RTTVAR + 1/4 |SRTT − R|; SRTT = 7/8 SRTT + 1/8 R,
            // in the scaled units (×4 and ×8).
            let srtt8 = i64::from(self.srtt_x8);
            let var4 = i64::from(self.rttvar_x4);
            let err = (i64::from(r) * 8 - srtt8).abs() / 2; // |R − SRTT| × 4
            let var4 = var4 - var4 / 4 + err / 4;
            let srtt8 = srtt8 - srtt8 / 8 + i64::from(r);
            self.srtt_x8 = srtt8.clamp(1, i64::from(u16::MAX)) as u16;
            self.rttvar_x4 = var4.clamp(0, i64::from(u16::MAX)) as u16;
        }
        self.update_rto(tps);
    }

    /// New data left for the first time: time it when nothing else is
    /// being timed (used when an ACK echoes no timestamp).
    pub(super) fn time_segment(&mut self, end: u32, now: u32) {
        if !self.rtt_timing {
            self.rtt_timing = true;
            self.rtt_seq = end;
            self.rtt_time = now;
        }
    }

    /// SND.UNA advanced to `ack` (new data acknowledged): measure the RTT
    /// (from the echoed timestamp, or the timed segment if this ACK covers
    /// it and it was never retransmitted), forget the retransmission count,
    /// and restart the timer for what is still outstanding, or stop it
    /// (RFC 6298 §5.2–5.3).
    pub(super) fn new_ack(&mut self, ack: u32, ecr: Option<u32>, now: u32, tps: u32) {
        let mut sample = None;
        let timed = self.rtt_timing && (ack.wrapping_sub(self.rtt_seq) as i32) >= 0;
        if timed {
            self.rtt_timing = false;
        }
        if let Some(ecr) = ecr.filter(|&e| e != 0 && self.timestamps) {
            let r = now.wrapping_add(self.ts_delta).wrapping_sub(ecr);
            if r < 1 << 30 {
                sample = Some(r);
            }
        } else if timed {
            sample = Some(now.wrapping_sub(self.rtt_time));
        }
        if let Some(r) = sample.filter(|_| self.rexmit_count == 0) {
            self.sample_rtt(r, tps);
        }
        self.rexmit_count = 0;
        self.tlp = TLP_IDLE;
        self.rexmit_due = if self.in_flight() > 0 {
            Some(now.wrapping_add(self.rto))
        } else {
            None
        };
        self.arm_probe(now, tps);
    }

    /// RFC 8985 §7.2: with SACK, outside recovery, a measured RTT and data
    /// outstanding, the retransmit deadline becomes the probe timeout:
    /// PTO = max(2 SRTT, 10 ms), plus 200 ms when one segment is out (the
    /// peer may delay its ACK), never past the RTO.
    fn arm_probe(&mut self, now: u32, tps: u32) {
        if !self.sack
            || self.tlp != TLP_IDLE
            || self.in_recovery
            || self.persist
            || self.srtt_x8 == 0
            || self.in_flight() == 0
            || self.in_fin_wait_2()
            || self.rexmit_due.is_none()
        {
            return;
        }
        let srtt = u32::from(self.srtt_x8) / 8;
        let mut pto = srtt.saturating_mul(2).max(ms_to_ticks(TLP_MIN_MS, tps));
        if self.in_flight() <= self.mss {
            pto = pto.saturating_add(ms_to_ticks(TLP_DELACK_MS, tps));
        }
        if pto < self.rto {
            self.rexmit_due = Some(now.wrapping_add(pto));
            self.tlp = TLP_ARMED;
        }
    }

    /// The probe (RFC 8985 §7.3): one new segment if the peer's window
    /// takes it, else the last segment sent again (with the FIN when the
    /// FIN was the last thing sent, or the FIN alone); either way whatever
    /// cwnd says. It draws an ACK whose SACK blocks show what the tail lost.
    pub(super) fn send_tail_probe(&mut self, nic: &impl crate::hw::OffloadNic, now: u32) -> Pumped {
        self.tlp = TLP_DONE;
        let in_flight = self.in_flight();
        if self.queue.unsent() > 0 && self.snd_wnd > in_flight && self.snd_nxt == self.snd_max {
            let cwnd = self.cwnd;
            self.cwnd = in_flight.saturating_add(self.mss);
            let sent = self.transmit(nic, now, 1);
            self.cwnd = cwnd;
            if sent.sent > 0 {
                return sent;
            }
        }
        let fin = self.fin_out == FinOut::Sent;
        let sent_data = self.queue.unacked().saturating_sub(self.queue.unsent());
        let data = u32::try_from(sent_data)
            .unwrap_or(u32::MAX)
            .min(in_flight.saturating_sub(u32::from(fin)));
        let len = data.min(self.mss);
        if !fin {
            // The last data segment again.
            let start = self.snd_una.wrapping_add(data - len);
            return self.resend_range(nic, now, start, len);
        }
        // Our FIN is the last thing out: the last data segment again with
        // the FIN on it, or the FIN alone.
        let back_to = self.snd_nxt;
        let cwnd = self.cwnd;
        self.snd_nxt = self.snd_una.wrapping_add(data - len);
        self.queue.seek_from_una(u64::from(data - len));
        self.fin_out = FinOut::Wanted;
        self.cwnd = data.saturating_add(1);
        let mut sent = if len > 0 {
            self.transmit(nic, now, 1)
        } else {
            Pumped::default()
        };
        if self.fin_out == FinOut::Wanted && self.fin_due() && sent.sent == 0 {
            let n = self.send_fin(nic, now);
            sent.sent += n;
            sent.retransmitted += n;
        }
        self.cwnd = cwnd;
        if self.fin_out == FinOut::Wanted {
            // Only the data went: the FIN stays where it was.
            self.fin_out = FinOut::Sent;
        }
        if ((self.snd_nxt.wrapping_sub(back_to)) as i32) < 0 {
            self.snd_nxt = back_to;
            self.queue.seek_from_una(u64::from(data));
        }
        sent
    }

    /// RTO << `n`, bounded by 60 s (RFC 6298 §5.5 backoff; spec §7.3).
    fn backoff(&self, n: u8, tps: u32) -> u32 {
        let cap = u64::from(ms_to_ticks(MAX_RTO_SECONDS * 1000, tps));
        (u64::from(self.rto) << n.min(30)).min(cap.max(u64::from(self.rto))) as u32
    }

    /// After a transmission: start the retransmit timer if data (or a FIN)
    /// is outstanding and it is not running (RFC 6298 §5.1); or, when the
    /// peer's window is zero with data waiting and nothing outstanding,
    /// the persist timer (§7.3 step 1); leave persist once the window
    /// opens. True when a timer was started now (the caller puts the
    /// connection on the timer list).
    pub fn arm_rexmit(&mut self, now: u32, tps: u32) -> bool {
        let stalled = self.state == TxState::Open
            && !self.halted
            && self.snd_wnd == 0
            && self.queue.unsent() > 0;
        if !stalled && self.persist {
            // §7.3 step 4: a window opened: back to sending.
            self.persist = false;
            self.probe_count = 0;
        }
        if stalled && !self.persist {
            self.persist = true;
            self.probe_count = 0;
            self.rexmit_count = 0;
        }
        if self.rexmit_due.is_some() || self.in_fin_wait_2() {
            return false;
        }
        if self.in_flight() > 0 {
            self.rexmit_due = Some(now.wrapping_add(self.backoff(self.rexmit_count, tps)));
            if self.rexmit_count == 0 {
                self.arm_probe(now, tps);
            }
            return true;
        }
        if self.persist {
            self.rexmit_due = Some(now.wrapping_add(self.backoff(self.probe_count, tps)));
            return true;
        }
        false
    }

    /// §7.3 step 3: an ACK that still shows a zero window arrived while a
    /// probe is outstanding: the next round, its timer at RTO <<
    /// `SndWndProbeCount`.
    pub(super) fn zero_window_ack(&mut self, now: u32, tps: u32) {
        if !self.persist || self.snd_wnd != 0 || self.in_flight() == 0 {
            return;
        }
        self.probe_count = self.probe_count.saturating_add(1);
        self.rexmit_count = 0;
        self.rexmit_due = Some(now.wrapping_add(self.backoff(self.probe_count, tps)));
    }

    /// The retransmit timer expired at `now`. `max_retransmissions` is
    /// the host's `TcpMaximumRetransmissions`.
    pub fn retransmit_timeout(&mut self, now: u32, tps: u32, max_retransmissions: u8) -> Rto {
        self.rexmit_due = None;
        if self.state != TxState::Open || self.halted {
            return Rto::Idle;
        }
        if self.tlp == TLP_ARMED {
            // The probe timeout, not the RTO: send the probe and run the
            // RTO from now (RFC 8985 §7.3); no backoff, cwnd unchanged.
            self.tlp = TLP_SEND;
            if self.in_flight() == 0 {
                self.tlp = TLP_IDLE;
                return Rto::Idle;
            }
            self.rexmit_due = Some(now.wrapping_add(self.rto));
            return Rto::Resent;
        }
        if self.persist {
            // §7.3 steps 2 and 5: a window probe (again), its retransmit
            // timer at RTO << Retransmit.Count, then the count grows; more
            // than TcpMaximumRetransmissions probes in a round: give up.
            if self.rexmit_count >= max_retransmissions {
                self.halted = true;
                self.touched = true;
                return Rto::GaveUp;
            }
            let n = self.rexmit_count;
            self.rexmit_count = self.rexmit_count.saturating_add(1);
            if self.in_flight() > 0 {
                self.snd_nxt = self.snd_una;
                self.queue.seek_from_una(0);
            }
            self.probe_now = true;
            self.rtt_timing = false;
            self.touched = true;
            self.rexmit_due = Some(now.wrapping_add(self.backoff(n, tps)));
            return Rto::Resent;
        }
        if self.in_flight() == 0 {
            return Rto::Idle;
        }
        if self.rexmit_count == 0 {
            self.rt_start = now;
        }
        let exceeded = match self.max_rt {
            0 => self.rexmit_count >= max_retransmissions,
            u32::MAX => false,
            limit => now.wrapping_sub(self.rt_start) >= limit,
        };
        if exceeded {
            // Stop: nothing more is sent until the host uploads.
            self.halted = true;
            self.touched = true;
            return Rto::GaveUp;
        }
        // RFC 5681 §3.1 (4): ssthresh = max(FlightSize / 2, 2 × SMSS),
        // cwnd = 1 × SMSS.
        self.ssthresh = (self.in_flight() / 2).max(2 * self.mss);
        self.cwnd = self.mss;
        // RFC 6298 §5.5: back off (RTO << count), up to the 60 s bound.
        self.rexmit_count = self.rexmit_count.saturating_add(1);
        // Karn: what is being timed now includes a retransmission. A
        // timeout also ends fast recovery.
        self.rtt_timing = false;
        self.in_recovery = false;
        self.dup_acks = 0;
        self.resend_una = false;
        // The receiver may discard what it SACKed (RFC 2018 §8).
        self.sacked = SackBlocks::default();
        // Go back to SND.UNA; a FIN sent is sent again after the data.
        self.snd_nxt = self.snd_una;
        self.queue.seek_from_una(0);
        if self.fin_out == FinOut::Sent {
            self.fin_out = FinOut::Wanted;
        }
        self.touched = true;
        self.rexmit_due = Some(now.wrapping_add(self.backoff(self.rexmit_count, tps)));
        Rto::Resent
    }

    /// The retransmission state the upload reports.
    pub(super) fn sync_rexmit(&self, d: &mut TcpDelegated, now: u32) {
        d.srtt_x8 = self.srtt_x8;
        d.rttvar_x4 = self.rttvar_x4;
        d.rexmit_count = self.rexmit_count;
        d.snd_wnd_probe_count = self.probe_count;
        d.total_rt = if self.rexmit_count > 0 {
            now.wrapping_sub(self.rt_start)
        } else {
            0
        };
        if !self.in_fin_wait_2() {
            d.rexmit_deadline = self.rexmit_due;
        }
    }
}

impl ConnTx {
    /// RFC 5681 §2's duplicate ACK: data outstanding, the ACK acknowledges
    /// nothing new (SEG.ACK = SND.UNA), carries no data, SYN or FIN, and
    /// leaves the window as it was.
    pub(super) fn is_duplicate_ack(&self, seg: &crate::hw::RxSegment<'_>) -> bool {
        use crate::wire::tcp_flags::{FIN, SYN};
        // A zero window's repeated ACKs belong to persist, not to loss.
        self.in_flight() > 0
            && !self.persist
            && self.snd_wnd > 0
            && seg.ack == self.snd_una
            && seg.payload.is_empty()
            && seg.flags & (SYN | FIN) == 0
            && u32::from(seg.window) << self.snd_wscale == self.snd_wnd
    }

    /// One more duplicate ACK: at `threshold` (`TcpDuplicateAckThreshold`)
    /// retransmit the oldest segment at once and enter fast recovery
    /// (ssthresh = max(FlightSize/2, 2 SMSS), cwnd = ssthresh + 3 SMSS);
    /// each further one inflates cwnd by one SMSS (RFC 5681 §3.2).
    pub(super) fn duplicate_ack(&mut self, threshold: u32) {
        self.dup_acks = self.dup_acks.saturating_add(1);
        let threshold = threshold.clamp(1, 255);
        let n = u32::from(self.dup_acks);
        if self.in_recovery {
            // With SACK the pipe, not an inflated cwnd, lets data go.
            if !self.sack {
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
        } else if n == threshold && self.snd_nxt == self.snd_max {
            self.enter_recovery();
        }
    }

    /// Fast retransmit: ssthresh = max(FlightSize/2, 2 SMSS) and the
    /// segment at SND.UNA goes again at once; without SACK, cwnd becomes
    /// ssthresh plus 3 SMSS (RFC 5681 §3.2); with SACK, cwnd = ssthresh and
    /// the further holes go again as the pipe allows (RFC 6675 §5, steps
    /// 4.2-4.3).
    pub(super) fn enter_recovery(&mut self) {
        self.in_recovery = true;
        self.recover = self.snd_max;
        self.ssthresh = (self.in_flight() / 2).max(2 * self.mss);
        self.rtt_timing = false;
        self.resend_una = true;
        if self.sack {
            self.cwnd = self.ssthresh;
            self.rexmit_next = self.snd_una.wrapping_add(self.mss);
        } else {
            self.cwnd = self.ssthresh.saturating_add(3 * self.mss);
        }
    }

    /// With SACK, outside recovery: more than `threshold` - 1 segments'
    /// worth SACKed above SND.UNA means SND.UNA's segment is lost (RFC 6675
    /// §5, IsLost), whether or not the duplicate ACKs all arrived. With
    /// fewer than four segments outstanding and no new data to send, the
    /// threshold is one less than those segments (Early Retransmit, RFC
    /// 5827 §3.2): a short tail could never draw enough duplicates.
    pub(super) fn sack_loss(&mut self, threshold: u32) {
        let mut threshold = threshold.clamp(1, 255);
        let outstanding = self.in_flight().div_ceil(self.mss.max(1));
        if self.queue.unsent() == 0 && outstanding < 4 {
            threshold = threshold.min(outstanding.saturating_sub(1).max(1));
        }
        if self.sack
            && !self.in_recovery
            && self.snd_nxt == self.snd_max
            && self.sacked_bytes() > threshold.saturating_sub(1).saturating_mul(self.mss)
        {
            self.enter_recovery();
        }
    }

    /// Segments Limited Transmit (RFC 3042) lets go beyond cwnd now: one
    /// per duplicate ACK, at most two, outside recovery, new data only.
    pub(super) fn limited_transmit(&self) -> u32 {
        if self.in_recovery || self.snd_nxt != self.snd_max {
            0
        } else {
            u32::from(self.dup_acks.min(2))
        }
    }

    /// SND.UNA advanced by `acked` to `ack`: in fast recovery, a full ACK
    /// (at or past `recover`) ends it with cwnd = ssthresh; a partial one
    /// resends the next hole and deflates cwnd by what it acknowledged,
    /// less one SMSS (RFC 6582 §3.2). True when this handled the congestion
    /// window (the caller does not grow it).
    pub(super) fn recovery_ack(&mut self, ack: u32, acked: u32) -> bool {
        self.dup_acks = 0;
        if !self.in_recovery {
            return false;
        }
        if (ack.wrapping_sub(self.recover) as i32) >= 0 {
            self.in_recovery = false;
            self.cwnd = self.ssthresh.max(self.mss);
        } else if self.sack {
            // A partial ACK: the holes above it go on as the pipe allows.
            if ((self.rexmit_next.wrapping_sub(ack)) as i32) < 0 {
                self.rexmit_next = ack;
            }
        } else {
            self.resend_una = true;
            self.cwnd = self
                .cwnd
                .saturating_sub(acked)
                .saturating_add(self.mss)
                .max(self.mss);
        }
        true
    }

    /// Send the oldest unacknowledged segment again (fast retransmit),
    /// whatever the windows say, then put the transmit point back where it
    /// was.
    pub(super) fn resend_oldest(&mut self, nic: &impl crate::hw::OffloadNic, now: u32) -> Pumped {
        self.resend_una = false;
        let una = self.snd_una;
        let mss = self.mss;
        self.resend_range(nic, now, una, mss)
    }

    /// Send at most `len` bytes from `seq` (between SND.UNA and SND.NXT)
    /// again as one segment, whatever cwnd says (the peer's window still
    /// bounds it), then put the transmit point back where it was.
    pub(super) fn resend_range(
        &mut self,
        nic: &impl crate::hw::OffloadNic,
        now: u32,
        seq: u32,
        len: u32,
    ) -> Pumped {
        let back_to = self.snd_nxt;
        let ahead = back_to.wrapping_sub(self.snd_una);
        let offset = seq.wrapping_sub(self.snd_una);
        if ahead == 0 || offset >= ahead || len == 0 {
            return Pumped::default();
        }
        self.snd_nxt = seq;
        self.queue.seek_from_una(u64::from(offset));
        let cwnd = self.cwnd;
        // Just this segment's worth of congestion window above what is
        // before it, for this transmission.
        self.cwnd = offset.saturating_add(len.min(self.mss));
        let probe = self.probe_now;
        self.probe_now = false;
        let sent = self.transmit(nic, now, 1);
        self.probe_now = probe;
        self.cwnd = cwnd;
        // Resume where transmission stood (never before what was resent).
        if (self.snd_nxt.wrapping_sub(back_to) as i32) < 0 {
            self.snd_nxt = back_to;
            self.queue
                .seek_from_una(u64::from(back_to.wrapping_sub(self.snd_una)));
        }
        sent
    }
}
