//! Send-path stress: two processors post sends on 1,000 connections each,
//! with random NBL / NET_BUFFER / MDL shapes, while a third drains the wire
//! and delivers the peer's ACKs. Invariants: every NBL completes exactly
//! once, with success; each connection's completions come in submission
//! order; the bytes each connection put on the wire are its NBL payloads,
//! concatenated in order.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::{AUTO, Mine, SND_UNA, completed, peer_mac};
use common::tree::run;
use common::*;
use ndis_sim::builders::{NbSpec, NblChain, TcpSpec, Tree};
use ndis_sim::exports::phy::DEFAULT_MAC;
use ndis_sim::{ConnKey, PeerConn, StateOpKind};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

const THREADS: usize = 2;
/// Connections per thread (override with SEND_STRESS_CONNS, e.g. under valgrind).
fn per_thread() -> usize {
    std::env::var("SEND_STRESS_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// xorshift64*: a fixed seed makes every run the same.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
}

/// One connection's sends: chains in posting order, and its expected stream.
struct Work {
    slot: Box<PVOID>,
    key: ConnKey,
    chains: Vec<NblChain>,
    expect: Vec<u8>,
}

fn random_chain(rng: &mut Rng, conn: usize, serial: &mut usize, expect: &mut Vec<u8>) -> NblChain {
    let nbls = rng.range(1, 3);
    let shape: Vec<Vec<NbSpec>> = (0..nbls)
        .map(|_| {
            (0..rng.range(1, 3))
                .map(|_| NbSpec {
                    mdl_sizes: (0..rng.range(1, 3)).map(|_| rng.range(1, 700)).collect(),
                    offset: rng.range(0, 16),
                })
                .collect()
        })
        .collect();
    let base = *serial;
    *serial += 64;
    let chain = NblChain::build(&shape, |k, j| {
        let len: usize = shape[k][j].mdl_sizes.iter().sum();
        let seed = (conn * 7919 + base + k * 8 + j) as u64;
        (0..len)
            .map(|i| (seed.wrapping_mul(31).wrapping_add(i as u64 * 13) >> 3) as u8)
            .collect()
    });
    for (k, nbs) in shape.iter().enumerate() {
        for j in 0..nbs.len() {
            expect.extend(chain.payload(k, j));
        }
    }
    chain
}

#[test]
fn two_threads_thousand_connections_random_shapes() {
    let per = per_thread();
    let mut sim = loaded();
    sim.set_config("TcpConnectionOffloadCapacity", (THREADS * per) as u32);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
    let mut rng = Rng(0x5EED_0004);

    // Offload: per thread one neighbor → one path → `per` connections.
    let mut trees = Vec::new();
    let mut work: Vec<Vec<Work>> = Vec::new();
    for t in 0..THREADS {
        let n8 = t as u8 + 1;
        let mut tree = Tree::new();
        let nb = tree.new_neighbor([0; 6], 0, peer_mac(n8));
        let pa = tree.new_path4([10, 0, 0, 1], [10, 0, 1, n8], 1500);
        tree.dependent(nb, pa);
        let mut prev = None;
        let mut ids = Vec::new();
        for i in 0..per {
            let port = (1000 + i) as u16;
            let mut spec = TcpSpec::established(port.to_be(), 443);
            // Nagle off for half of them: both send policies run.
            if i % 2 == 0 {
                spec.cached.Flags &= !TCP_FLAG_NAGLING_ENABLED;
            }
            let c = tree.new_tcp(&spec);
            match prev {
                None => tree.dependent(pa, c),
                Some(p) => tree.next(p, c),
            }
            prev = Some(c);
            let key = sim.peer_connect(PeerConn {
                target_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                target_port: port,
                peer_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 1, n8)),
                peer_port: u16::from_be(443),
                target_mac: DEFAULT_MAC,
                peer_mac: peer_mac(n8),
                vlan_tci: None,
                rcv_nxt: SND_UNA,
                snd_nxt: spec.delegated.RcvNxt,
                window: spec.delegated.SndWnd,
                window_shift: spec.konst.SndWindScale(),
                mss: 1448,
                sack: false,
                policy: AUTO,
            });
            ids.push((c, key));
        }
        run(&sim, StateOpKind::Initiate, &tree, nb);
        let mut list = Vec::new();
        for (i, (c, key)) in ids.into_iter().enumerate() {
            assert_eq!(tree.status(c), NDIS_STATUS_SUCCESS);
            let conn = t * per + i;
            let mut serial = 0;
            let mut expect = Vec::new();
            let chains = (0..rng.range(1, 3))
                .map(|_| random_chain(&mut rng, conn, &mut serial, &mut expect))
                .collect();
            list.push(Work {
                slot: Box::new(tree.context(c) as PVOID),
                key,
                chains,
                expect,
            });
        }
        work.push(list);
        trees.push((tree, nb, pa));
    }

    // Post from two threads while this one drains the wire.
    let send = sim
        .driver()
        .tcp
        .expect("tcp table")
        .0
        .TcpOffloadSendHandler
        .expect("send handler");
    let ctx = sim.context() as usize;
    let finished = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for list in &work {
            let core = sim.core.clone();
            let finished = &finished;
            let mine = Mine(list);
            s.spawn(move || {
                let list = mine.get();
                ndis_sim::state::set_current(Some(core.clone()));
                // Round-robin over the connections, one chain at a time, so
                // calls on one connection interleave with the others'.
                let rounds = list.iter().map(|w| w.chains.len()).max().unwrap_or(0);
                for r in 0..rounds {
                    for w in list {
                        let Some(chain) = w.chains.get(r) else {
                            continue;
                        };
                        let given: Vec<usize> =
                            chain.nbls().into_iter().map(|p| p as usize).collect();
                        for &p in &given {
                            ndis_sim::tracker::give(&core, p, "MiniportTcpOffloadSend");
                        }
                        let slot = (&*w.slot as *const PVOID).cast_mut().cast();
                        // SAFETY: the driver's registered handler with its
                        // context, a slot holding an issued context value
                        // and a chain this thread owns until completion.
                        let st = ndis_sim::irql::at_dispatch(|| unsafe {
                            send(ctx as NDIS_HANDLE, slot, chain.head())
                        });
                        for p in given {
                            ndis_sim::tracker::handler_returned(&core, p);
                        }
                        assert_eq!(st, NDIS_STATUS_PENDING);
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
                ndis_sim::state::set_current(None);
            });
        }
        while finished.load(Ordering::SeqCst) < THREADS {
            sim.run_until_idle();
            std::thread::yield_now();
        }
    });
    // Drain; Nagle-held tails go out as the ACKs come back.
    for _ in 0..50 {
        sim.advance_ms(10);
    }

    // Every NBL exactly once, successfully, in submission order per connection.
    let done = completed(&sim);
    let mut seen: HashMap<usize, NDIS_STATUS> = HashMap::new();
    for &(p, st) in &done {
        assert!(seen.insert(p, st).is_none(), "NBL {p:#x} completed twice");
    }
    let mut position: HashMap<usize, usize> = HashMap::new();
    for (i, &(p, _)) in done.iter().enumerate() {
        position.insert(p, i);
    }
    let mut nbls = 0;
    let mut bytes = 0;
    for list in &work {
        for w in list {
            let order: Vec<usize> = w
                .chains
                .iter()
                .flat_map(|c| c.nbls())
                .map(|p| p as usize)
                .collect();
            nbls += order.len();
            for p in &order {
                assert_eq!(seen.get(p), Some(&NDIS_STATUS_SUCCESS), "NBL {p:#x}");
            }
            let pos: Vec<usize> = order.iter().map(|p| position[p]).collect();
            assert!(pos.windows(2).all(|x| x[0] < x[1]), "FIFO per connection");
            let rec = sim.peer_state(w.key);
            assert!(rec.stream == w.expect, "stream of {:?}", w.key);
            assert_eq!(rec.retransmitted_bytes, 0);
            bytes += w.expect.len();
        }
    }
    assert_eq!(done.len(), nbls, "nothing completed that was not posted");
    eprintln!(
        "{} connections, {nbls} NBLs, {bytes} bytes, {} frames",
        THREADS * per,
        sim.frames_sent()
    );
    sim.assert_clean();

    // Upload everything, then halt clean.
    for (tree, nb, pa) in &trees {
        let mut term = Tree::new();
        let a = tree::term_neighbor(&mut term, tree.context(*nb));
        let b = tree::term_path(&mut term, tree.context(*pa));
        term.dependent(a, b);
        let mut prev = None;
        for id in 2..tree.len() {
            let c = tree::term_tcp(&mut term, tree.context(id));
            match prev {
                None => term.dependent(b, c),
                Some(p) => term.next(p, c),
            }
            prev = Some(c);
        }
        run(&sim, StateOpKind::Terminate, &term, a);
        assert_eq!(term.status(a), NDIS_STATUS_SUCCESS);
    }
    drop(work);
    finish(sim);
}
