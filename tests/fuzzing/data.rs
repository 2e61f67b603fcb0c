//! The offloaded data path under any sequence of host and peer actions:
//! send calls with any NBL / NET_BUFFER / MDL shape (malformed ones among
//! them: no NET_BUFFER, DataLength beyond the MDLs, a NULL MDL, no data),
//! partial and duplicate ACKs, window changes, data, FIN and RST from the
//! peer, posted receives, disconnects, time passing, and an upload at any
//! point.
//!
//! Whatever happens: every send NBL completes or is handed back exactly
//! once, in submission order (FIFO, rules 56 and 48); a malformed NBL
//! never completes SUCCESS; what reached the peer is a prefix of the
//! well-formed NBLs' payloads in order, and covers every NBL completed
//! SUCCESS (rule 58); the verifier stays clean and nothing leaks.

use super::Defect;
use crate::common::send::{
    Conn, Posted, chain_nbls, completed, host_stream, offload, terminate_tree,
};
use crate::common::*;
use arbitrary::{Arbitrary, Unstructured};
use chimney_miniport::ffi::*;
use ndis_sim::builders::{NbSpec, NblChain, Tree, bytes_of};
use ndis_sim::{AckPolicy, Simulator, StateOpKind, TcpIoKind};

/// One NBL of a send call.
#[derive(Arbitrary, Debug)]
struct Nbl {
    /// NET_BUFFERs: MDL sizes and the unused bytes before the data.
    nbs: Vec<(Vec<u16>, u8)>,
    /// 0–5: well-formed; 6: no NET_BUFFER; 7: DataLength one past the MDLs;
    /// 8: a NULL MDL; 9: every DataLength 0 (well-formed, no data).
    defect: u8,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// One MiniportTcpOffloadSend call with a chain of these NBLs.
    Send(Vec<Nbl>),
    /// The peer acknowledges what it received, less `behind` bytes,
    /// advertising `window` × 4 bytes.
    Ack {
        behind: u16,
        window: u16,
    },
    /// A pure window update (× 4 bytes).
    Window(u16),
    /// The peer sends this many bytes.
    PeerData {
        len: u16,
        psh: bool,
    },
    PeerFin,
    PeerRst,
    /// A receive request with a buffer of this many bytes.
    Post(u16),
    /// MiniportTcpOffloadDisconnect, abortive or graceful.
    Disconnect {
        abortive: bool,
    },
    /// Time passes (4 ms units).
    Advance(u8),
    /// An update of the path's cached state: a new path MTU.
    PathMtu(u16),
    /// An update of the connection's cached state: initial receive window
    /// and flags (Nagle, keep-alive, `TCP_FLAG_UPDATE_RCV_WND`).
    TcpCached {
        rcv_wnd: u32,
        flags: u8,
    },
    /// A query of the connection's delegated state.
    Query,
    /// The host uploads the connection now.
    Terminate,
}

const MAX_OPS: usize = 64;
const MAX_NBLS: usize = 6;

/// The fuzz entry.
pub fn fuzz(data: &[u8]) {
    if let Some(ops) = super::script::<Op>(Unstructured::new(data), MAX_OPS) {
        run(&ops);
    }
}

/// Statuses a send NBL may complete with besides a well-formed one's: a
/// malformed NBL's, which the NBLs after it share (rule 60).
const MALFORMED_STATUSES: &[NDIS_STATUS] = &[
    NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_INVALID_LENGTH,
    NDIS_STATUS_RESOURCES,
];

/// One NBL as submitted: its address, payload, and whether it was malformed.
struct Sent {
    nbl: usize,
    payload: Vec<u8>,
    malformed: bool,
}

fn build(nbls: &[Nbl], serial: usize, sent: &mut Vec<Sent>) -> Option<NblChain> {
    let nbls = &nbls[..nbls.len().min(MAX_NBLS)];
    if nbls.is_empty() {
        return None;
    }
    let shape: Vec<Vec<NbSpec>> = nbls
        .iter()
        .map(|n| super::nb_shape(&n.nbs, 2500, 64, 1))
        .collect();
    let chain = NblChain::build(&shape, |k, j| {
        let n: usize = shape[k][j].mdl_sizes.iter().sum();
        (0..n)
            .map(|i| (serial * 131 + k * 37 + j * 11 + i) as u8)
            .collect()
    });
    for (k, (n, p)) in nbls.iter().zip(chain.nbls()).enumerate() {
        let mut payload = Vec::new();
        for j in 0..shape[k].len() {
            payload.extend(chain.payload(k, j));
        }
        let defect = match n.defect % 10 {
            6 => Some(Defect::NoNetBuffer),
            7 => Some(Defect::LengthPastMdls),
            8 => Some(Defect::NullMdl),
            9 => Some(Defect::NoData),
            _ => None,
        };
        if let Some(d) = defect {
            // SAFETY: our NBL (built with a NET_BUFFER), before the driver owns it.
            unsafe { super::malform(p, d) };
            if d == Defect::NoData {
                payload.clear();
            }
        }
        let malformed = defect.is_some_and(Defect::malformed);
        sent.push(Sent {
            nbl: p as usize,
            payload,
            malformed,
        });
    }
    Some(chain)
}

