//! The state-tree walk shared by the five state operations: depth-first /
//! breadth-next (a block's dependents before its next sibling), three layers
//! at most (neighbor → path → TCP), every block given a status, cycles and
//! malformed blocks failed rather than followed.

// State-type constants keep their C enum names.
#![allow(non_upper_case_globals)]

use super::conn::{TxInit, flow_key, tx_init};
use super::handle::{ObjKind, ObjRef};
use super::objects::{Common, Neighbor, Path, Tcp, TcpDelegated};
use super::table::OffloadTable;
use crate::ffi::*;
use crate::hw::index::FlowKey;
use crate::ndis::tree::{BlockRef, Malformed, Role, StateCursor};

/// Which state operation is being carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Initiate,
    Terminate,
    Update,
    Invalidate,
    Query,
}

/// The three layers of offload state, top (neighbor) to bottom (TCP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Neighbor,
    Path,
    Tcp,
}

impl Layer {
    fn below(self) -> Option<Layer> {
        match self {
            Layer::Neighbor => Some(Layer::Path),
            Layer::Path => Some(Layer::Tcp),
            Layer::Tcp => None,
        }
    }

    fn of_kind(k: ObjKind) -> Layer {
        match k {
            ObjKind::Neighbor => Layer::Neighbor,
            ObjKind::Path => Layer::Path,
            ObjKind::Tcp => Layer::Tcp,
        }
    }
}

/// Layer (and, for paths, IPv6-ness) implied by a block's `Header.Type`.
pub fn layer_of_type(t: u8) -> Option<(Layer, bool)> {
    match t {
        NeighborOffloadConstState..=NeighborOffloadState => Some((Layer::Neighbor, false)),
        Ip4OffloadConstState..=Ip4OffloadState => Some((Layer::Path, false)),
        Ip6OffloadConstState..=Ip6OffloadState => Some((Layer::Path, true)),
        TcpOffloadConstState..=TcpOffloadDelegatedState | TcpOffloadState => {
            Some((Layer::Tcp, false))
        }
        _ => None,
    }
}

/// Which of const / cached / delegated follow a block of type `t`.
fn classes(t: u8) -> (bool, bool, bool) {
    match t {
        NeighborOffloadConstState
        | Ip4OffloadConstState
        | Ip6OffloadConstState
        | TcpOffloadConstState => (true, false, false),
        NeighborOffloadCachedState
        | Ip4OffloadCachedState
        | Ip6OffloadCachedState
        | TcpOffloadCachedState => (false, true, false),
        NeighborOffloadDelegatedState
        | Ip4OffloadDelegatedState
        | Ip6OffloadDelegatedState
        | TcpOffloadDelegatedState => (false, false, true),
        NeighborOffloadState | Ip4OffloadState | Ip6OffloadState | TcpOffloadState => {
            (true, true, true)
        }
        _ => (false, false, false),
    }
}

fn failed(s: NDIS_STATUS) -> bool {
    s != NDIS_STATUS_SUCCESS && s != NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS
}

/// A block's failure status as an error value (so `?` works on malformed state).
struct Fail(NDIS_STATUS);

impl From<Malformed> for Fail {
    fn from(_: Malformed) -> Self {
        Fail(NDIS_STATUS_FAILURE)
    }
}

type Step = Result<Option<ObjRef>, Fail>;

/// Chains nested below the root chain: three layers plus one placeholder level.
const MAX_DEPTH: usize = 4;

/// How far ahead of the walk, in blocks of a TCP chain, connections are
/// announced to the data plane ([`DataPlane::expect_flow`]).
const HINT_AHEAD: usize = 16;

/// Upper bound on blocks examined in one tree, whatever its shape.
const VISIT_BUDGET: usize = 1 << 24;

