#![allow(dead_code)]
//! Helpers for send-path tests: offload one neighbor → path → connection
//! whose far end is the simulator's scripted peer, post sends through the
//! registered `MiniportTcpOffloadSend`, read back completions.

use super::tree::{run, term_connection};
use chimney_miniport::ffi::*;
use ndis_sim::builders::{BlockId, NbSpec, NblChain, TcpSpec, Tree, read_net_buffer};
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::exports::phy::DEFAULT_MAC;
use ndis_sim::{AckPolicy, ConnKey, PeerConn, Simulator, StateOpKind, TcpIoKind};
use std::net::{IpAddr, Ipv4Addr};

/// The connection's first unacknowledged sequence number at offload.
pub const SND_UNA: u32 = 5_000_001;
/// The peer's next sequence number (the target's RcvNxt).
pub const RCV_NXT: u32 = 1_000_001;

/// One offloaded connection and the peer's view of it.
pub struct Conn {
    pub tree: Tree,
    pub neighbor: BlockId,
    pub path: BlockId,
    pub tcp: BlockId,
    /// The slot NDIS would pass as `MiniportOffloadContext` (boxed so its
    /// address is stable).
    pub slot: Box<PVOID>,
    pub key: ConnKey,
    pub spec: TcpSpec,
    /// Largest payload per segment the driver may use.
    pub mss: u32,
}

impl Conn {
    pub fn slot_ptr(&self) -> PVOID {
        (&*self.slot as *const PVOID).cast_mut().cast()
    }
}

/// The neighbor's link-layer address for connection group `n`.
pub fn peer_mac(n: u8) -> [u8; 6] {
    [0x00, 0x11, 0x22, 0x33, 0x44, n]
}

/// Offload one connection (local port `port` in network order as stored in
/// the state; path 10.0.0.1 → 10.0.1.`n`) after registering it with the
/// peer. `tweak` edits the TCP state first; the peer expects data from
/// `peer_rcv_nxt` (normally SndUna).
pub fn offload_with(
    sim: &Simulator,
    n: u8,
    port: u16,
    policy: AckPolicy,
    tweak: impl FnOnce(&mut TcpSpec, &mut Tree),
    peer_rcv_nxt: impl FnOnce(&TcpSpec) -> u32,
) -> Conn {
    let mut spec = TcpSpec::established(port, 443);
    let mut tree = Tree::new();
    tweak(&mut spec, &mut tree);
    let timestamps = spec.konst.Flags & TCP_FLAG_TIMESTAMP_ENABLED != 0;
    let mss = u32::from(spec.konst.RemoteMss).min(1460) - if timestamps { 12 } else { 0 };
    let pc = PeerConn {
        target_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        // The state carries ports in network byte order.
        target_port: u16::from_be(port),
        peer_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 1, n)),
        peer_port: u16::from_be(443),
        target_mac: DEFAULT_MAC,
        peer_mac: peer_mac(n),
        vlan_tci: None,
        rcv_nxt: peer_rcv_nxt(&spec),
        snd_nxt: spec.delegated.RcvNxt,
        window: spec.delegated.SndWnd,
        window_shift: spec.konst.SndWindScale(),
        mss: mss as u16,
        sack: spec.konst.Flags & TCP_FLAG_SACK_ENABLED != 0,
        policy,
    };
    let key = sim.peer_connect(pc);
    let neighbor = tree.new_neighbor([0; 6], 0, peer_mac(n));
    let path = tree.new_path4([10, 0, 0, 1], [10, 0, 1, n], 1500);
    let tcp = tree.new_tcp(&spec);
    // SAFETY: the send-data member of the delegated union (what offload uses).
    let head = unsafe { spec.delegated.Send.SendData.SendDataHead };
    if !head.is_null() {
        tree.set_chain(tcp, head);
    }
    tree.dependent(neighbor, path);
    tree.dependent(path, tcp);
    run(sim, StateOpKind::Initiate, &tree, neighbor);
    assert_eq!(
        tree.status(tcp),
        NDIS_STATUS_SUCCESS,
        "connection offloaded"
    );
    let slot = Box::new(tree.context(tcp) as PVOID);
    Conn {
        tree,
        neighbor,
        path,
        tcp,
        slot,
        key,
        spec,
        mss,
    }
}

/// An established connection with no data outstanding.
pub fn offload(sim: &Simulator, n: u8, port: u16, policy: AckPolicy) -> Conn {
    offload_with(sim, n, port, policy, |_, _| {}, |s| s.delegated.SndUna)
}

/// Immediate cumulative ACKs.
pub const AUTO: AckPolicy = AckPolicy::Auto {
    delay_ms: 0,
    max_step: None,
};

/// Post `chain` on `c` through MiniportTcpOffloadSend.
pub fn send(sim: &Simulator, c: &Conn, chain: &NblChain) -> NDIS_STATUS {
    sim.call_tcp_io(TcpIoKind::Send, c.slot_ptr(), chain.head())
}