/// The receive side as the harness saw it: what the peer sent before its
/// FIN (the whole of its stream), and each receive request with a copy of
/// its NET_BUFFER as posted.
#[derive(Default)]
struct RxLog {
    peer: Vec<u8>,
    fin: bool,
    posts: Vec<(usize, Posted)>,
}

fn step(
    sim: &Simulator,
    c: &Conn,
    op: &Op,
    keep: &mut Vec<NblChain>,
    sent: &mut Vec<Sent>,
    rx: &mut RxLog,
) {
    match op {
        Op::Send(nbls) => {
            if let Some(chain) = build(nbls, keep.len(), sent) {
                sim.call_tcp_io(TcpIoKind::Send, c.slot_ptr(), chain.head());
                keep.push(chain);
            }
        }
        Op::Ack { behind, window } => {
            let r = sim.peer_state(c.key).rcv_nxt;
            sim.peer_ack(
                c.key,
                r.wrapping_sub(u32::from(*behind) % 4096),
                4 * u32::from(*window),
            );
        }
        Op::Window(w) => sim.peer_set_window(c.key, 4 * u32::from(*w)),
        Op::PeerData { len, psh } => {
            let data: Vec<u8> = (0..usize::from(*len) % 3000).map(|i| i as u8).collect();
            sim.peer_send(c.key, &data, *psh);
            if !rx.fin {
                rx.peer.extend(&data);
            }
        }
        Op::PeerFin => {
            sim.peer_fin(c.key);
            rx.fin = true;
        }
        Op::PeerRst => sim.peer_rst(c.key),
        Op::Post(len) => {
            let buf = vec![0u8; 1 + usize::from(*len) % 4000];
            let chain = NblChain::single(&buf);
            rx.posts.push((chain.head() as usize, Posted::of(&chain)));
            sim.call_tcp_io(TcpIoKind::Receive, c.slot_ptr(), chain.head());
            keep.push(chain);
        }
        Op::Disconnect { abortive } => {
            let flags = if *abortive {
                TCP_DISCONNECT_ABORTIVE_CLOSE
            } else {
                TCP_DISCONNECT_GRACEFUL_CLOSE
            };
            let chain = NblChain::single(&[]);
            sim.call_tcp_io(TcpIoKind::Disconnect(flags), c.slot_ptr(), chain.head());
            keep.push(chain);
        }
        Op::Advance(units) => sim.advance_ms(4 * u64::from(*units)),
        Op::PathMtu(mtu) => {
            let cached = PATH_OFFLOAD_STATE_CACHED {
                Header: OFFLOAD_STATE_HEADER {
                    Length: size_of::<PATH_OFFLOAD_STATE_CACHED>() as u32,
                    RecognizedOptions: 0,
                },
                PathMtu: u32::from(*mtu),
            };
            let mut u = Tree::new();
            let b = u.reference(
                Ip4OffloadCachedState,
                c.tree.context(c.path),
                &[&bytes_of(&cached)],
            );
            crate::common::tree::run(sim, StateOpKind::Update, &u, b);
            let st = u.status(b);
            assert!(st != NDIS_STATUS_PENDING, "path update left pending");
        }
        Op::TcpCached { rcv_wnd, flags } => {
            let mut cached = c.spec.cached;
            cached.InitialRcvWnd = *rcv_wnd;
            cached.Flags = u16::from(*flags)
                & (TCP_FLAG_NAGLING_ENABLED
                    | TCP_FLAG_KEEP_ALIVE_ENABLED
                    | TCP_FLAG_UPDATE_RCV_WND);
            let mut u = Tree::new();
            let b = u.reference(
                TcpOffloadCachedState,
                c.tree.context(c.tcp),
                &[&bytes_of(&cached)],
            );
            crate::common::tree::run(sim, StateOpKind::Update, &u, b);
            assert!(
                u.status(b) != NDIS_STATUS_PENDING,
                "TCP update left pending"
            );
        }
        Op::Query => {
            // SAFETY: all-zero is a valid delegated value; the header says its size.
            let mut d: TCP_OFFLOAD_STATE_DELEGATED = unsafe { std::mem::zeroed() };
            d.Header.Length = size_of::<TCP_OFFLOAD_STATE_DELEGATED>() as u32;
            let mut q = Tree::new();
            let b = q.reference(
                TcpOffloadDelegatedState,
                c.tree.context(c.tcp),
                &[&bytes_of(&d)],
            );
            crate::common::tree::run(sim, StateOpKind::Query, &q, b);
            if q.status(b) == NDIS_STATUS_SUCCESS {
                let d: TCP_OFFLOAD_STATE_DELEGATED = q.state(b, 0);
                let le = |a: u32, b: u32| b.wrapping_sub(a) < 1 << 31;
                assert!(
                    le(d.SndUna, d.SndNxt) && le(d.SndNxt, d.SndMax),
                    "queried SndUna {} SndNxt {} SndMax {}",
                    d.SndUna,
                    d.SndNxt,
                    d.SndMax
                );
            }
        }
        Op::Terminate => {}
    }
    sim.run_until_idle();
}

