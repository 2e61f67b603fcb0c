//! What a connection takes from its offloaded objects to send and receive
//! ([`TxInit`], built by [`tx_init`] from the TCP, path and neighbor
//! state), and the 4-tuple the hardware files it under.

use super::conn::effective_mss;
use super::handle::ObjRef;
use super::objects::{Neighbor, Path, Tcp};
use super::table::Admission;
use crate::ffi::{
    TCP_FLAG_NAGLING_ENABLED, TCP_FLAG_SACK_ENABLED, TCP_FLAG_TIMESTAMP_ENABLED,
    TCP_FLAG_WINDOW_SCALING_ENABLED,
};
use crate::hw::index::FlowKey;
use crate::wire::{FrameTemplate, IpPair};

/// What a connection needs from its offload state to send.
#[derive(Clone, Copy, Debug)]
pub struct TxInit {
    pub generation: u32,
    pub offload_handle: usize,
    pub template: FrameTemplate,
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub snd_max: u32,
    pub snd_wnd: u32,
    pub max_snd_wnd: u32,
    pub snd_wl1: u32,
    pub cwnd: u32,
    pub ssthresh: u32,
    pub mss: u32,
    pub rcv_nxt: u32,
    pub rcv_wnd: u32,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub timestamps: bool,
    pub nagle: bool,
    pub sack: bool,
    pub ts_recent: u32,
    pub ts_delta: u32,
    /// Seed for the IP Identification sequence (the slot index spreads them).
    pub ip_id_seed: u16,
    /// The TCP state the host offloaded (`TCP_OFFLOAD_STATE_DELEGATED.State`).
    pub tcp_state: i32,
    /// The host's retransmit deadline (NIC ticks), FIN_WAIT_2's timer in
    /// that state.
    pub rexmit_deadline: Option<u32>,
    /// The host's RTT estimates (×8, ×4), retransmission count and ticks
    /// spent retransmitting, and the cached `MaxRT`.
    pub srtt_x8: u16,
    pub rttvar_x4: u16,
    pub rexmit_count: u8,
    pub total_rt: u32,
    pub max_rt: u32,
    /// Keep-alive: the cached settings and the delegated state.
    pub ka_enabled: bool,
    pub ka_timeout: u32,
    pub ka_interval: u32,
    pub ka_limit: u8,
    pub ka_sent: u8,
    pub ka_deadline: Option<u32>,
    /// `TCP_FLAG_KEEP_ALIVE_RESTART` (an update restarts the timer).
    pub ka_restart: bool,
    /// Slot of the neighbor the connection's path goes through.
    pub neighbor: u32,
}

/// Port numbers in `TCP_OFFLOAD_STATE_CONST` are taken to be in network byte
/// order, like the addresses next to them (the spec leaves it UNCONFIRMED;
/// docs/decisions.md). This is the one place that reads them.
pub fn port_from_state(v: u16) -> u16 {
    u16::from_be(v)
}

/// The 4-tuple the hardware files a connection under: what `flow_of` gives
/// for its frame template, without building the template.
pub fn flow_key(path: &Path, k: &crate::ffi::TCP_OFFLOAD_STATE_CONST) -> FlowKey {
    let (local, remote) = if path.ipv6 {
        (path.source, path.destination)
    } else {
        (v4_only(&path.source), v4_only(&path.destination))
    };
    FlowKey {
        local,
        remote,
        local_port: port_from_state(k.LocalPort),
        remote_port: port_from_state(k.RemotePort),
    }
}

/// An IPv4 address in the first 4 bytes, the rest zero.
fn v4_only(a: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    if let (Some(d), Some(s)) = (out.get_mut(..4), a.get(..4)) {
        d.copy_from_slice(s);
    }
    out
}

