//! Chimney statistics (spec §7.6, rule 104): `OID_TCP4/6_OFFLOAD_STATS` and
//! `OID_IP4/6_OFFLOAD_STATS` count offloaded traffic only, per IP family,
//! reset per OID, and wrap at their width.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use chimney_miniport::miniport::Adapter;
use common::send::*;
use common::tree::run;
use common::*;
use ndis_sim::builders::{NblChain, TcpSpec, Tree};
use ndis_sim::exports::phy::DEFAULT_MAC;
use ndis_sim::{AckPolicy, ConnKey, Direction, PeerConn, Simulator, StateOpKind, TcpIoKind};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::Ordering;

fn tcp(sim: &Simulator, ipv6: bool) -> TCP_OFFLOAD_STATS {
    let oid = if ipv6 {
        OID_TCP6_OFFLOAD_STATS
    } else {
        OID_TCP4_OFFLOAD_STATS
    };
    let r = sim.oid_query(oid, size_of::<TCP_OFFLOAD_STATS>());
    assert_eq!(r.status, NDIS_STATUS_SUCCESS);
    read(&r.data)
}

fn ip(sim: &Simulator, ipv6: bool) -> IP_OFFLOAD_STATS {
    let oid = if ipv6 {
        OID_IP6_OFFLOAD_STATS
    } else {
        OID_IP4_OFFLOAD_STATS
    };
    let r = sim.oid_query(oid, size_of::<IP_OFFLOAD_STATS>());
    assert_eq!(r.status, NDIS_STATUS_SUCCESS);
    read(&r.data)
}

fn adapter(sim: &Simulator) -> &'static Adapter {
    // SAFETY: the context the driver registered, live until halt (tests halt last).
    unsafe { Adapter::from_context(sim.context()) }.expect("adapter")
}

const V6_LOCAL: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_PEER: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];

/// An IPv6 connection (fd00::1 port 5000 ↔ fd00:0:0:1::2 port 443).
fn offload6(sim: &Simulator) -> (Tree, usize, ConnKey, Box<PVOID>) {
    let spec = TcpSpec::established(u16::to_be(5000), u16::to_be(443));
    // 1500 − 40 − 20, less 12 for timestamps.
    let mss = 1500 - 60 - 12;
    let key = sim.peer_connect(PeerConn {
        target_ip: IpAddr::V6(Ipv6Addr::from(V6_LOCAL)),
        target_port: 5000,
        peer_ip: IpAddr::V6(Ipv6Addr::from(V6_PEER)),
        peer_port: 443,
        target_mac: DEFAULT_MAC,
        peer_mac: peer_mac(9),
        vlan_tci: None,
        rcv_nxt: spec.delegated.SndUna,
        snd_nxt: spec.delegated.RcvNxt,
        window: spec.delegated.SndWnd,
        window_shift: spec.konst.SndWindScale(),
        mss,
        sack: false,
        policy: AUTO,
    });
    let mut tree = Tree::new();
    let n = tree.new_neighbor([0; 6], 0, peer_mac(9));
    let p = tree.new_path6(V6_LOCAL, V6_PEER, 1500);
    let t = tree.new_tcp(&spec);
    tree.dependent(n, p);
    tree.dependent(p, t);
    run(sim, StateOpKind::Initiate, &tree, n);
    assert_eq!(tree.status(t), NDIS_STATUS_SUCCESS);
    let slot = Box::new(tree.context(t) as PVOID);
    (tree, n, key, slot)
}

/// (frames, IP octets) the capture shows for `key` in direction `dir`.
fn on_wire(sim: &Simulator, key: ConnKey, dir: Direction) -> (u64, u64) {
    let (local, remote) = match (key.target_ip, key.peer_ip) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (a.octets().to_vec(), b.octets().to_vec()),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.octets().to_vec(), b.octets().to_vec()),
        _ => unreachable!(),
    };
    let mut frames = 0;
    let mut octets = 0;
    for (_, d, f) in sim.captured_frames() {
        if d != dir {
            continue;
        }
        let (src, dst) = if dir == Direction::FromTarget {
            (&local, &remote)
        } else {
            (&remote, &local)
        };
        let len = match f[12..14] {
            [0x08, 0x00] if f[26..30] == src[..] && f[30..34] == dst[..] => {
                u64::from(u16::from_be_bytes([f[16], f[17]]))
            }
            [0x86, 0xdd] if f[22..38] == src[..] && f[38..54] == dst[..] => {
                40 + u64::from(u16::from_be_bytes([f[18], f[19]]))
            }
            _ => continue,
        };
        frames += 1;
        octets += len;
    }
    (frames, octets)
}

