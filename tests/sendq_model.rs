//! The per-connection send queue against a reference model, with random
//! NBL / NET_BUFFER / MDL shapes, malformed NBLs, partial transmits, partial
//! acknowledgements, aborts and uploads: no byte lost, duplicated or
//! reordered; every NBL completed or handed back exactly once, in order,
//! with the status and byte count the spec asks for (rules 56–60, 48).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use chimney_miniport::ffi::*;
use chimney_miniport::ndis::sendq::{Completions, Segment, SendQueue};
use ndis_sim::Simulator;
use ndis_sim::builders::{NbSpec, NblChain};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
enum Op {
    /// One NBL: NET_BUFFERs of MDL sizes, data offset, and a defect.
    Push {
        nbs: Vec<(Vec<usize>, usize)>,
        defect: u8,
    },
    /// Transmit up to `times` segments of at most `max` bytes.
    Pump {
        max: u32,
        times: u8,
    },
    /// Acknowledge `pct` percent of what is in flight.
    Ack {
        pct: u8,
    },
    FailAll,
    Upload,
}

fn op() -> impl Strategy<Value = Op> {
    let nb = (prop::collection::vec(1usize..600, 1..4), 0usize..20);
    prop_oneof![
        4 => (prop::collection::vec(nb, 1..4), 0u8..20)
            .prop_map(|(nbs, defect)| Op::Push { nbs, defect }),
        4 => (1u32..3000, 1u8..6).prop_map(|(max, times)| Op::Pump { max, times }),
        3 => (0u8..=100).prop_map(|pct| Op::Ack { pct }),
        1 => Just(Op::FailAll),
        1 => Just(Op::Upload),
    ]
}

struct Entry {
    nbl: usize,
    /// Offset of its first byte in the model stream.
    start: usize,
    /// Payload bytes (0 for a failed NBL: never read).
    len: u32,
    status: NDIS_STATUS,
}

/// What the queue should do.
#[derive(Default)]
struct Model {
    q: VecDeque<Entry>,
    sticky: NDIS_STATUS,
    head_acked: u32,
    /// The good bytes in posting order, and how far they were sent / acked.
    stream: Vec<u8>,
    sent: usize,
    acked: usize,
}

fn completions(done: &Completions) -> Vec<(usize, NDIS_STATUS, usize)> {
    let mut out = Vec::new();
    let mut p = done.head();
    while !p.is_null() {
        // SAFETY: NBLs this test built, now in the completion list.
        unsafe {
            out.push((
                p as usize,
                (*p).Status,
                (*p).NetBufferListInfo[TcpOffloadBytesTransferred as usize] as usize,
            ));
            p = (*p).NetBufferListHeader.NetBufferListData.Next;
        }
    }
    out
}

