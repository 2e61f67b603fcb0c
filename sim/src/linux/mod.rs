//! Offloaded connections against the Linux kernel's TCP, end to end.
//!
//! The simulated host opens `connections` connections (IPv4 or IPv6) on the
//! ordinary path to a server in a network namespace ([`crate::tap`]),
//! offloads them to the driver in one tree (MiniportInitiateOffload), and on
//! each: sends `send_bytes` through MiniportTcpOffloadSend, takes the
//! server's `reply_bytes` from the driver's chimney receive indications,
//! sees the server's FIN indicated (TcpIndicateDisconnect) and closes with
//! a graceful MiniportTcpOffloadDisconnect; then it uploads them all
//! (MiniportTerminateOffload). The server checks every byte it reads and
//! reports its kernel's `TCP_INFO`. Everything runs in real time, through
//! the link's seeded impairments.

pub mod server;

use crate::builders::{BlockId, NbSpec, NblChain, Tree};
use crate::exports::chimney::ChimneyCall;
use crate::hoststack::{ActiveOpen, Endpoint, SynAck};
use crate::link::{LinkConfig, LinkCounters};
use crate::state::lock;
use crate::tap::{LinuxPeer, PEER_IP, PEER_IP6, PEER_MAC, TARGET_IP, TARGET_IP6};
use crate::{Simulator, StateOpKind, TcpIoKind, Violation};
use chimney_miniport::ffi::*;
pub use server::ServerReport;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// What to do.
#[derive(Clone, Debug)]
pub struct Plan {
    pub link: LinkConfig,
    /// Connections, all offloaded in one tree.
    pub connections: usize,
    /// IPv6 instead of IPv4.
    pub ipv6: bool,
    /// Bytes the host sends through each offloaded connection.
    pub send_bytes: usize,
    /// Bytes per send NBL.
    pub nbl_bytes: usize,
    /// Bytes the server sends back on each once it has read everything.
    pub reply_bytes: usize,
    /// Give up after this much wall time.
    pub limit: Duration,
    /// Receive requests (MiniportTcpOffloadReceive) of this many bytes,
    /// [`POSTED`] kept posted per connection, reposted as they complete;
    /// `None`: the reply comes only through indications.
    pub posted_receives: Option<usize>,
}

/// Receive requests kept posted per connection (with `posted_receives`).
pub const POSTED: usize = 4;

impl Default for Plan {
    fn default() -> Self {
        Plan {
            link: LinkConfig::default(),
            connections: 1,
            ipv6: false,
            send_bytes: 1 << 20,
            nbl_bytes: 64 << 10,
            reply_bytes: 256 << 10,
            limit: Duration::from_secs(60),
            posted_receives: None,
        }
    }
}

/// Byte `i` of stream `stream`: connection `k` carries stream `2k` from the
/// host and `2k + 1` from the server.
pub fn pattern(stream: u8, i: usize) -> u8 {
    ((i % 251) as u8).wrapping_mul(3) ^ stream.wrapping_mul(0x5A) ^ (i / 251) as u8
}

/// What one phase took, in wall time from the start (the last connection).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timeline {
    pub handshake_ms: f64,
    pub sends_done_ms: f64,
    pub reply_done_ms: f64,
    pub closed_ms: f64,
}

/// The first connection's send state, sampled from the NIC's state (the
/// software engine's TCB, read as a debugger would) during the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Wall time since the start, ms.
    pub t_ms: f64,
    /// SND.UNA and SND.NXT, relative to the first byte sent.
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub cwnd: u32,
    pub ssthresh: u32,
    /// Reply bytes received so far.
    pub received: u64,
}