/// One walk over one tree.
/// What the walk needs from the data path (the miniport layer implements
/// it over the connection table and the NIC). Everything here runs under
/// the offload table's lock, at DISPATCH_LEVEL.
pub trait DataPlane {
    /// Check send data handed over with a TCP block: the NBL chain from
    /// `head` through `tail` must be readable and hold at least `need` bytes.
    fn check_send_data(
        &mut self,
        head: PNET_BUFFER_LIST,
        tail: PNET_BUFFER_LIST,
        need: u32,
    ) -> Result<(), NDIS_STATUS>;
    /// Connection `r` is offloaded: start its send side, taking over the
    /// checked send data (`head` NULL when none), and copy the host's
    /// buffered receive data (`buffered`, an NBL chain, NULL when none)
    /// before the completion (rule 26). Failing to buffer it fails the
    /// connection with nothing taken (rule 27).
    fn open(
        &mut self,
        r: ObjRef,
        init: &TxInit,
        head: PNET_BUFFER_LIST,
        tail: PNET_BUFFER_LIST,
        buffered: PNET_BUFFER_LIST,
    ) -> Result<(), NDIS_STATUS>;
    /// Copy the live send variables of `r` into `d` (if it has sent or
    /// received anything since the offload).
    fn sync(&mut self, r: ObjRef, d: &mut TcpDelegated);
    /// Upload connection `r` (one visit to its state): send an owed ACK
    /// (rule 51), copy its live variables into `d`, stop it and hand back
    /// its unacknowledged send NBLs in order, and its undelivered receive
    /// data as a chain of our NBLs lent to the host (rule 50; only when
    /// `want_buffered`, else the data is dropped). `None`, with nothing
    /// changed, when its hardware state is corrupt and this terminate must
    /// fail (the corruption sequence, rule 54).
    fn upload(&mut self, r: ObjRef, d: &mut TcpDelegated, want_buffered: bool) -> Option<Uploaded>;
    /// The addressing, MTU or cached variables behind `r` changed.
    fn refresh(&mut self, r: ObjRef, init: &TxInit);
    /// Neighbor slot `index` was offloaded with these deltas (spec §6.14:
    /// NRT = now − NRD, HRT = now − HRD). The default does nothing.
    fn neighbor_offloaded(&mut self, index: u32, nrd: u32, hrd: u32) {
        let _ = (index, nrd, hrd);
    }
    /// The host updated neighbor `index`'s HostReachabilityDelta.
    fn neighbor_hrd(&mut self, index: u32, hrd: u32) {
        let _ = (index, hrd);
    }
    /// NicReachabilityDelta of neighbor `index` now (None: the data path
    /// does not track it; the value given at offload stands).
    fn neighbor_nrd(&mut self, index: u32) -> Option<u32> {
        let _ = index;
        None
    }
    /// The preferred send backlog of connection `r` (None: unsupported).
    fn send_backlog(&mut self, r: ObjRef) -> Option<u32>;
    /// A hint: the connection with this 4-tuple (and, when it is already
    /// offloaded, this slot) is opened or uploaded soon, so its lookup entry
    /// and state may be fetched ahead. No effect on any result; the default
    /// does nothing.
    fn expect_flow(&mut self, key: &FlowKey, slot: Option<u32>) {
        let _ = (key, slot);
    }
    /// A hint: the next connection offloaded will use `slot`.
    fn expect_slot(&mut self, slot: u32) {
        let _ = slot;
    }
}

/// What an upload hands back to the host.
#[derive(Clone, Copy, Debug)]
pub struct Uploaded {
    pub send_head: PNET_BUFFER_LIST,
    pub send_tail: PNET_BUFFER_LIST,
    pub buffered: PNET_BUFFER_LIST,
}

impl Uploaded {
    pub const NOTHING: Uploaded = Uploaded {
        send_head: core::ptr::null_mut(),
        send_tail: core::ptr::null_mut(),
        buffered: core::ptr::null_mut(),
    };
}

/// A data plane with no connections (a walk that never reaches TCP).
pub struct NoData;

impl DataPlane for NoData {
    fn check_send_data(
        &mut self,
        head: PNET_BUFFER_LIST,
        _: PNET_BUFFER_LIST,
        _: u32,
    ) -> Result<(), NDIS_STATUS> {
        if head.is_null() {
            Ok(())
        } else {
            Err(NDIS_STATUS_FAILURE)
        }
    }
    fn open(
        &mut self,
        _: ObjRef,
        _: &TxInit,
        _: PNET_BUFFER_LIST,
        _: PNET_BUFFER_LIST,
        buffered: PNET_BUFFER_LIST,
    ) -> Result<(), NDIS_STATUS> {
        if buffered.is_null() {
            Ok(())
        } else {
            Err(NDIS_STATUS_FAILURE)
        }
    }
    fn sync(&mut self, _: ObjRef, _: &mut TcpDelegated) {}
    fn upload(&mut self, _: ObjRef, _: &mut TcpDelegated, _: bool) -> Option<Uploaded> {
        Some(Uploaded::NOTHING)
    }
    fn refresh(&mut self, _: ObjRef, _: &TxInit) {}
    fn send_backlog(&mut self, _: ObjRef) -> Option<u32> {
        None
    }
}

pub struct Walk<'a> {
    table: &'a mut OffloadTable,
    data: &'a mut dyn DataPlane,
    op: Op,
    /// NIC time in host ticks.
    now: u32,
    visits: usize,
    /// This walk's block mark (see [`Walk::chain`]).
    mark: usize,
    /// Set when the root block of an initiate failed: nothing more is attempted.
    stop: bool,
}

impl<'a> Walk<'a> {
    pub fn new(table: &'a mut OffloadTable, data: &'a mut dyn DataPlane, op: Op, now: u32) -> Self {
        let mark = table.next_walk_mark();
        Walk {
            mark,
            table,
            data,
            op,
            now,
            visits: 0,
            stop: false,
        }
    }

    /// Walk the tree from `root`, writing a status into every block.
    pub fn run(&mut self, root: BlockRef<'_>) {
        let layer = self.root_layer(root);
        self.chain(root, layer, None, 0);
    }

