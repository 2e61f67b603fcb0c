//! The send half of TCP's close: the host's graceful disconnect (spec §6.8,
//! rules 79, 82, 83) and the TCP state the two FINs leave the connection in.
//!
//! The disconnect request rides at the end of the send queue
//! ([`crate::ndis::sendq::SendQueue::push_closing`]): its data goes out
//! after everything queued before it, then the FIN, on the last data
//! segment or alone, without waiting for any ACK. The request completes
//! with SUCCESS only once the peer has acknowledged its data and the FIN;
//! the sends before it have completed by then, since the ACK that covers
//! the FIN covers them too. A reset or an abortive disconnect completes it
//! with REQUEST_ABORTED, an upload with UPLOAD_IN_PROGRESS, each with the
//! bytes acknowledged so far.

use super::conn::ConnTx;
use crate::ffi::{
    NDIS_STATUS, NDIS_STATUS_INVALID_STATE, NDIS_STATUS_REQUEST_ABORTED, NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UPLOAD_IN_PROGRESS, PNET_BUFFER_LIST, TCP_OFFLOAD_CONNECTION_STATE,
    TcpConnectionCloseWait, TcpConnectionClosed, TcpConnectionClosing, TcpConnectionFinWait1,
    TcpConnectionFinWait2, TcpConnectionLastAck, TcpConnectionTimeWait,
};
use crate::ndis::sendq::Closing;

/// Where our FIN stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinOut {
    /// The host has not asked for a graceful close.
    None,
    /// Asked: the FIN follows the queued data.
    Wanted,
    /// Sent: it is the last sequence number sent (`SND.MAX − 1`).
    Sent,
    /// Acknowledged by the peer.
    Acked,
    /// CLOSED without an orderly close (FIN_WAIT_2's timer ran out, or an
    /// in-order SYN arrived): the connection waits for the upload it asked
    /// for.
    Closed,
}

/// What a SYN on an offloaded connection calls for (spec §6.10, §6.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynAction {
    /// In TIME_WAIT: the host's (indicate it on the ordinary path).
    Unclaimed,
    /// At RCV.NXT: the connection is CLOSED; request its upload and
    /// indicate the SYN on the ordinary path.
    Closed,
    /// Outside the window: answer with an ACK.
    Ack,
    /// In the window, not at RCV.NXT: dropped (the challenge ACK of §6.15
    /// comes with the blind-reset mitigation).
    Drop,
}

/// Out-of-order segments dropped before an optional upload request.
pub const OUT_OF_ORDER_LIMIT: u16 = 64;

/// FIN_WAIT_2's timer, unless the host offloaded it running (spec §7.3).
pub const FIN_WAIT_2_SECONDS: u32 = 120;

/// FIN_WAIT_2's time in NIC ticks.
pub fn fin_wait_2_ticks(ticks_per_second: u32) -> u32 {
    ticks_per_second
        .max(1)
        .saturating_mul(FIN_WAIT_2_SECONDS)
        .min(1 << 30)
}

/// A disconnect request that is done: its status, and the bytes of its data
/// sent and acknowledged (`TcpOffloadBytesTransferred`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    pub request: PNET_BUFFER_LIST,
    pub status: NDIS_STATUS,
    pub acked: u32,
}

impl ConnTx {
    /// The status a graceful disconnect arriving now gets at once, if it
    /// cannot be queued: as for a send (uploading, reset, no connection),
    /// and `NDIS_STATUS_INVALID_STATE` for a second one.
    pub fn disconnect_refusal(&self) -> Option<NDIS_STATUS> {
        match self.refusal() {
            None if self.fin_out != FinOut::None => Some(NDIS_STATUS_INVALID_STATE),
            r => r,
        }
    }

    /// The status a send arriving now gets at once, if any: after a
    /// graceful disconnect nothing more may be sent
    /// (`NDIS_STATUS_INVALID_STATE`).
    pub fn send_refusal(&self) -> Option<NDIS_STATUS> {
        self.disconnect_refusal()
    }

    /// The request was queued last ([`crate::ndis::sendq::SendQueue::push_closing`]):
    /// the FIN is due once the data before it is out.
    pub fn close_requested(&mut self) {
        self.fin_out = FinOut::Wanted;
    }

