#![allow(dead_code)]
//! Helpers for state-tree tests: run an operation to completion, count
//! offloaded objects, build the spec's example trees.

use chimney_miniport::ffi::*;
use ndis_sim::builders::{BlockId, TcpSpec, Tree};
use ndis_sim::{Simulator, StateOpKind};

/// Hand `root` to the driver's handler and run the completion timer.
pub fn run(sim: &Simulator, op: StateOpKind, tree: &Tree, root: BlockId) {
    sim.call_state_op(op, tree.ptr(root));
    sim.run_until_idle();
}

/// Live objects in the driver's table: (neighbors, paths, connections).
pub fn live(sim: &Simulator) -> (u32, u32, u32) {
    // SAFETY: the adapter context the driver registered, live until halt.
    let a = unsafe { chimney_miniport::miniport::Adapter::from_context(sim.context()) }
        .expect("adapter");
    let t = a.offload.as_ref().expect("chimney table").lock();
    (t.neighbors.live(), t.paths.live(), t.tcps.live())
}

/// The generation encoded in a context value (offload order).
pub fn generation(context: usize) -> u32 {
    (context as u64 >> 32) as u32
}

pub fn tcp(tree: &mut Tree, port: u16) -> BlockId {
    tree.new_tcp(&TcpSpec::established(port, 443))
}

pub fn neighbor(tree: &mut Tree, n: u8) -> BlockId {
    tree.new_neighbor([0; 6], 0, [0x00, 0x11, 0x22, 0x33, 0x44, n])
}

pub fn path(tree: &mut Tree, n: u8) -> BlockId {
    tree.new_path4([10, 0, 0, 1], [10, 0, 1, n], 1500)
}

/// Terminate-tree blocks: a reference followed by the delegated structure to fill.
pub fn term_tcp(tree: &mut Tree, ctx: usize) -> BlockId {
    // SAFETY: all-zero is a valid delegated value; the header says its size.
    let mut d: TCP_OFFLOAD_STATE_DELEGATED = unsafe { std::mem::zeroed() };
    d.Header.Length = size_of::<TCP_OFFLOAD_STATE_DELEGATED>() as u32;
    tree.reference(
        TcpOffloadDelegatedState,
        ctx,
        &[&ndis_sim::builders::bytes_of(&d)],
    )
}

pub fn term_path(tree: &mut Tree, ctx: usize) -> BlockId {
    let d = PATH_OFFLOAD_STATE_DELEGATED {
        Header: OFFLOAD_STATE_HEADER {
            Length: 8,
            RecognizedOptions: 0,
        },
    };
    tree.reference(
        Ip4OffloadDelegatedState,
        ctx,
        &[&ndis_sim::builders::bytes_of(&d)],
    )
}

pub fn term_neighbor(tree: &mut Tree, ctx: usize) -> BlockId {
    let d = NEIGHBOR_OFFLOAD_STATE_DELEGATED {
        Header: OFFLOAD_STATE_HEADER {
            Length: 12,
            RecognizedOptions: 0,
        },
        NicReachabilityDelta: 0,
    };
    tree.reference(
        NeighborOffloadDelegatedState,
        ctx,
        &[&ndis_sim::builders::bytes_of(&d)],
    )
}

/// Constant TCP state without its header (compared field by field: raw bytes
/// would include padding, which is not part of the value).
pub fn const_fields(mut k: TCP_OFFLOAD_STATE_CONST) -> TCP_OFFLOAD_STATE_CONST {
    k.Header = OFFLOAD_STATE_HEADER::default();
    k
}

/// Cached TCP state without its header.
pub fn cached_fields(mut c: TCP_OFFLOAD_STATE_CACHED) -> TCP_OFFLOAD_STATE_CACHED {
    c.Header = OFFLOAD_STATE_HEADER::default();
    c
}

/// Every scalar delegated variable, in declaration order.
pub fn delegated_fields(d: &TCP_OFFLOAD_STATE_DELEGATED) -> Vec<u64> {
    vec![
        d.State as u64,
        d.Flags.into(),
        d.RcvNxt.into(),
        d.RcvWnd.into(),
        d.SndUna.into(),
        d.SndNxt.into(),
        d.SndMax.into(),
        d.SndWnd.into(),
        d.MaxSndWnd.into(),
        d.SendWL1.into(),
        d.CWnd.into(),
        d.SsThresh.into(),
        d.SRtt.into(),
        d.RttVar.into(),
        d.TsRecent.into(),
        d.TsRecentAge.into(),
        d.TsTime.into(),
        d.TotalRT.into(),
        d.DupAckCount.into(),
        d.SndWndProbeCount.into(),
        d.KeepAlive.ProbeCount.into(),
        d.KeepAlive.TimeoutDelta.into(),
        d.Retransmit.Count.into(),
        d.Retransmit.TimeoutDelta.into(),
        d.DWnd.into(),
    ]
}

/// A terminate tree for one neighbor → path → connection (by context value).
pub fn term_connection(neighbor: usize, path: usize, conn: usize) -> (Tree, BlockId) {
    let mut term = Tree::new();
    let a = term_neighbor(&mut term, neighbor);
    let b = term_path(&mut term, path);
    let c = term_tcp(&mut term, conn);
    term.dependent(a, b);
    term.dependent(b, c);
    (term, a)
}
