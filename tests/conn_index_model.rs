//! The hardware's lock-free flow index against a model (a multimap), with
//! inserts, removals and lookups under churn; tombstones are reclaimed so a
//! lookup of an absent flow stays short after many offload/upload cycles.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use chimney_miniport::hw::index::{ConnIndex, FlowKey};
use chimney_miniport::ndis::NdisHandle;
use ndis_sim::Simulator;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

fn key(n: u16) -> FlowKey {
    let mut k = FlowKey::default();
    k.local[..4].copy_from_slice(&[10, 0, 0, 1]);
    k.remote[..4].copy_from_slice(&[10, 0, 1, (n % 7) as u8]);
    k.local_port = 1000 + n;
    k.remote_port = 443;
    k
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u16, u32),
    Remove(u16, u32),
    Find(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u16..40, 0u32..40).prop_map(|(k, id)| Op::Insert(k, id)),
        2 => (0u16..40, 0u32..40).prop_map(|(k, id)| Op::Remove(k, id)),
        3 => (0u16..50).prop_map(Op::Find),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn index_matches_a_multimap(ops in prop::collection::vec(op(), 1..200)) {
        let mut sim = Simulator::new();
        let h = NdisHandle::new(sim.bare_adapter());
        // Capacity 40 → 128 slots: at most 40 live entries below.
        let idx = ConnIndex::new(h, 40).expect("index");
        let mut model: HashMap<u16, BTreeSet<u32>> = HashMap::new();
        let live = |m: &HashMap<u16, BTreeSet<u32>>| m.values().map(|s| s.len()).sum::<usize>();
        for op in ops {
            match op {
                Op::Insert(k, id) => {
                    let fresh = !model.get(&k).is_some_and(|s| s.contains(&id));
                    if fresh && live(&model) >= 40 {
                        continue;
                    }
                    prop_assert!(idx.insert(&key(k), id).is_ok());
                    model.entry(k).or_default().insert(id);
                }
                Op::Remove(k, id) => {
                    idx.remove(&key(k), id);
                    if let Some(s) = model.get_mut(&k) {
                        s.remove(&id);
                    }
                }
                Op::Find(k) => {
                    let want = model.get(&k).cloned().unwrap_or_default();
                    // Every candidate offered is one of the key's ids (or a
                    // hash-colliding one, which these keys do not have), and
                    // every id of the key is offered.
                    let mut offered = BTreeSet::new();
                    let got = idx.find(&key(k), |id| {
                        offered.insert(id);
                        false
                    });
                    prop_assert_eq!(got, None);
                    prop_assert_eq!(&offered, &want);
                    if let Some(&first) = want.iter().next() {
                        prop_assert_eq!(idx.find(&key(k), |id| id == first), Some(first));
                    }
                }
            }
            prop_assert_eq!(idx.occupancy().0, live(&model));
        }
        drop(idx);
    }
}

#[test]
fn churn_leaves_no_tombstones_behind() {
    let mut sim = Simulator::new();
    let h = NdisHandle::new(sim.bare_adapter());
    let idx = ConnIndex::new(h, 1000).expect("index");
    // Ten rounds of 1,000 offloads and 1,000 uploads, in varying orders.
    for round in 0..10u16 {
        for i in 0..1000u16 {
            idx.insert(&key(round * 1000 + i), u32::from(i))
                .expect("room");
        }
        for i in 0..1000u16 {
            let j = (i * 7 + round) % 1000;
            idx.remove(&key(round * 1000 + j), u32::from(j));
        }
        assert_eq!(idx.occupancy(), (0, 0), "round {round}");
    }
    drop(idx);
}