/// A chain of NBLs with one NET_BUFFER in one MDL each, of the given sizes;
/// byte `i` of NBL `k` is `(k * 31 + i) as u8 ^ tag`.
pub fn chain_of(sizes: &[usize], tag: u8) -> NblChain {
    one_mdl_each(sizes, |k| pattern(k, sizes[k], tag))
}

/// A chain of NBLs with one NET_BUFFER in one MDL each, of the given sizes,
/// NBL `k` holding `payload(k)`.
pub fn one_mdl_each(sizes: &[usize], mut payload: impl FnMut(usize) -> Vec<u8>) -> NblChain {
    let shape: Vec<Vec<NbSpec>> = sizes
        .iter()
        .map(|&s| {
            vec![NbSpec {
                mdl_sizes: vec![s],
                offset: 0,
            }]
        })
        .collect();
    NblChain::build(&shape, |k, _| payload(k))
}

pub fn pattern(k: usize, len: usize, tag: u8) -> Vec<u8> {
    (0..len).map(|i| (k * 31 + i) as u8 ^ tag).collect()
}

/// Every byte of a chain, NBL by NBL, NET_BUFFER by NET_BUFFER.
pub fn chain_bytes(chain: &NblChain, shape: &[Vec<NbSpec>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, nbs) in shape.iter().enumerate() {
        for j in 0..nbs.len() {
            out.extend(chain.payload(k, j));
        }
    }
    out
}

/// Every (NBL, status) the driver completed as a send, call by call.
pub fn send_completions(sim: &Simulator) -> Vec<Vec<(usize, NDIS_STATUS)>> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|c| match c {
            ChimneyCall::SendComplete(v) => Some(v),
            _ => None,
        })
        .collect()
}

/// The completions flattened into one list.
pub fn completed(sim: &Simulator) -> Vec<(usize, NDIS_STATUS)> {
    ndis_sim::exports::chimney::sends_completed(&sim.chimney_calls())
}

/// The send completions so far are exactly `want`, in order.
pub fn assert_completed(sim: &Simulator, want: &[(PNET_BUFFER_LIST, NDIS_STATUS)]) {
    let want: Vec<(usize, NDIS_STATUS)> = want.iter().map(|&(p, s)| (p as usize, s)).collect();
    assert_eq!(completed(sim), want);
}

/// `TcpOffloadBytesTransferred` of an NBL.
pub fn bytes_transferred(nbl: PNET_BUFFER_LIST) -> usize {
    // SAFETY: a test-owned NBL; the info slot holds a ULONG value.
    unsafe { (*nbl).NetBufferListInfo[TcpOffloadBytesTransferred as usize] as usize }
}

/// (DataOffset, DataLength) of every NET_BUFFER of an NBL.
pub fn net_buffer_windows(nbl: PNET_BUFFER_LIST) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    // SAFETY: a test-owned NBL and its NET_BUFFERs.
    unsafe {
        let mut nb = (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
        while !nb.is_null() {
            let d = (*nb).NetBufferHeader.NetBufferData;
            out.push((d.DataOffset, d.NbDataLength.DataLength));
            nb = d.Next;
        }
    }
    out
}

/// The terminate tree for the connection and its path and neighbor, and
/// its root (the TCP block is block 2).
pub fn terminate_tree(c: &Conn) -> (Tree, BlockId) {
    term_connection(
        c.tree.context(c.neighbor),
        c.tree.context(c.path),
        c.tree.context(c.tcp),
    )
}

/// Terminate (upload) the connection and its path and neighbor; returns
/// the terminate tree and the TCP block in it.
pub fn terminate(sim: &Simulator, c: &Conn) -> (Tree, BlockId) {
    let (term, root) = terminate_tree(c);
    run(sim, StateOpKind::Terminate, &term, root);
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS);
    // neighbor → path → tcp: the TCP block is the third block built.
    (term, 2)
}

/// Acknowledge everything the peer has received until nothing new
/// arrives (each ACK may release data Nagle or the window held back).
pub fn ack_all(sim: &Simulator, c: &Conn) {
    let mut last = None;
    for _ in 0..10_000 {
        let r = sim.peer_state(c.key).rcv_nxt;
        if last == Some(r) {
            return;
        }
        sim.peer_ack(c.key, r, c.spec.delegated.SndWnd);
        sim.run_until_idle();
        last = Some(r);
    }
    panic!("the connection never went quiet");
}

/// Nagle off (the host's TCP_NODELAY).
pub fn no_nagle(s: &mut TcpSpec, _: &mut Tree) {
    s.cached.Flags &= !TCP_FLAG_NAGLING_ENABLED;
}

/// One posting thread's share of a test's connections, handed to it.
pub struct Mine<'a, T>(pub &'a [T]);
// SAFETY: a share is read by exactly one posting thread; the NBLs in it are
// the driver's from the send call until completed or handed back, and the
// main thread looks at them only after the posting threads are joined.
unsafe impl<T> Send for Mine<'_, T> {}
impl<T> Mine<'_, T> {
    /// The share (a method, so a closure captures the whole wrapper).
    pub fn get(&self) -> &[T] {
        self.0
    }
}