/// Everything measured, summed over the connections where a count.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub connections: usize,
    /// Every connection's handshake completed.
    pub handshake: bool,
    pub syn_sent: u32,
    /// The first failing block status of the initiate (SUCCESS if none).
    pub offload_status: NDIS_STATUS,
    pub nbls: usize,
    pub nbls_success: usize,
    /// Reply bytes the host received (indications and posted requests).
    pub reply_received: usize,
    /// Of those, bytes that came in completed receive requests.
    pub reply_in_requests: usize,
    /// Every connection's reply was the server's pattern, in order.
    pub reply_intact: bool,
    /// Every connection's FIN was indicated.
    pub peer_fin_indicated: bool,
    /// The first graceful-disconnect status other than SUCCESS, else SUCCESS
    /// (None if one never completed).
    pub disconnect_status: Option<NDIS_STATUS>,
    pub upload_status: NDIS_STATUS,
    /// The uploaded delegated state's `State` of each connection.
    pub uploaded_states: Vec<u32>,
    /// Every connection's SND.UNA / RCV.NXT advanced by exactly its data and FIN.
    pub uploaded_sequence_right: bool,
    /// The server's reports, merged.
    pub server: ServerReport,
    pub outbound: LinkCounters,
    pub inbound: LinkCounters,
    pub timeline: Timeline,
    /// Retransmitted segments the driver counted (`tcpRetransSegs`).
    pub driver_retransmitted: u64,
    pub finished: bool,
    pub violations: Vec<Violation>,
    /// The first connection's send state every few milliseconds.
    pub samples: Vec<Sample>,
}

impl Report {
    /// Every byte both ways on every connection, every request completed
    /// as it should.
    pub fn ok(&self, plan: &Plan) -> bool {
        let n = plan.connections;
        self.finished
            && self.connections == n
            && self.handshake
            && self.offload_status == NDIS_STATUS_SUCCESS
            && self.nbls_success == self.nbls
            && self.reply_received == plan.reply_bytes * n
            && self.reply_intact
            && self.peer_fin_indicated
            && self.disconnect_status == Some(NDIS_STATUS_SUCCESS)
            && self.upload_status == NDIS_STATUS_SUCCESS
            && self.uploaded_sequence_right
            && self.server.received == plan.send_bytes * n
            && self.server.mismatch_at.is_none()
            && self.server.eof
            && self.violations.is_empty()
    }
}

/// Progress as the run goes: (bytes the peer acknowledged, reply bytes
/// received), over all connections.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

const SERVER_PORT: u16 = 5001;
/// Connection `k` uses local port `HOST_PORT + k`.
pub(crate) const HOST_PORT: u16 = 49_200;

/// One connection, from the host's side.
struct Conn {
    host: ActiveOpen,
    syn_ack: Option<SynAck>,
    tcp: Option<BlockId>,
    handle: usize,
    context: usize,
    /// The `MiniportOffloadContext` slot (boxed: its address is passed).
    slot: Box<PVOID>,
    chain: Option<NblChain>,
    fin: Option<NblChain>,
    iss1: u32,
    irs1: u32,
    nbls: usize,
    nbls_success: usize,
    reply: Vec<u8>,
    /// Receive requests posted and not completed: the chain and a copy of
    /// its NET_BUFFER as posted (the driver advances the real one).
    posted: Vec<(NblChain, NET_BUFFER)>,
    in_requests: usize,
    peer_fin: bool,
    disconnect: Option<NDIS_STATUS>,
}

impl Conn {
    fn slot_ptr(&self) -> PVOID {
        (&*self.slot as *const PVOID).cast_mut().cast()
    }

    /// Post one receive request of `size` bytes (one NET_BUFFER, one MDL).
    fn post_receive(&mut self, sim: &Simulator, size: usize) {
        let chain = NblChain::build(
            &[vec![NbSpec {
                mdl_sizes: vec![size.max(1)],
                offset: 0,
            }]],
            |_, _| vec![0; size.max(1)],
        );
        let head = chain.head();
        // SAFETY: the chain was just built; its first NBL has one NET_BUFFER.
        let nb =
            unsafe { std::ptr::read((*head).NetBufferListHeader.NetBufferListData.FirstNetBuffer) };
        sim.call_tcp_io(TcpIoKind::Receive, self.slot_ptr(), head);
        self.posted.push((chain, nb));
    }

    /// A receive request completed: take its bytes; true if it was ours.
    fn receive_completed(&mut self, nbl: usize, status: NDIS_STATUS) -> bool {
        let Some(i) = self
            .posted
            .iter()
            .position(|(ch, _)| ch.head() as usize == nbl)
        else {
            return false;
        };
        let (ch, nb) = self.posted.swap_remove(i);
        if status == NDIS_STATUS_SUCCESS {
            // SAFETY: the request's own NBL, completed: the driver is done
            // with it; the info slot holds the byte count.
            let n = unsafe { (*ch.head()).NetBufferListInfo[TcpOffloadBytesTransferred as usize] }
                as usize;
            // SAFETY: a copy of the NET_BUFFER as posted; its MDL belongs
            // to `ch`, alive here.
            let all = unsafe { crate::builders::read_net_buffer(&nb) };
            let n = n.min(all.len());
            self.reply.extend_from_slice(&all[..n]);
            self.in_requests += n;
        }
        true
    }