    /// The layer of the root chain: from its first block that names one.
    fn root_layer(&self, root: BlockRef<'_>) -> Layer {
        self.infer_layer(root).unwrap_or(Layer::Neighbor)
    }

    /// The layer a chain's first typed or referencing block names.
    fn infer_layer(&self, first: BlockRef<'_>) -> Option<Layer> {
        let mut b = Some(first);
        let mut n = 0;
        while let (Some(blk), true) = (b, n < 64) {
            match blk.role() {
                Role::Reference(v) => {
                    if let Some(r) = ObjRef::from_context(v) {
                        return Some(Layer::of_kind(r.kind));
                    }
                }
                Role::New => {
                    if let Some((l, _)) = layer_of_type(blk.state_type()) {
                        return Some(l);
                    }
                }
                Role::Placeholder => {}
            }
            b = blk.next();
            n += 1;
        }
        None
    }

    /// Walk one chain at `layer` under `parent`; true if any block failed.
    ///
    /// Every block is marked as the walk reaches it (`Scratch[0]`), so no
    /// block is processed twice, whatever the links: a block whose
    /// `NextBlock` leads back to a block this walk has reached closes a
    /// cycle, so it fails (with its dependents) and the chain ends there; a
    /// chain that runs into a block reached through another link ends
    /// before it (that block has its status already). One pass, no
    /// separate cycle check: the mark sits in memory the walk reads anyway.
    fn chain(
        &mut self,
        first: BlockRef<'_>,
        layer: Layer,
        parent: Option<ObjRef>,
        depth: usize,
    ) -> bool {
        let mut any_failed = false;
        let mut b = Some(first);
        let mut first_block = true;
        // Connections `HINT_AHEAD` blocks down the chain are announced to the
        // data plane, so their flow-index slots are fetched in parallel.
        let hinting = layer == Layer::Tcp && matches!(self.op, Op::Initiate | Op::Terminate);
        let mut ahead = if hinting { Some(first) } else { None };
        for _ in 1..HINT_AHEAD {
            ahead = ahead.and_then(|a| {
                self.hint(a, parent);
                a.next()
            });
        }
        while let Some(blk) = b {
            ahead = ahead.and_then(|a| {
                self.hint(a, parent);
                a.next()
            });
            if blk.marked(self.mark) {
                any_failed = true;
                break;
            }
            blk.set_mark(self.mark);
            let next = blk.next();
            self.visits += 1;
            let closes_cycle = next.is_some_and(|n| n.marked(self.mark));
            if self.stop || closes_cycle || self.visits > VISIT_BUDGET {
                self.fail_block(blk, depth);
                any_failed = true;
            } else {
                let status = self.block(blk, layer, parent, depth);
                blk.set_status(status);
                if failed(status) {
                    any_failed = true;
                    if self.op == Op::Initiate && depth == 0 && first_block {
                        self.stop = true;
                    }
                }
            }
            if closes_cycle {
                break;
            }
            b = next;
            first_block = false;
        }
        any_failed
    }

    /// Process one block and its dependents; returns its final status.
    fn block(
        &mut self,
        blk: BlockRef<'_>,
        layer: Layer,
        parent: Option<ObjRef>,
        depth: usize,
    ) -> NDIS_STATUS {
        let role = blk.role();
        let step = match role {
            Role::Placeholder => Ok(None),
            _ => self.visit(blk, role, layer, parent),
        };
        let (status, below) = match step {
            Ok(obj) => (NDIS_STATUS_SUCCESS, obj),
            Err(Fail(s)) => (s, None),
        };
        let child_failed = match blk.dependent() {
            None => false,
            Some(dep) => {
                let descend = match (self.op, role) {
                    // An initiate attaches dependents only under a block that succeeded.
                    (Op::Initiate, Role::Placeholder) => true,
                    (Op::Initiate, _) => !failed(status),
                    // Other operations name every object by its own context.
                    _ => true,
                };
                // A placeholder names no layer: its dependents say which they
                // are (its own layer or the next one down). Others: next layer down.
                let next = match role {
                    Role::Placeholder => self
                        .infer_layer(dep)
                        .filter(|l| *l >= layer)
                        .or(layer.below()),
                    _ => layer.below(),
                };
                match (descend, next, depth + 1 < MAX_DEPTH) {
                    (true, Some(l), true) => self.chain(dep, l, below, depth + 1),
                    _ => {
                        self.fail_chain(dep, depth + 1);
                        true
                    }
                }
            }
        };
        match (self.op, role) {
            (Op::Initiate, Role::Placeholder) => NDIS_STATUS_SUCCESS,
            (Op::Initiate, _) if !failed(status) && child_failed => {
                NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS
            }
            _ => status,
        }
    }

    /// FAILURE for a block already marked and every block below it.
    fn fail_block(&mut self, blk: BlockRef<'_>, depth: usize) {
        blk.set_status(NDIS_STATUS_FAILURE);
        if let Some(dep) = blk.dependent() {
            self.fail_chain(dep, depth + 1);
        }
    }

