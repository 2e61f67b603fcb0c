//! The offloaded state objects: neighbor, path, TCP connection. Each keeps the
//! state the host gave it (constant and cached variables as the host's own
//! structures, delegated variables as plain numbers), its `NdisOffloadHandle`,
//! and links up the inverted tree (TCP → path → neighbor) with reference counts.

use super::handle::ObjRef;
use crate::ffi::{
    NEIGHBOR_OFFLOAD_STATE_CACHED, NEIGHBOR_OFFLOAD_STATE_CONST, PATH_OFFLOAD_STATE_CACHED,
    TCP_OFFLOAD_STATE_CACHED, TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_DELEGATED,
};

/// Bookkeeping every object carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Common {
    /// `NdisOffloadHandle` from the block list (for indications).
    pub offload_handle: usize,
    /// Objects that link to this one (paths of a neighbor, connections of a path).
    pub refs: u32,
    /// Set by MiniportInvalidateOffload; nothing is sent through it any more.
    pub invalid: bool,
    /// Terminated by the host while something still depended on it: freed
    /// when the last dependent goes.
    pub terminated: bool,
    /// The target asked the host to upload this connection (TcpIndicateRetrieve).
    pub upload_requested: bool,
}

/// A link-layer neighbor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neighbor {
    pub common: Common,
    pub konst: NEIGHBOR_OFFLOAD_STATE_CONST,
    pub cached: NEIGHBOR_OFFLOAD_STATE_CACHED,
    /// NicReachabilityDelta as given at offload (ticks).
    pub nic_reachability_delta: u32,
}

/// An IP path (route-cache entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    pub common: Common,
    pub ipv6: bool,
    /// Source and destination address, network order (4 or 16 bytes used).
    pub source: [u8; 16],
    pub destination: [u8; 16],
    pub cached: PATH_OFFLOAD_STATE_CACHED,
    /// The neighbor this path sends through.
    pub neighbor: ObjRef,
}

/// The delegated TCP variables, without the pointer unions (those describe
/// send/receive data in transit, which the connection owns separately).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpDelegated {
    pub state: i32,
    pub flags: u16,
    pub rcv_nxt: u32,
    pub rcv_wnd: u32,
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub snd_max: u32,
    pub snd_wnd: u32,
    pub max_snd_wnd: u32,
    pub send_wl1: u32,
    pub cwnd: u32,
    pub ssthresh: u32,
    /// Smoothed RTT, ticks ×8 (kept scaled, as the host gives and expects it).
    pub srtt_x8: u16,
    /// RTT variance, ticks ×4.
    pub rttvar_x4: u16,
    pub ts_recent: u32,
    pub ts_recent_age: u32,
    /// TsTime − NIC time at offload (mod 2^32): timestamps continue seamlessly.
    pub ts_delta: u32,
    pub total_rt: u32,
    pub dup_ack_count: u8,
    pub snd_wnd_probe_count: u8,
    pub ka_probe_count: u8,
    /// Keep-alive deadline in NIC ticks, `None` when not running.
    pub ka_deadline: Option<u32>,
    pub rexmit_count: u8,
    /// Retransmit (or persist / FIN_WAIT_2) deadline in NIC ticks.
    pub rexmit_deadline: Option<u32>,
    pub dwnd: u32,
}

/// Spec encoding of a timer that is not running.
pub const NOT_RUNNING: u32 = 0xFFFF_FFFF;

fn deadline(now: u32, delta: u32) -> Option<u32> {
    (delta != NOT_RUNNING).then(|| now.wrapping_add(delta))
}

fn remaining(now: u32, deadline: Option<u32>) -> u32 {
    match deadline {
        None => NOT_RUNNING,
        Some(d) => {
            let left = d.wrapping_sub(now);
            // Past due (the difference wrapped "negative"): report 0, never −1.
            if left > u32::MAX / 2 {
                0
            } else {
                left.min(NOT_RUNNING - 1)
            }
        }
    }
}