    /// The FIN may go now: asked for, every byte before it handed to the
    /// hardware, and nothing failed in front of it (a failed send or a
    /// malformed request means the stream can never be whole, so no FIN).
    pub(super) fn fin_due(&self) -> bool {
        self.fin_out == FinOut::Wanted
            && self.queue.unsent() == 0
            && self.queue.failed() == NDIS_STATUS_SUCCESS
            && !matches!(self.queue.closing(), Closing::Failed(_) | Closing::Aside(_))
    }

    /// The FIN went out at SND.NXT: it takes one sequence number.
    pub(super) fn fin_sent(&mut self) {
        self.snd_nxt = self.snd_nxt.wrapping_add(1);
        self.fin_out = FinOut::Sent;
        self.fin_after_peer = self.rx.fin_in;
    }

    /// The TCP state once a FIN went either way (RFC 793 §3.2); `None`
    /// while neither did (the state the host offloaded stands).
    pub fn close_state(&self) -> Option<TCP_OFFLOAD_CONNECTION_STATE> {
        let peer = self.rx.fin_in;
        Some(match self.fin_out {
            FinOut::None | FinOut::Wanted if peer => TcpConnectionCloseWait,
            FinOut::None | FinOut::Wanted => return None,
            FinOut::Sent if peer && self.fin_after_peer => TcpConnectionLastAck,
            FinOut::Sent if peer => TcpConnectionClosing,
            FinOut::Sent => TcpConnectionFinWait1,
            FinOut::Acked if peer && self.fin_after_peer => TcpConnectionClosed,
            FinOut::Acked if peer => TcpConnectionTimeWait,
            FinOut::Acked => TcpConnectionFinWait2,
            FinOut::Closed => TcpConnectionClosed,
        })
    }

    /// At offload: a connection the host offloads half-closed carries on
    /// from there. In CLOSE_WAIT, CLOSING and LAST_ACK the peer's FIN is in
    /// RCV.NXT and the host knows of it (no `TcpIndicateDisconnect`); in
    /// FIN_WAIT_1, CLOSING and LAST_ACK our FIN is the last sequence number
    /// sent (SND.MAX − 1), in FIN_WAIT_2 it is acknowledged and the
    /// FIN_WAIT_2 timer runs on from the host's value (`deadline`) if it
    /// gave one (the caller starts it otherwise).
    pub(super) fn take_close_state(&mut self, state: i32, deadline: Option<u32>) {
        let (peer, ours) = match state {
            s if s == TcpConnectionCloseWait => (true, FinOut::None),
            s if s == TcpConnectionFinWait1 => (false, FinOut::Sent),
            s if s == TcpConnectionFinWait2 => (false, FinOut::Acked),
            s if s == TcpConnectionClosing => (true, FinOut::Sent),
            s if s == TcpConnectionLastAck => (true, FinOut::Sent),
            _ => return,
        };
        self.rx.fin_in = peer;
        self.rx.disconnect_indicated = peer;
        self.fin_out = ours;
        self.fin_after_peer = state == TcpConnectionLastAck;
        if state == TcpConnectionFinWait2 {
            self.rexmit_due = deadline;
        }
    }

    /// A SYN arrived (spec §6.10): in TIME_WAIT it is the host's; at
    /// RCV.NXT it closes the connection (CLOSED, processing stops as for an
    /// upload); elsewhere it is answered or dropped per §6.15.
    pub fn on_syn(&mut self, seq: u32) -> SynAction {
        if self.close_state() == Some(TcpConnectionTimeWait) {
            return SynAction::Unclaimed;
        }
        if seq == self.rcv_nxt {
            self.fin_out = FinOut::Closed;
            self.rexmit_due = None;
            self.state = super::conn::TxState::Uploading;
            self.touched = true;
            return SynAction::Closed;
        }
        let window = self.rx.adv_edge.wrapping_sub(self.rcv_nxt).max(1);
        if seq.wrapping_sub(self.rcv_nxt) < window {
            SynAction::Drop
        } else {
            SynAction::Ack
        }
    }