    /// Give FAILURE to every block of a chain that is not attempted, and to
    /// their dependents down to the deepest legal level (below it nothing is
    /// followed). Blocks this walk reached before keep their status.
    fn fail_chain(&mut self, first: BlockRef<'_>, depth: usize) {
        let mut b = Some(first);
        while let Some(blk) = b {
            if blk.marked(self.mark) || self.visits > VISIT_BUDGET {
                return;
            }
            blk.set_mark(self.mark);
            self.visits += 1;
            blk.set_status(NDIS_STATUS_FAILURE);
            if depth < MAX_DEPTH
                && let Some(dep) = blk.dependent()
            {
                self.fail_chain(dep, depth + 1);
            }
            b = blk.next();
        }
    }

    /// The operation on one non-placeholder block. `Ok(obj)`: the object
    /// dependents attach to (initiate) or that they sit under (others).
    fn visit(
        &mut self,
        blk: BlockRef<'_>,
        role: Role,
        layer: Layer,
        parent: Option<ObjRef>,
    ) -> Step {
        match (self.op, role) {
            (Op::Initiate, Role::New) => self.offload(blk, layer, parent).map(Some),
            (_, Role::Reference(v)) => {
                let r = ObjRef::from_context(v).ok_or(Fail(NDIS_STATUS_FAILURE))?;
                if Layer::of_kind(r.kind) != layer || !self.table.usable(r) {
                    return Err(Fail(NDIS_STATUS_FAILURE));
                }
                match self.op {
                    Op::Initiate => self.link(r),
                    Op::Terminate => self.terminate(blk, r),
                    Op::Update => self.update(blk, r, parent),
                    Op::Invalidate => self.invalidate(r),
                    Op::Query => self.query(blk, r),
                }
                .map(|()| Some(r))
            }
            // A NULL context slot names nothing to terminate/update/query.
            _ => Err(Fail(NDIS_STATUS_FAILURE)),
        }
    }

    // ------------------------------------------------------------ initiate

    fn link(&mut self, r: ObjRef) -> Result<(), Fail> {
        // Nothing new hangs under an invalidated object.
        match self.table.common(r) {
            Ok(c) if !c.invalid => Ok(()),
            _ => Err(Fail(NDIS_STATUS_FAILURE)),
        }
    }

    fn offload(
        &mut self,
        blk: BlockRef<'_>,
        layer: Layer,
        parent: Option<ObjRef>,
    ) -> Result<ObjRef, Fail> {
        let t = blk.state_type();
        let Some((type_layer, ipv6)) = layer_of_type(t) else {
            return Err(Fail(NDIS_STATUS_FAILURE));
        };
        // A new object needs all three classes of state, at the right layer.
        if type_layer != layer || classes(t) != (true, true, true) {
            return Err(Fail(NDIS_STATUS_FAILURE));
        }
        let mut states = blk.states()?;
        let common = Common {
            offload_handle: blk.offload_handle(),
            ..Common::default()
        };
        let r = match layer {
            Layer::Neighbor => self.offload_neighbor(&mut states, common)?,
            Layer::Path => self.offload_path(&mut states, common, ipv6, parent)?,
            Layer::Tcp => self.offload_tcp(blk, &mut states, common, parent)?,
        };
        blk.write_context(r.to_context());
        Ok(r)
    }

    fn offload_neighbor(
        &mut self,
        states: &mut StateCursor<'_>,
        common: Common,
    ) -> Result<ObjRef, Fail> {
        let konst = states.take::<NEIGHBOR_OFFLOAD_STATE_CONST>()?.get();
        let cached = states.take::<NEIGHBOR_OFFLOAD_STATE_CACHED>()?.get();
        let delegated = states.take::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>()?.get();
        let adm = self.table.admission;
        // A source MAC other than the interface's cannot be configured (rule 30).
        let src = konst.DlSourceAddress;
        let given = src.iter().any(|&b| b != 0);
        let ours = src.get(..6) == Some(&adm.mac[..]) && src.iter().skip(6).all(|&b| b == 0);
        if given && !ours {
            return Err(Fail(NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES));
        }
        // VLAN admission (rule 31, spec §6.11).
        let vlan = konst.VlanId() as u16;
        if adm.vlan_id != 0 && vlan != 0 && vlan != adm.vlan_id {
            return Err(Fail(NDIS_STATUS_OFFLOAD_VLAN_MISMATCH));
        }
        let generation = self.table.next_generation();
        let n = Neighbor {
            common,
            konst,
            cached,
            nic_reachability_delta: delegated.NicReachabilityDelta,
        };
        let r = self
            .table
            .neighbors
            .insert(n, generation)
            .map_err(|_| Fail(NDIS_STATUS_RESOURCES))?;
        self.data.neighbor_offloaded(
            r.index,
            delegated.NicReachabilityDelta,
            cached.HostReachabilityDelta,
        );
        Ok(r)
    }

