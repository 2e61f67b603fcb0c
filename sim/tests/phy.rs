//! The frame port, the wire and the scripted peer, driven through the exports
//! directly: a test registers its own handlers on a bare adapter handle (no
//! driver code involved), transmits frames it builds with etherparse, and
//! checks what the wire, the peer and the verifier make of them.

use chimney_miniport::ffi::*;
use etherparse::{
    EtherType, IpHeaders, IpNumber, Ipv4Header, Ipv6Header, LinkExtSlice, NetSlice, PacketBuilder,
    SingleVlanHeader, SlicedPacket, TcpHeader, TransportSlice, VlanHeader, VlanId, VlanPcp,
};
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::phy::{
    ChimneyPhyAttach, ChimneyPhyDetach, ChimneyPhyTransmit, MmMapLockedPagesSpecifyCache,
    NdisAdvanceNetBufferDataStart,
};
use ndis_sim::irql;
use ndis_sim::peer::flags;
use ndis_sim::{AckPolicy, Direction, PeerConn, Simulator, Violation};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

const PORT_MAC: [u8; 6] = crate::exports::phy::DEFAULT_MAC;
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];
const RCV: u32 = 5_000_001;
const SND: u32 = 1_000_001;

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the test's port handlers saw.
#[derive(Default)]
struct Recorder {
    /// (IRQL, frame) per ReceiveHandler call.
    rx: Mutex<Vec<(KIRQL, Vec<u8>)>>,
    /// IRQL of each TxReadyHandler call.
    tx_ready: Mutex<Vec<KIRQL>>,
    handle: AtomicUsize,
    /// Transmit one frame from inside the next TxReady call.
    transmit_in_tx_ready: AtomicBool,
    /// Statuses of transmits made from inside handlers.
    tx_in_handler: Mutex<Vec<NDIS_STATUS>>,
}

unsafe extern "system" fn on_receive(ctx: PVOID, frame: *const UCHAR, len: ULONG) {
    // SAFETY: ctx is the Recorder the test registered; the frame holds `len`
    // bytes for the duration of the call.
    let (r, bytes) = unsafe {
        (
            &*ctx.cast::<Recorder>(),
            std::slice::from_raw_parts(frame, len as usize).to_vec(),
        )
    };
    guard(&r.rx).push((irql::current(), bytes));
}

unsafe extern "system" fn on_tx_ready(ctx: PVOID) {
    // SAFETY: ctx is the Recorder the test registered.
    let r = unsafe { &*ctx.cast::<Recorder>() };
    guard(&r.tx_ready).push(irql::current());
    if r.transmit_in_tx_ready.swap(false, Ordering::SeqCst) {
        let h = r.handle.load(Ordering::SeqCst) as NDIS_HANDLE;
        guard(&r.tx_in_handler).push(transmit(h, &other_frame()));
    }
}

fn characteristics(rec: &Recorder) -> CHIMNEY_PHY_CHARACTERISTICS {
    CHIMNEY_PHY_CHARACTERISTICS {
        Header: NDIS_OBJECT_HEADER {
            Type: CHIMNEY_PHY_CHARACTERISTICS_TYPE,
            Revision: CHIMNEY_PHY_CHARACTERISTICS_REVISION_1,
            Size: NDIS_SIZEOF_CHIMNEY_PHY_CHARACTERISTICS_REVISION_1,
        },
        Context: (rec as *const Recorder).cast_mut().cast(),
        ReceiveHandler: Some(on_receive),
        TxReadyHandler: Some(on_tx_ready),
    }
}

fn attach_with(
    handle: NDIS_HANDLE,
    ch: &CHIMNEY_PHY_CHARACTERISTICS,
) -> (NDIS_STATUS, [u8; 6], u32) {
    let mut mac = [0u8; 6];
    let mut depth = 0u32;
    // SAFETY: live characteristics and out buffers.
    let st = unsafe { ChimneyPhyAttach(handle, ch, mac.as_mut_ptr(), &mut depth) };
    (st, mac, depth)
}

fn transmit(handle: NDIS_HANDLE, frame: &[u8]) -> NDIS_STATUS {
    // SAFETY: a live frame of `frame.len()` bytes.
    unsafe { ChimneyPhyTransmit(handle, frame.as_ptr(), frame.len() as ULONG) }
}

/// A simulator with a bare adapter whose port the test attached.
struct Rig {
    sim: Simulator,
    handle: NDIS_HANDLE,
    rec: Box<Recorder>,
}

fn rig_with(configure: impl FnOnce(&Simulator)) -> Rig {
    let mut sim = Simulator::new();
    configure(&sim);
    let handle = sim.bare_adapter();
    let rec = Box::new(Recorder::default());
    rec.handle.store(handle as usize, Ordering::SeqCst);
    let (st, _, _) = attach_with(handle, &characteristics(&rec));
    assert_eq!(st, NDIS_STATUS_SUCCESS);
    Rig { sim, handle, rec }
}

