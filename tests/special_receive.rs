//! Received traffic the target does not process itself (spec §6.10): network
//! management frames, IPv4 with options, IP fragments, a SYN in TIME_WAIT
//! and data for a CLOSED connection go up the ordinary receive path; an
//! in-order SYN closes the connection and asks for its upload.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::send::*;
use common::*;
use etherparse::{IpHeaders, IpNumber, Ipv4Header, PacketBuilder};
use ndis_sim::builders::NblChain;
use ndis_sim::exports::chimney::ChimneyCall;
use ndis_sim::exports::phy::DEFAULT_MAC;
use ndis_sim::harness::TcpIoKind;
use ndis_sim::{AckPolicy, Simulator};

const MANUAL: AckPolicy = AckPolicy::Manual;

/// An IPv4 header from the peer (10.0.1.1) to the target (10.0.0.1).
fn ipv4(payload_len: u16) -> Ipv4Header {
    Ipv4Header::new(payload_len, 64, IpNumber::TCP, [10, 0, 1, 1], [10, 0, 0, 1]).expect("header")
}

/// A TCP segment of `c` from the peer, built over `ip` (options, fragment
/// bits as the caller set them).
fn segment_over(c: &Conn, ip: Ipv4Header, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(peer_mac(1), DEFAULT_MAC)
        .ip(IpHeaders::Ipv4(ip, Default::default()))
        .tcp(c.key.peer_port, c.key.target_port, seq, 1000);
    let b = if flags & 0x10 != 0 { b.ack(ack) } else { b };
    let b = if flags & 0x08 != 0 { b.psh() } else { b };
    let b = if flags & 0x02 != 0 { b.syn() } else { b };
    let mut out = Vec::new();
    b.write(&mut out, data).expect("frame");
    out
}

fn segment(c: &Conn, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    segment_over(c, ipv4(0), seq, ack, flags, data)
}

/// Segments the target sent on `c` so far.
fn sent(sim: &Simulator, c: &Conn) -> usize {
    sim.peer_state(c.key).segments.len()
}

fn graceful(sim: &Simulator, c: &Conn) -> NblChain {
    let req = NblChain::single(&[]);
    sim.call_tcp_io(
        TcpIoKind::Disconnect(TCP_DISCONNECT_GRACEFUL_CLOSE),
        c.slot_ptr(),
        req.head(),
    );
    req
}

#[test]
fn rule_093_management_frames_ip_options_fragments_syn_in_time_wait_and_closed_data_go_up_the_normal_path()
 {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let mut expected = Vec::new();
    let mut inject = |sim: &Simulator, f: Vec<u8>| {
        sim.inject_frame(f.clone());
        sim.run_until_idle();
        expected.push(f);
    };
    // ARP and ICMP.
    let mut arp = vec![0u8; 60];
    arp[..6].copy_from_slice(&DEFAULT_MAC);
    arp[6..12].copy_from_slice(&peer_mac(1));
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    inject(&sim, arp);
    let mut icmp = Vec::new();
    PacketBuilder::ethernet2(peer_mac(1), DEFAULT_MAC)
        .ipv4([10, 0, 1, 1], [10, 0, 0, 1], 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut icmp, b"ping")
        .expect("icmp");
    inject(&sim, icmp);
    // In-order data for the connection, but with IPv4 options, and as an
    // IP fragment: neither is taken (nor acknowledged).
    let mut with_options = ipv4(0);
    with_options.options = [1, 1, 1, 0].into();
    inject(
        &sim,
        segment_over(&c, with_options, RCV_NXT, SND_UNA, 0x18, b"options"),
    );
    let mut fragment = ipv4(0);
    fragment.more_fragments = true;
    inject(
        &sim,
        segment_over(&c, fragment, RCV_NXT, SND_UNA, 0x18, b"fragment"),
    );
    assert_eq!(sent(&sim, &c), 0, "nothing acknowledged");
    // The same data without options is taken and acknowledged.
    sim.inject_frame(segment(&c, RCV_NXT, SND_UNA, 0x18, b"plain"));
    sim.run_until_idle();
    sim.advance_ms(500);
    assert_eq!(sim.peer_state(c.key).last_ack_sent, SND_UNA);
    let acks: Vec<u32> = sim
        .peer_state(c.key)
        .segments
        .iter()
        .map(|s| s.ack)
        .collect();
    assert_eq!(acks.last(), Some(&(RCV_NXT + 5)));
    assert_eq!(sim.ordinary_frames(), expected);

    // A SYN in TIME_WAIT: our FIN acknowledged, then the peer's.
    let t = offload(
        &sim,
        2,
        4001,
        AckPolicy::Auto {
            delay_ms: 0,
            max_step: None,
        },
    );
    let _req = graceful(&sim, &t);
    sim.run_until_idle();
    sim.peer_fin(t.key);
    sim.run_until_idle();
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![UploadRequested],
        "TIME_WAIT"
    );
    let before = sent(&sim, &t);
    let syn = {
        let b = PacketBuilder::ethernet2(peer_mac(2), DEFAULT_MAC)
            .ipv4([10, 0, 1, 2], [10, 0, 0, 1], 64)
            .tcp(t.key.peer_port, t.key.target_port, 77, 1000)
            .syn();
        let mut out = Vec::new();
        b.write(&mut out, &[]).expect("syn");
        out
    };
    sim.inject_frame(syn.clone());
    sim.run_until_idle();
    expected.push(syn);
    assert_eq!(sim.ordinary_frames(), expected);
    assert_eq!(sent(&sim, &t), before, "not answered");
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![UploadRequested],
        "no new request"
    );
    terminate(&sim, &t);

    // Data for a CLOSED connection: the peer closed, we closed, our FIN
    // acknowledged (LAST_ACK → CLOSED); then more data arrives.
    let d = offload(&sim, 3, 4002, MANUAL);
    sim.peer_fin(d.key);
    sim.run_until_idle();
    let req = graceful(&sim, &d);
    sim.run_until_idle();
    sim.peer_ack(d.key, SND_UNA + 1, d.spec.delegated.SndWnd);
    sim.run_until_idle();
    assert!(
        sim.chimney_calls()
            .contains(&ChimneyCall::DisconnectComplete(
                req.head() as usize,
                NDIS_STATUS_SUCCESS
            ))
    );
    let before = sent(&sim, &d);
    let n = sim.ordinary_frames().len();
    sim.peer_send(d.key, b"too late", true);
    sim.run_until_idle();
    sim.advance_ms(500);
    assert_eq!(sim.ordinary_frames().len(), n + 1);
    assert_eq!(sent(&sim, &d), before, "not acknowledged");
    terminate(&sim, &d);
    terminate(&sim, &c);
    finish(sim);
}

