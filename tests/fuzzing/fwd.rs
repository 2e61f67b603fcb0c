//! Forwarded segments are untrusted too: `MiniportTcpOffloadForward` gets
//! chains of NBLs whose NET_BUFFERs each should hold one TCP segment from its
//! header, with any header fields, cut short anywhere, split across MDLs
//! anywhere, broken NBLs among them and stale contexts; the same segments
//! also arrive from the wire, the host posts receive requests, and the
//! clock moves. Every payload byte a segment carries is the peer's stream
//! byte at that sequence number, so whatever is accepted, the host must read
//! exactly the peer's stream from the offload's RCV.NXT on: nothing lost
//! from the middle, repeated or reordered. Every forwarded NBL completes
//! exactly once with a documented status (docs/decisions.md, "Forward"),
//! every send NBL exactly once in order, the verifier stays clean and
//! nothing leaks.

use super::{Defect, malform};
use crate::common::send::*;
use crate::common::*;
use arbitrary::{Arbitrary, Unstructured};
use chimney_miniport::ffi::*;
use etherparse::{TcpHeader, TcpOptionElement};
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::{AckPolicy, TcpIoKind};

/// One segment from the peer, relative to the connection's sequence
/// numbers: its payload is the peer's stream at `seq_off`.
#[derive(Arbitrary, Clone, Debug)]
pub struct Seg {
    seq_off: i16,
    ack_off: i16,
    /// FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20.
    flags: u8,
    window: u16,
    len: u16,
    /// With a timestamps option.
    ts: bool,
    /// The segment's bytes cut to this many (in the header: malformed).
    cut: Option<u8>,
}

/// One thing that happens.
#[derive(Arbitrary, Clone, Debug)]
pub enum Fwd {
    /// One forward call: one NBL per segment, each NET_BUFFER cut into MDLs
    /// of `mdl` bytes after an unused prefix of `offset` bytes.
    Forward { segs: Vec<Seg>, mdl: u8, offset: u8 },
    /// A forward call of one NBL with a defect (0: two NET_BUFFERs, then
    /// the shared [`Defect`]s).
    Broken { seg: Seg, defect: u8 },
    /// A forward call whose context slot names no connection.
    Stray(Seg),
    /// The segment from the wire, in a checksummed frame.
    Wire(Seg),
    /// The host posts a receive request of this many bytes (1 to 3,000).
    Post(u16),
    /// The clock moves on (4 ms units).
    Advance(u8),
}

/// The peer's stream byte `off` bytes after the offload's RCV.NXT.
fn peer_byte(off: u32) -> u8 {
    (off.wrapping_mul(7) % 251) as u8
}

impl Seg {
    fn seq(&self) -> u32 {
        RCV_NXT.wrapping_add(self.seq_off as u32)
    }

    fn payload(&self) -> Vec<u8> {
        let start = self.seq_off as u32;
        (0..u32::from(self.len) % 1600)
            .map(|i| peer_byte(start.wrapping_add(i)))
            .collect()
    }

    /// The TCP segment's bytes (header and payload), as forwarded.
    fn tcp_bytes(&self, c: &Conn) -> Vec<u8> {
        let mut h = TcpHeader::new(c.key.peer_port, c.key.target_port, self.seq(), self.window);
        h.fin = self.flags & 0x01 != 0;
        h.syn = self.flags & 0x02 != 0;
        h.rst = self.flags & 0x04 != 0;
        h.psh = self.flags & 0x08 != 0;
        h.ack = self.flags & 0x10 != 0;
        h.urg = self.flags & 0x20 != 0;
        h.urgent_pointer = u16::from(h.urg);
        h.acknowledgment_number = SND_UNA.wrapping_add(self.ack_off as u32);
        if self.ts {
            let _ = h.set_options(&[
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::Timestamp(4242, 777),
            ]);
        }
        let mut out = h.to_bytes().to_vec();
        out.extend(self.payload());
        self.cut_to(&mut out);
        out
    }

    /// The same segment in an Ethernet frame from the peer.
    fn frame(&self, c: &Conn) -> Vec<u8> {
        let mut f = super::rx::segment(
            c,
            self.seq(),
            SND_UNA.wrapping_add(self.ack_off as u32),
            self.flags,
            self.window,
            &self.payload(),
        );
        self.cut_to(&mut f);
        f
    }

    fn cut_to(&self, bytes: &mut Vec<u8>) {
        if let Some(n) = self.cut {
            bytes.truncate(usize::from(n));
        }
    }
}

/// Longest script a fuzz input runs.
const MAX_STEPS: usize = 48;

/// Statuses a forwarded NBL may complete with.
const FORWARD_STATUSES: &[NDIS_STATUS] = &[
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UPLOAD_IN_PROGRESS,
    NDIS_STATUS_REQUEST_ABORTED,
    NDIS_STATUS_INVALID_PARAMETER,
];

/// The fuzz entry: send-chain sizes, then the script.
pub fn fuzz(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(sizes) = <[u16; 2]>::arbitrary(&mut u) else {
        return;
    };
    if let Some(steps) = super::script::<Fwd>(u, MAX_STEPS) {
        let sizes: Vec<usize> = sizes.iter().map(|&s| 1 + usize::from(s) % 3000).collect();
        run(&sizes, steps);
    }
}

