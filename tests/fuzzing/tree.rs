//! Offload state trees are the host's and trusted for their links and
//! memory, but not for their contents: block types, header sizes, state
//! `Length`s, state bytes, context values (fresh, stale or made up) and
//! the tree's shape all come from the input, for all five operations in any
//! order. Each tree's memory honours the host's side of the contract (every
//! byte the driver may read under its documented bounds is allocated, and
//! the only pointers are real ones), so any fault is the driver's.
//!
//! After every operation: every block completed (none left PENDING) with a
//! status from the spec; a new block's context slot written exactly when it
//! succeeded; a referencing block's slot untouched; the verifier clean. At
//! the end everything still offloaded terminates, the adapter halts, and
//! nothing leaks (send data handed over at initiate included).

#![allow(non_upper_case_globals)]

use crate::common::send::chain_of;
use crate::common::tree::{live, run};
use crate::common::*;
use arbitrary::{Arbitrary, Unstructured};
use chimney_miniport::ffi::*;
use ndis_sim::StateOpKind;
use ndis_sim::builders::{BlockId, NblChain, Role, TcpSpec, Tree, bytes_of};

#[derive(Arbitrary, Clone, Copy, Debug)]
enum OpKind {
    Initiate,
    Terminate,
    Update,
    Query,
    Invalidate,
}

/// `Header.Type` of a block.
#[derive(Arbitrary, Debug)]
enum TypeSel {
    /// What a well-formed tree of this operation has at this depth.
    Natural,
    /// The IPv6 path type, where a path belongs.
    Six,
    Raw(u8),
}

/// The context slot.
#[derive(Arbitrary, Debug)]
enum RoleSel {
    New,
    Placeholder,
    /// A context value the driver wrote earlier in this run (perhaps
    /// terminated since).
    Known(u8),
    /// A value the driver never wrote.
    Raw(u64),
}

/// One state structure after a block.
#[derive(Arbitrary, Clone, Debug, Default)]
struct StateSel {
    /// Which structure's bytes (`None`: the one the type calls for here).
    template: Option<u8>,
    /// `Length` (`None`: the structure's size); the bytes really present
    /// are exactly this many.
    length: Option<u16>,
    /// Bytes overwritten (offset modulo the length, value).
    patches: Vec<(u16, u8)>,
}

#[derive(Arbitrary, Debug)]
enum StatesSel {
    /// The structures the type calls for, well-formed.
    Natural,
    Custom(Vec<StateSel>),
}

#[derive(Arbitrary, Debug)]
struct Node {
    ty: TypeSel,
    role: RoleSel,
    /// `Header.Size` other than the block list's size.
    size: Option<u16>,
    /// NULL address pointers in a path's constant state.
    null_addresses: bool,
    states: StatesSel,
    /// Send data handed over with a new TCP block (NBL sizes), and whether
    /// `SendDataTail` names its last NBL (else its first).
    send: Option<(Vec<u16>, bool)>,
    children: Vec<Node>,
}

#[derive(Arbitrary, Debug)]
struct Step {
    op: OpKind,
    roots: Vec<Node>,
}

/// Bounds that keep one execution within milliseconds.
const MAX_STEPS: usize = 8;
const MAX_BLOCKS: usize = 48;
const MAX_DEPTH: usize = 4;

/// The fuzz entry: connection capacity, then the operations.
pub fn fuzz(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(capacity) = u8::arbitrary(&mut u) else {
        return;
    };
    if let Some(steps) = super::script::<Step>(u, MAX_STEPS) {
        run_steps(1 + u32::from(capacity % 16), &steps);
    }
}

/// Statuses a block may complete with (spec §3.6, §4, §7).
const ALLOWED: &[NDIS_STATUS] = &[
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_INVALID_STATE,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_UPLOAD_IN_PROGRESS,
    NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW,
    NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES,
    NDIS_STATUS_OFFLOAD_VLAN_ENTRIES,
    NDIS_STATUS_OFFLOAD_TCP_ENTRIES,
    NDIS_STATUS_OFFLOAD_PATH_ENTRIES,
    NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES,
];

