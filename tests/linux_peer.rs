//! Offloaded connections against the Linux kernel's TCP, through a TAP
//! device in a network namespace of their own: the handshake on the
//! ordinary path, the offload, data both ways, the server's FIN, the
//! graceful close and the upload, with and without seeded impairments.
//! Needs root, `ip` and /dev/net/tun (CI has them); elsewhere the tests
//! say so and pass without running.

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use common::*;
use ndis_sim::link::{Impairment, LinkConfig};
use ndis_sim::linux::{self, Plan, Report};
use std::time::Duration;

fn run(plan: &Plan) -> Option<Report> {
    if !ndis_sim::tap::available() {
        eprintln!("skipped: needs root, ip(8) and /dev/net/tun");
        return None;
    }
    let sim = with_adapter();
    let rep = linux::run(&sim, plan, &mut |_, _| {}).expect("namespace and TAP set up");
    eprintln!("{rep:#?}");
    assert!(rep.ok(plan), "{rep:#?}");
    finish(sim);
    Some(rep)
}

#[test]
fn linux_tcp_exchanges_data_with_an_offloaded_connection_and_closes() {
    let plan = Plan {
        send_bytes: 512 << 10,
        reply_bytes: 128 << 10,
        ..Plan::default()
    };
    let Some(rep) = run(&plan) else { return };
    // TCP_CLOSED after the graceful close and its acknowledgment.
    assert_eq!(
        rep.uploaded_states,
        vec![chimney_miniport::ffi::TcpConnectionClosed as u32]
    );
    // Full-sized segments: the MSS of 1,460 less the 12-byte timestamp option.
    assert_eq!(
        rep.server.rcv_mss, 1448,
        "the driver sent full-sized segments"
    );
}

#[test]
fn linux_tcp_under_seeded_loss_reordering_and_duplication() {
    let imp = Impairment {
        loss_ppm: 20_000,
        dup_ppm: 10_000,
        reorder_ppm: 20_000,
        reorder_ms: 3,
        delay_ms: 1,
    };
    let plan = Plan {
        link: LinkConfig {
            seed: 42,
            outbound: imp,
            inbound: imp,
        },
        send_bytes: 256 << 10,
        reply_bytes: 64 << 10,
        limit: Duration::from_secs(120),
        ..Plan::default()
    };
    let Some(rep) = run(&plan) else { return };
    assert!(
        rep.outbound.dropped > 0 && rep.inbound.dropped > 0,
        "{rep:#?}"
    );
    assert!(
        rep.driver_retransmitted > 0,
        "losses were repaired by the driver"
    );
}

/// 1% loss and 1% reordering (by 2 ms) each way, decided by `seed`.
fn lossy(seed: u64) -> LinkConfig {
    let imp = Impairment {
        loss_ppm: 10_000,
        reorder_ppm: 10_000,
        reorder_ms: 2,
        ..Impairment::default()
    };
    LinkConfig {
        seed,
        outbound: imp,
        inbound: imp,
    }
}

#[test]
fn linux_tcp_over_ipv6_with_eight_connections_in_one_tree() {
    let plan = Plan {
        link: lossy(9),
        connections: 8,
        ipv6: true,
        send_bytes: 128 << 10,
        reply_bytes: 32 << 10,
        limit: Duration::from_secs(120),
        ..Plan::default()
    };
    let Some(rep) = run(&plan) else { return };
    assert_eq!(
        rep.uploaded_states,
        vec![chimney_miniport::ffi::TcpConnectionClosed as u32; 8]
    );
    // IPv6 segments: the MSS of 1,440 less the timestamp option.
    assert_eq!(rep.server.rcv_mss, 1428);
}

#[test]
fn linux_tcp_reply_lands_in_posted_receive_requests() {
    let plan = Plan {
        link: lossy(21),
        connections: 2,
        send_bytes: 64 << 10,
        reply_bytes: 512 << 10,
        posted_receives: Some(16 << 10),
        limit: Duration::from_secs(120),
        ..Plan::default()
    };
    let Some(rep) = run(&plan) else { return };
    // The requests take the reply; indications only fill the gaps when
    // none is posted (a request completes, the next is posted after).
    assert!(
        rep.reply_in_requests > rep.reply_received / 2,
        "{} of {} bytes in requests",
        rep.reply_in_requests,
        rep.reply_received
    );
}
