//! Property test: random offload trees, random capacities and random
//! failures, against a small reference model of the walk (spec §3.4–§3.6):
//! every status, every context write, and the offload order.

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::tree::*;
use common::*;
use ndis_sim::StateOpKind::{Initiate, Terminate};
use ndis_sim::builders::{TcpSpec, Tree};
use proptest::prelude::*;

/// A generated node: what it is, whether it is made to fail, its children.
#[derive(Clone, Debug)]
enum Node {
    Placeholder(Vec<Node>),
    Neighbor { fail: bool, paths: Vec<Node> },
    Path { fail: bool, tcps: Vec<Node> },
    Tcp { fail: u8 },
}

fn tcp_node() -> impl Strategy<Value = Node> {
    // 0: fine, 1: TIME_WAIT (FAILURE), 2: window too large (TCP_RCV_WINDOW)
    prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)].prop_map(|fail| Node::Tcp { fail })
}

fn path_node() -> impl Strategy<Value = Node> {
    (
        prop::bool::weighted(0.15),
        prop::collection::vec(tcp_node(), 0..5),
    )
        .prop_map(|(fail, tcps)| Node::Path { fail, tcps })
}

fn top_node() -> impl Strategy<Value = Node> {
    prop_oneof![
        6 => (prop::bool::weighted(0.15), prop::collection::vec(path_node(), 0..4))
            .prop_map(|(fail, paths)| Node::Neighbor { fail, paths }),
        1 => prop::collection::vec(path_node(), 0..2).prop_map(Node::Placeholder),
    ]
}

/// Build the tree; returns per-node block ids in depth-first order.
fn build(t: &mut Tree, nodes: &[Node], ids: &mut Vec<usize>, counter: &mut u16) -> Option<usize> {
    let mut first = None;
    let mut prev: Option<usize> = None;
    for n in nodes {
        *counter += 1;
        let k = *counter;
        let (id, children): (usize, &[Node]) = match n {
            Node::Placeholder(c) => (t.placeholder(), c),
            Node::Neighbor { fail, paths } => {
                let src = if *fail { [2, 0, 0, 0, 0, 9] } else { [0; 6] };
                (t.new_neighbor(src, 0, [0, 1, 2, 3, 4, k as u8]), paths)
            }
            Node::Path { fail, tcps } => {
                let mtu = if *fail { 20 } else { 1500 };
                (
                    t.new_path4([10, 0, 0, 1], [10, (k >> 8) as u8, k as u8, 1], mtu),
                    tcps,
                )
            }
            Node::Tcp { fail } => {
                let mut s = TcpSpec::established(k, 80);
                match fail {
                    1 => s.delegated.State = TcpConnectionTimeWait,
                    2 => s.cached.InitialRcvWnd = u32::MAX,
                    _ => {}
                }
                (t.new_tcp(&s), &[][..])
            }
        };
        ids.push(id);
        if let Some(p) = prev {
            t.next(p, id);
        }
        first.get_or_insert(id);
        prev = Some(id);
        if let Some(c) = build(t, children, ids, counter) {
            t.dependent(id, c);
        }
    }
    first
}

/// The reference model's verdict for one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expect {
    status: NDIS_STATUS,
    context_written: bool,
}

struct Model {
    tcp_left: usize,
    path_left: usize,
    out: Vec<Expect>,
}

fn failed(s: NDIS_STATUS) -> bool {
    s != NDIS_STATUS_SUCCESS && s != NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS
}

impl Model {
    fn fail_all(&mut self, nodes: &[Node]) {
        for n in nodes {
            self.out.push(Expect {
                status: NDIS_STATUS_FAILURE,
                context_written: false,
            });
            let kids: &[Node] = match n {
                Node::Placeholder(c)
                | Node::Neighbor { paths: c, .. }
                | Node::Path { tcps: c, .. } => c,
                Node::Tcp { .. } => &[],
            };
            self.fail_all(kids);
        }
    }