fn rig() -> Rig {
    rig_with(|_| {})
}

impl Rig {
    fn send(&self, frame: &[u8]) {
        assert_eq!(transmit(self.handle, frame), NDIS_STATUS_SUCCESS);
        self.sim.run_until_idle();
    }
    fn rx(&self) -> Vec<(KIRQL, Vec<u8>)> {
        guard(&self.rec.rx).clone()
    }
}

fn conn(policy: AckPolicy) -> PeerConn {
    PeerConn {
        target_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        target_port: 5000,
        peer_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        peer_port: 80,
        target_mac: PORT_MAC,
        peer_mac: PEER_MAC,
        vlan_tci: None,
        rcv_nxt: RCV,
        snd_nxt: SND,
        window: 200_000,
        window_shift: 2,
        mss: 1460,
        sack: false,
        policy,
    }
}

fn auto(delay_ms: u64, max_step: Option<u32>) -> PeerConn {
    conn(AckPolicy::Auto { delay_ms, max_step })
}

/// A frame as a correct driver would send it for `c`, after `tweak`.
fn frame_with(
    c: &PeerConn,
    seq: u32,
    fl: u8,
    payload: &[u8],
    tweak: impl FnOnce(&mut IpHeaders, &mut TcpHeader),
) -> Vec<u8> {
    let mut ip = match (c.target_ip, c.peer_ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = Ipv4Header::new(0, 128, IpNumber::TCP, s.octets(), d.octets()).unwrap();
            h.identification = 0x8001;
            IpHeaders::Ipv4(h, Default::default())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => IpHeaders::Ipv6(
            Ipv6Header {
                next_header: IpNumber::TCP,
                hop_limit: 128,
                source: s.octets(),
                destination: d.octets(),
                ..Default::default()
            },
            Default::default(),
        ),
        _ => unreachable!(),
    };
    let mut tcp = TcpHeader::new(c.target_port, c.peer_port, seq, 1000);
    tcp.ack = true;
    tcp.acknowledgment_number = c.snd_nxt;
    tcp.psh = fl & flags::PSH != 0;
    tcp.fin = fl & flags::FIN != 0;
    tcp.rst = fl & flags::RST != 0;
    tweak(&mut ip, &mut tcp);
    let eth = PacketBuilder::ethernet2(c.target_mac, c.peer_mac);
    let step = match c.vlan_tci {
        Some(tci) => eth
            .vlan(VlanHeader::Single(SingleVlanHeader {
                pcp: VlanPcp::try_new((tci >> 13) as u8).unwrap(),
                drop_eligible_indicator: false,
                vlan_id: VlanId::try_new(tci & 0xFFF).unwrap(),
                ether_type: EtherType(0),
            }))
            .ip(ip),
        None => eth.ip(ip),
    };
    let mut out = Vec::new();
    step.tcp_header(tcp).write(&mut out, payload).unwrap();
    out
}

fn frame(c: &PeerConn, seq: u32, fl: u8, payload: &[u8]) -> Vec<u8> {
    frame_with(c, seq, fl, payload, |_, _| {})
}

fn v4(ip: &mut IpHeaders) -> &mut Ipv4Header {
    match ip {
        IpHeaders::Ipv4(h, _) => h,
        IpHeaders::Ipv6(..) => unreachable!(),
    }
}

/// A well-formed TCP frame for no registered connection.
fn other_frame() -> Vec<u8> {
    let mut c = conn(AckPolicy::Manual);
    c.target_port = 9;
    frame(&c, 1, 0, b"x")
}

/// (seq, ack, flags, window field, vlan tci) of a peer frame.
fn tcp_of(f: &[u8]) -> (u32, u32, u8, u16, Option<u16>) {
    let p = SlicedPacket::from_ethernet(f).expect("peer frame parses");
    let vlan = p.link_exts.first().map(|e| match e {
        LinkExtSlice::Vlan(v) => {
            (u16::from(v.priority_code_point().value()) << 13) | v.vlan_identifier().value()
        }
        LinkExtSlice::Macsec(_) => panic!("macsec"),
    });
    let Some(TransportSlice::Tcp(t)) = p.transport else {
        panic!("not TCP")
    };
    // The flags byte of the header (offset 13), the bits a peer may send.
    let fl = t.header_slice()[13] & (flags::FIN | flags::RST | flags::PSH | flags::ACK);
    (
        t.sequence_number(),
        t.acknowledgment_number(),
        fl,
        t.window_size(),
        vlan,
    )
}

/// The only violation is a Wire violation whose detail has `needle`.
fn assert_one_wire(sim: &Simulator, needle: &str) {
    let v = sim.violations();
    let ok = matches!(&v[..], [Violation::Wire { detail }] if detail.contains(needle));
    assert!(ok, "expected one wire violation with {needle:?}: {v:#?}");
}