fn succeeded(s: NDIS_STATUS) -> bool {
    s == NDIS_STATUS_SUCCESS || s == NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS
}

/// The nine well-formed structures: neighbor, path, TCP × const, cached,
/// delegated.
struct Templates {
    structs: [Vec<u8>; 9],
}

impl Templates {
    fn new() -> Self {
        let mut t = Tree::new();
        let n = t.new_neighbor([0; 6], 0, [0, 1, 2, 3, 4, 5]);
        let p = t.new_path4([10, 0, 0, 1], [10, 0, 1, 1], 1500);
        let spec = TcpSpec::established(1000, 443);
        Templates {
            structs: [
                bytes_of(&t.state::<NEIGHBOR_OFFLOAD_STATE_CONST>(n, 0)),
                bytes_of(&t.state::<NEIGHBOR_OFFLOAD_STATE_CACHED>(n, 1)),
                bytes_of(&t.state::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>(n, 2)),
                bytes_of(&t.state::<PATH_OFFLOAD_STATE_CONST>(p, 0)),
                bytes_of(&t.state::<PATH_OFFLOAD_STATE_CACHED>(p, 1)),
                bytes_of(&t.state::<PATH_OFFLOAD_STATE_DELEGATED>(p, 2)),
                bytes_of(&spec.konst),
                bytes_of(&spec.cached),
                bytes_of(&spec.delegated),
            ],
        }
    }
}

/// Layer (0 neighbor, 1 path, 2 TCP) and the classes (const, cached,
/// delegated) that follow a block of type `ty`, in order.
fn type_layout(ty: u8) -> Option<(usize, Vec<usize>)> {
    let layer = match ty {
        NeighborOffloadConstState..=NeighborOffloadState => 0,
        Ip4OffloadConstState..=Ip6OffloadState => 1,
        TcpOffloadConstState..=TcpOffloadDelegatedState | TcpOffloadState => 2,
        _ => return None,
    };
    let classes = match ty {
        NeighborOffloadState | Ip4OffloadState | Ip6OffloadState | TcpOffloadState => vec![0, 1, 2],
        _ => {
            let base = match layer {
                0 => NeighborOffloadConstState,
                1 if ty >= Ip6OffloadConstState => Ip6OffloadConstState,
                1 => Ip4OffloadConstState,
                _ => TcpOffloadConstState,
            };
            vec![usize::from(ty - base)]
        }
    };
    Some((layer, classes))
}

/// What the run has seen the driver do.
struct Ledger {
    /// Every context value the driver wrote, in order.
    contexts: Vec<usize>,
    /// Address buffers pointed at by paths' constant states (boxed: a
    /// tree holds their addresses, so they must not move).
    #[allow(clippy::vec_box)]
    addresses: Vec<Box<[u8; 16]>>,
    /// Send data handed over (kept alive until the end).
    chains: Vec<NblChain>,
    /// Distinct numbers for ports, addresses and MACs.
    counter: u16,
}

/// One block as built: its id and the slot value put in.
struct Built {
    id: BlockId,
    role: Role,
}

struct Builder<'a> {
    templates: &'a Templates,
    ledger: &'a mut Ledger,
    tree: Tree,
    built: Vec<Built>,
}