    /// Chain at some layer; `attached` = the parent object exists.
    fn chain(&mut self, nodes: &[Node], attached: bool, root: bool) -> bool {
        let mut any_failed = false;
        for (i, n) in nodes.iter().enumerate() {
            let at = self.out.len();
            self.out.push(Expect {
                status: 0,
                context_written: false,
            });
            let (own, kids, kids_attached): (NDIS_STATUS, &[Node], bool) = match n {
                Node::Placeholder(c) => (NDIS_STATUS_SUCCESS, c, false),
                Node::Neighbor { fail, paths } => (
                    if *fail {
                        NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES
                    } else {
                        NDIS_STATUS_SUCCESS
                    },
                    paths,
                    true,
                ),
                Node::Path { fail, tcps } => {
                    let s = if !attached || *fail {
                        NDIS_STATUS_FAILURE
                    } else if self.path_left == 0 {
                        NDIS_STATUS_RESOURCES
                    } else {
                        self.path_left -= 1;
                        NDIS_STATUS_SUCCESS
                    };
                    (s, tcps, true)
                }
                Node::Tcp { fail } => {
                    let s = match (attached, fail) {
                        (false, _) | (true, 1) => NDIS_STATUS_FAILURE,
                        (true, 2) => NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW,
                        _ if self.tcp_left == 0 => NDIS_STATUS_RESOURCES,
                        _ => {
                            self.tcp_left -= 1;
                            NDIS_STATUS_SUCCESS
                        }
                    };
                    (s, &[][..], true)
                }
            };
            let placeholder = matches!(n, Node::Placeholder(_));
            let child_failed = if failed(own) {
                self.fail_all(kids);
                !kids.is_empty()
            } else {
                self.chain(kids, kids_attached, false)
            };
            let status = if placeholder {
                NDIS_STATUS_SUCCESS
            } else if !failed(own) && child_failed {
                NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS
            } else {
                own
            };
            self.out[at] = Expect {
                status,
                context_written: !placeholder && !failed(status),
            };
            if failed(status) {
                any_failed = true;
                if root && i == 0 {
                    // Rule 24: the root failed, nothing else is attempted.
                    self.fail_all(&nodes[1..]);
                    return true;
                }
            }
        }
        any_failed
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn initiate_matches_the_reference_model(
        roots in prop::collection::vec(top_node(), 1..4),
        capacity in 1usize..12,
    ) {
        let mut sim = loaded();
        sim.set_config("TcpConnectionOffloadCapacity", capacity as u32);
        prop_assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
        let mut t = Tree::new();
        let mut ids = Vec::new();
        let root = build(&mut t, &roots, &mut ids, &mut 0).expect("at least one root");
        run(&sim, Initiate, &t, root);

        let mut m = Model { tcp_left: capacity, path_left: capacity, out: Vec::new() };
        m.chain(&roots, false, true);
        prop_assert_eq!(m.out.len(), ids.len());
        for (i, (&id, e)) in ids.iter().zip(&m.out).enumerate() {
            prop_assert_eq!(t.status(id), e.status, "node {} (block {})", i, id);
            prop_assert_eq!(t.context(id) != 0, e.context_written, "context of node {}", i);
        }
        // Offload order is depth-first/breadth-next: generations increase along `ids`.
        let gens: Vec<u32> = ids.iter().map(|&id| t.context(id)).filter(|&c| c != 0).map(generation).collect();
        prop_assert!(gens.windows(2).all(|w| w[0] < w[1]), "order {:?}", gens);
        prop_assert!(sim.violations().is_empty());

        // Everything offloaded can be terminated, and nothing leaks.
        let ok: Vec<usize> = ids.iter().copied().filter(|&id| t.context(id) != 0).collect();
        if !ok.is_empty() {
            let mut term = Tree::new();
            let mut tids = Vec::new();
            // Terminate bottom-up objects individually: one block per object, in
            // one flat chain per layer (TCPs, then paths, then neighbors).
            for kind in [3u64, 2, 1] {
                let mut prev = None;
                let mut first = None;
                for &id in &ok {
                    let ctx = t.context(id);
                    if (ctx as u64 >> 28) & 0xF != kind { continue; }
                    let b = match kind { 3 => term_tcp(&mut term, ctx), 2 => term_path(&mut term, ctx), _ => term_neighbor(&mut term, ctx) };
                    if let Some(p) = prev { term.next(p, b); }
                    first.get_or_insert(b);
                    prev = Some(b);
                }
                if let Some(f) = first { tids.push(f); }
            }
            for &root in &tids {
                run(&sim, Terminate, &term, root);
            }
            for id in 0..term.len() {
                prop_assert_eq!(term.status(id), NDIS_STATUS_SUCCESS);
            }
        }
        prop_assert_eq!(live(&sim), (0, 0, 0));
        finish(sim);
    }
}