    fn sends_done(&self) -> bool {
        self.nbls_success == self.nbls
    }

    fn reply_done(&self, plan: &Plan) -> bool {
        self.reply.len() >= plan.reply_bytes && self.peer_fin
    }
}

/// New chimney calls since `*seen`.
fn new_calls(sim: &Simulator, seen: &mut usize) -> Vec<ChimneyCall> {
    let log = lock(&sim.core.chimney);
    let new = log
        .calls
        .get(*seen..)
        .map(<[_]>::to_vec)
        .unwrap_or_default();
    *seen = log.calls.len();
    new
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// The addresses of both sides.
fn addresses(ipv6: bool) -> (IpAddr, IpAddr) {
    if ipv6 {
        (IpAddr::V6(TARGET_IP6), IpAddr::V6(PEER_IP6))
    } else {
        (IpAddr::V4(TARGET_IP), IpAddr::V4(PEER_IP))
    }
}

/// Run the plan on `sim` (driver loaded, adapter initialized, nothing
/// offloaded yet). Errors are the machine's (no root, no `ip`); what the
/// driver did wrong is in the report.
pub fn run(sim: &Simulator, plan: &Plan, progress: Progress<'_>) -> io::Result<Report> {
    let start = Instant::now();
    let n = plan.connections.clamp(1, 1000);
    let port_mac = lock(&sim.core.phy).mac;
    let linux = LinuxPeer::setup(port_mac, plan.ipv6)?;
    sim.attach_link(plan.link);
    let (target_ip, peer_ip) = addresses(plan.ipv6);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (expect, reply, limit) = (plan.send_bytes, plan.reply_bytes, plan.limit);
    let server = linux.ns.spawn(move || -> io::Result<Vec<ServerReport>> {
        let l = TcpListener::bind(SocketAddr::from((peer_ip, SERVER_PORT)))?;
        let _ = ready_tx.send(());
        server::serve_all(l, n, expect, reply, limit)
    });
    if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
        return Err(io::Error::other(
            "the server in the namespace did not start",
        ));
    }
    let mut rep = Report {
        connections: n,
        ..Report::default()
    };
    let mut conns: Vec<Conn> = (0..n)
        .map(|k| {
            let iss = (plan.link.seed as u32 ^ k as u32).wrapping_mul(2_654_435_761) ^ 0x1357_9BDF;
            Conn {
                host: ActiveOpen::new(
                    Endpoint {
                        mac: port_mac,
                        ip: target_ip,
                        port: HOST_PORT + k as u16,
                    },
                    Endpoint {
                        mac: PEER_MAC,
                        ip: peer_ip,
                        port: SERVER_PORT,
                    },
                    iss,
                ),
                syn_ack: None,
                tcp: None,
                handle: 0,
                context: 0,
                slot: Box::new(std::ptr::null_mut()),
                chain: None,
                fin: None,
                iss1: iss.wrapping_add(1),
                irs1: 0,
                nbls: 0,
                nbls_success: 0,
                reply: Vec::with_capacity(plan.reply_bytes),
                posted: Vec::new(),
                in_requests: 0,
                peer_fin: false,
                disconnect: None,
            }
        })
        .collect();
    // The host's timestamp clock: milliseconds of virtual time.
    let ts_now = |sim: &Simulator| (sim.now_100ns() / 10_000) as u32;
    // Frames the host sends stay alive until the run ends.
    let mut host_frames: Vec<NblChain> = Vec::new();
    let mut send_frame = |sim: &Simulator, f: Vec<u8>| {
        let c = NblChain::single(&f);
        sim.send_net_buffer_lists(c.head());
        host_frames.push(c);
    };
    // 1. The handshakes on the ordinary path; a SYN again every second.
    let mut seen_ordinary = 0usize;
    let mut last_syn: Option<Instant> = None;
    sim.run_realtime(&linux.tap, plan.limit, |sim| {
        let frames = sim.ordinary_frames();
        for f in frames.get(seen_ordinary..).unwrap_or_default() {
            for c in conns.iter_mut().filter(|c| c.syn_ack.is_none()) {
                if let Some(sa) = c.host.parse_syn_ack(f) {
                    c.syn_ack = Some(sa);
                    let ack = c.host.ack(&sa, ts_now(sim));
                    send_frame(sim, ack);
                }
            }
        }
        seen_ordinary = frames.len();
        if conns.iter().all(|c| c.syn_ack.is_some()) {
            return true;
        }
        if last_syn.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            for c in conns.iter_mut().filter(|c| c.syn_ack.is_none()) {
                rep.syn_sent += 1;
                let syn = c.host.syn(ts_now(sim));
                send_frame(sim, syn);
            }
            last_syn = Some(Instant::now());
        }
        false
    })?;
    if conns.iter().any(|c| c.syn_ack.is_none()) {
        rep.violations = sim.violations();
        return Ok(rep);
    }
    rep.handshake = true;
    rep.timeline.handshake_ms = ms(start);
    // 2. Offload what the handshakes left: neighbor → path → every TCP.
    let mut t = Tree::new();
    let nb = t.new_neighbor([0; 6], 0, PEER_MAC);
    let path = match (target_ip, peer_ip) {
        (IpAddr::V6(a), IpAddr::V6(b)) => t.new_path6(a.octets(), b.octets(), 1500),
        (IpAddr::V4(a), IpAddr::V4(b)) => t.new_path4(a.octets(), b.octets(), 1500),
        _ => return Err(io::Error::other("mixed address families")),
    };
    t.dependent(nb, path);
    let mut prev: Option<BlockId> = None;
    for c in &mut conns {
        let Some(sa) = c.syn_ack else { continue };
        let spec = c.host.offload_spec(&sa, ts_now(sim));
        c.irs1 = spec.delegated.RcvNxt;
        let tcp = t.new_tcp(&spec);
        match prev {
            None => t.dependent(path, tcp),
            Some(p) => t.next(p, tcp),
        }
        prev = Some(tcp);
        c.tcp = Some(tcp);
    }
    sim.call_state_op(StateOpKind::Initiate, t.ptr(nb));
    sim.run_until_idle();
    rep.offload_status = conns
        .iter()
        .filter_map(|c| c.tcp.map(|b| t.status(b)))
        .find(|&s| s != NDIS_STATUS_SUCCESS)
        .unwrap_or(NDIS_STATUS_SUCCESS);
    if rep.offload_status != NDIS_STATUS_SUCCESS {
        rep.violations = sim.violations();
        return Ok(rep);
    }
    // 3. The sends, all posted at once on every connection.
    let nbl_bytes = plan.nbl_bytes.max(1);
    let sizes: Vec<usize> = (0..plan.send_bytes.div_ceil(nbl_bytes))
        .map(|k| nbl_bytes.min(plan.send_bytes - k * nbl_bytes))
        .collect();
    let shape: Vec<Vec<NbSpec>> = sizes
        .iter()
        .map(|&len| {
            vec![NbSpec {
                mdl_sizes: vec![len],
                offset: 0,
            }]
        })
        .collect();
    let mut seen_calls = 0usize;
    let _ = new_calls(sim, &mut seen_calls);
    for (k, c) in conns.iter_mut().enumerate() {
        let Some(tcp) = c.tcp else { continue };
        c.handle = t.offload_handle(tcp);
        c.context = t.context(tcp);
        *c.slot = c.context as PVOID;
        c.nbls = sizes.len();
        rep.nbls += sizes.len();
        if sizes.is_empty() {
            continue;
        }
        let up = (2 * k) as u8;
        let chain = NblChain::build(&shape, |j, _| {
            (0..sizes[j])
                .map(|i| pattern(up, j * nbl_bytes + i))
                .collect()
        });
        sim.call_tcp_io(TcpIoKind::Send, c.slot_ptr(), chain.head());
        c.chain = Some(chain);
    }
    if let Some(size) = plan.posted_receives {
        for c in conns.iter_mut().filter(|c| c.tcp.is_some()) {
            for _ in 0..POSTED {
                c.post_receive(sim, size);
            }
        }
    }
    // 4. Until every connection is closed: each closes gracefully once its
    //    sends completed, its reply arrived and the server's FIN was indicated.
    let mut w = Watch {
        seen_calls,
        next_sample: 0.0,
    };
    let left = plan.limit.saturating_sub(start.elapsed());
    sim.run_realtime(&linux.tap, left, |sim| {
        w.step(sim, plan, &mut conns, &mut rep, start, progress);
        conns.iter().all(|c| c.disconnect.is_some())
    })?;
    rep.timeline.closed_ms = ms(start);
    rep.nbls_success = conns.iter().map(|c| c.nbls_success).sum();
    rep.reply_received = conns.iter().map(|c| c.reply.len()).sum();
    rep.reply_in_requests = conns.iter().map(|c| c.in_requests).sum();
    rep.reply_intact = conns.iter().enumerate().all(|(k, c)| {
        let down = (2 * k + 1) as u8;
        c.reply
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(down, i))
    });
    rep.peer_fin_indicated = conns.iter().all(|c| c.peer_fin);
    rep.disconnect_status = if conns.iter().any(|c| c.disconnect.is_none()) {
        None
    } else {
        Some(
            conns
                .iter()
                .filter_map(|c| c.disconnect)
                .find(|&s| s != NDIS_STATUS_SUCCESS)
                .unwrap_or(NDIS_STATUS_SUCCESS),
        )
    };
    // 5. Upload everything: neighbor → path → every TCP.
    let mut d: TCP_OFFLOAD_STATE_DELEGATED = zeroed();
    d.Header.Length = size_of::<TCP_OFFLOAD_STATE_DELEGATED>() as u32;
    let delegated = crate::builders::bytes_of(&d);
    let mut term = Tree::new();
    let a = term.reference(0, t.context(nb), &[]);
    let b = term.reference(0, t.context(path), &[]);
    term.dependent(a, b);
    let mut blocks = Vec::new();
    let mut prev: Option<BlockId> = None;
    for c in &conns {
        let tc = term.reference(TcpOffloadDelegatedState, c.context, &[&delegated]);
        match prev {
            None => term.dependent(b, tc),
            Some(p) => term.next(p, tc),
        }
        prev = Some(tc);
        blocks.push(tc);
    }
    sim.call_state_op(StateOpKind::Terminate, term.ptr(a));
    sim.run_until_idle();
    rep.upload_status = term.status(a);
    rep.uploaded_sequence_right = true;
    for (c, &tc) in conns.iter().zip(&blocks) {
        let up: TCP_OFFLOAD_STATE_DELEGATED = term.state(tc, 0);
        rep.uploaded_states.push(up.State as u32);
        rep.uploaded_sequence_right &= up.SndUna.wrapping_sub(c.iss1) as usize
            == plan.send_bytes + 1
            && up.RcvNxt.wrapping_sub(c.irs1) as usize == plan.reply_bytes + 1;
    }
    // A late lent NBL or frame settles before the verifier's record is read.
    sim.run_until_idle();
    let reports = match server.join() {
        Ok(Ok(Ok(r))) => r,
        _ => Vec::new(),
    };
    rep.server = ServerReport::merge(&reports);
    if let Some((o, i)) = sim.link_counters() {
        rep.outbound = o;
        rep.inbound = i;
    }
    rep.driver_retransmitted = retransmitted_segments(sim, plan.ipv6);
    rep.finished = true;
    rep.violations = sim.violations();
    drop(host_frames);
    drop(conns);
    Ok(rep)
}

