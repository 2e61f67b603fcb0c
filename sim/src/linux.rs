//! One offloaded connection against the Linux kernel's TCP, end to end.
//!
//! The simulated host opens a connection on the ordinary path to a server
//! in a network namespace ([`crate::tap`]), offloads it to the driver
//! (MiniportInitiateOffload), sends `send_bytes` through
//! MiniportTcpOffloadSend, takes the server's `reply_bytes` from the
//! driver's chimney receive indications, sees the server's FIN indicated
//! (TcpIndicateDisconnect), closes with a graceful
//! MiniportTcpOffloadDisconnect, and uploads the connection
//! (MiniportTerminateOffload). The server checks every byte it reads and
//! reports its kernel's `TCP_INFO`. Everything runs in real time, through
//! the link's seeded impairments.

use crate::builders::{NbSpec, NblChain, Tree};
use crate::exports::chimney::ChimneyCall;
use crate::hoststack::{ActiveOpen, Endpoint};
use crate::link::{LinkConfig, LinkCounters};
use crate::state::lock;
use crate::tap::{LinuxPeer, PEER_IP, PEER_MAC, TARGET_IP};
use crate::{Simulator, StateOpKind, TcpIoKind, Violation};
use chimney_miniport::ffi::*;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// What to do.
#[derive(Clone, Debug)]
pub struct Plan {
    pub link: LinkConfig,
    /// Bytes the host sends through the offloaded connection.
    pub send_bytes: usize,
    /// Bytes per send NBL.
    pub nbl_bytes: usize,
    /// Bytes the server sends back once it has read everything.
    pub reply_bytes: usize,
    /// Give up after this much wall time.
    pub limit: Duration,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            link: LinkConfig::default(),
            send_bytes: 1 << 20,
            nbl_bytes: 64 << 10,
            reply_bytes: 256 << 10,
            limit: Duration::from_secs(60),
        }
    }
}

/// Byte `i` of the stream the host sends (`dir` 0) or the server (`dir` 1).
pub fn pattern(dir: u8, i: usize) -> u8 {
    ((i % 251) as u8).wrapping_mul(3) ^ dir.wrapping_mul(0x5A) ^ (i / 251) as u8
}

/// The server's view, from inside the namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerReport {
    /// Bytes read before the host's FIN.
    pub received: usize,
    /// Offset of the first byte that differed from the pattern.
    pub mismatch_at: Option<usize>,
    /// The host's FIN arrived (read returned 0).
    pub eof: bool,
    /// `TCP_INFO` of the server's socket at the end.
    pub total_retrans: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub rtt_us: u32,
}

/// What one phase took, in wall time from the start.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timeline {
    pub handshake_ms: f64,
    pub sends_done_ms: f64,
    pub reply_done_ms: f64,
    pub closed_ms: f64,
}

/// The offloaded connection's send state, sampled from the NIC's state
/// (the software engine's TCB, read as a debugger would) during the run.
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

/// Everything measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub handshake: bool,
    pub syn_sent: u32,
    pub offload_status: NDIS_STATUS,
    pub nbls: usize,
    pub nbls_success: usize,
    /// Bytes of the reply the host received through indications.
    pub reply_received: usize,
    pub reply_intact: bool,
    pub peer_fin_indicated: bool,
    pub disconnect_status: Option<NDIS_STATUS>,
    pub upload_status: NDIS_STATUS,
    /// The uploaded delegated state's `State` (a TCP_OFFLOAD_STATE value).
    pub uploaded_state: u32,
    pub uploaded_snd_una_advance: u32,
    pub uploaded_rcv_nxt_advance: u32,
    pub server: ServerReport,
    pub outbound: LinkCounters,
    pub inbound: LinkCounters,
    pub timeline: Timeline,
    /// Retransmitted segments the driver counted (`tcpRetransSegs`).
    pub driver_retransmitted: u64,
    pub finished: bool,
    pub violations: Vec<Violation>,
    /// The send state every few milliseconds while data moved.
    pub samples: Vec<Sample>,
}