/// Exactly one violation: a BadArgument of `export` whose detail has `needle`.
fn one_bad_arg(v: &[Violation], export: &str, needle: &str) -> bool {
    matches!(v, [Violation::BadArgument { export: e, detail }] if *e == export && detail.contains(needle))
}

/// Exactly one violation: IrqlTooHigh in `export`.
fn one_irql(v: &[Violation], export: &str) -> bool {
    matches!(v, [Violation::IrqlTooHigh { export: e, .. }] if *e == export)
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

// ---- attach / detach -------------------------------------------------------

#[test]
fn attach_reports_the_configured_mac_and_ring_depth() {
    let mut sim = Simulator::new();
    let rec = Recorder::default();
    let h = sim.bare_adapter();
    assert_eq!(
        attach_with(h, &characteristics(&rec)),
        (NDIS_STATUS_SUCCESS, PORT_MAC, 256),
        "defaults"
    );
    sim.set_phy_mac([2, 0xAA, 0, 0, 0, 7]);
    sim.set_phy_ring_depth(8);
    let h2 = sim.bare_adapter();
    assert_eq!(
        attach_with(h2, &characteristics(&rec)),
        (NDIS_STATUS_SUCCESS, [2, 0xAA, 0, 0, 0, 7], 8)
    );
    sim.assert_clean();
}

#[test]
fn attach_validates_its_characteristics() {
    let mut sim = Simulator::new();
    let rec = Recorder::default();
    let good = characteristics(&rec);
    let breakers: [fn(&mut CHIMNEY_PHY_CHARACTERISTICS); 4] = [
        |c| c.Header.Type = 0x81,
        |c| c.Header.Revision = 2,
        |c| c.Header.Size -= 1,
        |c| c.ReceiveHandler = None,
    ];
    for breaker in breakers {
        let mut bad = good;
        breaker(&mut bad);
        let h = sim.bare_adapter();
        assert_eq!(attach_with(h, &bad).0, NDIS_STATUS_INVALID_PARAMETER);
        let v = sim.core.take_violations();
        assert!(one_bad_arg(&v, "ChimneyPhyAttach", ""), "{v:?}");
    }
    // No TxReadyHandler is allowed.
    let mut c = good;
    c.TxReadyHandler = None;
    assert_eq!(attach_with(sim.bare_adapter(), &c).0, NDIS_STATUS_SUCCESS);
    sim.assert_clean();
}

#[test]
fn attaching_twice_is_a_violation() {
    let r = rig();
    assert_eq!(r.sim.violations(), vec![]);
    let (st, ..) = attach_with(r.handle, &characteristics(&r.rec));
    assert_ne!(st, NDIS_STATUS_SUCCESS);
    let v = r.sim.violations();
    assert!(one_bad_arg(&v, "ChimneyPhyAttach", "already"), "{v:?}");
}

#[test]
fn attach_above_passive_is_a_violation() {
    let mut sim = Simulator::new();
    let rec = Recorder::default();
    let h = sim.bare_adapter();
    irql::at_dispatch(|| attach_with(h, &characteristics(&rec)));
    assert!(one_irql(&sim.violations(), "ChimneyPhyAttach"));
}

#[test]
fn an_adapter_removed_while_attached_leaks_the_attachment() {
    // Detached first: clean.
    {
        let mut r = rig();
        ChimneyPhyDetach(r.handle);
        r.sim.remove_bare_adapter(r.handle);
        r.sim.assert_clean();
    }
    // Still attached: a leak.
    let mut r = rig();
    r.sim.remove_bare_adapter(r.handle);
    let v = r.sim.violations();
    assert!(
        matches!(&v[..], [Violation::Leak { what }] if what.contains("PhyAttachment")),
        "{v:?}"
    );
}

#[test]
fn no_handler_runs_after_detach() {
    let r = rig();
    let key = r.sim.peer_connect(conn(AckPolicy::Manual));
    r.sim.peer_ack(key, RCV, 1000);
    ChimneyPhyDetach(r.handle);
    r.sim.run_until_idle();
    assert!(r.rx().is_empty(), "receive handler called after detach");
    assert_eq!(
        r.sim.captured_frames().len(),
        1,
        "the frame was on the wire"
    );
    r.sim.assert_clean();
    // Transmitting or detaching again is misuse.
    assert_ne!(transmit(r.handle, &other_frame()), NDIS_STATUS_SUCCESS);
    ChimneyPhyDetach(r.handle);
    let v = r.sim.violations();
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|v| matches!(v, Violation::BadArgument { .. })));
}

// ---- transmit, ring, TxReady ----------------------------------------------