/// Every frame the peer put on the wire, in order.
pub fn frames_from_peer(sim: &Simulator) -> Vec<Vec<u8>> {
    sim.captured_frames()
        .into_iter()
        .filter(|f| f.1 == ndis_sim::Direction::FromPeer)
        .map(|f| f.2)
        .collect()
}

/// A connection with a manually acknowledging peer and Nagle off, its state
/// edited by `tweak` first (the peer expects data from SndUna).
pub fn offload_manual(sim: &Simulator, tweak: impl FnOnce(&mut TcpSpec)) -> Conn {
    offload_with(
        sim,
        1,
        4000,
        AckPolicy::Manual,
        |s, t| {
            no_nagle(s, t);
            tweak(s);
        },
        |s| s.delegated.SndUna,
    )
}

/// Terminate the connection and return its uploaded delegated state.
pub fn uploaded_state(sim: &Simulator, c: &Conn) -> (Tree, TCP_OFFLOAD_STATE_DELEGATED) {
    let (term, tcp) = terminate(sim, c);
    let d = term.state(tcp, 0);
    (term, d)
}

/// (virtual ms, segment) of everything the target sent (one connection on
/// the wire: the capture's times line up with the peer's record).
pub fn timed_segments(sim: &Simulator, c: &Conn) -> Vec<(u64, ndis_sim::SegInfo)> {
    let segs = sim.peer_state(c.key).segments;
    let times: Vec<u64> = sim
        .captured_frames()
        .into_iter()
        .filter(|f| f.1 == ndis_sim::Direction::FromTarget)
        .map(|f| f.0 / 10_000)
        .collect();
    assert_eq!(times.len(), segs.len(), "one connection on the wire");
    times.into_iter().zip(segs).collect()
}

/// The information of every `event` (a `TCP_OFFLOAD_EVENT_TYPE`) the driver
/// indicated so far, in order (for `TcpIndicateRetrieve`: the reasons).
pub fn event_infos(sim: &Simulator, event: ULONG) -> Vec<ULONG> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::Event { event: e, info, .. } if e == event => Some(info),
            _ => None,
        })
        .collect()
}

/// Upload requests made with `TimeoutExpiration` so far.
pub fn timeouts(sim: &Simulator) -> usize {
    event_infos(sim, TcpIndicateRetrieve)
        .iter()
        .filter(|&&r| r == TimeoutExpiration)
        .count()
}

/// A copy of each request's first NET_BUFFER as posted, to read what was
/// placed after the driver advanced the real one.
pub struct Posted(Vec<NET_BUFFER>);

impl Posted {
    pub fn of(chain: &NblChain) -> Posted {
        Posted(
            chain
                .nbls()
                .iter()
                .map(|&p| {
                    // SAFETY: the test's own NBLs, not posted yet.
                    unsafe {
                        std::ptr::read((*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer)
                    }
                })
                .collect(),
        )
    }

    /// The first `n` bytes of request `k`'s buffer.
    pub fn data(&self, k: usize, n: usize) -> Vec<u8> {
        // SAFETY: a copy of the request's NET_BUFFER as posted; its MDLs
        // belong to the test's chain, still alive.
        let all = unsafe { read_net_buffer(&self.0[k]) };
        all[..n].to_vec()
    }
}

/// Every receive completion so far, in order: (NBL, status).
pub fn receives_completed(sim: &Simulator) -> Vec<(usize, NDIS_STATUS)> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::ReceiveComplete(v) => Some(v),
            _ => None,
        })
        .flatten()
        .collect()
}

/// What the host read, in the order the driver gave it: the bytes of every
/// receive indication (all accepted: the simulator's default receive mode)
/// and of every completed receive request (its `TcpOffloadBytesTransferred`
/// first bytes). `requests`: each posted request NBL, the copy of its chain
/// as posted and its index in that chain.
pub fn host_stream(sim: &Simulator, requests: &[(usize, &Posted, usize)]) -> Vec<u8> {
    let mut host = Vec::new();
    for call in sim.chimney_calls() {
        match call {
            ChimneyCall::ReceiveIndicate { data, status, .. } => {
                assert_eq!(status, NDIS_STATUS_SUCCESS, "an indication not accepted");
                host.extend(data);
            }
            ChimneyCall::ReceiveComplete(v) => {
                for (p, _) in v {
                    let &(_, copy, k) = requests
                        .iter()
                        .find(|r| r.0 == p)
                        .expect("a completed request that was posted");
                    host.extend(copy.data(k, bytes_transferred(p as _)));
                }
            }
            _ => {}
        }
    }
    host
}

/// The NBLs of the chain at `head`, in order (e.g. those a terminate
/// handed back).
pub fn chain_nbls(mut head: PNET_BUFFER_LIST) -> Vec<usize> {
    let mut out = Vec::new();
    while !head.is_null() {
        out.push(head as usize);
        // SAFETY: a chain of the test's own NBLs, links set by whoever
        // handed it back.
        head = unsafe { (*head).NetBufferListHeader.NetBufferListData.Next };
    }
    out
}
