//! Neighbor reachability (spec §6.14, rule 101): forward progress on any
//! connection through a neighbor resets its NRT; before transmitting, the
//! staleness test (NCT − NRT and NCT − HRT both above `NceStaleTicks`)
//! leads to a `NeighborReachabilityQuery` carrying one `NeighborOffloadState`
//! block and the neighbor's const, cached and delegated structures; the
//! host's answer sets HRT.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::tree::{run, term_neighbor};
use common::*;
use ndis_sim::builders::Tree;
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::{AckPolicy, Simulator, StateOpKind};

const MANUAL: AckPolicy = AckPolicy::Manual;

/// (host delta carried, nic delta carried, answer) of each query so far.
fn queries(sim: &Simulator) -> Vec<([u8; 6], u32, u32, u32)> {
    sim.chimney_calls()
        .into_iter()
        .filter_map(|x| match x {
            ChimneyCall::NeighborQuery {
                dl_destination,
                host_delta,
                nic_delta,
                answer,
            } => Some((dl_destination, host_delta, nic_delta, answer)),
            _ => None,
        })
        .collect()
}

/// NicReachabilityDelta of the connection's neighbor, by MiniportQueryOffload.
fn query_nrd(sim: &Simulator, c: &Conn) -> u32 {
    let mut t = Tree::new();
    let b = term_neighbor(&mut t, c.tree.context(c.neighbor));
    run(sim, StateOpKind::Query, &t, b);
    assert_eq!(t.status(b), NDIS_STATUS_SUCCESS);
    let d: NEIGHBOR_OFFLOAD_STATE_DELEGATED = t.state(b, 0);
    d.NicReachabilityDelta
}

#[test]
fn rule_101_forward_progress_resets_the_neighbors_nrt() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    // Offloaded with NRD 5: it grows with the NIC clock.
    sim.advance_ms(2_000);
    assert_eq!(query_nrd(&sim, &c), 2_005);
    // Data sent is not progress; its acknowledgement is.
    let ch = chain_of(&[500], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    sim.advance_ms(1_000);
    assert_eq!(query_nrd(&sim, &c), 3_005);
    sim.peer_ack(c.key, SND_UNA + 500, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    sim.advance_ms(700);
    assert_eq!(query_nrd(&sim, &c), 700);
    // So is new in-order data from the peer; an old duplicate is not.
    sim.peer_send(c.key, b"new", true);
    sim.run_until_idle();
    assert_eq!(query_nrd(&sim, &c), 0);
    sim.advance_ms(400);
    sim.peer_ack(c.key, SND_UNA + 500, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    assert_eq!(query_nrd(&sim, &c), 400);
    let (term, _) = terminate(&sim, &c);
    let d: NEIGHBOR_OFFLOAD_STATE_DELEGATED = term.state(0, 0);
    assert_eq!(d.NicReachabilityDelta, 400, "the terminate reports it too");
    finish(sim);
}

#[test]
fn rule_101_a_stale_neighbor_is_queried_before_transmitting_and_the_answer_sets_hrt() {
    let sim = with_adapter();
    // The peer acknowledges nothing (no progress); retransmission has no
    // limit here, so the connection keeps transmitting.
    let c = offload_with(
        &sim,
        1,
        4000,
        MANUAL,
        |s, t| {
            no_nagle(s, t);
            s.cached.MaxRT = 0xFFFF_FFFF;
        },
        |s| s.delegated.SndUna,
    );
    // NceStaleTicks is 30,000 (30 s at 1,000 ticks per second). At 20 s
    // nothing is stale yet: a transmission makes no query.
    sim.advance_ms(20_000);
    let a = chain_of(&[100], 1);
    send(&sim, &c, &a);
    sim.run_until_idle();
    assert!(queries(&sim).is_empty());
    // At 31 s neither the NIC nor the host has seen the neighbor for
    // longer than that: the next transmission queries it, with the
    // neighbor's structures (the simulator checks the block's shape).
    sim.advance_ms(11_000);
    let b = chain_of(&[100], 2);
    send(&sim, &c, &b);
    sim.run_until_idle();
    sim.advance_ms(1); // the query goes from the timer, set to fire at once
    let q = queries(&sim);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].0, peer_mac(1), "its cached DlDestinationAddress");
    assert_eq!(q[0].1, 5, "the HostReachabilityDelta it was offloaded with");
    assert_eq!(q[0].2, 31_006, "NRD = NCT − NRT");
    // The host answered 0 (its entry is stale): HRT = now, so no further
    // query for NceStaleTicks, however much is sent.
    let mut kept = Vec::new();
    for i in 0..5u8 {
        let more = chain_of(&[100], 10 + i);
        send(&sim, &c, &more);
        sim.run_until_idle();
        sim.advance_ms(5_000);
        kept.push(more);
    }
    assert_eq!(queries(&sim).len(), 1);
    // A host that says "reachable 10 s ago" sets HRT 10 s back: the next
    // stale test after 20 s more fails on both counts again.
    sim.set_neighbor_answer(10_000);
    sim.advance_ms(6_000);
    let c2 = chain_of(&[100], 30);
    send(&sim, &c, &c2);
    sim.run_until_idle();
    sim.advance_ms(1);
    assert_eq!(queries(&sim).len(), 2);
    assert_eq!(queries(&sim)[1].3, 10_000);
    sim.advance_ms(20_500);
    let c3 = chain_of(&[100], 31);
    send(&sim, &c, &c3);
    sim.run_until_idle();
    sim.advance_ms(1);
    assert_eq!(
        queries(&sim).len(),
        3,
        "HRT = t − 10 s: stale again 20 s on"
    );
    ack_all(&sim, &c);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn progress_keeps_an_active_neighbor_from_being_queried() {
    let sim = with_adapter();
    let c = offload(
        &sim,
        1,
        4000,
        AckPolicy::Auto {
            delay_ms: 0,
            max_step: None,
        },
    );
    let chains: Vec<_> = (0..20u8).map(|i| chain_of(&[1000], i)).collect();
    for ch in &chains {
        send(&sim, &c, ch);
        sim.run_until_idle();
        sim.advance_ms(10_000);
    }
    assert!(queries(&sim).is_empty(), "ACKs kept NRT fresh for 200 s");
    terminate(&sim, &c);
    finish(sim);
}