#[test]
fn transmit_checks_the_frame_length() {
    let r = rig();
    for (len, ok) in [(13usize, false), (14, true), (1518, true), (1519, false)] {
        let st = transmit(r.handle, &vec![0u8; len]);
        let v = r.sim.core.take_violations();
        if ok {
            assert_eq!(st, NDIS_STATUS_SUCCESS, "{len}");
            assert!(v.is_empty(), "{len}: {v:?}");
        } else {
            assert_eq!(st, NDIS_STATUS_INVALID_LENGTH, "{len}");
            assert!(one_bad_arg(&v, "ChimneyPhyTransmit", "length"), "{v:?}");
        }
    }
    assert_eq!(r.sim.frames_sent(), 2);
}

#[test]
fn transmit_above_dispatch_is_a_violation() {
    let r = rig();
    irql::at_dispatch(|| transmit(r.handle, &other_frame()));
    r.sim.assert_clean();
    irql::at(DISPATCH_LEVEL + 1, || transmit(r.handle, &other_frame()));
    assert!(one_irql(&r.sim.violations(), "ChimneyPhyTransmit"));
}

#[test]
fn hold_wire_keeps_frames_in_the_ring() {
    let r = rig();
    r.sim.hold_wire(true);
    for _ in 0..3 {
        assert_eq!(transmit(r.handle, &other_frame()), NDIS_STATUS_SUCCESS);
    }
    r.sim.advance_ms(100);
    assert_eq!(r.sim.ring_len(), 3);
    assert_eq!(r.sim.unknown_frames(), 0, "nothing reached the peer");
    r.sim.hold_wire(false);
    r.sim.run_until_idle();
    assert_eq!(r.sim.ring_len(), 0);
    assert_eq!(r.sim.unknown_frames(), 3);
    r.sim.assert_clean();
}

#[test]
fn a_full_ring_refuses_and_tx_ready_follows_the_drain() {
    let r = rig_with(|s| s.set_phy_ring_depth(4));
    r.sim.hold_wire(true);
    for _ in 0..4 {
        assert_eq!(transmit(r.handle, &other_frame()), NDIS_STATUS_SUCCESS);
    }
    assert_eq!(transmit(r.handle, &other_frame()), NDIS_STATUS_RESOURCES);
    assert_eq!(transmit(r.handle, &other_frame()), NDIS_STATUS_RESOURCES);
    assert_eq!((r.sim.frames_sent(), r.sim.frames_refused()), (4, 2));
    r.sim.run_until_idle();
    assert!(guard(&r.rec.tx_ready).is_empty(), "no space freed yet");
    // The handler may transmit: the port holds no lock while calling it.
    r.rec.transmit_in_tx_ready.store(true, Ordering::SeqCst);
    r.sim.hold_wire(false);
    r.sim.run_until_idle();
    assert_eq!(
        *guard(&r.rec.tx_ready),
        vec![DISPATCH_LEVEL],
        "exactly once"
    );
    assert_eq!(*guard(&r.rec.tx_in_handler), vec![NDIS_STATUS_SUCCESS]);
    assert_eq!(r.sim.unknown_frames(), 5);
    // No refusal, no TxReady.
    r.sim.hold_wire(true);
    transmit(r.handle, &other_frame());
    r.sim.hold_wire(false);
    r.sim.run_until_idle();
    assert_eq!(guard(&r.rec.tx_ready).len(), 1);
    r.sim.assert_clean();
}

#[test]
fn two_threads_transmit_while_the_wire_drains() {
    let r = rig_with(|s| s.set_phy_ring_depth(16));
    let handle = r.handle as usize;
    let done = AtomicUsize::new(0);
    const PER_THREAD: usize = 1000;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let f = other_frame();
                for _ in 0..PER_THREAD {
                    while transmit(handle as NDIS_HANDLE, &f) == NDIS_STATUS_RESOURCES {
                        std::thread::yield_now();
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        while done.load(Ordering::SeqCst) < 2 {
            r.sim.run_until_idle();
            std::thread::yield_now();
        }
    });
    r.sim.run_until_idle();
    assert_eq!(r.sim.frames_sent(), 2 * PER_THREAD as u64);
    assert_eq!(r.sim.unknown_frames(), 2 * PER_THREAD as u64);
    assert_eq!(r.sim.captured_frames().len(), 2 * PER_THREAD);
    assert_eq!(r.sim.ring_len(), 0);
    assert!(guard(&r.rec.tx_ready).iter().all(|&l| l == DISPATCH_LEVEL));
    r.sim.assert_clean();
}

// ---- the peer --------------------------------------------------------------

