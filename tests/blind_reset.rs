//! Blind-reset and in-window attack mitigation (spec §6.15, rule 95, RFC
//! 5961) and the keep-alive it leans on (spec §7.3): RSTs and SYNs that
//! are not exactly at RCV.NXT get a limited number of challenge ACKs, then
//! keep-alive probes within 5 minutes; an unanswered round closes the
//! connection and asks for its upload.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use etherparse::PacketBuilder;
use ndis_sim::exports::phy::DEFAULT_MAC;
use ndis_sim::{AckPolicy, Simulator};

const MANUAL: AckPolicy = AckPolicy::Manual;
const MS: u64 = 10_000;

fn segment(c: &Conn, seq: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(peer_mac(1), DEFAULT_MAC)
        .ipv4([10, 0, 1, 1], [10, 0, 0, 1], 64)
        .tcp(c.key.peer_port, c.key.target_port, seq, 1000);
    let b = if flags & 0x10 != 0 { b.ack(SND_UNA) } else { b };
    let b = if flags & 0x04 != 0 { b.rst() } else { b };
    let b = if flags & 0x02 != 0 { b.syn() } else { b };
    let mut out = Vec::new();
    b.write(&mut out, data).expect("frame");
    out
}

fn inject(sim: &Simulator, f: Vec<u8>) {
    sim.inject_frame(f);
    sim.run_until_idle();
}

/// (virtual ms, seq, ack, len) of what the target sent.
fn sent(sim: &Simulator, c: &Conn) -> Vec<(u64, u32, u32, u32)> {
    timed_segments(sim, c)
        .into_iter()
        .map(|(t, s)| (t, s.seq, s.ack, s.len))
        .collect()
}

fn now_ms(sim: &Simulator) -> u64 {
    sim.core.now_100ns.load(std::sync::atomic::Ordering::SeqCst) / MS
}

#[test]
fn rule_095_rsts_off_rcv_nxt_get_one_challenge_ack_per_validation_period() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    // Outside the window: silently dropped.
    inject(
        &sim,
        segment(&c, RCV_NXT.wrapping_sub(1_000_000), 0x04, &[]),
    );
    assert!(sent(&sim, &c).is_empty());
    // In the window, not at RCV.NXT: one challenge ACK, then no more.
    inject(&sim, segment(&c, RCV_NXT + 10, 0x04, &[]));
    inject(&sim, segment(&c, RCV_NXT + 20, 0x04, &[]));
    let s = sent(&sim, &c);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].1, s[0].2, s[0].3), (SND_UNA, RCV_NXT, 0));
    // An acceptable segment ends the validation period: the next one gets
    // its challenge again.
    sim.peer_send(c.key, b"ok", true);
    sim.run_until_idle();
    sim.advance_ms(500);
    let acked = sent(&sim, &c).len();
    inject(&sim, segment(&c, RCV_NXT + 30, 0x04, &[]));
    assert_eq!(sent(&sim, &c).len(), acked + 1);
    assert_eq!(sent(&sim, &c).last().map(|x| x.2), Some(RCV_NXT + 2));
    assert!(
        event_infos(&sim, TcpIndicateAbort).is_empty(),
        "none aborted"
    );
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_095_syns_off_rcv_nxt_get_at_most_one_challenge_ack_per_3_s() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    inject(&sim, segment(&c, RCV_NXT + 100, 0x02, &[]));
    assert_eq!(sent(&sim, &c).len(), 1, "a challenge ACK");
    sim.advance_ms(1_000);
    inject(&sim, segment(&c, RCV_NXT + 200, 0x02, &[]));
    assert_eq!(sent(&sim, &c).len(), 1, "not within 3 s");
    sim.advance_ms(2_100);
    inject(&sim, segment(&c, RCV_NXT + 300, 0x02, &[]));
    assert_eq!(sent(&sim, &c).len(), 2, "again after 3 s");
    // Outside the window: an ACK every time (no throttling).
    for _ in 0..3 {
        inject(&sim, segment(&c, RCV_NXT.wrapping_sub(5_000), 0x02, &[]));
    }
    assert_eq!(sent(&sim, &c).len(), 5);
    assert!(sent(&sim, &c).iter().all(|x| x.2 == RCV_NXT && x.3 == 0));
    assert!(event_infos(&sim, TcpIndicateRetrieve).is_empty());
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_095_after_a_challenge_unanswered_keepalive_probes_upload_the_connection_closed() {
    let sim = with_adapter();
    // Keep-alive is off for this connection; KaProbeCount 10, KaInterval
    // 1,000 ticks (1 s).
    let c = offload(&sim, 1, 4000, MANUAL);
    inject(&sim, segment(&c, RCV_NXT + 10, 0x04, &[]));
    let t0 = now_ms(&sim);
    sim.advance_ms(299_000);
    assert_eq!(sent(&sim, &c).len(), 1, "only the challenge ACK so far");
    sim.advance_ms(3_500);
    // Probes from 300 s on, one a second: SEQ = SND.UNA − 1, no data.
    let probes: Vec<_> = sent(&sim, &c)[1..].to_vec();
    assert_eq!(
        probes.iter().map(|p| p.0 - t0).collect::<Vec<_>>(),
        vec![300_000, 301_000, 302_000]
    );
    assert!(probes.iter().all(|p| p.1 == SND_UNA - 1 && p.3 == 0));
    sim.advance_ms(20_000);
    assert_eq!(sent(&sim, &c).len(), 1 + 10, "ten probes");
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![TimeoutExpiration]
    );
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionClosed);
    finish(sim);
}

