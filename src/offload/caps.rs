//! What the target advertises: the hardware chimney capability and the
//! current (registry-restricted) configuration, as `NDIS_TCP_CONNECTION_OFFLOAD`.

use crate::ffi::{
    NDIS_ENCAPSULATION_IEEE_802_3, NDIS_OBJECT_HEADER, NDIS_OBJECT_TYPE_DEFAULT,
    NDIS_OFFLOAD_NOT_SUPPORTED, NDIS_OFFLOAD_SUPPORTED,
    NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_1, NDIS_TCP_CONNECTION_OFFLOAD,
    NDIS_TCP_CONNECTION_OFFLOAD_REVISION_1, ULONG,
};

/// A chimney capability or configuration in plain terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChimneyCaps {
    pub ipv4: bool,
    pub ipv6: bool,
    /// Simultaneous offloaded connections, IPv4 and IPv6 together.
    pub capacity: ULONG,
}

impl ChimneyCaps {
    /// What the (software) hardware can do with `capacity` context slots.
    /// SACK is claimed (the receiver's blocks, the sender's scoreboard and
    /// recovery: `offload::rx`, `offload::sack`); IPv6 extension headers
    /// are not.
    pub const fn hardware(capacity: ULONG) -> Self {
        ChimneyCaps {
            ipv4: true,
            ipv6: true,
            capacity,
        }
    }

    /// The current configuration: the hardware capability restricted by the
    /// `*TCPConnectionOffloadIPv4` / `*TCPConnectionOffloadIPv6` keywords.
    pub const fn restricted(self, ipv4_enabled: bool, ipv6_enabled: bool) -> Self {
        ChimneyCaps {
            ipv4: self.ipv4 && ipv4_enabled,
            ipv6: self.ipv6 && ipv6_enabled,
            capacity: self.capacity,
        }
    }

    /// True if anything at all can be offloaded.
    pub const fn any(self) -> bool {
        (self.ipv4 || self.ipv6) && self.capacity != 0
    }

    /// The NDIS structure (revision 1, 20 bytes).
    pub fn to_ndis(self) -> NDIS_TCP_CONNECTION_OFFLOAD {
        let flag = |b: bool| {
            if b {
                NDIS_OFFLOAD_SUPPORTED
            } else {
                NDIS_OFFLOAD_NOT_SUPPORTED
            }
        };
        let mut t = NDIS_TCP_CONNECTION_OFFLOAD {
            Header: NDIS_OBJECT_HEADER {
                Type: NDIS_OBJECT_TYPE_DEFAULT,
                Revision: NDIS_TCP_CONNECTION_OFFLOAD_REVISION_1,
                Size: NDIS_SIZEOF_TCP_CONNECTION_OFFLOAD_REVISION_1,
            },
            Encapsulation: NDIS_ENCAPSULATION_IEEE_802_3,
            _bitfield_1: 0,
            TcpConnectionOffloadCapacity: self.capacity,
            Flags: 0,
        };
        t.set_SupportIPv4(flag(self.ipv4));
        t.set_SupportIPv6(flag(self.ipv6));
        t.set_SupportIPv6ExtensionHeaders(NDIS_OFFLOAD_NOT_SUPPORTED);
        t.set_SupportSack(NDIS_OFFLOAD_SUPPORTED);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_restrict_current_not_hardware() {
        let hw = ChimneyCaps::hardware(64);
        let cur = hw.restricted(true, false);
        assert!(cur.ipv4 && !cur.ipv6);
        assert!(hw.ipv4 && hw.ipv6);
        let n = cur.to_ndis();
        assert_eq!(n.SupportIPv4(), NDIS_OFFLOAD_SUPPORTED);
        assert_eq!(n.SupportIPv6(), NDIS_OFFLOAD_NOT_SUPPORTED);
        assert_eq!(n.TcpConnectionOffloadCapacity, 64);
        assert!(!hw.restricted(false, false).any());
    }
}