impl Report {
    /// Every byte both ways, every request completed as it should.
    pub fn ok(&self, plan: &Plan) -> bool {
        self.finished
            && self.handshake
            && self.offload_status == NDIS_STATUS_SUCCESS
            && self.nbls_success == self.nbls
            && self.reply_received == plan.reply_bytes
            && self.reply_intact
            && self.peer_fin_indicated
            && self.disconnect_status == Some(NDIS_STATUS_SUCCESS)
            && self.upload_status == NDIS_STATUS_SUCCESS
            && self.server.received == plan.send_bytes
            && self.server.mismatch_at.is_none()
            && self.server.eof
            && self.uploaded_snd_una_advance as usize == plan.send_bytes + 1
            && self.uploaded_rcv_nxt_advance as usize == plan.reply_bytes + 1
            && self.violations.is_empty()
    }
}

/// Progress as the run goes: (bytes the peer acknowledged, reply bytes received).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

const SERVER_PORT: u16 = 5001;
const HOST_PORT: u16 = 49_200;

fn serve(l: TcpListener, expect: usize, reply: usize, limit: Duration) -> io::Result<ServerReport> {
    let deadline = Instant::now() + limit;
    l.set_nonblocking(true)?;
    let mut s = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(io::Error::other("no connection came"));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    };
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(limit))?;
    s.set_write_timeout(Some(limit))?;
    let mut r = ServerReport::default();
    let mut buf = vec![0u8; 65_536];
    while r.received < expect {
        let n = s.read(&mut buf)?;
        if n == 0 {
            r.eof = true;
            break;
        }
        for (k, &b) in buf[..n].iter().enumerate() {
            if r.mismatch_at.is_none() && b != pattern(0, r.received + k) {
                r.mismatch_at = Some(r.received + k);
            }
        }
        r.received += n;
    }
    let out: Vec<u8> = (0..reply).map(|i| pattern(1, i)).collect();
    s.write_all(&out)?;
    s.shutdown(Shutdown::Write)?;
    while !r.eof {
        let n = s.read(&mut buf)?;
        if n == 0 {
            r.eof = true;
        }
        r.received += n;
    }
    tcp_info(&s, &mut r);
    Ok(r)
}