impl Builder<'_> {
    /// Build a sibling chain at `depth`; returns its first block.
    fn chain(&mut self, op: OpKind, nodes: &[Node], depth: usize) -> Option<BlockId> {
        let mut first = None;
        let mut prev: Option<BlockId> = None;
        for n in nodes {
            if self.built.len() >= MAX_BLOCKS {
                break;
            }
            let id = self.block(op, n, depth);
            if let Some(p) = prev {
                self.tree.next(p, id);
            }
            first.get_or_insert(id);
            prev = Some(id);
            if depth + 1 < MAX_DEPTH
                && let Some(c) = self.chain(op, &n.children, depth + 1)
            {
                self.tree.dependent(id, c);
            }
        }
        first
    }

    fn block(&mut self, op: OpKind, n: &Node, depth: usize) -> BlockId {
        self.ledger.counter = self.ledger.counter.wrapping_add(1);
        let k = self.ledger.counter;
        let natural = |d: usize| -> u8 {
            let by_depth = match op {
                OpKind::Initiate => [NeighborOffloadState, Ip4OffloadState, TcpOffloadState],
                OpKind::Update => [
                    NeighborOffloadCachedState,
                    Ip4OffloadCachedState,
                    TcpOffloadCachedState,
                ],
                _ => [
                    NeighborOffloadDelegatedState,
                    Ip4OffloadDelegatedState,
                    TcpOffloadDelegatedState,
                ],
            };
            by_depth[d.min(2)]
        };
        let ty = match n.ty {
            TypeSel::Natural => natural(depth),
            TypeSel::Six => natural(depth) + (Ip6OffloadConstState - Ip4OffloadConstState),
            TypeSel::Raw(t) => t,
        };
        let role = match n.role {
            RoleSel::New => Role::New,
            RoleSel::Placeholder => Role::Placeholder,
            RoleSel::Known(i) if !self.ledger.contexts.is_empty() => {
                Role::Reference(self.ledger.contexts[usize::from(i) % self.ledger.contexts.len()])
            }
            // Nothing offloaded yet: a value the driver never wrote.
            RoleSel::Known(i) => Role::Reference(0x1000 + usize::from(i)),
            // A slot holding NULL is a new offload, whatever was meant.
            RoleSel::Raw(0) => Role::New,
            RoleSel::Raw(v) => Role::Reference(v as usize),
        };
        let layout = type_layout(ty);
        // Send data: only on a new TCP block of an initiate.
        let chain = match (&n.send, op, ty, role) {
            (Some((sizes, last)), OpKind::Initiate, TcpOffloadState, Role::New) => {
                let sizes: Vec<usize> = sizes
                    .iter()
                    .take(4)
                    .map(|&s| 1 + usize::from(s) % 3000)
                    .collect();
                (!sizes.is_empty()).then(|| {
                    let ch = chain_of(&sizes, k as u8);
                    let nbls = ch.nbls();
                    let tail = if *last { nbls[nbls.len() - 1] } else { nbls[0] };
                    self.ledger.chains.push(ch);
                    (nbls[0], tail)
                })
            }
            _ => None,
        };
        let mut states: Vec<Vec<u8>> = Vec::new();
        let mut declared: Vec<bool> = Vec::new();
        let sels: Vec<StateSel> = match &n.states {
            StatesSel::Natural => layout
                .as_ref()
                .map(|(_, cl)| vec![StateSel::default(); cl.len()])
                .unwrap_or_default(),
            StatesSel::Custom(v) => v.iter().take(4).cloned().collect(),
        };
        for (i, sel) in sels.iter().enumerate() {
            let StateSel {
                template,
                length,
                ref patches,
            } = *sel;
            let patches = &patches[..patches.len().min(16)];
            // Where this structure sits: the class the driver reads it as.
            let class = layout.as_ref().and_then(|(_, cl)| cl.get(i).copied());
            let layer = layout.as_ref().map(|(l, _)| *l);
            let which = match template {
                Some(t) => usize::from(t) % 9,
                None => 3 * layer.unwrap_or(0) + class.unwrap_or(0),
            };
            let mut bytes = self.templates.structs[which].clone();
            self.vary(&mut bytes, which, k);
            let len = length.map_or(bytes.len(), usize::from);
            bytes.resize(len, 0);
            if let (Some(l), true) = (length, len >= 4) {
                bytes[..4].copy_from_slice(&u32::from(l).to_ne_bytes());
            }
            // The builder declares each structure's size padded to 8 bytes
            // (a well-formed host's layout); an explicit or patched Length
            // goes back in after it.
            let explicit =
                length.is_some() || patches.iter().any(|p| usize::from(p.0) % len.max(1) < 4);
            declared.push(explicit && len >= 4);
            for &(at, v) in patches {
                if !bytes.is_empty() {
                    let at = usize::from(at) % bytes.len();
                    bytes[at] = v;
                }
            }
            states.push(bytes);
        }
        // Whatever the driver may read (header size and three structures,
        // each within its bound of 4096 bytes) is allocated: zeros.
        states.push(vec![0; 4 * 4096]);
        let refs: Vec<&[u8]> = states.iter().map(|s| &s[..]).collect();
        let id = self.tree.block(ty, role, &refs);
        let mut at = size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>();
        for (s, &explicit) in states.iter().zip(&declared) {
            if explicit {
                let base = self.tree.ptr(id).cast::<u8>();
                // SAFETY: the builder copied `s` (at least 4 bytes) to `at`
                // inside block `id`'s allocation.
                unsafe { base.add(at).copy_from_nonoverlapping(s.as_ptr(), 4) };
            }
            at += s.len().next_multiple_of(8);
        }
        if let Some(size) = n.size {
            self.tree.set_header(id, ty, size);
        }
        self.honour_contract(id, ty, n.null_addresses, chain);
        if let Some((head, _)) = chain {
            self.tree.set_chain(id, head);
        }
        self.built.push(Built { id, role });
        id
    }

    /// Distinct ports, addresses and MACs per block, so that well-formed
    /// trees do not collide with each other.
    fn vary(&self, bytes: &mut [u8], which: usize, k: u16) {
        match which {
            // The next hop's MAC (DlDestinationAddress[5]) of a neighbor.
            1 => {
                let at = core::mem::offset_of!(NEIGHBOR_OFFLOAD_STATE_CACHED, DlDestinationAddress);
                bytes[at + 5] = k as u8;
            }
            // LocalPort of a TCP constant state.
            6 => {
                let at = core::mem::offset_of!(TCP_OFFLOAD_STATE_CONST, LocalPort);
                bytes[at..at + 2].copy_from_slice(&(1000 + k).to_ne_bytes());
            }
            _ => {}
        }
    }

    /// The host's side of the contract: wherever the driver will read a
    /// path's constant state or a TCP delegated state (found as the driver
    /// finds it: `Header.Size`, then each accepted `Length`), the pointers
    /// in it are real: address buffers (or NULL), the handed-over chain,
    /// no buffered receive data. Every other byte stays as the input made it.
    fn honour_contract(
        &mut self,
        id: BlockId,
        ty: u8,
        null_addresses: bool,
        chain: Option<(PNET_BUFFER_LIST, PNET_BUFFER_LIST)>,
    ) {
        let Some((layer, classes)) = type_layout(ty) else {
            return;
        };
        let base = self.tree.ptr(id).cast::<u8>();
        // SAFETY: the block's own header.
        let mut at = usize::from(unsafe { (*self.tree.ptr(id)).Header.Size });
        if at < size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>() || at > 4096 {
            return;
        }
        let write = |at: usize, v: usize| {
            // SAFETY: `at + 8` lies inside a structure the driver accepts,
            // itself inside the block's allocation (Header.Size and three
            // Lengths of at most 4096 each, within the 16 KiB zero tail).
            unsafe { base.add(at).cast::<usize>().write_unaligned(v) }
        };
        for class in classes {
            // SAFETY: as above; the header of the next structure.
            let len = unsafe { base.add(at).cast::<u32>().read_unaligned() } as usize;
            let need = STRUCT_SIZES[3 * layer + class];
            if len < need || len > 4096 {
                return;
            }
            match (layer, class) {
                (1, 0) => {
                    for offset in [
                        core::mem::offset_of!(PATH_OFFLOAD_STATE_CONST, SourceAddress),
                        core::mem::offset_of!(PATH_OFFLOAD_STATE_CONST, DestinationAddress),
                    ] {
                        let k = self.ledger.counter;
                        let mut a = Box::new([0u8; 16]);
                        a[..4].copy_from_slice(&[10, 1, (k >> 8) as u8, k as u8]);
                        let p = if null_addresses {
                            0
                        } else {
                            a.as_ptr() as usize
                        };
                        self.ledger.addresses.push(a);
                        write(at + offset, p);
                    }
                }
                (2, 2) => {
                    let send = core::mem::offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Send);
                    let recv = core::mem::offset_of!(TCP_OFFLOAD_STATE_DELEGATED, Receive);
                    let (head, tail) = chain.map_or((0, 0), |(h, t)| (h as usize, t as usize));
                    write(at + send, head);
                    write(at + send + 8, tail);
                    write(at + recv, 0);
                }
                _ => {}
            }
            at += len;
        }
    }
}

