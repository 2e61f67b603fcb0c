//! Posted receive requests and indications under random interleavings of
//! posts (push and non-push, zero-byte, malformed), peer data with and
//! without PSH, time passing and host answers (accept, refuse, partial):
//! every byte the target acknowledged reaches the host exactly once and in
//! order — through completed requests, accepted indications or the data
//! handed back at terminate — and requests complete in posting order,
//! each exactly once (rules 65–69, 72, 75).

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use ndis_sim::AckPolicy;
use ndis_sim::builders::{NbSpec, NblChain, read_net_buffer};
use ndis_sim::exports::chimney::{ChimneyCall, ReceiveMode};
use ndis_sim::harness::TcpIoKind;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Debug)]
enum Op {
    /// Post requests: (size, non-push, malformed).
    Post(Vec<(usize, bool, bool)>),
    /// The peer sends `len` bytes, with PSH or not.
    Send { len: usize, psh: bool },
    /// Virtual time passes.
    Wait { ms: u64 },
    /// How the host answers indications from now on.
    Mode(u8, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec((0usize..2500, any::<bool>(), prop::bool::weighted(0.05)), 1..4)
            .prop_map(Op::Post),
        4 => (1usize..1400, any::<bool>()).prop_map(|(len, psh)| Op::Send { len, psh }),
        2 => (0u64..700).prop_map(|ms| Op::Wait { ms }),
        1 => (0u8..3, 1u32..800).prop_map(|(m, n)| Op::Mode(m, n)),
    ]
}

/// One posted request: its chain and a copy of its NET_BUFFER as posted.
struct Req {
    chain: NblChain,
    nb: NET_BUFFER,
}

fn request(size: usize, no_push: bool, malformed: bool) -> Req {
    let mut shape = vec![vec![NbSpec {
        mdl_sizes: vec![size.max(1)],
        offset: 0,
    }]];
    if malformed {
        // Two NET_BUFFERs: not a receive request.
        shape[0].push(NbSpec {
            mdl_sizes: vec![8],
            offset: 0,
        });
    }
    let chain = NblChain::build(&shape, |_, j| {
        vec![0xCC; if j == 0 { size.max(1) } else { 8 }]
    });
    let p = chain.head();
    // SAFETY: the test's own NBL, before it is posted.
    let nb = unsafe {
        let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
        if size == 0 {
            (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength = 0;
        }
        (*p).NetBufferListInfo[TcpReceiveNoPush as usize] = usize::from(no_push) as PVOID;
        std::ptr::read(nb)
    };
    Req { chain, nb }
}

fn run(ops: Vec<Op>) {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, AckPolicy::Manual);
    let mut sent: Vec<u8> = Vec::new();
    let mut reqs: Vec<Req> = Vec::new();
    let mut seed = 0u8;
    for op in ops {
        match op {
            Op::Post(list) => {
                let batch: Vec<Req> = list
                    .iter()
                    .map(|&(s, np, bad)| request(s, np, bad))
                    .collect();
                // Link the batch into one chain, as one call.
                for w in batch.windows(2) {
                    // SAFETY: the test's own NBLs, not posted yet.
                    unsafe {
                        (*w[0].chain.head())
                            .NetBufferListHeader
                            .NetBufferListData
                            .Next = w[1].chain.head();
                    }
                }
                let head = batch[0].chain.head();
                assert_eq!(
                    sim.call_tcp_io(TcpIoKind::Receive, c.slot_ptr(), head),
                    NDIS_STATUS_PENDING
                );
                reqs.extend(batch);
            }
            Op::Send { len, psh } => {
                seed = seed.wrapping_add(1);
                let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect();
                sim.peer_send(c.key, &data, psh);
                sent.extend(data);
            }
            Op::Wait { ms } => sim.advance_ms(ms),
            Op::Mode(m, n) => sim.set_receive_mode(match m {
                0 => ReceiveMode::Accept,
                1 => ReceiveMode::Refuse,
                _ => ReceiveMode::Partial(n),
            }),
        }
        sim.run_until_idle();
    }
    sim.set_receive_mode(ReceiveMode::Accept);
    let (term, tcp) = terminate(&sim, &c);
    let d: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
    let acked = d.RcvNxt.wrapping_sub(RCV_NXT) as usize;
    // What reached the host, in the order it got it.
    let index: HashMap<usize, usize> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.chain.head() as usize, i))
        .collect();
    let mut got: Vec<u8> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    for call in sim.chimney_calls() {
        match call {
            ChimneyCall::ReceiveIndicate { data, .. } => got.extend(data),
            ChimneyCall::ReceiveComplete(v) => {
                for (p, status) in v {
                    let i = index[&p];
                    order.push(i);
                    let n = bytes_transferred(p as PNET_BUFFER_LIST);
                    if status == NDIS_STATUS_INVALID_PARAMETER {
                        assert_eq!(n, 0, "a malformed request carries nothing");
                        continue;
                    }
                    // SAFETY: a copy of the request's NET_BUFFER as posted;
                    // its MDLs belong to the test's chain.
                    let all = unsafe { read_net_buffer(&reqs[i].nb) };
                    got.extend(&all[..n]);
                }
            }
            _ => {}
        }
    }
    // SAFETY: the BufferedData member is what terminate fills.
    let back = unsafe { d.Receive.BufferedData };
    if !back.is_null() {
        got.extend(sim.host_takes_buffered(back));
        sim.return_lent();
    }
    assert_eq!(got.len(), acked, "every acknowledged byte, once");
    assert_eq!(got, sent[..acked], "in order");
    // Every request completed, once, in posting order.
    assert_eq!(order, (0..reqs.len()).collect::<Vec<_>>());
    drop(reqs);
    finish(sim);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn posted_receives_deliver_every_acknowledged_byte_once_in_order(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        run(ops);
    }
}