fn tcp_info(s: &TcpStream, r: &mut ServerReport) {
    use std::os::fd::AsRawFd;
    // SAFETY: all-zero is a valid tcp_info to be filled.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: a live socket; `info` is writable for `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        r.total_retrans = info.tcpi_total_retrans;
        r.snd_mss = info.tcpi_snd_mss;
        r.rcv_mss = info.tcpi_rcv_mss;
        r.rtt_us = info.tcpi_rtt;
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

/// Run the plan on `sim` (driver loaded, adapter initialized, nothing
/// offloaded yet). Errors are the machine's (no root, no `ip`); what the
/// driver did wrong is in the report.
pub fn run(sim: &Simulator, plan: &Plan, progress: Progress<'_>) -> io::Result<Report> {
    let start = Instant::now();
    let port_mac = lock(&sim.core.phy).mac;
    let linux = LinuxPeer::setup(port_mac)?;
    sim.attach_link(plan.link);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (expect, reply, limit) = (plan.send_bytes, plan.reply_bytes, plan.limit);
    let server = linux.ns.spawn(move || -> io::Result<ServerReport> {
        let l = TcpListener::bind(SocketAddr::from((PEER_IP, SERVER_PORT)))?;
        let _ = ready_tx.send(());
        serve(l, expect, reply, limit)
    });
    if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
        return Err(io::Error::other(
            "the server in the namespace did not start",
        ));
    }
    let mut rep = Report::default();
    let mut host = ActiveOpen::new(
        Endpoint {
            mac: port_mac,
            ip: TARGET_IP,
            port: HOST_PORT,
        },
        Endpoint {
            mac: PEER_MAC,
            ip: PEER_IP,
            port: SERVER_PORT,
        },
        (plan.link.seed as u32).wrapping_mul(2_654_435_761) ^ 0x1357_9BDF,
    );
    // The host's timestamp clock: milliseconds of virtual time.
    let ts_now = |sim: &Simulator| (sim.now_100ns() / 10_000) as u32;
    // Frames the host sends stay alive until the run ends.
    let mut host_frames: Vec<NblChain> = Vec::new();
    let mut send_frame = |sim: &Simulator, f: Vec<u8>| {
        let c = NblChain::single(&f);
        sim.send_net_buffer_lists(c.head());
        host_frames.push(c);
    };
    // 1. The handshake on the ordinary path; the SYN again every second.
    let mut seen_ordinary = 0usize;
    let mut syn_ack = None;
    let mut last_syn: Option<Instant> = None;
    sim.run_realtime(&linux.tap, plan.limit, |sim| {
        let frames = sim.ordinary_frames();
        for f in frames.get(seen_ordinary..).unwrap_or_default() {
            if let Some(sa) = host.parse_syn_ack(f) {
                syn_ack = Some(sa);
            }
        }
        seen_ordinary = frames.len();
        if syn_ack.is_some() {
            return true;
        }
        if last_syn.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            rep.syn_sent += 1;
            send_frame(sim, host.syn(ts_now(sim)));
            last_syn = Some(Instant::now());
        }
        false
    })?;
    let Some(sa) = syn_ack else {
        rep.violations = sim.violations();
        return Ok(rep);
    };
    rep.handshake = true;
    rep.timeline.handshake_ms = ms(start);
    send_frame(sim, host.ack(&sa, ts_now(sim)));
    // 2. Offload what the handshake left.
    let spec = host.offload_spec(&sa, ts_now(sim));
    let mut t = Tree::new();
    let n = t.new_neighbor([0; 6], 0, PEER_MAC);
    let p = t.new_path4(TARGET_IP.octets(), PEER_IP.octets(), 1500);
    let c = t.new_tcp(&spec);
    t.dependent(n, p);
    t.dependent(p, c);
    sim.call_state_op(StateOpKind::Initiate, t.ptr(n));
    sim.run_until_idle();
    rep.offload_status = t.status(c);
    if rep.offload_status != NDIS_STATUS_SUCCESS {
        rep.violations = sim.violations();
        return Ok(rep);
    }
    let handle = t.offload_handle(c);
    let slot: Box<PVOID> = Box::new(t.context(c) as PVOID);
    let slot_ptr: PVOID = (&*slot as *const PVOID).cast_mut().cast();
    // 3. The sends, all posted at once (the driver queues them in order).
    let nbl_bytes = plan.nbl_bytes.max(1);
    let sizes: Vec<usize> = (0..plan.send_bytes.div_ceil(nbl_bytes))
        .map(|k| nbl_bytes.min(plan.send_bytes - k * nbl_bytes))
        .collect();
    rep.nbls = sizes.len();
    let shape: Vec<Vec<NbSpec>> = sizes
        .iter()
        .map(|&len| {
            vec![NbSpec {
                mdl_sizes: vec![len],
                offset: 0,
            }]
        })
        .collect();
    let chain = NblChain::build(&shape, |k, _| {
        (0..sizes[k])
            .map(|i| pattern(0, k * nbl_bytes + i))
            .collect()
    });
    let mut seen_calls = 0usize;
    let _ = new_calls(sim, &mut seen_calls);
    if !sizes.is_empty() {
        sim.call_tcp_io(TcpIoKind::Send, slot_ptr, chain.head());
    }
    // 4. Until every send completed, the reply arrived and the server's FIN
    //    was indicated.
    let mut w = Watch {
        handle,
        context: t.context(c),
        iss1: spec.delegated.SndUna,
        next_sample: 0.0,
        nbl_bytes,
        seen_calls,
        reply: Vec::with_capacity(plan.reply_bytes),
        sends_done: sizes.is_empty(),
        done: false,
        disconnect: None,
    };
    let left = plan.limit.saturating_sub(start.elapsed());
    sim.run_realtime(&linux.tap, left, |sim| {
        w.step(sim, plan, &mut rep, start, progress);
        w.sends_done && w.done
    })?;
    // 5. The graceful close, once the FIN can follow all the data.
    let fin = NblChain::single(&[]);
    if w.sends_done && w.done {
        sim.call_tcp_io(
            TcpIoKind::Disconnect(TCP_DISCONNECT_GRACEFUL_CLOSE),
            slot_ptr,
            fin.head(),
        );
        let left = plan.limit.saturating_sub(start.elapsed());
        sim.run_realtime(&linux.tap, left, |sim| {
            w.step(sim, plan, &mut rep, start, progress);
            w.disconnect.is_some()
        })?;
        rep.timeline.closed_ms = ms(start);
    }
    let reply = std::mem::take(&mut w.reply);
    let disconnect = w.disconnect;
    rep.disconnect_status = disconnect;
    rep.reply_received = reply.len();
    rep.reply_intact = reply.iter().enumerate().all(|(i, &b)| b == pattern(1, i));
    // 6. Upload.
    let mut d: TCP_OFFLOAD_STATE_DELEGATED = zeroed();
    d.Header.Length = size_of::<TCP_OFFLOAD_STATE_DELEGATED>() as u32;
    let mut term = Tree::new();
    let a = term.reference(0, t.context(n), &[]);
    let b = term.reference(0, t.context(p), &[]);
    let tc = term.reference(
        TcpOffloadDelegatedState,
        t.context(c),
        &[&crate::builders::bytes_of(&d)],
    );
    term.dependent(a, b);
    term.dependent(b, tc);
    sim.call_state_op(StateOpKind::Terminate, term.ptr(a));
    sim.run_until_idle();
    rep.upload_status = term.status(a);
    let up: TCP_OFFLOAD_STATE_DELEGATED = term.state(tc, 0);
    rep.uploaded_state = up.State as u32;
    rep.uploaded_snd_una_advance = up.SndUna.wrapping_sub(spec.delegated.SndUna);
    rep.uploaded_rcv_nxt_advance = up.RcvNxt.wrapping_sub(spec.delegated.RcvNxt);
    // A late lent NBL or frame settles before the verifier's record is read.
    sim.run_until_idle();
    rep.server = match server.join() {
        Ok(Ok(Ok(r))) => r,
        _ => ServerReport::default(),
    };
    if let Some((o, i)) = sim.link_counters() {
        rep.outbound = o;
        rep.inbound = i;
    }
    rep.driver_retransmitted = retransmitted_segments(sim);
    rep.finished = true;
    rep.violations = sim.violations();
    drop(host_frames);
    drop(chain);
    drop(fin);
    Ok(rep)
}