#[test]
fn rule_094_an_in_order_syn_uploads_the_connection_in_closed_state() {
    let sim = with_adapter();
    let c = offload(&sim, 1, 4000, MANUAL);
    let ch = chain_of(&[500], 3);
    send(&sim, &c, &ch);
    sim.run_until_idle();
    let before = sent(&sim, &c);
    let syn = segment(&c, RCV_NXT, 0, 0x02, &[]);
    sim.inject_frame(syn.clone());
    sim.run_until_idle();
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![UploadRequested]
    );
    // The SYN goes up the ordinary path; nothing is answered or sent now.
    assert_eq!(sim.ordinary_frames(), vec![syn]);
    let late = chain_of(&[100], 4);
    send(&sim, &c, &late);
    sim.run_until_idle();
    assert_eq!(sent(&sim, &c), before);
    assert_eq!(
        completed(&sim),
        vec![(late.head() as usize, NDIS_STATUS_UPLOAD_IN_PROGRESS)]
    );
    // The upload reports CLOSED and hands back the unacknowledged send.
    let (term, d) = uploaded_state(&sim, &c);
    assert_eq!(d.State, TcpConnectionClosed);
    assert_eq!(term.chain(2), ch.head());
    finish(sim);
}

fn urgent_segment(c: &Conn, n: u8, seq: u32, ack: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(peer_mac(n), DEFAULT_MAC)
        .ipv4([10, 0, 1, n], [10, 0, 0, 1], 64)
        .tcp(c.key.peer_port, c.key.target_port, seq, 1000)
        .ack(ack)
        .urg(1)
        .write(&mut out, data)
        .expect("frame");
    out
}

#[test]
fn rule_092_urgent_data_requests_the_upload_stops_acks_and_goes_up_the_normal_path_after_it() {
    let sim = with_adapter();
    let c = offload_manual(&sim, |_| {});
    let d = offload(&sim, 2, 4001, MANUAL);
    // Something in flight, and in-order data the delayed ACK still owes.
    let ch = chain_of(&[1000], 1);
    send(&sim, &c, &ch);
    sim.peer_send(c.key, b"abc", false);
    sim.run_until_idle();
    let sent_before = sent(&sim, &c);
    // An URG segment in the window: upload requested, with the mandatory
    // reason; nothing more goes out, not even the owed ACK.
    let urg = urgent_segment(&c, 1, RCV_NXT + 3, SND_UNA, b"URGENT");
    sim.inject_frame(urg.clone());
    sim.run_until_idle();
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![ReceivedUrgentData]
    );
    // Later data, and an ACK for the send: held, not processed.
    sim.peer_send(c.key, b"later", true);
    sim.peer_ack(c.key, SND_UNA + 1000, c.spec.delegated.SndWnd);
    sim.run_until_idle();
    sim.advance_ms(2_000);
    let later = frames_from_peer(&sim);
    let held: Vec<Vec<u8>> = later[later.len() - 2..].to_vec();
    assert_eq!(sent(&sim, &c), sent_before, "no further ACKs");
    assert!(completed(&sim).is_empty(), "the ACK was not processed");
    assert!(sim.ordinary_frames().is_empty(), "held until the upload");
    // An URG segment outside the window is dropped; that connection goes on.
    sim.inject_frame(urgent_segment(&d, 2, RCV_NXT + 1_000_000, SND_UNA, b"no"));
    sim.peer_send(d.key, b"fine", true);
    sim.run_until_idle();
    sim.advance_ms(500);
    assert_eq!(
        event_infos(&sim, TcpIndicateRetrieve),
        vec![ReceivedUrgentData],
        "not for d"
    );
    assert_eq!(
        sim.peer_state(d.key).segments.last().map(|s| s.ack),
        Some(RCV_NXT + 4)
    );
    // The terminate completes; the urgent segment and everything after it
    // then go up the ordinary path, in order; the state stops before it.
    let (term, tcp) = terminate(&sim, &c);
    let st: TCP_OFFLOAD_STATE_DELEGATED = term.state(tcp, 0);
    assert_eq!(st.RcvNxt, RCV_NXT + 3);
    assert_eq!(
        term.chain(tcp),
        ch.head(),
        "the send goes back unacknowledged"
    );
    let mut want = vec![urg];
    want.extend(held);
    assert_eq!(sim.ordinary_frames(), want);
    terminate(&sim, &d);
    finish(sim);
}