fn run(ops: Vec<Op>) {
    let _sim = Simulator::new(); // the exports the queue calls
    let mut q = SendQueue::new();
    let mut m = Model::default();
    let mut chains: Vec<NblChain> = Vec::new();
    let mut finished: Vec<(usize, NDIS_STATUS, usize)> = Vec::new();
    let mut handed_back: Vec<usize> = Vec::new();
    let mut wire: Vec<u8> = Vec::new();
    for op in ops {
        match op {
            Op::Push { nbs, defect } => {
                let shape = vec![
                    nbs.iter()
                        .map(|(sizes, offset)| NbSpec {
                            mdl_sizes: sizes.clone(),
                            offset: *offset,
                        })
                        .collect::<Vec<_>>(),
                ];
                let serial = chains.len();
                let chain = NblChain::build(&shape, |_, j| {
                    let n: usize = nbs[j].0.iter().sum();
                    (0..n).map(|i| (serial * 37 + j * 11 + i) as u8).collect()
                });
                let p = chain.head();
                let mut bytes = Vec::new();
                for j in 0..nbs.len() {
                    bytes.extend(chain.payload(0, j));
                }
                let bad = match defect {
                    // SAFETY: our NBL, before the queue owns it.
                    0 => unsafe {
                        (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer =
                            std::ptr::null_mut();
                        true
                    },
                    // SAFETY: as above.
                    1 => unsafe {
                        let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
                        (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength += 1;
                        true
                    },
                    // A well-formed NBL that carries no data: every
                    // NET_BUFFER's DataLength is 0. It completes with
                    // SUCCESS (0 bytes) as soon as it reaches the head.
                    // SAFETY: as above.
                    2 => unsafe {
                        let mut nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
                        while !nb.is_null() {
                            (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength = 0;
                            nb = (*nb).NetBufferHeader.NetBufferData.Next;
                        }
                        bytes.clear();
                        false
                    },
                    // A NET_BUFFER whose MDL chain holds more than its
                    // DataLength (the data ends before the MDLs do): the
                    // first one loses up to 5 bytes at its end.
                    // SAFETY: as above.
                    3 => unsafe {
                        let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
                        let d = &mut (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength;
                        let cut = (*d).saturating_sub(1).min(5);
                        *d -= cut;
                        // The payload now reads DataLength bytes.
                        bytes = (0..nbs.len()).flat_map(|j| chain.payload(0, j)).collect();
                        false
                    },
                    _ => false,
                };
                let was_ok = m.sticky == NDIS_STATUS_SUCCESS;
                // SAFETY: the queue owns the NBL until it completes or hands it back.
                let got = unsafe { q.push(p) };
                // Only the NBL that fails validation reports it; later ones
                // fail without being read.
                assert_eq!(got.is_err(), bad && was_ok);
                let status = if m.sticky != NDIS_STATUS_SUCCESS {
                    m.sticky
                } else if bad {
                    m.sticky = NDIS_STATUS_INVALID_PARAMETER;
                    m.sticky
                } else {
                    NDIS_STATUS_SUCCESS
                };
                let len = if status == NDIS_STATUS_SUCCESS {
                    m.stream.extend(&bytes);
                    bytes.len() as u32
                } else {
                    0
                };
                let start = m.stream.len() - len as usize;
                m.q.push_back(Entry {
                    nbl: p as usize,
                    start,
                    len,
                    status,
                });
                chains.push(chain);
            }
            Op::Pump { max, times } => {
                for _ in 0..times {
                    let mut seg = Segment::new();
                    let Some(chunk) = q.peek(max, &mut seg) else {
                        assert_eq!(m.sent, m.stream.len(), "nothing left to send");
                        break;
                    };
                    assert!(chunk.bytes > 0 && chunk.bytes <= max);
                    assert_eq!(seg.payload().len(), chunk.slices);
                    let got: Vec<u8> = seg.payload().concat();
                    assert_eq!(got.len(), chunk.bytes as usize);
                    // The chunk lies inside one NBL; PSH marks its end.
                    let e =
                        m.q.iter()
                            .find(|e| {
                                e.status == NDIS_STATUS_SUCCESS
                                    && e.start <= m.sent
                                    && m.sent < e.start + e.len as usize
                            })
                            .expect("the chunk's NBL is queued");
                    let end = e.start + e.len as usize;
                    assert!(m.sent + got.len() <= end, "segment spans NBLs");
                    assert_eq!(chunk.ends_nbl, m.sent + got.len() == end);
                    wire.extend(&got);
                    q.commit(&chunk);
                    m.sent += got.len();
                }
            }
            Op::Ack { pct } => {
                let flight = m.sent - m.acked;
                let n = flight * usize::from(pct) / 100;
                let mut done = Completions::new();
                q.ack(n as u64, &mut done);
                m.acked += n;
                // Model: complete fully acknowledged NBLs, and failed ones
                // that reach the head.
                let mut left = n as u32;
                let mut want = Vec::new();
                while let Some(e) = m.q.front() {
                    if e.status != NDIS_STATUS_SUCCESS {
                        want.push((e.nbl, e.status, 0));
                        m.q.pop_front();
                        continue;
                    }
                    let need = e.len - m.head_acked;
                    if left < need {
                        m.head_acked += left;
                        break;
                    }
                    left -= need;
                    want.push((e.nbl, NDIS_STATUS_SUCCESS, e.len as usize));
                    m.head_acked = 0;
                    m.q.pop_front();
                }
                assert_eq!(completions(&done), want);
                finished.extend(want);
            }
            Op::FailAll => {
                let mut done = Completions::new();
                q.fail_all(NDIS_STATUS_REQUEST_ABORTED, &mut done);
                let mut want = Vec::new();
                let mut first = true;
                for e in m.q.drain(..) {
                    let acked = if first && e.status == NDIS_STATUS_SUCCESS {
                        m.head_acked as usize
                    } else {
                        0
                    };
                    first = false;
                    want.push((e.nbl, NDIS_STATUS_REQUEST_ABORTED, acked));
                }
                let got = completions(&done);
                // At most one partial NBL, and it failed (rule 59).
                assert!(got.iter().filter(|x| x.2 > 0).count() <= 1);
                assert_eq!(got, want);
                finished.extend(want);
                break;
            }
            Op::Upload => {
                let first_good_len =
                    m.q.front()
                        .filter(|e| e.status == NDIS_STATUS_SUCCESS)
                        .map(|e| e.len);
                let mut done = Completions::new();
                let (head, tail) = q.take_for_upload(&mut done);
                let mut want_back = Vec::new();
                let mut want_done = Vec::new();
                for e in m.q.drain(..) {
                    if e.status == NDIS_STATUS_SUCCESS {
                        want_back.push(e.nbl);
                    } else {
                        want_done.push((e.nbl, e.status, 0));
                    }
                }
                let mut back = Vec::new();
                let mut p = head;
                while !p.is_null() {
                    back.push(p as usize);
                    // SAFETY: our NBLs, linked by the queue.
                    p = unsafe { (*p).NetBufferListHeader.NetBufferListData.Next };
                }
                assert_eq!(back, want_back, "original NBLs, original order");
                assert_eq!(tail as usize, back.last().copied().unwrap_or(0));
                if let Some(&h) = back.first() {
                    // The head was advanced past its acknowledged bytes.
                    let nbl = h as PNET_BUFFER_LIST;
                    // SAFETY: our NBL.
                    let left: u32 = unsafe {
                        let mut nb = (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
                        let mut sum = 0;
                        while !nb.is_null() {
                            sum += (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength;
                            nb = (*nb).NetBufferHeader.NetBufferData.Next;
                        }
                        sum
                    };
                    // Its first data byte is SndUna (rule 48).
                    if let Some(len) = first_good_len {
                        assert_eq!(left, len - m.head_acked);
                    }
                }
                assert_eq!(completions(&done), want_done);
                finished.extend(want_done);
                handed_back = back;
                break;
            }
        }
    }
    // Every byte on the wire is the stream's, in order, once.
    assert_eq!(wire, m.stream[..m.sent]);
    // Every NBL at most once; the rest are still queued (the model agrees).
    let mut all: Vec<usize> = finished.iter().map(|x| x.0).chain(handed_back).collect();
    all.extend(m.q.iter().map(|e| e.nbl));
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), all.len(), "an NBL completed twice");
    assert_eq!(all.len(), chains.len(), "an NBL lost");
    // Drain what is left so no NBL is freed while queued.
    let mut done = Completions::new();
    q.fail_all(NDIS_STATUS_REQUEST_ABORTED, &mut done);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn send_queue_matches_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