#[test]
fn rule_104_statistics_count_only_offloaded_traffic_per_family_and_wrap() {
    let sim = with_adapter();
    let a = offload(&sim, 1, 4000, AUTO);
    let (tree6, n6, key6, slot6) = offload6(&sim);
    // Traffic that is not offloaded: ARP, and TCP for no connection.
    let mut arp = vec![0u8; 60];
    arp[..6].copy_from_slice(&DEFAULT_MAC);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    sim.inject_frame(arp);
    sim.run_until_idle();
    // Offloaded traffic both ways on both connections.
    let ch = chain_of(&[1000, 3000, 10], 1);
    send(&sim, &a, &ch);
    sim.peer_send(a.key, b"from the peer", true);
    let ch6 = chain_of(&[2000], 2);
    sim.call_tcp_io(
        TcpIoKind::Send,
        (&*slot6 as *const PVOID).cast_mut().cast(),
        ch6.head(),
    );
    sim.peer_send(key6, b"six", true);
    sim.run_until_idle();
    sim.advance_ms(1_000);
    for (ipv6, key) in [(false, a.key), (true, key6)] {
        let (out_n, out_octets) = on_wire(&sim, key, Direction::FromTarget);
        let (in_n, in_octets) = on_wire(&sim, key, Direction::FromPeer);
        assert!(out_n > 0 && in_n > 0);
        let t = tcp(&sim, ipv6);
        let i = ip(&sim, ipv6);
        assert_eq!((t.OutSegments, t.InSegments), (out_n, in_n), "v6 {ipv6}");
        assert_eq!((i.OutRequests, i.OutOctets), (out_n, out_octets));
        assert_eq!(
            (i.InReceives, i.InDelivers, i.InOctets),
            (in_n, in_n, in_octets)
        );
        assert_eq!(t.CurrentlyEstablished, 1);
        assert_eq!(
            (t.ResetEstablished, t.OutResets, t.RetransmittedSegments),
            (0, 0, 0)
        );
    }
    // Resetting the TCP view of IPv4 leaves the IP view and IPv6 alone.
    let before_ip4 = ip(&sim, false);
    let before_tcp6 = tcp(&sim, true);
    let r = sim.oid_set(
        OID_TCP4_OFFLOAD_STATS,
        &[0u8; size_of::<TCP_OFFLOAD_STATS>()],
    );
    assert_eq!(r.status, NDIS_STATUS_SUCCESS);
    assert_eq!(tcp(&sim, false).InSegments, 0);
    assert_eq!(tcp(&sim, false).OutSegments, 0);
    assert_eq!(tcp(&sim, false).CurrentlyEstablished, 1, "a gauge");
    assert_eq!(ip(&sim, false), before_ip4);
    assert_eq!(tcp(&sim, true), before_tcp6);
    // An abortive close from ESTABLISHED: one RST out, one reset.
    let req = NblChain::single(&[]);
    sim.call_tcp_io(
        TcpIoKind::Disconnect(TCP_DISCONNECT_ABORTIVE_CLOSE),
        a.slot_ptr(),
        req.head(),
    );
    sim.run_until_idle();
    let t = tcp(&sim, false);
    assert_eq!((t.OutResets, t.OutSegments, t.ResetEstablished), (1, 1, 1));
    assert_eq!(t.CurrentlyEstablished, 0);
    assert_eq!(tcp(&sim, true).ResetEstablished, 0);
    // Counters wrap at their width: 32-bit ResetEstablished through a peer
    // reset on another connection, 64-bit InOctets through a frame.
    let b = offload(&sim, 2, 4001, AckPolicy::Manual);
    adapter(&sim)
        .stats
        .tcp4
        .reset_established
        .store(u32::MAX, Ordering::Relaxed);
    let octets = ip(&sim, false).InOctets;
    adapter(&sim)
        .stats
        .ip4
        .in_octets
        .fetch_sub(octets.wrapping_add(1), Ordering::Relaxed);
    assert_eq!(ip(&sim, false).InOctets, u64::MAX);
    sim.peer_rst(b.key);
    sim.run_until_idle();
    assert_eq!(tcp(&sim, false).ResetEstablished, 0, "wrapped");
    // The RST frame is 40 bytes of IP (20 + 20).
    assert_eq!(ip(&sim, false).InOctets, 39, "wrapped");
    terminate(&sim, &a);
    terminate(&sim, &b);
    finish6(sim, &tree6, n6);
}

/// Terminate the IPv6 connection's tree, then finish.
fn finish6(sim: Simulator, tree: &Tree, n: usize) {
    let (term, root) =
        common::tree::term_connection(tree.context(n), tree.context(n + 1), tree.context(n + 2));
    run(&sim, StateOpKind::Terminate, &term, root);
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    finish(sim);
}

#[test]
fn statistics_of_one_family_are_empty_without_its_traffic() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AUTO);
    let ch = chain_of(&[100], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert!(tcp(&sim, false).OutSegments > 0);
    let t6 = tcp(&sim, true);
    let i6 = ip(&sim, true);
    assert_eq!(
        (t6.InSegments, t6.OutSegments, t6.CurrentlyEstablished),
        (0, 0, 0)
    );
    assert_eq!((i6.InOctets, i6.OutOctets), (0, 0));
    terminate(&sim, &c);
    finish(sim);
}