impl TcpDelegated {
    /// Take the host's delegated state at NIC time `now` (ticks).
    pub fn from_host(d: &TCP_OFFLOAD_STATE_DELEGATED, now: u32) -> Self {
        TcpDelegated {
            state: d.State,
            flags: d.Flags,
            rcv_nxt: d.RcvNxt,
            rcv_wnd: d.RcvWnd,
            snd_una: d.SndUna,
            snd_nxt: d.SndNxt,
            snd_max: d.SndMax,
            snd_wnd: d.SndWnd,
            max_snd_wnd: d.MaxSndWnd,
            send_wl1: d.SendWL1,
            cwnd: d.CWnd,
            ssthresh: d.SsThresh,
            srtt_x8: d.SRtt,
            rttvar_x4: d.RttVar,
            ts_recent: d.TsRecent,
            ts_recent_age: d.TsRecentAge,
            ts_delta: d.TsTime.wrapping_sub(now),
            total_rt: d.TotalRT,
            dup_ack_count: d.DupAckCount,
            snd_wnd_probe_count: d.SndWndProbeCount,
            ka_probe_count: d.KeepAlive.ProbeCount,
            ka_deadline: deadline(now, d.KeepAlive.TimeoutDelta),
            rexmit_count: d.Retransmit.Count,
            rexmit_deadline: deadline(now, d.Retransmit.TimeoutDelta),
            dwnd: d.DWnd,
        }
    }

    /// Write every scalar delegated variable for the host at NIC time `now`
    /// (the send/receive unions are the caller's business).
    pub fn write_to(&self, d: &mut TCP_OFFLOAD_STATE_DELEGATED, now: u32) {
        d.State = self.state;
        d.Flags = self.flags;
        d.RcvNxt = self.rcv_nxt;
        d.RcvWnd = self.rcv_wnd;
        d.SndUna = self.snd_una;
        d.SndNxt = self.snd_nxt;
        d.SndMax = self.snd_max;
        d.SndWnd = self.snd_wnd;
        d.MaxSndWnd = self.max_snd_wnd;
        d.SendWL1 = self.send_wl1;
        d.CWnd = self.cwnd;
        d.SsThresh = self.ssthresh;
        d.SRtt = self.srtt_x8;
        d.RttVar = self.rttvar_x4;
        d.TsRecent = self.ts_recent;
        d.TsRecentAge = self.ts_recent_age;
        d.TsTime = now.wrapping_add(self.ts_delta);
        d.TotalRT = self.total_rt;
        d.DupAckCount = self.dup_ack_count;
        d.SndWndProbeCount = self.snd_wnd_probe_count;
        d.KeepAlive.ProbeCount = self.ka_probe_count;
        d.KeepAlive.TimeoutDelta = remaining(now, self.ka_deadline);
        d.Retransmit.Count = self.rexmit_count;
        d.Retransmit.TimeoutDelta = remaining(now, self.rexmit_deadline);
        d.DWnd = self.dwnd;
    }
}

/// An offloaded TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    pub common: Common,
    pub konst: TCP_OFFLOAD_STATE_CONST,
    pub cached: TCP_OFFLOAD_STATE_CACHED,
    pub delegated: TcpDelegated,
    /// The path this connection sends on (never changes while offloaded).
    /// (Send data taken over at offload lives in the send queue.)
    pub path: ObjRef,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_100_timers_stopped_as_all_ones_due_as_zero() {
        assert_eq!(remaining(100, deadline(100, 250)), 250);
        assert_eq!(remaining(100, deadline(100, NOT_RUNNING)), NOT_RUNNING);
        assert_eq!(
            remaining(100, deadline(100, 0)),
            0,
            "0 = running and due now"
        );
        assert_eq!(
            remaining(400, deadline(100, 250)),
            0,
            "past due reports 0, never −1"
        );
        assert_eq!(
            remaining(u32::MAX - 5, deadline(u32::MAX - 5, 10)),
            10,
            "wraps"
        );
    }
}