    fn offload_path(
        &mut self,
        states: &mut StateCursor<'_>,
        common: Common,
        ipv6: bool,
        parent: Option<ObjRef>,
    ) -> Result<ObjRef, Fail> {
        let neighbor = parent
            .filter(|p| p.kind == ObjKind::Neighbor && self.table.usable(*p))
            .ok_or(Fail(NDIS_STATUS_FAILURE))?;
        let adm = self.table.admission;
        if (ipv6 && !adm.ipv6) || (!ipv6 && !adm.ipv4) {
            return Err(Fail(NDIS_STATUS_FAILURE));
        }
        let konst = states.take::<PATH_OFFLOAD_STATE_CONST>()?;
        let (source, destination) = konst.addresses(if ipv6 { 16 } else { 4 })?;
        let cached = states.take::<PATH_OFFLOAD_STATE_CACHED>()?.get();
        states.take::<PATH_OFFLOAD_STATE_DELEGATED>()?;
        // IPv4 needs 68 bytes, IPv6 1280; nothing above 64 KiB exists.
        let min_mtu = if ipv6 { 1280 } else { 68 };
        if cached.PathMtu < min_mtu || cached.PathMtu > 65_535 {
            return Err(Fail(NDIS_STATUS_FAILURE));
        }
        let generation = self.table.next_generation();
        let p = Path {
            common,
            ipv6,
            source,
            destination,
            cached,
            neighbor,
        };
        let r = self
            .table
            .paths
            .insert(p, generation)
            .map_err(|_| Fail(NDIS_STATUS_RESOURCES))?;
        self.table.add_ref(neighbor);
        Ok(r)
    }

    fn offload_tcp(
        &mut self,
        blk: BlockRef<'_>,
        states: &mut StateCursor<'_>,
        common: Common,
        parent: Option<ObjRef>,
    ) -> Result<ObjRef, Fail> {
        let path = parent
            .filter(|p| p.kind == ObjKind::Path && self.table.usable(*p))
            .ok_or(Fail(NDIS_STATUS_FAILURE))?;
        let konst = states.take::<TCP_OFFLOAD_STATE_CONST>()?.get();
        let cached = states.take::<TCP_OFFLOAD_STATE_CACHED>()?.get();
        let delegated = states.take::<TCP_OFFLOAD_STATE_DELEGATED>()?.get();
        let fail = |s| Err(Fail(s));
        if matches!(
            delegated.State,
            TcpConnectionClosed
                | TcpConnectionListen
                | TcpConnectionSynSent
                | TcpConnectionSynRcvd
                | TcpConnectionTimeWait
        ) || delegated.State >= TcpConnectionMaxState
            || delegated.State < 0
        {
            return fail(NDIS_STATUS_FAILURE);
        }
        if konst.RemoteMss == 0 || konst.LocalPort == 0 || konst.RemotePort == 0 {
            return fail(NDIS_STATUS_FAILURE);
        }
        if cached.InitialRcvWnd > self.table.admission.max_rcv_window {
            return fail(NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW);
        }
        let (send_head, send_tail, buffered) = delegated_data(&delegated, blk);
        // Handed-over send data must cover what the host already sent
        // ([SndUna, SndMax)); it is checked before anything is taken (rule 25).
        // In FIN_WAIT_1, CLOSING and LAST_ACK the host's FIN is the last
        // sequence number it sent, not a byte of data.
        let fin_sent = [
            TcpConnectionFinWait1,
            TcpConnectionClosing,
            TcpConnectionLastAck,
        ]
        .contains(&delegated.State);
        let span = delegated.SndMax.wrapping_sub(delegated.SndUna);
        let need = if fin_sent && span != 0 {
            span - 1
        } else {
            span
        };
        if need > (1 << 30) {
            return fail(NDIS_STATUS_FAILURE);
        }
        if send_head == 0 && need != 0 {
            return fail(NDIS_STATUS_FAILURE);
        }
        self.data
            .check_send_data(
                send_head as PNET_BUFFER_LIST,
                send_tail as PNET_BUFFER_LIST,
                need,
            )
            .map_err(Fail)?;
        let generation = self.table.next_generation();
        let t = Tcp {
            common,
            konst,
            cached,
            delegated: TcpDelegated::from_host(&delegated, self.now),
            path,
        };
        let r = self
            .table
            .tcps
            .insert(t, generation)
            .map_err(|_| Fail(NDIS_STATUS_RESOURCES))?;
        if let Some(next) = self.table.tcps.next_free() {
            self.data.expect_slot(next);
        }
        let init = self.tx_init_of(r);
        let opened = match init {
            Some(init) => self.data.open(
                r,
                &init,
                send_head as PNET_BUFFER_LIST,
                send_tail as PNET_BUFFER_LIST,
                buffered as PNET_BUFFER_LIST,
            ),
            None => Err(NDIS_STATUS_FAILURE),
        };
        if let Err(status) = opened {
            let _ = self.table.tcps.remove(r);
            return Err(Fail(status));
        }
        self.table.add_ref(path);
        Ok(r)
    }