#[test]
fn auto_ack_arrives_after_its_delay() {
    let r = rig();
    let key = r.sim.peer_connect(auto(5, None));
    let c = conn(AckPolicy::Manual);
    let d = data(1000, 1);
    r.send(&frame(&c, RCV, flags::PSH, &d));
    assert!(r.rx().is_empty());
    r.sim.advance_ms(4);
    assert!(r.rx().is_empty(), "not before 5 ms");
    r.sim.advance_ms(1);
    let rx = r.rx();
    assert_eq!(rx.len(), 1);
    assert_eq!(rx[0].0, DISPATCH_LEVEL);
    assert_eq!(
        tcp_of(&rx[0].1),
        (SND, RCV + 1000, flags::ACK, (200_000 >> 2) as u16, None)
    );
    let st = r.sim.peer_state(key);
    assert_eq!(st.stream, d);
    assert_eq!(st.psh_ends, vec![1000]);
    assert_eq!(st.last_ack_sent, RCV + 1000);
    assert_eq!(st.acks_sent, vec![(50_000, RCV + 1000, 50_000)]);
    assert_eq!(st.segments.len(), 1);
    assert_eq!(st.segments[0].ip_id, Some(0x8001));
    let cap = r.sim.captured_frames();
    assert_eq!(
        cap.iter().map(|(t, d, _)| (*t, *d)).collect::<Vec<_>>(),
        vec![(0, Direction::FromTarget), (50_000, Direction::FromPeer)]
    );
    r.sim.assert_clean();
}

#[test]
fn auto_ack_with_zero_delay_comes_in_the_same_run() {
    let r = rig();
    r.sim.peer_connect(auto(0, None));
    let c = conn(AckPolicy::Manual);
    r.send(&frame(&c, RCV, 0, &data(100, 0)));
    r.send(&frame(&c, RCV + 100, 0, &data(100, 1)));
    let acks: Vec<u32> = r.rx().iter().map(|(_, f)| tcp_of(f).1).collect();
    assert_eq!(acks, vec![RCV + 100, RCV + 200]);
    r.sim.assert_clean();
}

#[test]
fn auto_ack_with_max_step_acks_partially() {
    let r = rig();
    let key = r.sim.peer_connect(auto(10, Some(1000)));
    let c = conn(AckPolicy::Manual);
    r.sim.hold_wire(true);
    transmit(r.handle, &frame(&c, RCV, 0, &data(1460, 0)));
    transmit(r.handle, &frame(&c, RCV + 1460, 0, &data(1460, 1)));
    r.sim.hold_wire(false);
    r.sim.advance_ms(100);
    let st = r.sim.peer_state(key);
    let sent: Vec<(u64, u32)> = st.acks_sent.iter().map(|a| (a.0, a.1)).collect();
    let want = [
        (100_000, RCV + 1000),
        (200_000, RCV + 2000),
        (300_000, RCV + 2920),
    ];
    assert_eq!(sent, want);
    let acks: Vec<u32> = r.rx().iter().map(|(_, f)| tcp_of(f).1).collect();
    assert_eq!(acks, vec![RCV + 1000, RCV + 2000, RCV + 2920]);
    r.sim.assert_clean();
}

#[test]
fn manual_ack_window_update_and_rst_reach_the_driver_in_order() {
    let r = rig();
    let key = r.sim.peer_connect(conn(AckPolicy::Manual));
    let c = conn(AckPolicy::Manual);
    r.send(&frame(&c, RCV, 0, &data(1000, 0)));
    r.sim.advance_ms(1000);
    assert!(r.rx().is_empty(), "manual: no ACK by itself");
    r.sim.peer_ack(key, RCV + 500, 10_000);
    r.sim.peer_set_window(key, 20_000);
    r.sim.peer_rst(key);
    assert!(r.rx().is_empty(), "delivered by run_until_idle only");
    r.sim.run_until_idle();
    let rx = r.rx();
    assert!(rx.iter().all(|(l, _)| *l == DISPATCH_LEVEL));
    let segs: Vec<_> = rx.iter().map(|(_, f)| tcp_of(f)).collect();
    assert_eq!(
        segs,
        vec![
            (SND, RCV + 500, flags::ACK, 2500, None),
            (SND, RCV + 500, flags::ACK, 5000, None),
            (SND, RCV + 500, flags::RST | flags::ACK, 5000, None),
        ]
    );
    assert!(rx.iter().all(|(_, f)| f.len() >= 60), "padded to 60 bytes");
    r.sim.assert_clean();
}

#[test]
fn peer_records_retransmissions_out_of_order_psh_and_fin() {
    let r = rig();
    let key = r.sim.peer_connect(conn(AckPolicy::Manual));
    let c = conn(AckPolicy::Manual);
    let d = data(400, 7);
    r.send(&frame(&c, RCV, flags::PSH, &d[..100]));
    r.send(&frame(&c, RCV + 100, 0, &d[100..200]));
    r.send(&frame(&c, RCV + 150, flags::PSH, &d[150..250]));
    r.send(&frame(&c, RCV + 300, 0, &d[300..400]));
    r.send(&frame(&c, RCV + 250, flags::FIN, &d[250..300]));
    let st = r.sim.peer_state(key);
    assert_eq!(st.stream, d[..300].to_vec());
    assert_eq!(st.retransmitted_bytes, 50);
    assert_eq!(st.out_of_order, 1);
    assert_eq!(st.psh_ends, vec![100, 250]);
    assert!(st.fin_received && !st.rst_received);
    assert_eq!(st.rcv_nxt, RCV + 301);
    assert_eq!(st.segments.len(), 5);
    r.sim.assert_clean();
    // A retransmission whose bytes differ from the original is a violation.
    r.send(&frame(&c, RCV + 10, 0, &[0xFF; 5]));
    assert_one_wire(&r.sim, "retransmitted byte");
}

