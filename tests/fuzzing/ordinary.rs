//! The ordinary path (the host's own frames and everything no offloaded
//! connection takes) under any sequence of sends of any NBL / NET_BUFFER /
//! MDL shape (malformed, oversized, short, 802.1Q-tagged, with cancel
//! IDs), a transmit ring of any depth that the wire drains or holds,
//! cancels, pause and restart, received frames of any bytes, and receive
//! NBLs the host holds or returns.
//!
//! Whatever happens: every NBL completes exactly once, with a status of the
//! NDIS set; the wire carries NET_BUFFERs of the NBLs in submission order
//! (each one frame: padded to the Ethernet minimum, tagged when asked), and
//! every frame of every NBL that completed SUCCESS; the verifier stays clean
//! and nothing leaks.

use crate::common::*;
use arbitrary::{Arbitrary, Unstructured};
use chimney_miniport::ffi::*;
use ndis_sim::Direction;
use ndis_sim::builders::{NbSpec, NblChain};
use ndis_sim::exports::phy::DEFAULT_MAC;

#[derive(Arbitrary, Debug)]
struct Nbl {
    /// NET_BUFFERs: MDL sizes and the unused bytes before the data.
    nbs: Vec<(Vec<u16>, u8)>,
    /// 0–5: well-formed; 6: no NET_BUFFER; 7: DataLength past the MDLs;
    /// 8: a NULL MDL.
    defect: u8,
    cancel_id: u8,
    /// UserPriority and VlanId (`Ieee8021QNetBufferListInfo`).
    tag: Option<(u8, u16)>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Send(Vec<Nbl>),
    /// The wire stops taking frames (the ring fills), or resumes.
    Hold(bool),
    Cancel(u8),
    Pause,
    Restart,
    /// A frame arrives (any bytes).
    Receive(Vec<u8>),
    /// The host keeps the receive NBLs it is given, or not.
    HoldLent(bool),
    ReturnLent,
    Advance(u8),
}

const MAX_OPS: usize = 48;

/// Statuses an ordinary send NBL may complete with.
const ALLOWED: &[NDIS_STATUS] = &[
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_PAUSED,
    NDIS_STATUS_REQUEST_ABORTED,
    NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_INVALID_LENGTH,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_RESOURCES,
];

/// The fuzz entry: ring depth, then the operations.
pub fn fuzz(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(depth) = u8::arbitrary(&mut u) else {
        return;
    };
    if let Some(ops) = super::script::<Op>(u, MAX_OPS) {
        run(1 + u32::from(depth % 8), &ops);
    }
}

/// One NBL as submitted: its address and the frame each NET_BUFFER should
/// put on the wire (as built, before any defect).
struct Sent {
    nbl: usize,
    frames: Vec<Vec<u8>>,
}

fn build(nbls: &[Nbl], serial: usize, sent: &mut Vec<Sent>) -> Option<NblChain> {
    let nbls = &nbls[..nbls.len().min(6)];
    if nbls.is_empty() {
        return None;
    }
    let shape: Vec<Vec<NbSpec>> = nbls
        .iter()
        .map(|n| super::nb_shape(&n.nbs, 1600, 32, 60))
        .collect();
    // Each NET_BUFFER is a frame from the port: broadcast destination, the
    // port's MAC, a local experimental EtherType, a numbered body.
    let chain = NblChain::build(&shape, |k, j| {
        let n: usize = shape[k][j].mdl_sizes.iter().sum();
        let mut f = vec![0xFF; 6];
        f.extend_from_slice(&DEFAULT_MAC);
        f.extend_from_slice(&[0x88, 0xB5]);
        f.extend(
            (0..)
                .map(|i: usize| (serial * 97 + k * 13 + j * 7 + i) as u8)
                .take(n.saturating_sub(14)),
        );
        f.truncate(n);
        f
    });
    for (k, (n, p)) in nbls.iter().zip(chain.nbls()).enumerate() {
        let frames: Vec<Vec<u8>> = (0..shape[k].len()).map(|j| chain.payload(k, j)).collect();
        let defect = match n.defect % 9 {
            6 => Some(super::Defect::NoNetBuffer),
            7 => Some(super::Defect::LengthPastMdls),
            8 => Some(super::Defect::NullMdl),
            _ => None,
        };
        if let Some(d) = defect {
            // SAFETY: our NBL (built with a NET_BUFFER), before the driver owns it.
            unsafe { super::malform(p, d) };
        }
        // SAFETY: our NBL, before the driver owns it.
        unsafe {
            (*p).NetBufferListInfo[NetBufferListCancelId as usize] =
                usize::from(n.cancel_id % 4) as PVOID;
            if let Some((prio, vlan)) = n.tag {
                let info = usize::from(prio % 8) | (usize::from(vlan % 4096) << 4);
                (*p).NetBufferListInfo[Ieee8021QNetBufferListInfo as usize] = info as PVOID;
            }
        }
        sent.push(Sent {
            nbl: p as usize,
            frames,
        });
    }
    Some(chain)
}