    /// The send-side description of connection `r` from its objects.
    /// Announce the connection block `blk` offloads or uploads (a prefetch
    /// hint, read-only; nothing if the block is not one).
    fn hint(&mut self, blk: BlockRef<'_>, parent: Option<ObjRef>) {
        match (self.op, blk.role()) {
            (Op::Initiate, Role::New) => {
                let t = blk.state_type();
                let is_tcp = layer_of_type(t).is_some_and(|(l, _)| l == Layer::Tcp);
                if !is_tcp || !classes(t).0 {
                    return;
                }
                let Some(path) = parent.filter(|p| p.kind == ObjKind::Path) else {
                    return;
                };
                // The type promises the const structure first.
                if let Ok(mut states) = blk.states()
                    && let Ok(k) = states.take::<TCP_OFFLOAD_STATE_CONST>()
                {
                    self.expect_flow(path, &k.get(), None);
                }
            }
            (Op::Terminate, Role::Reference(v)) => {
                if let Some(r) = ObjRef::from_context(v).filter(|r| r.kind == ObjKind::Tcp)
                    && let Ok(tcp) = self.table.tcps.get(r)
                {
                    let (path, konst) = (tcp.path, tcp.konst);
                    self.expect_flow(path, &konst, Some(r.index));
                }
            }
            _ => {}
        }
    }

    /// Tell the data plane which 4-tuple comes (a prefetch hint: the lookup
    /// entry's memory arrives while other blocks are done).
    fn expect_flow(&mut self, path: ObjRef, konst: &TCP_OFFLOAD_STATE_CONST, slot: Option<u32>) {
        if let Ok(p) = self.table.paths.get(path) {
            let key = flow_key(p, konst);
            self.data.expect_flow(&key, slot);
        }
    }

    fn tx_init_of(&self, r: ObjRef) -> Option<TxInit> {
        let tcp = self.table.tcps.get(r).ok()?;
        let path = self.table.paths.get(tcp.path).ok()?;
        let neighbor = self.table.neighbors.get(path.neighbor).ok()?;
        Some(tx_init(
            r,
            tcp,
            path,
            neighbor,
            &self.table.admission,
            self.now,
        ))
    }

    /// Re-derive the send side of every connection that depends on `r`
    /// (after an update changed addressing, MTU or cached variables).
    fn refresh_dependents(&mut self, r: ObjRef) {
        let mut i = 0usize;
        while i < self.table.tcps.capacity() {
            let hit = self.table.tcps.at(i).and_then(|(tr, t)| {
                let uses = match r.kind {
                    ObjKind::Tcp => tr == r,
                    ObjKind::Path => t.path == r,
                    ObjKind::Neighbor => {
                        self.table.paths.get(t.path).is_ok_and(|p| p.neighbor == r)
                    }
                };
                uses.then_some(tr)
            });
            if let Some(tr) = hit
                && let Some(init) = self.tx_init_of(tr)
            {
                self.data.refresh(tr, &init);
            }
            i += 1;
            if r.kind == ObjKind::Tcp && hit.is_some() {
                return;
            }
        }
    }

    // ------------------------------------------------------------ terminate

    fn terminate(&mut self, blk: BlockRef<'_>, r: ObjRef) -> Result<(), Fail> {
        let t = blk.state_type();
        let (has_const, has_cached, has_delegated) = classes(t);
        // Only the delegated structure is filled; skip the others if present.
        if has_delegated && layer_of_type(t).map(|(l, _)| l) == Some(Layer::of_kind(r.kind)) {
            let mut states = blk.states()?;
            match r.kind {
                ObjKind::Neighbor => {
                    skip::<NEIGHBOR_OFFLOAD_STATE_CONST, NEIGHBOR_OFFLOAD_STATE_CACHED>(
                        &mut states,
                        has_const,
                        has_cached,
                    )?;
                    let d = states.take::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>()?;
                    let mut v = d.get();
                    let stored = self
                        .table
                        .neighbors
                        .get(r)
                        .map_or(0, |n| n.nic_reachability_delta);
                    v.NicReachabilityDelta = self.data.neighbor_nrd(r.index).unwrap_or(stored);
                    d.set(v);
                }
                ObjKind::Path => {
                    skip::<PATH_OFFLOAD_STATE_CONST, PATH_OFFLOAD_STATE_CACHED>(
                        &mut states,
                        has_const,
                        has_cached,
                    )?;
                    states.take::<PATH_OFFLOAD_STATE_DELEGATED>()?;
                }
                ObjKind::Tcp => {
                    skip::<TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_CACHED>(
                        &mut states,
                        has_const,
                        has_cached,
                    )?;
                    let d = states.take::<TCP_OFFLOAD_STATE_DELEGATED>()?;
                    let Ok(tcp) = self.table.tcps.get_mut(r) else {
                        return Err(Fail(NDIS_STATUS_FAILURE));
                    };
                    // Send data still held goes back in original order (rule 48);
                    // none → NetBufferListChain NULL (rule 49). Corrupt
                    // hardware state: nothing is written, the connection
                    // stays (rule 54).
                    let up = self
                        .data
                        .upload(r, &mut tcp.delegated, true)
                        .ok_or(Fail(NDIS_STATUS_FAILURE))?;
                    let mut v = d.get();
                    tcp.delegated.write_to(&mut v, self.now);
                    v.Send.SendData = TCP_OFFLOAD_STATE_DELEGATED_SEND_DATA {
                        SendDataHead: up.send_head,
                        SendDataTail: up.send_tail,
                    };
                    v.Receive.BufferedData = up.buffered;
                    blk.set_net_buffer_list_chain(up.send_head);
                    d.set(v);
                }
            }
        } else if r.kind == ObjKind::Tcp {
            let Ok(tcp) = self.table.tcps.get_mut(r) else {
                return Err(Fail(NDIS_STATUS_FAILURE));
            };
            let up = self
                .data
                .upload(r, &mut tcp.delegated, false)
                .ok_or(Fail(NDIS_STATUS_FAILURE))?;
            blk.set_net_buffer_list_chain(up.send_head);
        }
        self.table.terminate(r);
        Ok(())
    }