/// What the run has seen of the driver's chimney calls.
struct Watch {
    seen_calls: usize,
    /// Wall ms of the next sample.
    next_sample: f64,
}

impl Watch {
    fn step(
        &mut self,
        sim: &Simulator,
        plan: &Plan,
        conns: &mut [Conn],
        rep: &mut Report,
        start: Instant,
        progress: Progress<'_>,
    ) {
        let by_handle = |conns: &mut [Conn], h: usize| conns.iter_mut().position(|c| c.handle == h);
        for call in new_calls(sim, &mut self.seen_calls) {
            match call {
                ChimneyCall::SendComplete(v) => {
                    for (nbl, st) in v {
                        if st != NDIS_STATUS_SUCCESS {
                            continue;
                        }
                        if let Some(c) = conns.iter_mut().find(|c| {
                            c.chain
                                .as_ref()
                                .is_some_and(|ch| ch.nbls().iter().any(|p| *p as usize == nbl))
                        }) {
                            c.nbls_success += 1;
                        }
                    }
                }
                ChimneyCall::ReceiveIndicate {
                    offload_handle,
                    data,
                    status,
                } if status == NDIS_STATUS_SUCCESS => {
                    if let Some(k) = by_handle(conns, offload_handle) {
                        conns[k].reply.extend_from_slice(&data);
                    }
                }
                ChimneyCall::Event {
                    offload_handle,
                    event,
                    ..
                } if event == TcpIndicateDisconnect => {
                    if let Some(k) = by_handle(conns, offload_handle) {
                        conns[k].peer_fin = true;
                    }
                }
                ChimneyCall::ReceiveComplete(v) => {
                    for (nbl, st) in v {
                        if let Some(c) = conns
                            .iter_mut()
                            .find(|c| c.posted.iter().any(|p| p.0.head() as usize == nbl))
                        {
                            c.receive_completed(nbl, st);
                            // Keep the requests coming while the reply does.
                            if let Some(size) = plan.posted_receives
                                && !c.peer_fin
                                && c.disconnect.is_none()
                            {
                                c.post_receive(sim, size);
                            }
                        }
                    }
                }
                ChimneyCall::DisconnectComplete(req, st) => {
                    if let Some(c) = conns
                        .iter_mut()
                        .find(|c| c.fin.as_ref().is_some_and(|f| f.head() as usize == req))
                    {
                        c.disconnect = Some(st);
                    }
                }
                _ => {}
            }
        }
        let now = ms(start);
        if now >= self.next_sample {
            self.next_sample = now + SAMPLE_MS;
            if let Some(c) = conns.first()
                && let Some(mut x) = sample(sim, c.context)
            {
                x.t_ms = now;
                x.snd_una = x.snd_una.wrapping_sub(c.iss1);
                x.snd_nxt = x.snd_nxt.wrapping_sub(c.iss1);
                x.received = c.reply.len() as u64;
                rep.samples.push(x);
            }
        }
        let acked: u64 = conns
            .iter()
            .map(|c| (c.nbls_success * plan.nbl_bytes.max(1)).min(plan.send_bytes) as u64)
            .sum();
        let received: u64 = conns.iter().map(|c| c.reply.len() as u64).sum();
        progress(acked, received);
        if rep.timeline.sends_done_ms == 0.0 && conns.iter().all(Conn::sends_done) {
            rep.timeline.sends_done_ms = now;
        }
        if rep.timeline.reply_done_ms == 0.0 && conns.iter().all(|c| c.reply_done(plan)) {
            rep.timeline.reply_done_ms = now;
        }
        // The graceful close of each connection that is done both ways.
        for c in conns.iter_mut() {
            if c.fin.is_none() && c.sends_done() && c.reply_done(plan) {
                let fin = NblChain::single(&[]);
                sim.call_tcp_io(
                    TcpIoKind::Disconnect(TCP_DISCONNECT_GRACEFUL_CLOSE),
                    c.slot_ptr(),
                    fin.head(),
                );
                c.fin = Some(fin);
            }
        }
    }
}