#[test]
fn rst_from_the_driver_is_recorded() {
    let r = rig();
    let key = r.sim.peer_connect(conn(AckPolicy::Manual));
    r.send(&frame(&conn(AckPolicy::Manual), RCV, flags::RST, &[]));
    assert!(r.sim.peer_state(key).rst_received);
    r.sim.assert_clean();
}

#[test]
fn frames_for_no_connection_are_counted_not_violations() {
    let r = rig();
    r.sim.peer_connect(conn(AckPolicy::Manual));
    r.send(&other_frame());
    // Not IP at all (the local experimental ethertype).
    let mut f = other_frame();
    f[12..14].copy_from_slice(&0x88B5u16.to_be_bytes());
    f.truncate(42);
    r.send(&f);
    assert_eq!(r.sim.unknown_frames(), 2);
    r.sim.assert_clean();
}

#[test]
fn ipv6_and_vlan_frames_both_ways() {
    let r = rig();
    let mut c = conn(AckPolicy::Manual);
    c.target_ip = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
    c.peer_ip = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
    c.vlan_tci = Some((3 << 13) | 5);
    let key = r.sim.peer_connect(c.clone());
    r.send(&frame(&c, RCV, 0, &data(200, 3)));
    r.sim.assert_clean();
    assert_eq!(r.sim.peer_state(key).stream.len(), 200);
    r.sim.peer_ack(key, RCV + 200, 4000);
    r.sim.run_until_idle();
    let rx = r.rx();
    let p = SlicedPacket::from_ethernet(&rx[0].1).unwrap();
    assert!(matches!(p.net, Some(NetSlice::Ipv6(_))));
    assert_eq!(
        tcp_of(&rx[0].1),
        (SND, RCV + 200, flags::ACK, 1000, Some((3 << 13) | 5))
    );
    // A frame on another VLAN is a violation.
    let mut other = c.clone();
    other.vlan_tci = Some(6);
    r.send(&frame(&other, RCV + 200, 0, &data(10, 0)));
    assert_one_wire(&r.sim, "VLAN");
}

// ---- wire checks: each fires for the bad frame, not for the good one -------

/// Send a good frame, then `bad`'s frame; exactly one wire violation
/// containing `expect` must follow the bad one only.
fn check_fires(bad: impl FnOnce(&PeerConn) -> Vec<u8>, expect: &str) {
    let r = rig();
    let c = conn(AckPolicy::Manual);
    r.sim.peer_connect(c.clone());
    r.send(&frame(&c, RCV, 0, &data(100, 0)));
    assert_eq!(r.sim.violations(), vec![], "good frame");
    r.send(&bad(&c));
    assert_one_wire(&r.sim, expect);
}

#[test]
fn wire_check_ipv4_without_df() {
    check_fires(
        |c| {
            frame_with(c, RCV + 100, 0, &data(10, 0), |ip, _| {
                v4(ip).dont_fragment = false
            })
        },
        "without DF",
    );
}

#[test]
fn wire_check_ip_id_in_the_lower_half() {
    check_fires(
        |c| {
            frame_with(c, RCV + 100, 0, &data(10, 0), |ip, _| {
                v4(ip).identification = 0x1234
            })
        },
        "Identification 0x1234",
    );
}

#[test]
fn wire_check_urgent_data() {
    check_fires(
        |c| {
            frame_with(c, RCV + 100, 0, &data(10, 0), |_, t| {
                t.urg = true;
                t.urgent_pointer = 1;
            })
        },
        "URG",
    );
    check_fires(
        |c| frame_with(c, RCV + 100, 0, &data(10, 0), |_, t| t.urgent_pointer = 3),
        "urgent pointer 3",
    );
}

#[test]
fn wire_check_bad_ipv4_header_checksum() {
    check_fires(
        |c| {
            let mut f = frame(c, RCV + 100, 0, &data(10, 0));
            f[14 + 10] ^= 0x5A;
            f
        },
        "IPv4 header checksum",
    );
}

#[test]
fn wire_check_bad_tcp_checksum() {
    check_fires(
        |c| {
            let mut f = frame(c, RCV + 100, 0, &data(10, 0));
            f[14 + 20 + 16] ^= 0x01;
            f
        },
        "TCP checksum",
    );
}

#[test]
fn wire_check_payload_over_mss() {
    check_fires(|c| frame(c, RCV + 100, 0, &data(1461, 0)), "MSS 1460");
    // Exactly the MSS is fine.
    let r = rig();
    let c = conn(AckPolicy::Manual);
    r.sim.peer_connect(c.clone());
    r.send(&frame(&c, RCV, 0, &data(1460, 0)));
    r.sim.assert_clean();
}