    /// A segment with URG (spec §6.10): if its sequence number is in the
    /// window and its ACK (when set) acknowledges nothing unsent, the
    /// connection stops here: no more ACKs or data go out, and everything
    /// from this segment on is held for the host. True when it did; an
    /// unacceptable one is dropped and the connection goes on.
    pub fn urgent_arrived(&mut self, seq: u32, ack: Option<u32>) -> bool {
        let window = self.rx.adv_edge.wrapping_sub(self.rcv_nxt).max(1);
        if seq.wrapping_sub(self.rcv_nxt) >= window {
            return false;
        }
        if let Some(ack) = ack {
            // Acceptable: SND.UNA − MAX.SND.WND ≤ ACK ≤ SND.MAX (RFC 5961 §5).
            let ahead = ack.wrapping_sub(self.snd_una);
            let behind = self.snd_una.wrapping_sub(ack);
            if ahead > self.snd_max.wrapping_sub(self.snd_una) && behind > self.max_snd_wnd {
                return false;
            }
        }
        self.urgent = true;
        self.halted = true;
        self.touched = true;
        true
    }

    /// ESTABLISHED or CLOSE_WAIT, offloaded (tcpCurrEstab, spec §7.6).
    pub fn established(&self) -> bool {
        matches!(
            self.state,
            super::conn::TxState::Open | super::conn::TxState::Uploading
        ) && self
            .close_state()
            .is_none_or(|s| s == TcpConnectionCloseWait)
    }

    /// An upload worth asking for with an optional reason now, if any:
    /// `HighOutOfOrderPackets` once [`OUT_OF_ORDER_LIMIT`] out-of-order
    /// segments were dropped since the last such request (this target does
    /// not reassemble, so the host's stack serves such a path better). The
    /// host may ignore it: the connection goes on as before (rule 89). Not
    /// asked in the half-closed states, where only mandatory reasons may
    /// start an upload (spec §6.12).
    pub fn optional_upload_due(&mut self) -> Option<u32> {
        if self.state != super::conn::TxState::Open
            || self.close_state().is_some()
            || self.rx.out_of_order < OUT_OF_ORDER_LIMIT
        {
            return None;
        }
        self.rx.out_of_order = 0;
        Some(crate::ffi::HighOutOfOrderPackets)
    }

    /// FIN_WAIT_2 (our FIN acknowledged, the peer's not in): its timer runs.
    pub fn in_fin_wait_2(&self) -> bool {
        self.fin_out == FinOut::Acked && !self.rx.fin_in
    }

    /// The FIN_WAIT_2 timer at `now`: start or restart it (entering the
    /// state, or an acceptable segment arrived) for `ticks`. Returns true
    /// when it runs. (Outside FIN_WAIT_2 the same deadline is the
    /// retransmit timer's, left alone.)
    pub fn restart_fin_wait_2(&mut self, now: u32, ticks: u32) -> bool {
        if self.in_fin_wait_2() && self.state == super::conn::TxState::Open {
            self.rexmit_due = Some(now.wrapping_add(ticks));
            true
        } else {
            false
        }
    }

    /// FIN_WAIT_2's timer ran out (spec §7.3, rule 99): the connection is
    /// CLOSED; from now on it processes nothing (segments go up the
    /// ordinary path, new requests get UPLOAD_IN_PROGRESS) until the upload
    /// the caller requests with `TimeoutExpiration`. False if it no longer
    /// applied.
    pub fn fin_wait_2_expired(&mut self) -> bool {
        self.rexmit_due = None;
        if !self.in_fin_wait_2() || self.state != super::conn::TxState::Open {
            return false;
        }
        self.fin_out = FinOut::Closed;
        self.state = super::conn::TxState::Uploading;
        self.touched = true;
        true
    }

    /// The disconnect request, if it is done now: its data and FIN
    /// acknowledged (SUCCESS); failed in its FIFO place (the failure of the
    /// send before it, as REQUEST_ABORTED, or its own malformation); or set
    /// aside by a reset or abortive close (REQUEST_ABORTED) or an upload
    /// (UPLOAD_IN_PROGRESS). It leaves the connection.
    pub fn finished_disconnect(&mut self) -> Option<Finished> {
        let status = match self.queue.closing() {
            Closing::None | Closing::Queued => return None,
            Closing::Acked(_) if self.fin_out == FinOut::Acked => NDIS_STATUS_SUCCESS,
            Closing::Acked(_) => return None,
            Closing::Failed(status) => status,
            Closing::Aside(_) if self.outstanding_aborted() => NDIS_STATUS_REQUEST_ABORTED,
            Closing::Aside(_) => NDIS_STATUS_UPLOAD_IN_PROGRESS,
        };
        let (request, acked) = self.queue.take_closing()?;
        Some(Finished {
            request,
            status,
            acked,
        })
    }
}