/// A wire frame with any 802.1Q tag taken out and the Ethernet padding
/// (zeros up to 60 bytes) allowed: does it carry `want`?
fn carries(wire: &[u8], want: &[u8]) -> bool {
    let untagged: Vec<u8> = if wire.len() >= 18
        && wire[12..14] == [0x81, 0x00]
        && want.get(12..14) != Some(&[0x81, 0x00])
    {
        let mut f = wire[..12].to_vec();
        f.extend_from_slice(&wire[16..]);
        f
    } else {
        wire.to_vec()
    };
    untagged.len() >= want.len()
        && untagged[..want.len()] == *want
        && untagged[want.len()..].iter().all(|&b| b == 0)
}

fn run(depth: u32, ops: &[Op]) {
    let mut sim = loaded();
    sim.set_phy_ring_depth(depth);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
    let mut keep: Vec<NblChain> = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    let mut paused = false;
    for op in ops {
        match op {
            Op::Send(nbls) => {
                if let Some(chain) = build(nbls, keep.len(), &mut sent) {
                    sim.send_net_buffer_lists(chain.head());
                    keep.push(chain);
                }
            }
            Op::Hold(h) => sim.hold_wire(*h),
            Op::Cancel(id) => sim.cancel_send(usize::from(id % 4)),
            Op::Pause if !paused => {
                assert_eq!(sim.pause(), NDIS_STATUS_SUCCESS, "MiniportPause");
                paused = true;
            }
            Op::Restart if paused => {
                assert_eq!(sim.restart(), NDIS_STATUS_SUCCESS, "MiniportRestart");
                paused = false;
            }
            Op::Pause | Op::Restart => {}
            Op::Receive(bytes) => sim.inject_frame(bytes.clone()),
            Op::HoldLent(h) => sim.hold_lent(*h),
            Op::ReturnLent => {
                sim.return_lent();
            }
            Op::Advance(units) => sim.advance_ms(4 * u64::from(*units)),
        }
        sim.run_until_idle();
        sim.assert_clean();
    }
    sim.hold_wire(false);
    sim.hold_lent(false);
    sim.return_lent();
    sim.run_until_idle();
    let done = sim.send_completions();
    for s in &sent {
        let mine: Vec<NDIS_STATUS> = done.iter().filter(|x| x.0 == s.nbl).map(|x| x.1).collect();
        assert_eq!(
            mine.len(),
            1,
            "NBL {:#x} completed {} times",
            s.nbl,
            mine.len()
        );
        assert!(ALLOWED.contains(&mine[0]), "status {:#x}", mine[0]);
    }
    // The wire: NET_BUFFERs in submission order, every one of each
    // successful NBL among them.
    let wire: Vec<Vec<u8>> = sim
        .captured_frames()
        .into_iter()
        .filter(|(_, d, _)| *d == Direction::FromTarget)
        .map(|(_, _, f)| f)
        .collect();
    let mut w = wire.iter().peekable();
    for s in &sent {
        let ok = done
            .iter()
            .any(|x| x.0 == s.nbl && x.1 == NDIS_STATUS_SUCCESS);
        for f in &s.frames {
            if w.peek().is_some_and(|x| carries(x, f)) {
                w.next();
            } else {
                assert!(
                    !ok,
                    "a frame of a successful NBL is missing or out of order"
                );
            }
        }
    }
    assert!(
        w.next().is_none(),
        "a frame on the wire that no NBL asked for"
    );
    if paused {
        assert_eq!(sim.restart(), NDIS_STATUS_SUCCESS);
    }
    drop(keep);
    finish(sim);
}