#[test]
fn wire_check_ethernet_source_is_the_port_mac() {
    check_fires(
        |c| {
            let mut f = frame(c, RCV + 100, 0, &data(10, 0));
            f[6] ^= 0x80;
            f
        },
        "not the port MAC",
    );
}

#[test]
fn wire_check_unparseable_frame() {
    check_fires(
        |c| {
            let mut f = frame(c, RCV + 100, 0, &data(10, 0));
            f.truncate(14 + 10);
            f
        },
        "unparseable",
    );
}

#[test]
fn wire_check_data_beyond_the_window() {
    let r = rig();
    let mut c = conn(AckPolicy::Manual);
    c.window = 3000;
    c.window_shift = 0;
    let key = r.sim.peer_connect(c.clone());
    r.send(&frame(&c, RCV, 0, &data(1460, 0)));
    r.send(&frame(&c, RCV + 1460, 0, &data(1460, 1)));
    r.send(&frame(&c, RCV + 2920, 0, &data(80, 2)));
    // A one-byte zero-window probe at the edge is allowed.
    r.send(&frame(&c, RCV + 3000, 0, &[9]));
    r.sim.assert_clean();
    r.send(&frame(&c, RCV + 3001, 0, &[1, 2]));
    assert_one_wire(&r.sim, "beyond the peer's window");
    // An ACK moves the edge: the same data is fine now.
    r.sim.core.take_violations();
    r.sim.peer_ack(key, RCV + 3001, 5000);
    r.sim.run_until_idle();
    r.send(&frame(&c, RCV + 3001, 0, &[1, 2]));
    r.sim.assert_clean();
}

// ---- capture ---------------------------------------------------------------

#[test]
fn pcap_holds_every_captured_frame() {
    let r = rig();
    let key = r.sim.peer_connect(auto(3, None));
    let c = conn(AckPolicy::Manual);
    r.send(&frame(&c, RCV, 0, &data(500, 0)));
    r.sim.advance_ms(10);
    r.sim.peer_rst(key);
    r.sim.run_until_idle();
    let cap = r.sim.captured_frames();
    assert_eq!(cap.len(), 3);
    let p = r.sim.pcap();
    assert_eq!(
        &p[..4],
        &[0xD4, 0xC3, 0xB2, 0xA1],
        "little-endian microsecond magic"
    );
    assert_eq!(u16::from_le_bytes([p[4], p[5]]), 2);
    assert_eq!(u16::from_le_bytes([p[6], p[7]]), 4);
    assert_eq!(
        u32::from_le_bytes(p[20..24].try_into().unwrap()),
        1,
        "LINKTYPE_ETHERNET"
    );
    let mut at = 24;
    let mut records = Vec::new();
    while at < p.len() {
        let word = |o: usize| u32::from_le_bytes(p[at + o..at + o + 4].try_into().unwrap());
        let (sec, usec, incl, orig) = (word(0), word(4), word(8) as usize, word(12));
        assert_eq!(incl as u32, orig);
        records.push((
            u64::from(sec) * 1_000_000 + u64::from(usec),
            p[at + 16..at + 16 + incl].to_vec(),
        ));
        at += 16 + incl;
    }
    assert_eq!(at, p.len());
    assert_eq!(records.len(), cap.len());
    for ((us, bytes), (t, _, f)) in records.iter().zip(&cap) {
        assert_eq!((*us, bytes), (t / 10, f));
    }
    assert_eq!(records[1].0, 3000, "the ACK left 3 ms later");
}

// ---- NdisAdvanceNetBufferDataStart -----------------------------------------

fn first_nb(chain: &NblChain) -> PNET_BUFFER {
    // SAFETY: the chain's first NBL, built by the builder.
    unsafe {
        (*chain.head())
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer
    }
}

fn nb_data(nb: PNET_BUFFER) -> NET_BUFFER_DATA {
    // SAFETY: a NET_BUFFER of a live chain.
    unsafe { (*nb).NetBufferHeader.NetBufferData }
}

/// 60 bytes in MDLs of 14 (4 unused + 10), 20 and 30 bytes.
fn three_mdls(d: &[u8]) -> NblChain {
    let d = d.to_vec();
    let spec = NbSpec {
        mdl_sizes: vec![10, 20, 30],
        offset: 4,
    };
    NblChain::build(&[vec![spec]], move |_, _| d.clone())
}

fn advance(nb: PNET_BUFFER, delta: u32, free_mdl: BOOLEAN) {
    NdisAdvanceNetBufferDataStart(nb, delta, free_mdl, std::ptr::null_mut());
}