    // ------------------------------------------------------------ update

    fn update(&mut self, blk: BlockRef<'_>, r: ObjRef, parent: Option<ObjRef>) -> Result<(), Fail> {
        if self.table.common(r).is_ok_and(|c| c.invalid) {
            return Err(Fail(NDIS_STATUS_FAILURE));
        }
        let t = blk.state_type();
        let (has_const, has_cached, _) = classes(t);
        if has_cached && layer_of_type(t).map(|(l, _)| l) == Some(Layer::of_kind(r.kind)) {
            let mut states = blk.states()?;
            match r.kind {
                ObjKind::Neighbor => {
                    skip::<NEIGHBOR_OFFLOAD_STATE_CONST, NEIGHBOR_OFFLOAD_STATE_CACHED>(
                        &mut states,
                        has_const,
                        false,
                    )?;
                    let c = states.take::<NEIGHBOR_OFFLOAD_STATE_CACHED>()?.get();
                    if let Ok(n) = self.table.neighbors.get_mut(r) {
                        n.cached = c;
                    }
                    self.data.neighbor_hrd(r.index, c.HostReachabilityDelta);
                }
                ObjKind::Path => {
                    skip::<PATH_OFFLOAD_STATE_CONST, PATH_OFFLOAD_STATE_CACHED>(
                        &mut states,
                        has_const,
                        false,
                    )?;
                    let c = states.take::<PATH_OFFLOAD_STATE_CACHED>()?.get();
                    if c.PathMtu < 68 || c.PathMtu > 65_535 {
                        return Err(Fail(NDIS_STATUS_FAILURE));
                    }
                    if let Ok(p) = self.table.paths.get_mut(r) {
                        p.cached = c;
                    }
                }
                ObjKind::Tcp => {
                    skip::<TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_CACHED>(
                        &mut states,
                        has_const,
                        false,
                    )?;
                    let c = states.take::<TCP_OFFLOAD_STATE_CACHED>()?.get();
                    if c.InitialRcvWnd > self.table.admission.max_rcv_window {
                        return Err(Fail(NDIS_STATUS_FAILURE));
                    }
                    let now = self.now;
                    if let Ok(tcp) = self.table.tcps.get_mut(r) {
                        apply_tcp_cached(tcp, c, now);
                    }
                }
            }
            self.refresh_dependents(r);
        }
        // A path listed under a neighbor block moves to that neighbor (rule 34).
        if let (ObjKind::Path, Some(n)) = (r.kind, parent)
            && n.kind == ObjKind::Neighbor
            && self.table.usable(n)
        {
            let old = self.table.paths.get(r).map(|p| p.neighbor).ok();
            if old != Some(n) {
                self.table.add_ref(n);
                if let Ok(p) = self.table.paths.get_mut(r) {
                    p.neighbor = n;
                }
                if let Some(o) = old {
                    self.table.drop_ref(o);
                }
                self.refresh_dependents(r);
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ invalidate

    fn invalidate(&mut self, r: ObjRef) -> Result<(), Fail> {
        if let Ok(c) = self.table.common_mut(r) {
            c.invalid = true;
        }
        Ok(())
    }

    // ------------------------------------------------------------ query

    fn query(&mut self, blk: BlockRef<'_>, r: ObjRef) -> Result<(), Fail> {
        let t = blk.state_type();
        if layer_of_type(t).map(|(l, _)| l) != Some(Layer::of_kind(r.kind)) {
            // No structure follows (or one of another layer): nothing to fill.
            return if classes(t) == (false, false, false) {
                Ok(())
            } else {
                Err(Fail(NDIS_STATUS_FAILURE))
            };
        }
        let (has_const, has_cached, has_delegated) = classes(t);
        let mut states = blk.states()?;
        let now = self.now;
        match r.kind {
            ObjKind::Neighbor => {
                let n = *self
                    .table
                    .neighbors
                    .get(r)
                    .map_err(|_| Fail(NDIS_STATUS_FAILURE))?;
                if has_const {
                    states.take::<NEIGHBOR_OFFLOAD_STATE_CONST>()?.set(n.konst);
                }
                if has_cached {
                    states
                        .take::<NEIGHBOR_OFFLOAD_STATE_CACHED>()?
                        .set(n.cached);
                }
                if has_delegated {
                    let d = states.take::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>()?;
                    let mut v = d.get();
                    v.NicReachabilityDelta = self
                        .data
                        .neighbor_nrd(r.index)
                        .unwrap_or(n.nic_reachability_delta);
                    d.set(v);
                }
            }
            ObjKind::Path => {
                let p = *self
                    .table
                    .paths
                    .get(r)
                    .map_err(|_| Fail(NDIS_STATUS_FAILURE))?;
                if has_const {
                    let c = states.take::<PATH_OFFLOAD_STATE_CONST>()?;
                    c.write_addresses(&p.source, &p.destination, if p.ipv6 { 16 } else { 4 })?;
                }
                if has_cached {
                    states.take::<PATH_OFFLOAD_STATE_CACHED>()?.set(p.cached);
                }
                if has_delegated {
                    states.take::<PATH_OFFLOAD_STATE_DELEGATED>()?;
                }
            }
            ObjKind::Tcp => {
                let mut tcp = *self
                    .table
                    .tcps
                    .get(r)
                    .map_err(|_| Fail(NDIS_STATUS_FAILURE))?;
                self.data.sync(r, &mut tcp.delegated);
                if has_const {
                    states.take::<TCP_OFFLOAD_STATE_CONST>()?.set(tcp.konst);
                }
                if has_cached {
                    states.take::<TCP_OFFLOAD_STATE_CACHED>()?.set(tcp.cached);
                }
                if has_delegated {
                    let d = states.take::<TCP_OFFLOAD_STATE_DELEGATED>()?;
                    let mut v = d.get();
                    tcp.delegated.write_to(&mut v, now);
                    // The send backlog is the live estimate; receive
                    // backlog is not supported (rule 41).
                    v.Send.SendBacklogSize =
                        self.data.send_backlog(r).unwrap_or(BACKLOG_UNSUPPORTED);
                    v.Receive.ReceiveBacklogSize = BACKLOG_UNSUPPORTED;
                    d.set(v);
                }
            }
        }
        Ok(())
    }
}

/// Step over the constant and cached structures that precede the one wanted.
fn skip<C: crate::ndis::tree::StateStruct, K: crate::ndis::tree::StateStruct>(
    states: &mut StateCursor<'_>,
    has_const: bool,
    has_cached: bool,
) -> Result<(), Malformed> {
    if has_const {
        states.take::<C>()?;
    }
    if has_cached {
        states.take::<K>()?;
    }
    Ok(())
}

/// Apply an update of the cached TCP variables, with its flag semantics (§5.5).
fn apply_tcp_cached(tcp: &mut Tcp, c: TCP_OFFLOAD_STATE_CACHED, now: u32) {
    let flags = TcpCachedFlags::from_bits_truncate(c.Flags);
    let ka_changed = c.KaProbeCount != tcp.cached.KaProbeCount
        || c.KaTimeout != tcp.cached.KaTimeout
        || c.KaInterval != tcp.cached.KaInterval;
    let restart =
        flags.intersects(TcpCachedFlags::KEEP_ALIVE_RESTART | TcpCachedFlags::MAX_RT_RESTART);
    if flags.contains(TcpCachedFlags::KEEP_ALIVE_RESTART) || (restart && ka_changed) {
        tcp.delegated.ka_probe_count = 0;
        tcp.delegated.ka_deadline = flags
            .contains(TcpCachedFlags::KEEP_ALIVE_ENABLED)
            .then(|| now.wrapping_add(c.KaTimeout));
    }
    if !flags.contains(TcpCachedFlags::KEEP_ALIVE_ENABLED) {
        tcp.delegated.ka_deadline = None;
    }
    if flags.contains(TcpCachedFlags::MAX_RT_RESTART) {
        tcp.delegated.total_rt = 0;
    }
    if flags.contains(TcpCachedFlags::UPDATE_RCV_WND) {
        tcp.delegated.rcv_wnd = c.InitialRcvWnd;
    }
    tcp.cached = c;
}

/// Send data (head, tail) and buffered receive data of an initiate's TCP block.
fn delegated_data(d: &TCP_OFFLOAD_STATE_DELEGATED, blk: BlockRef<'_>) -> (usize, usize, usize) {
    let chain = blk.net_buffer_list_chain() as usize;
    if chain == 0 {
        return (0, 0, crate::ndis::tree::buffered_data(d));
    }
    let (head, tail) = crate::ndis::tree::send_data(d);
    // SendDataHead is the chain itself; trust the block's chain for the head.
    let tail = if tail == 0 || head != chain {
        chain
    } else {
        tail
    };
    (chain, tail, crate::ndis::tree::buffered_data(d))
}