/// The send-side description of connection `r` from its offloaded objects.
pub fn tx_init(
    r: ObjRef,
    tcp: &Tcp,
    path: &Path,
    neighbor: &Neighbor,
    adm: &Admission,
    now: u32,
) -> TxInit {
    let _ = now;
    let k = &tcp.konst;
    let flags = k.Flags;
    let timestamps = flags & TCP_FLAG_TIMESTAMP_ENABLED != 0;
    let scaling = flags & TCP_FLAG_WINDOW_SCALING_ENABLED != 0;
    let mut dst_mac = [0u8; 6];
    if let Some(m) = neighbor.cached.DlDestinationAddress.get(..6) {
        dst_mac.copy_from_slice(m);
    }
    let vid = match neighbor.konst.VlanId() as u16 {
        0 => adm.vlan_id,
        v => v,
    };
    let prio = u16::from(tcp.cached.UserPriority());
    let vlan_tci = (vid != 0 || prio != 0).then_some((prio << 13) | (vid & 0x0FFF));
    let ip = if path.ipv6 {
        IpPair::V6 {
            src: path.source,
            dst: path.destination,
            hop_limit: tcp.cached.TtlOrHopLimit,
            traffic_class: tcp.cached.TosOrTrafficClass,
            flow_label: tcp.cached.FlowLabel(),
        }
    } else {
        let mut src = [0u8; 4];
        let mut dst = [0u8; 4];
        if let (Some(a), Some(b)) = (path.source.get(..4), path.destination.get(..4)) {
            src.copy_from_slice(a);
            dst.copy_from_slice(b);
        }
        IpPair::V4 {
            src,
            dst,
            ttl: tcp.cached.TtlOrHopLimit,
            tos: tcp.cached.TosOrTrafficClass,
        }
    };
    let d = &tcp.delegated;
    TxInit {
        generation: r.generation,
        offload_handle: tcp.common.offload_handle,
        template: FrameTemplate {
            dst_mac,
            src_mac: adm.mac,
            vlan_tci,
            ip,
            src_port: port_from_state(k.LocalPort),
            dst_port: port_from_state(k.RemotePort),
        },
        snd_una: d.snd_una,
        snd_nxt: d.snd_nxt,
        snd_max: d.snd_max,
        snd_wnd: d.snd_wnd,
        max_snd_wnd: d.max_snd_wnd,
        snd_wl1: d.send_wl1,
        cwnd: d.cwnd,
        ssthresh: d.ssthresh,
        mss: effective_mss(k.RemoteMss, path.cached.PathMtu, path.ipv6, timestamps),
        rcv_nxt: d.rcv_nxt,
        rcv_wnd: d.rcv_wnd,
        snd_wscale: if scaling { k.SndWindScale() } else { 0 },
        rcv_wscale: if scaling { k.RcvWindScale() } else { 0 },
        timestamps,
        nagle: tcp.cached.Flags & TCP_FLAG_NAGLING_ENABLED != 0,
        sack: flags & TCP_FLAG_SACK_ENABLED != 0,
        ts_recent: d.ts_recent,
        ts_delta: d.ts_delta,
        ip_id_seed: (r.index as u16).wrapping_mul(2_654_435_761u32 as u16),
        tcp_state: d.state,
        rexmit_deadline: d.rexmit_deadline,
        srtt_x8: d.srtt_x8,
        rttvar_x4: d.rttvar_x4,
        rexmit_count: d.rexmit_count,
        total_rt: d.total_rt,
        max_rt: tcp.cached.MaxRT,
        ka_enabled: tcp.cached.Flags & crate::ffi::TCP_FLAG_KEEP_ALIVE_ENABLED != 0,
        ka_timeout: tcp.cached.KaTimeout,
        ka_interval: tcp.cached.KaInterval,
        ka_limit: tcp.cached.KaProbeCount,
        ka_sent: d.ka_probe_count,
        ka_deadline: d.ka_deadline,
        ka_restart: tcp.cached.Flags & crate::ffi::TCP_FLAG_KEEP_ALIVE_RESTART != 0,
        neighbor: path.neighbor.index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::soft::flow_of;
    use crate::offload::handle::ObjKind;
    use crate::offload::objects::Common;

    /// The offload walk's prefetch hint names the slot the NIC then files
    /// the connection under, for IPv4 (with stray bytes after the address)
    /// and IPv6 paths.
    #[test]
    fn flow_key_is_the_key_of_the_frame_template() {
        let r = ObjRef {
            kind: ObjKind::Tcp,
            index: 7,
            generation: 3,
        };
        let link = ObjRef {
            kind: ObjKind::Path,
            index: 1,
            generation: 1,
        };
        let konst = crate::ffi::TCP_OFFLOAD_STATE_CONST {
            LocalPort: 443u16.to_be(),
            RemotePort: 50_123u16.to_be(),
            RemoteMss: 1460,
            ..Default::default()
        };
        let tcp = Tcp {
            common: Common::default(),
            konst,
            cached: Default::default(),
            delegated: Default::default(),
            path: link,
        };
        let neighbor = Neighbor {
            common: Common::default(),
            konst: Default::default(),
            cached: Default::default(),
            nic_reachability_delta: 0,
        };
        let adm = Admission {
            ipv4: true,
            ipv6: true,
            vlan_id: 0,
            mac: [2, 0, 0, 0, 0, 1],
            max_rcv_window: 1 << 20,
        };
        for ipv6 in [false, true] {
            let mut source = [0x11u8; 16];
            source[..4].copy_from_slice(&[10, 0, 0, 1]);
            let path = Path {
                common: Common::default(),
                ipv6,
                source,
                destination: [0x22; 16],
                cached: Default::default(),
                neighbor: link,
            };
            let init = tx_init(r, &tcp, &path, &neighbor, &adm, 0);
            assert_eq!(
                flow_key(&path, &konst),
                flow_of(&init.template),
                "ipv6 {ipv6}"
            );
        }
    }
}