/// Sizes of the nine structures, in the order of [`Templates`].
const STRUCT_SIZES: [usize; 9] = [
    size_of::<NEIGHBOR_OFFLOAD_STATE_CONST>(),
    size_of::<NEIGHBOR_OFFLOAD_STATE_CACHED>(),
    size_of::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>(),
    size_of::<PATH_OFFLOAD_STATE_CONST>(),
    size_of::<PATH_OFFLOAD_STATE_CACHED>(),
    size_of::<PATH_OFFLOAD_STATE_DELEGATED>(),
    size_of::<TCP_OFFLOAD_STATE_CONST>(),
    size_of::<TCP_OFFLOAD_STATE_CACHED>(),
    size_of::<TCP_OFFLOAD_STATE_DELEGATED>(),
];

fn run_steps(capacity: u32, steps: &[Step]) {
    let mut sim = loaded();
    sim.set_config("TcpConnectionOffloadCapacity", capacity);
    assert_eq!(sim.initialize_adapter(), NDIS_STATUS_SUCCESS);
    let templates = Templates::new();
    let mut ledger = Ledger {
        contexts: Vec::new(),
        addresses: Vec::new(),
        chains: Vec::new(),
        counter: 0,
    };
    let mut trees = Vec::new();
    for step in steps {
        let mut b = Builder {
            templates: &templates,
            ledger: &mut ledger,
            tree: Tree::new(),
            built: Vec::new(),
        };
        let Some(root) = b.chain(step.op, &step.roots, 0) else {
            continue;
        };
        let (tree, built) = (b.tree, b.built);
        let op = match step.op {
            OpKind::Initiate => StateOpKind::Initiate,
            OpKind::Terminate => StateOpKind::Terminate,
            OpKind::Update => StateOpKind::Update,
            OpKind::Query => StateOpKind::Query,
            OpKind::Invalidate => StateOpKind::Invalidate,
        };
        run(&sim, op, &tree, root);
        for (i, blk) in built.iter().enumerate() {
            let st = tree.status(blk.id);
            assert!(
                ALLOWED.contains(&st),
                "{op:?} block {i}: status {st:#x} (PENDING is {NDIS_STATUS_PENDING:#x})"
            );
            let slot = tree.context(blk.id);
            match blk.role {
                Role::New if op == StateOpKind::Initiate && succeeded(st) => {
                    assert_ne!(slot, 0, "block {i}: offloaded without a context");
                    ledger.contexts.push(slot);
                }
                Role::New | Role::Placeholder => {
                    assert_eq!(slot, 0, "{op:?} block {i} ({st:#x}): context written");
                }
                Role::Reference(v) => assert_eq!(slot, v, "block {i}: referenced slot changed"),
            }
        }
        sim.assert_clean();
        trees.push(tree);
    }
    teardown(&sim, &ledger.contexts);
    drop(trees);
    finish(sim);
}

/// Terminate every object ever offloaded, connections first: the live ones
/// succeed, the ones already gone fail, and then nothing is left.
fn teardown(sim: &ndis_sim::Simulator, contexts: &[usize]) {
    let mut term = Tree::new();
    for kind in [3u64, 2, 1] {
        let mut prev = None;
        let mut first = None;
        for &ctx in contexts {
            if (ctx as u64 >> 28) & 0xF != kind {
                continue;
            }
            let b = match kind {
                3 => crate::common::tree::term_tcp(&mut term, ctx),
                2 => crate::common::tree::term_path(&mut term, ctx),
                _ => crate::common::tree::term_neighbor(&mut term, ctx),
            };
            if let Some(p) = prev {
                term.next(p, b);
            }
            first.get_or_insert(b);
            prev = Some(b);
        }
        if let Some(f) = first {
            run(sim, StateOpKind::Terminate, &term, f);
        }
    }
    assert_eq!(live(sim), (0, 0, 0), "everything terminated");
    sim.assert_clean();
}