#[test]
fn advance_data_start_walks_the_mdl_chain() {
    let sim = Simulator::new();
    let d = data(60, 5);
    let chain = three_mdls(&d);
    let nb = first_nb(&chain);
    let first = nb_data(nb).MdlChain;
    // SAFETY: the builder's MDL chain of three.
    let mdls = unsafe { [first, (*first).Next, (*(*first).Next).Next] };
    let state = || {
        let x = nb_data(nb);
        // SAFETY: reading the union member the builder and the export write.
        let len = unsafe { x.NbDataLength.DataLength };
        (x.CurrentMdl, x.CurrentMdlOffset, x.DataOffset, len)
    };
    assert_eq!(state(), (mdls[0], 4, 4, 60));
    let mut at = 0;
    for (delta, mdl, off) in [
        (6, 0, 10),  // inside the first MDL
        (4, 1, 0),   // exactly its end: on to the next MDL
        (25, 2, 5),  // across the second MDL
        (25, 2, 30), // to the very end: the last MDL stays current
    ] {
        advance(nb, delta, FALSE);
        at += delta;
        assert_eq!(state(), (mdls[mdl], off, 4 + at, 60 - at), "delta {delta}");
        assert_eq!(chain.payload(0, 0), d[at as usize..].to_vec());
    }
    sim.assert_clean();
}

#[test]
fn advance_data_start_beyond_the_data_or_freeing_mdls_is_a_violation() {
    let sim = Simulator::new();
    let chain = NblChain::single(&data(50, 0));
    let nb = first_nb(&chain);
    advance(nb, 50, FALSE);
    sim.assert_clean();
    let before = nb_data(nb);
    advance(nb, 1, FALSE);
    let after = nb_data(nb);
    assert_eq!(
        (after.CurrentMdlOffset, after.DataOffset),
        (before.CurrentMdlOffset, before.DataOffset),
        "nothing changed"
    );
    let v = sim.core.take_violations();
    assert!(
        one_bad_arg(&v, "NdisAdvanceNetBufferDataStart", "DataLength"),
        "{v:?}"
    );
    advance(first_nb(&NblChain::single(&data(50, 0))), 10, TRUE);
    let v = sim.violations();
    assert!(
        one_bad_arg(&v, "NdisAdvanceNetBufferDataStart", "FreeMdl"),
        "{v:?}"
    );
}

// ---- MmMapLockedPagesSpecifyCache ------------------------------------------

fn map(mdl: PMDL, bugcheck: ULONG) -> *mut u8 {
    let prio = NormalPagePriority | MdlMappingNoExecute;
    let null = std::ptr::null_mut();
    MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, null, bugcheck, prio).cast()
}

#[test]
fn unmapped_mdls_are_mapped_on_request() {
    let sim = Simulator::new();
    let d = data(300, 9);
    let chain = NblChain::single_with(&d, false);
    let mdl = nb_data(first_nb(&chain)).MdlChain;
    // SAFETY: the builder's MDL, read while nothing writes it.
    let view = || unsafe { ((*mdl).MdlFlags, (*mdl).MappedSystemVa, (*mdl).StartVa) };
    let (fl, va, start) = view();
    assert!(va.is_null());
    assert_eq!(
        fl & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL),
        0
    );
    assert_eq!(start as usize % ndis_sim::builders::PAGE_SIZE, 0);
    assert_eq!(chain.payload(0, 0), d, "the builder reads unmapped MDLs");

    sim.fail_mdl_mapping(true);
    assert!(
        irql::at_dispatch(|| map(mdl, 0)).is_null(),
        "failure switch"
    );
    assert_eq!(view().0 & MDL_MAPPED_TO_SYSTEM_VA, 0);

    sim.fail_mdl_mapping(false);
    let p = irql::at_dispatch(|| map(mdl, 0));
    assert!(!p.is_null());
    // SAFETY: the mapping covers the MDL's bytes, the builder's buffer.
    let bytes = unsafe { std::slice::from_raw_parts(p, d.len()) };
    assert_eq!(bytes, &d[..]);
    let (fl, va, _) = view();
    assert_eq!(va, p.cast());
    assert_ne!(fl & MDL_MAPPED_TO_SYSTEM_VA, 0);
    sim.assert_clean();

    map(mdl, 1);
    let v = sim.violations();
    assert!(
        one_bad_arg(&v, "MmMapLockedPagesSpecifyCache", "BugCheck"),
        "{v:?}"
    );
}

#[test]
fn every_new_export_is_listed() {
    let names: Vec<_> = ndis_sim::exports::exports()
        .into_iter()
        .map(|(n, img, _)| (n, img))
        .collect();
    use ndis_sim::exports::Image;
    for (n, img) in [
        ("ChimneyPhyAttach", Image::Phy),
        ("ChimneyPhyDetach", Image::Phy),
        ("ChimneyPhyTransmit", Image::Phy),
        ("NdisAdvanceNetBufferDataStart", Image::Ndis),
        ("MmMapLockedPagesSpecifyCache", Image::Ntoskrnl),
    ] {
        assert!(names.contains(&(n, img)), "{n}");
    }
}