/// What the run has seen of the driver's chimney calls.
struct Watch {
    handle: usize,
    /// The connection's context value and its first sequence number.
    context: usize,
    iss1: u32,
    /// Wall ms of the next sample.
    next_sample: f64,
    nbl_bytes: usize,
    seen_calls: usize,
    reply: Vec<u8>,
    sends_done: bool,
    /// The whole reply and the server's FIN arrived.
    done: bool,
    disconnect: Option<NDIS_STATUS>,
}

impl Watch {
    fn step(
        &mut self,
        sim: &Simulator,
        plan: &Plan,
        rep: &mut Report,
        start: Instant,
        progress: Progress<'_>,
    ) {
        for call in new_calls(sim, &mut self.seen_calls) {
            match call {
                ChimneyCall::SendComplete(v) => {
                    rep.nbls_success += v.iter().filter(|x| x.1 == NDIS_STATUS_SUCCESS).count();
                }
                ChimneyCall::ReceiveIndicate {
                    offload_handle,
                    data,
                    status,
                } if offload_handle == self.handle && status == NDIS_STATUS_SUCCESS => {
                    self.reply.extend_from_slice(&data);
                }
                ChimneyCall::Event {
                    offload_handle,
                    event,
                    ..
                } if offload_handle == self.handle && event == TcpIndicateDisconnect => {
                    rep.peer_fin_indicated = true;
                }
                ChimneyCall::DisconnectComplete(_, st) => self.disconnect = Some(st),
                _ => {}
            }
        }
        let now = ms(start);
        if now >= self.next_sample {
            self.next_sample = now + SAMPLE_MS;
            if let Some(mut x) = sample(sim, self.context) {
                x.t_ms = now;
                x.snd_una = x.snd_una.wrapping_sub(self.iss1);
                x.snd_nxt = x.snd_nxt.wrapping_sub(self.iss1);
                x.received = self.reply.len() as u64;
                rep.samples.push(x);
            }
        }
        let acked = (rep.nbls_success * self.nbl_bytes).min(plan.send_bytes) as u64;
        progress(acked, self.reply.len() as u64);
        if !self.sends_done && rep.nbls_success == rep.nbls {
            self.sends_done = true;
            rep.timeline.sends_done_ms = ms(start);
        }
        if !self.done && self.reply.len() >= plan.reply_bytes && rep.peer_fin_indicated {
            self.done = true;
            rep.timeline.reply_done_ms = ms(start);
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

/// `OID_TCP4_OFFLOAD_STATS`' retransmitted segments, if the query works.
fn retransmitted_segments(sim: &Simulator) -> u64 {
    let r = sim.oid_query(OID_TCP4_OFFLOAD_STATS, 64);
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