/// NBLs for `segs` (one NET_BUFFER each), cut into MDLs of `mdl` bytes.
fn forwarded(c: &Conn, segs: &[Seg], mdl: usize, offset: usize) -> NblChain {
    let bytes: Vec<Vec<u8>> = segs.iter().map(|s| s.tcp_bytes(c)).collect();
    let shape: Vec<Vec<NbSpec>> = bytes
        .iter()
        .map(|b| {
            let mut sizes = vec![mdl; b.len() / mdl];
            if b.len() % mdl != 0 || b.is_empty() {
                sizes.push((b.len() % mdl).max(1));
            }
            vec![NbSpec {
                mdl_sizes: sizes,
                offset,
            }]
        })
        .collect();
    let chain = NblChain::build(&shape, |k, _| bytes[k].clone());
    // An empty segment still gets its one-byte MDL: describe no data.
    for (k, b) in bytes.iter().enumerate() {
        if b.is_empty() {
            // SAFETY: the chain's own live NBL, not handed over yet.
            unsafe { malform(chain.nbls()[k], Defect::NoData) };
        }
    }
    chain
}

/// Offload one connection, queue sends of `sizes`, run `steps`, let the
/// peer acknowledge what it really received, then check every invariant.
pub fn run(sizes: &[usize], steps: Vec<Fwd>) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let sends: NblChain = chain_of(sizes, 5);
    send(&sim, &c, &sends);
    sim.run_until_idle();
    let mut forwards: Vec<NblChain> = Vec::new();
    let mut bogus: Box<PVOID> = Box::new(0x5151 as PVOID);
    let mut requests: Vec<(NblChain, Posted)> = Vec::new();
    for step in steps {
        match step {
            Fwd::Forward { segs, mdl, offset } => {
                if segs.is_empty() {
                    continue;
                }
                let ch = forwarded(&c, &segs, 1 + usize::from(mdl), usize::from(offset % 16));
                sim.call_tcp_io(TcpIoKind::Forward, c.slot_ptr(), ch.head());
                forwards.push(ch);
            }
            Fwd::Broken { seg, defect } => {
                let b = seg.tcp_bytes(&c);
                let nb = || NbSpec {
                    mdl_sizes: vec![b.len().max(1)],
                    offset: 0,
                };
                let ch = match defect % 4 {
                    0 => NblChain::build(&[vec![nb(), nb()]], |_, _| b.clone()),
                    d => {
                        let ch = NblChain::build(&[vec![nb()]], |_, _| b.clone());
                        let defect = [Defect::NoNetBuffer, Defect::LengthPastMdls, Defect::NullMdl]
                            [usize::from(d) - 1];
                        // SAFETY: the chain's own live NBL, not handed over yet.
                        unsafe { malform(ch.head(), defect) };
                        ch
                    }
                };
                sim.call_tcp_io(TcpIoKind::Forward, c.slot_ptr(), ch.head());
                forwards.push(ch);
            }
            Fwd::Stray(seg) => {
                let ch = forwarded(&c, &[seg], 2048, 0);
                sim.call_tcp_io(
                    TcpIoKind::Forward,
                    (&mut *bogus as *mut PVOID).cast(),
                    ch.head(),
                );
                forwards.push(ch);
            }
            Fwd::Wire(seg) => sim.inject_frame(seg.frame(&c)),
            Fwd::Post(n) => {
                let n = 1 + usize::from(n) % 3000;
                let ch = one_mdl_each(&[n], |_| vec![0xCC; n]);
                // Copied as posted: the driver advances the NET_BUFFER.
                let copy = Posted::of(&ch);
                sim.call_tcp_io(TcpIoKind::Receive, c.slot_ptr(), ch.head());
                requests.push((ch, copy));
            }
            Fwd::Advance(units) => sim.advance_ms(4 * u64::from(units)),
        }
        sim.run_until_idle();
    }
    check(&sim, &c, &sends, sizes, &forwards, &requests);
    drop(bogus);
    finish(sim);
}

fn check(
    sim: &ndis_sim::Simulator,
    c: &Conn,
    sends: &NblChain,
    sizes: &[usize],
    forwards: &[NblChain],
    requests: &[(NblChain, Posted)],
) {
    // Sends: as in the receive harness (which also uploads the connection).
    super::rx::settle_sends(sim, c, sends, sizes, 5);
    // Forwarded NBLs: each exactly once, with a documented status.
    let fwd_done: Vec<(usize, NDIS_STATUS)> = sim
        .chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::ForwardComplete(v) => Some(v),
            _ => None,
        })
        .flatten()
        .collect();
    for ch in forwards {
        for p in ch.nbls() {
            let mine: Vec<_> = fwd_done.iter().filter(|d| d.0 == p as usize).collect();
            assert_eq!(
                mine.len(),
                1,
                "forwarded NBL completed {} times",
                mine.len()
            );
            assert!(
                FORWARD_STATUSES.contains(&mine[0].1),
                "forward status {:#x}",
                mine[0].1
            );
        }
    }
    // The host read the peer's stream from RCV.NXT on, once, in order.
    let index: Vec<(usize, &Posted, usize)> = requests
        .iter()
        .map(|(ch, copy)| (ch.head() as usize, copy, 0))
        .collect();
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        for call in sim.chimney_calls() {
            match call {
                ChimneyCall::ReceiveIndicate { data, status, .. } => {
                    eprintln!("indicated {} bytes: {status:#x}", data.len())
                }
                other => eprintln!("{other:?}"),
            }
        }
    }
    let host = host_stream(sim, &index);
    let expect: Vec<u8> = (0..host.len() as u32).map(peer_byte).collect();
    let first_wrong = host.iter().zip(&expect).position(|(a, b)| a != b);
    assert!(
        host == expect,
        "the host's stream is not the peer's: {} bytes, first wrong at {first_wrong:?}",
        host.len()
    );
    sim.assert_clean();
}
