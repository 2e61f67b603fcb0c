//! The host's global TCP parameters for offloaded connections
//! (`NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS`, spec §7.1), validated.

use crate::ffi::{
    NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1, NDIS_STATUS,
    NDIS_STATUS_INVALID_LENGTH, NDIS_STATUS_INVALID_PARAMETER,
    NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_1,
    NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_2,
};

/// Parameters every offloaded connection uses; ticks are host ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpParams {
    pub ticks_per_second: u32,
    pub ack_frequency: u8,
    pub delayed_ack_ticks: u8,
    pub max_retransmissions: u8,
    pub doubt_reachability_retransmissions: u8,
    pub sws_prevention_ticks: u32,
    pub duplicate_ack_threshold: u32,
    pub push_ticks: u32,
    pub nce_stale_ticks: u32,
}

impl Default for TcpParams {
    /// Values in force until the host sets its own: Windows' defaults
    /// (1 ms ticks, ACK every 2nd segment, 200 ms delayed ACK, 5 retransmits,
    /// 3 duplicate ACKs, 500 ms push timer, 30 s neighbour staleness).
    fn default() -> Self {
        TcpParams {
            ticks_per_second: 1000,
            ack_frequency: 2,
            delayed_ack_ticks: 200,
            max_retransmissions: 5,
            doubt_reachability_retransmissions: 3,
            sws_prevention_ticks: 1000,
            duplicate_ack_threshold: 3,
            push_ticks: 500,
            nce_stale_ticks: 30_000,
        }
    }
}

impl TcpParams {
    /// Validate a set request. The header must name revision 1 or 2 with at
    /// least the revision-1 size; every "must support" field must be usable.
    pub fn from_ndis(
        p: &NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
        buffer_len: usize,
    ) -> Result<Self, NDIS_STATUS> {
        let min = usize::from(NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_PARAMETERS_REVISION_1);
        if buffer_len < min || usize::from(p.Header.Size) < min {
            return Err(NDIS_STATUS_INVALID_LENGTH);
        }
        if p.Header.Revision != NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_1
            && p.Header.Revision != NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS_2
        {
            return Err(NDIS_STATUS_INVALID_PARAMETER);
        }
        if p.TicksPerSecond == 0
            || p.TicksPerSecond > 1_000_000
            || p.TcpAckFrequency == 0
            || p.TcpDuplicateAckThreshold == 0
        {
            return Err(NDIS_STATUS_INVALID_PARAMETER);
        }
        Ok(TcpParams {
            ticks_per_second: p.TicksPerSecond,
            ack_frequency: p.TcpAckFrequency,
            delayed_ack_ticks: p.TcpDelayedAckTicks,
            max_retransmissions: p.TcpMaximumRetransmissions,
            doubt_reachability_retransmissions: p.TcpDoubtReachabilityRetransmissions,
            sws_prevention_ticks: p.TcpSwsPreventionTicks,
            duplicate_ack_threshold: p.TcpDuplicateAckThreshold,
            push_ticks: p.TcpPushTicks,
            nce_stale_ticks: p.NceStaleTicks,
        })
    }

    /// Convert host ticks to milliseconds (saturating), for the NIC's timers.
    pub fn ticks_to_ms(&self, ticks: u32) -> u64 {
        (u64::from(ticks) * 1000) / u64::from(self.ticks_per_second.max(1))
    }
}
