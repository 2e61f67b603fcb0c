//! Chimney statistics per IP family (`TCP_OFFLOAD_STATS`, `IP_OFFLOAD_STATS`):
//! counters of offloaded traffic only, wrapping at their C width, readable and
//! resettable from any IRQL without locks.

use crate::ffi::{IP_OFFLOAD_STATS, TCP_OFFLOAD_STATS};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// TCP counters of one family.
#[derive(Default)]
pub struct TcpStats {
    pub in_segments: AtomicU64,
    pub out_segments: AtomicU64,
    pub currently_established: AtomicU32,
    pub reset_established: AtomicU32,
    pub retransmitted_segments: AtomicU32,
    pub in_errors: AtomicU32,
    pub out_resets: AtomicU32,
}

/// IP counters of one family.
#[derive(Default)]
pub struct IpStats {
    pub in_receives: AtomicU64,
    pub in_octets: AtomicU64,
    pub in_delivers: AtomicU64,
    pub out_requests: AtomicU64,
    pub out_octets: AtomicU64,
    pub in_header_errors: AtomicU32,
    pub in_truncated_packets: AtomicU32,
    pub in_discards: AtomicU32,
    pub out_discards: AtomicU32,
    pub out_no_routes: AtomicU32,
}

/// Statistics of one interface.
#[derive(Default)]
pub struct OffloadStats {
    pub tcp4: TcpStats,
    pub tcp6: TcpStats,
    pub ip4: IpStats,
    pub ip6: IpStats,
}

impl OffloadStats {
    /// The TCP counters of IPv4 (`ipv6` false) or IPv6.
    pub fn tcp(&self, ipv6: bool) -> &TcpStats {
        if ipv6 { &self.tcp6 } else { &self.tcp4 }
    }

    /// The IP counters of IPv4 (`ipv6` false) or IPv6.
    pub fn ip(&self, ipv6: bool) -> &IpStats {
        if ipv6 { &self.ip6 } else { &self.ip4 }
    }
}

impl TcpStats {
    pub fn snapshot(&self) -> TCP_OFFLOAD_STATS {
        TCP_OFFLOAD_STATS {
            InSegments: self.in_segments.load(Relaxed),
            OutSegments: self.out_segments.load(Relaxed),
            CurrentlyEstablished: self.currently_established.load(Relaxed),
            ResetEstablished: self.reset_established.load(Relaxed),
            RetransmittedSegments: self.retransmitted_segments.load(Relaxed),
            InErrors: self.in_errors.load(Relaxed),
            OutResets: self.out_resets.load(Relaxed),
        }
    }

    /// Zero every counter except the gauge `CurrentlyEstablished`, which
    /// describes present state rather than history.
    pub fn reset(&self) {
        self.in_segments.store(0, Relaxed);
        self.out_segments.store(0, Relaxed);
        self.reset_established.store(0, Relaxed);
        self.retransmitted_segments.store(0, Relaxed);
        self.in_errors.store(0, Relaxed);
        self.out_resets.store(0, Relaxed);
    }
}

impl IpStats {
    pub fn snapshot(&self) -> IP_OFFLOAD_STATS {
        IP_OFFLOAD_STATS {
            InReceives: self.in_receives.load(Relaxed),
            InOctets: self.in_octets.load(Relaxed),
            InDelivers: self.in_delivers.load(Relaxed),
            OutRequests: self.out_requests.load(Relaxed),
            OutOctets: self.out_octets.load(Relaxed),
            InHeaderErrors: self.in_header_errors.load(Relaxed),
            InTruncatedPackets: self.in_truncated_packets.load(Relaxed),
            InDiscards: self.in_discards.load(Relaxed),
            OutDiscards: self.out_discards.load(Relaxed),
            OutNoRoutes: self.out_no_routes.load(Relaxed),
        }
    }

    pub fn reset(&self) {
        for c in [
            &self.in_receives,
            &self.in_octets,
            &self.in_delivers,
            &self.out_requests,
            &self.out_octets,
        ] {
            c.store(0, Relaxed);
        }
        for c in [
            &self.in_header_errors,
            &self.in_truncated_packets,
            &self.in_discards,
            &self.out_discards,
            &self.out_no_routes,
        ] {
            c.store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_wrap_and_reset() {
        let s = OffloadStats::default();
        s.tcp4.in_errors.store(u32::MAX, Relaxed);
        s.tcp4.in_errors.fetch_add(1, Relaxed);
        assert_eq!(
            s.tcp4.snapshot().InErrors,
            0,
            "32-bit counters wrap to zero"
        );
        s.tcp4.in_segments.fetch_add(7, Relaxed);
        s.tcp4.currently_established.store(2, Relaxed);
        s.ip6.out_octets.fetch_add(99, Relaxed);
        s.tcp4.reset();
        assert_eq!(s.tcp4.snapshot().InSegments, 0);
        assert_eq!(s.tcp4.snapshot().CurrentlyEstablished, 2);
        assert_eq!(s.ip6.snapshot().OutOctets, 99, "other family untouched");
        s.ip6.reset();
        assert_eq!(s.ip6.snapshot().OutOctets, 0);
    }
}