/// Wall time between samples of the send state.
const SAMPLE_MS: f64 = 2.0;

/// The send state of the connection `context` names, if it is live.
fn sample(sim: &Simulator, context: usize) -> Option<Sample> {
    // SAFETY: the adapter context the driver registered, live until halt.
    let a = unsafe { chimney_miniport::miniport::Adapter::from_context(sim.context()) }?;
    let r = chimney_miniport::offload::handle::ObjRef::from_context(context)?;
    let c = a.data.as_ref()?.conns.get(r.index)?.lock();
    c.is(r.generation).then(|| Sample {
        snd_una: c.snd_una,
        snd_nxt: c.snd_nxt,
        cwnd: c.cwnd,
        ssthresh: c.ssthresh,
        ..Sample::default()
    })
}

/// The family's `RetransmittedSegments`, if the query works.
fn retransmitted_segments(sim: &Simulator, ipv6: bool) -> u64 {
    let oid = if ipv6 {
        OID_TCP6_OFFLOAD_STATS
    } else {
        OID_TCP4_OFFLOAD_STATS
    };
    let r = sim.oid_query(oid, 64);
    if r.status != NDIS_STATUS_SUCCESS || r.data.len() < size_of::<TCP_OFFLOAD_STATS>() {
        return 0;
    }
    // SAFETY: the buffer holds a whole TCP_OFFLOAD_STATS (checked above);
    // read unaligned from the byte copy.
    let s: TCP_OFFLOAD_STATS = unsafe { std::ptr::read_unaligned(r.data.as_ptr().cast()) };
    u64::from(s.RetransmittedSegments)
}

fn zeroed<T: Copy>() -> T {
    // SAFETY: used only for plain C structures for which all-zero is valid.
    unsafe { std::mem::zeroed() }
}