fn run(ops: &[Op]) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let mut keep = Vec::new();
    let mut sent = Vec::new();
    let mut rx = RxLog::default();
    for op in ops {
        if matches!(op, Op::Terminate) {
            break;
        }
        step(&sim, &c, op, &mut keep, &mut sent, &mut rx);
        sim.assert_clean();
    }
    // Until the upload, NBLs complete in submission order (a malformed one
    // in its FIFO position too). A send the connection refuses at the door
    // (after the host's own FIN: INVALID_STATE; during an upload:
    // UPLOAD_IN_PROGRESS, rule 61) never joins the queue and completes at
    // once.
    let early = completed(&sim);
    let door =
        |st: NDIS_STATUS| st == NDIS_STATUS_INVALID_STATE || st == NDIS_STATUS_UPLOAD_IN_PROGRESS;
    let refused: Vec<usize> = early.iter().filter(|x| door(x.1)).map(|x| x.0).collect();
    let queued: Vec<usize> = early.iter().filter(|x| !door(x.1)).map(|x| x.0).collect();
    let submitted: Vec<usize> = sent.iter().map(|s| s.nbl).collect();
    let accepted: Vec<usize> = submitted
        .iter()
        .copied()
        .filter(|p| !refused.contains(p))
        .collect();
    assert!(
        accepted.starts_with(&queued),
        "completions out of submission order"
    );
    let before: Vec<usize> = early.iter().map(|x| x.0).collect();
    // The host uploads the connection, and with it what is still queued.
    let (term, root) = terminate_tree(&c);
    crate::common::tree::run(&sim, StateOpKind::Terminate, &term, root);
    assert_eq!(term.status(root), NDIS_STATUS_SUCCESS, "terminated");
    // neighbor → path → connection: the connection is block 2.
    let back = chain_nbls(term.chain(2));
    let done = completed(&sim);
    // At the upload the rest goes back in order, but for NBLs that had
    // failed: they complete with their status first (docs/decisions.md).
    let rest: Vec<usize> = submitted
        .iter()
        .copied()
        .filter(|p| !before.contains(p))
        .collect();
    let during: Vec<usize> = done[before.len()..].iter().map(|x| x.0).collect();
    let kept: Vec<usize> = rest
        .iter()
        .copied()
        .filter(|p| !during.contains(p))
        .collect();
    assert_eq!(back, kept, "the rest handed back, in submission order");
    assert!(
        during.iter().all(|p| rest.contains(p)),
        "completed at the upload: only NBLs still queued"
    );
    let mut all: Vec<usize> = done
        .iter()
        .map(|x| x.0)
        .chain(back.iter().copied())
        .collect();
    all.sort_unstable();
    let mut want_all = submitted.clone();
    want_all.sort_unstable();
    assert_eq!(all, want_all, "every NBL exactly once");
    // What reached the peer: a prefix of the well-formed payloads, in
    // order, covering every NBL that completed SUCCESS.
    let status_of = |nbl: usize| done.iter().find(|x| x.0 == nbl).map(|x| x.1);
    let mut want = Vec::new();
    let mut must_have = 0;
    for s in &sent {
        let st = status_of(s.nbl);
        if let Some(st) = st {
            assert!(
                super::SEND_STATUSES.contains(&st) || MALFORMED_STATUSES.contains(&st),
                "status {st:#x}"
            );
        }
        if s.malformed {
            assert_ne!(st, Some(NDIS_STATUS_SUCCESS), "a malformed NBL succeeded");
            continue;
        }
        want.extend_from_slice(&s.payload);
        if st == Some(NDIS_STATUS_SUCCESS) {
            must_have = want.len();
        }
    }
    let stream = sim.peer_state(c.key).stream;
    assert!(
        stream.len() <= want.len() && want[..stream.len()] == stream[..],
        "the peer got {} bytes that are not a prefix of the payload",
        stream.len()
    );
    assert!(
        stream.len() >= must_have,
        "SUCCESS before the peer had the bytes: {} of {must_have}",
        stream.len()
    );
    // What the host read (indications and completed requests, in the
    // order the driver made them): a prefix of the peer's stream, nothing
    // after its FIN.
    let index: Vec<(usize, &Posted, usize)> =
        rx.posts.iter().map(|(p, copy)| (*p, copy, 0)).collect();
    let host = host_stream(&sim, &index);
    assert!(
        rx.peer.starts_with(&host),
        "the host read {} bytes that are not a prefix of the peer's stream",
        host.len()
    );
    sim.assert_clean();
    drop(keep);
    finish(sim);
}