#[test]
fn rule_095_an_acceptable_segment_stops_the_mitigation_timer_and_the_upload_reports_it() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    inject(&sim, segment(&c, RCV_NXT + 10, 0x04, &[]));
    sim.advance_ms(10_000);
    sim.peer_send(c.key, b"alive", true);
    sim.run_until_idle();
    sim.advance_ms(600_000);
    let s = sent(&sim, &c);
    assert!(s.iter().all(|x| x.1 == SND_UNA), "no probes: {s:?}");
    // A second connection is uploaded in the middle of its probes: the
    // upload reports how many went out and when the next is due.
    let d = offload(&sim, 2, 4001, MANUAL);
    let rst = {
        let b = PacketBuilder::ethernet2(peer_mac(2), DEFAULT_MAC)
            .ipv4([10, 0, 1, 2], [10, 0, 0, 1], 64)
            .tcp(d.key.peer_port, d.key.target_port, RCV_NXT + 10, 1000)
            .rst();
        let mut out = Vec::new();
        b.write(&mut out, &[]).expect("rst");
        out
    };
    inject(&sim, rst);
    sim.advance_ms(302_500);
    let (term, tcp) = terminate(&sim, &d);
    let st: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
    assert_eq!(st.KeepAlive.ProbeCount, 3);
    assert_eq!(st.KeepAlive.TimeoutDelta, 500);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn keepalive_probes_an_idle_connection_and_closes_it_after_unanswered_probes() {
    let sim = with_adapter();
    let c = offload_with(
        &sim,
        1,
        4000,
        MANUAL,
        |s, _| {
            s.cached.Flags |= TCP_FLAG_KEEP_ALIVE_ENABLED;
            s.cached.KaTimeout = 10_000; // 10 s
            s.cached.KaInterval = 2_000; // 2 s
            s.cached.KaProbeCount = 3;
        },
        |s| s.delegated.SndUna,
    );
    let t0 = now_ms(&sim);
    sim.advance_ms(10_500);
    assert_eq!(sent(&sim, &c).len(), 1, "the first probe after 10 s idle");
    // The peer answers: the timer restarts from the answer.
    sim.peer_ack(c.key, SND_UNA, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    let t1 = now_ms(&sim);
    sim.advance_ms(60_000);
    let when: Vec<u64> = sent(&sim, &c).iter().map(|x| x.0).collect();
    assert_eq!(
        when,
        vec![t0 + 10_000, t1 + 10_000, t1 + 12_000, t1 + 14_000]
    );
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![TimeoutExpiration]
    );
    let (_, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionClosed);
    finish(sim);
}

#[test]
fn keepalive_probes_answered_by_the_peer_keep_an_idle_connection_open() {
    let sim = with_adapter();
    let c = offload_with(
        &sim,
        1,
        4000,
        AckPolicy::Auto {
            delay_ms: 0,
            max_step: None,
        },
        |s, _| {
            s.cached.Flags |= TCP_FLAG_KEEP_ALIVE_ENABLED;
            s.cached.KaTimeout = 10_000;
            s.cached.KaInterval = 1_000;
            s.cached.KaProbeCount = 2;
        },
        |s| s.delegated.SndUna,
    );
    // An hour idle: a probe every 10 s, each answered (the peer ACKs a
    // segment before its RCV.NXT), so the connection stays.
    sim.advance_ms(3_600_000);
    let probes = sent(&sim, &c);
    assert!(
        (350..=361).contains(&probes.len()),
        "{} probes",
        probes.len()
    );
    assert!(probes.iter().all(|p| p.1 == SND_UNA - 1 && p.3 == 0));
    assert!(event_infos(&sim, TcpIndicateRetrieve).is_empty());
    let ch = chain_of(&[100], 1);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    assert_completed(&sim, &[(ch.head(), NDIS_STATUS_SUCCESS)]);
    terminate(&sim, &c);
    finish(sim);
}
