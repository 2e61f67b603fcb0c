//! Builders for the C structures NDIS hands a driver, in their true layouts:
//! NET_BUFFER_LIST / NET_BUFFER / MDL chains carrying real bytes, and offload
//! state trees (block lists followed by their state structures). A builder
//! owns all the memory it hands out; pointers stay valid while it lives.

use chimney_miniport::ffi::*;

/// Memory of one NBL chain: every NBL, NET_BUFFER, MDL and data buffer.
pub struct NblChain {
    nbls: Vec<Box<NET_BUFFER_LIST>>,
    nbs: Vec<Box<NET_BUFFER>>,
    mdls: Vec<Box<MDL>>,
    data: Vec<Box<[u8]>>,
}

/// Shape of one NET_BUFFER: its payload split into MDLs, plus an unused
/// prefix in the first MDL (`CurrentMdlOffset`/`DataOffset`).
#[derive(Clone, Debug)]
pub struct NbSpec {
    /// Sizes of the MDLs holding the payload (the payload is cut to fit them).
    pub mdl_sizes: Vec<usize>,
    /// Bytes before the data in the first MDL.
    pub offset: usize,
}

impl NblChain {
    /// Build a chain: one NBL per entry, each with the given NET_BUFFERs;
    /// `payload(nbl, nb)` gives the bytes of each NET_BUFFER. Every MDL is
    /// mapped to system space.
    pub fn build(shape: &[Vec<NbSpec>], payload: impl FnMut(usize, usize) -> Vec<u8>) -> NblChain {
        NblChain::build_with(shape, payload, true)
    }

    /// As [`NblChain::build`]; with `mapped` false no MDL is mapped: its
    /// flags lack `MDL_MAPPED_TO_SYSTEM_VA` (only `MDL_PAGES_LOCKED`),
    /// `MappedSystemVa` is NULL, and `StartVa` (page-aligned) + `ByteOffset`
    /// describe the buffer, so the driver must call MmMapLockedPagesSpecifyCache.
    pub fn build_with(
        shape: &[Vec<NbSpec>],
        mut payload: impl FnMut(usize, usize) -> Vec<u8>,
        mapped: bool,
    ) -> NblChain {
        let mut c = NblChain {
            nbls: Vec::new(),
            nbs: Vec::new(),
            mdls: Vec::new(),
            data: Vec::new(),
        };
        for (i, nbs) in shape.iter().enumerate() {
            // SAFETY: all-zero is a valid empty NBL (NULL links, zero fields).
            let mut nbl: Box<NET_BUFFER_LIST> = Box::new(unsafe { std::mem::zeroed() });
            let mut prev_nb: *mut NET_BUFFER = std::ptr::null_mut();
            for (j, spec) in nbs.iter().enumerate() {
                let bytes = payload(i, j);
                let nb = c.net_buffer(&bytes, spec, mapped);
                if prev_nb.is_null() {
                    nbl.NetBufferListHeader.NetBufferListData.FirstNetBuffer = nb;
                } else {
                    // SAFETY: prev_nb points into a Box this builder owns.
                    unsafe { (*prev_nb).NetBufferHeader.NetBufferData.Next = nb };
                }
                prev_nb = nb;
            }
            let p: *mut NET_BUFFER_LIST = &mut *nbl;
            if let Some(last) = c.nbls.last_mut() {
                last.NetBufferListHeader.NetBufferListData.Next = p;
            }
            c.nbls.push(nbl);
        }
        c
    }

    /// One NBL with one NET_BUFFER holding `bytes` in a single MDL.
    pub fn single(bytes: &[u8]) -> NblChain {
        NblChain::single_with(bytes, true)
    }

    /// As [`NblChain::single`], mapped or not (see [`NblChain::build_with`]).
    pub fn single_with(bytes: &[u8], mapped: bool) -> NblChain {
        let b = bytes.to_vec();
        NblChain::build_with(
            &[vec![NbSpec {
                mdl_sizes: vec![bytes.len().max(1)],
                offset: 0,
            }]],
            move |_, _| b.clone(),
            mapped,
        )
    }

    fn net_buffer(&mut self, bytes: &[u8], spec: &NbSpec, mapped: bool) -> *mut NET_BUFFER {
        // SAFETY: all-zero is a valid empty NET_BUFFER.
        let mut nb: Box<NET_BUFFER> = Box::new(unsafe { std::mem::zeroed() });
        let mut first: *mut MDL = std::ptr::null_mut();
        let mut prev: *mut MDL = std::ptr::null_mut();
        let mut at = 0usize;
        for (k, &size) in spec.mdl_sizes.iter().enumerate() {
            let lead = if k == 0 { spec.offset } else { 0 };
            let mut buf = vec![0xCCu8; lead + size].into_boxed_slice();
            let take = size.min(bytes.len().saturating_sub(at));
            buf[lead..lead + take].copy_from_slice(&bytes[at..at + take]);
            at += take;
            // SAFETY: all-zero is a valid MDL to fill in.
            let mut mdl: Box<MDL> = Box::new(unsafe { std::mem::zeroed() });
            mdl.ByteCount = buf.len() as ULONG;
            if mapped {
                mdl.MappedSystemVa = buf.as_mut_ptr().cast();
                mdl.StartVa = buf.as_mut_ptr().cast();
                mdl.ByteOffset = 0;
                mdl.MdlFlags = (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL) as _;
            } else {
                // Locked pages, no system mapping: the page base and the
                // offset of the buffer in it, as the memory manager keeps them.
                let addr = buf.as_mut_ptr();
                let in_page = addr as usize & (PAGE_SIZE - 1);
                mdl.MappedSystemVa = std::ptr::null_mut();
                mdl.StartVa = addr.wrapping_sub(in_page).cast();
                mdl.ByteOffset = in_page as ULONG;
                mdl.MdlFlags = MDL_PAGES_LOCKED;
            }
            let m: *mut MDL = &mut *mdl;
            if prev.is_null() {
                first = m;
            } else {
                // SAFETY: prev is one of our boxed MDLs.
                unsafe { (*prev).Next = m };
            }
            prev = m;
            self.mdls.push(mdl);
            self.data.push(buf);
        }
        nb.NetBufferHeader.NetBufferData.MdlChain = first;
        nb.NetBufferHeader.NetBufferData.CurrentMdl = first;
        nb.NetBufferHeader.NetBufferData.CurrentMdlOffset = spec.offset as ULONG;
        nb.NetBufferHeader.NetBufferData.DataOffset = spec.offset as ULONG;
        nb.NetBufferHeader.NetBufferData.NbDataLength.DataLength = at as ULONG;
        let p: *mut NET_BUFFER = &mut *nb;
        self.nbs.push(nb);
        p
    }

    /// (address, length) of every data buffer the chain's MDLs describe,
    /// so a test can overwrite the host's bytes from a hook.
    pub fn data_ranges(&self) -> Vec<(usize, usize)> {
        self.data
            .iter()
            .map(|d| (d.as_ptr() as usize, d.len()))
            .collect()
    }

    /// The first NBL of the chain.
    pub fn head(&self) -> PNET_BUFFER_LIST {
        self.nbls.first().map_or(std::ptr::null_mut(), |b| {
            (&**b as *const NET_BUFFER_LIST).cast_mut()
        })
    }

    /// Every NBL, in chain order.
    pub fn nbls(&self) -> Vec<PNET_BUFFER_LIST> {
        self.nbls
            .iter()
            .map(|b| (&**b as *const NET_BUFFER_LIST).cast_mut())
            .collect()
    }

    /// The payload bytes of NET_BUFFER `nb` of NBL `nbl`, read through the MDLs
    /// from `CurrentMdl`/`CurrentMdlOffset` for `DataLength` bytes.
    pub fn payload(&self, nbl: usize, nb: usize) -> Vec<u8> {
        // SAFETY: reading the union member the builder wrote.
        let mut p = unsafe {
            self.nbls[nbl]
                .NetBufferListHeader
                .NetBufferListData
                .FirstNetBuffer
        };
        for _ in 0..nb {
            // SAFETY: our boxed NET_BUFFERs.
            p = unsafe { (*p).NetBufferHeader.NetBufferData.Next };
        }
        // SAFETY: our NET_BUFFER and MDLs, live while the builder is.
        unsafe { read_net_buffer(p) }
    }
}

/// Page size of the simulated machine (for unmapped MDLs' `StartVa`).
pub const PAGE_SIZE: usize = 4096;

/// Read the data a NET_BUFFER describes (simulator-side view of the bytes).
/// An unmapped MDL is read through `StartVa + ByteOffset`.
///
/// # Safety
/// `nb` must be a valid NET_BUFFER whose MDLs describe live buffers.
pub unsafe fn read_net_buffer(nb: *const NET_BUFFER) -> Vec<u8> {
    let mut out = Vec::new();
    // SAFETY: caller contract.
    unsafe {
        let d = &(*nb).NetBufferHeader.NetBufferData;
        let mut left = d.NbDataLength.DataLength as usize;
        let mut mdl = d.CurrentMdl;
        let mut off = d.CurrentMdlOffset as usize;
        while left > 0 && !mdl.is_null() {
            let m = &*mdl;
            let base = if m.MappedSystemVa.is_null() {
                m.StartVa.cast::<u8>().wrapping_add(m.ByteOffset as usize)
            } else {
                m.MappedSystemVa.cast::<u8>()
            };
            let len = (m.ByteCount as usize).saturating_sub(off);
            let take = len.min(left);
            out.extend_from_slice(std::slice::from_raw_parts(base.add(off), take));
            left -= take;
            off = 0;
            mdl = m.Next;
        }
    }
    out
}

/// The role of a block in a state tree (spec §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `MiniportOffloadContext` NULL: no state, only links.
    Placeholder,
    /// Slot holding an existing context value (linker, or target of a
    /// terminate/update/query/invalidate).
    Reference(usize),
    /// Slot holding NULL: a new offload; the state structures follow.
    New,
}

/// Index of a block in a [`Tree`].
pub type BlockId = usize;

/// An offload state tree: each block list is followed in memory by its state
/// structures (copied in as given), and owns a context slot.
/// The next `NdisOffloadHandle` a built block gets.
static NEXT_OFFLOAD_HANDLE: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0x0FF1_0000);

pub struct Tree {
    blocks: Vec<Box<[u64]>>,
    slots: Vec<Box<PVOID>>,
    addresses: Vec<Box<[u8; 16]>>,
}

// SAFETY: a Tree owns every allocation its internal pointers point into
// (boxed blocks, slots and addresses), so moving it to another thread moves
// all of that memory with it.
unsafe impl Send for Tree {}

// SAFETY: likewise, an NblChain owns its NBLs, NET_BUFFERs, MDLs and data.
unsafe impl Send for NblChain {}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    pub fn new() -> Self {
        Tree {
            blocks: Vec::new(),
            slots: Vec::new(),
            addresses: Vec::new(),
        }
    }

    /// Add a block of `Header.Type` `ty` followed by `states` (each a complete
    /// state structure, its `OFFLOAD_STATE_HEADER.Length` already set).
    pub fn block(&mut self, ty: u8, role: Role, states: &[&[u8]]) -> BlockId {
        let head = size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>();
        let total: usize = head
            + states
                .iter()
                .map(|s| s.len().next_multiple_of(8))
                .sum::<usize>();
        let mut mem = vec![0u64; total / 8].into_boxed_slice();
        let base = mem.as_mut_ptr().cast::<u8>();
        let mut at = head;
        for s in states {
            // SAFETY: `at + s.len()` fits in the allocation computed above.
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), base.add(at), s.len()) };
            // Consecutive structures sit `Length` bytes apart; the host pads
            // each to 8 bytes (so pointer members stay aligned) and says so in Length.
            let padded = s.len().next_multiple_of(8);
            if s.len() >= 4 {
                // SAFETY: the structure's header starts at `at` in our allocation.
                unsafe { base.add(at).cast::<u32>().write_unaligned(padded as u32) };
            }
            at += padded;
        }
        let mut slot = Box::new(match role {
            Role::Reference(v) => v as PVOID,
            _ => std::ptr::null_mut(),
        });
        let b = base.cast::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>();
        // SAFETY: `b` is the start of our zeroed, 8-aligned allocation.
        unsafe {
            (*b).Header = NDIS_OBJECT_HEADER::new(ty, 1, head);
            (*b).Status = NDIS_STATUS_PENDING;
            (*b).MiniportOffloadContext = if role == Role::Placeholder {
                std::ptr::null_mut()
            } else {
                &mut *slot
            };
            // Unique across every tree of the process, as NDIS's own handles are.
            (*b).NdisOffloadHandle = NEXT_OFFLOAD_HANDLE
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                as NDIS_HANDLE;
        }
        self.blocks.push(mem);
        self.slots.push(slot);
        self.blocks.len() - 1
    }

    /// The `NdisOffloadHandle` the host put in block `id`.
    pub fn offload_handle(&self, id: BlockId) -> usize {
        // SAFETY: our own block.
        unsafe { (*self.ptr(id)).NdisOffloadHandle as usize }
    }

    /// The block list of `id`.
    pub fn ptr(&self, id: BlockId) -> PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
        self.blocks[id].as_ptr().cast_mut().cast()
    }

    /// `a.NextBlock = b`.
    pub fn next(&mut self, a: BlockId, b: BlockId) {
        let pb = self.ptr(b);
        // SAFETY: our block.
        unsafe { (*self.ptr(a)).NextBlock = pb };
    }

    /// `parent.DependentBlockList = child`.
    pub fn dependent(&mut self, parent: BlockId, child: BlockId) {
        let pc = self.ptr(child);
        // SAFETY: our block.
        unsafe { (*self.ptr(parent)).DependentBlockList = pc };
    }

    /// The status the target wrote into `id`.
    pub fn status(&self, id: BlockId) -> NDIS_STATUS {
        // SAFETY: our block.
        unsafe { (*self.ptr(id)).Status }
    }

    /// The value in `id`'s context slot (what the target wrote, for a new offload).
    pub fn context(&self, id: BlockId) -> usize {
        *self.slots[id] as usize
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// The bytes of a state structure.
pub fn bytes_of<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: viewing a plain C value's storage as bytes.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()).to_vec() }
}

fn header<T>() -> OFFLOAD_STATE_HEADER {
    OFFLOAD_STATE_HEADER {
        Length: size_of::<T>() as u32,
        RecognizedOptions: 0,
    }
}

/// A TCP connection's state at offload: const, cached, delegated.
#[derive(Clone, Copy)]
pub struct TcpSpec {
    pub konst: TCP_OFFLOAD_STATE_CONST,
    pub cached: TCP_OFFLOAD_STATE_CACHED,
    pub delegated: TCP_OFFLOAD_STATE_DELEGATED,
}

impl TcpSpec {
    /// An established connection between `local` and `remote` ports, with
    /// plausible sequence numbers, windows and timers.
    pub fn established(local: u16, remote: u16) -> Self {
        let mut konst = TCP_OFFLOAD_STATE_CONST {
            Header: header::<TCP_OFFLOAD_STATE_CONST>(),
            ..Default::default()
        };
        konst.Flags = TCP_FLAG_TIMESTAMP_ENABLED | TCP_FLAG_WINDOW_SCALING_ENABLED;
        konst.LocalPort = local;
        konst.RemotePort = remote;
        konst.set_SndWindScale(7);
        konst.set_RcvWindScale(8);
        konst.RemoteMss = 1460;
        konst.HashValue = 0x1234_5678 ^ u32::from(local);
        let mut cached = TCP_OFFLOAD_STATE_CACHED {
            Header: header::<TCP_OFFLOAD_STATE_CACHED>(),
            ..Default::default()
        };
        cached.Flags = TCP_FLAG_NAGLING_ENABLED;
        cached.InitialRcvWnd = 65_535;
        cached.RcvIndicationSize = 0;
        cached.KaProbeCount = 10;
        cached.KaTimeout = 7_200_000;
        cached.KaInterval = 1_000;
        cached.MaxRT = 0;
        cached.TtlOrHopLimit = 128;
        // SAFETY: all-zero is a valid delegated state value.
        let mut d: TCP_OFFLOAD_STATE_DELEGATED = unsafe { std::mem::zeroed() };
        d.Header = header::<TCP_OFFLOAD_STATE_DELEGATED>();
        d.State = TcpConnectionEstablished;
        d.RcvNxt = 1_000_001;
        d.RcvWnd = 65_535;
        d.SndUna = 5_000_001;
        d.SndNxt = 5_000_001;
        d.SndMax = 5_000_001;
        d.SndWnd = 64_240;
        d.MaxSndWnd = 64_240;
        d.SendWL1 = 1_000_001;
        d.CWnd = 14_600;
        d.SsThresh = 0xFFFF_FFFF;
        d.SRtt = 8 * 20;
        d.RttVar = 4 * 5;
        d.TsRecent = 777;
        d.TsRecentAge = 3;
        d.TsTime = 123_456;
        d.KeepAlive.TimeoutDelta = 0xFFFF_FFFF;
        d.Retransmit.TimeoutDelta = 0xFFFF_FFFF;
        TcpSpec {
            konst,
            cached,
            delegated: d,
        }
    }
}

impl Tree {
    /// A placeholder block (no context slot, no state).
    pub fn placeholder(&mut self) -> BlockId {
        self.block(0, Role::Placeholder, &[])
    }

    /// A block naming an existing object by its context value, followed by
    /// `states` (e.g. delegated structures to fill on terminate).
    pub fn reference(&mut self, ty: u8, context: usize, states: &[&[u8]]) -> BlockId {
        self.block(ty, Role::Reference(context), states)
    }

    /// A new neighbor (type NeighborOffloadState) with `dl_source` (all-zero
    /// for "the interface's MAC"), `vlan` and next-hop MAC `dl_dest`.
    pub fn new_neighbor(&mut self, dl_source: [u8; 6], vlan: u32, dl_dest: [u8; 6]) -> BlockId {
        let mut k = NEIGHBOR_OFFLOAD_STATE_CONST {
            Header: header::<NEIGHBOR_OFFLOAD_STATE_CONST>(),
            DlSourceAddress: [0; 32],
            _bitfield_1: 0,
        };
        k.DlSourceAddress[..6].copy_from_slice(&dl_source);
        k.set_VlanId(vlan);
        let mut c = NEIGHBOR_OFFLOAD_STATE_CACHED {
            Header: header::<NEIGHBOR_OFFLOAD_STATE_CACHED>(),
            DlDestinationAddress: [0; 32],
            HostReachabilityDelta: 5,
        };
        c.DlDestinationAddress[..6].copy_from_slice(&dl_dest);
        let d = NEIGHBOR_OFFLOAD_STATE_DELEGATED {
            Header: header::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>(),
            NicReachabilityDelta: 5,
        };
        self.block(
            NeighborOffloadState,
            Role::New,
            &[&bytes_of(&k), &bytes_of(&c), &bytes_of(&d)],
        )
    }

    /// A new IPv4 path between `src` and `dst` with `mtu`.
    pub fn new_path4(&mut self, src: [u8; 4], dst: [u8; 4], mtu: u32) -> BlockId {
        self.new_path(Ip4OffloadState, &src, &dst, mtu)
    }

    /// A new IPv6 path.
    pub fn new_path6(&mut self, src: [u8; 16], dst: [u8; 16], mtu: u32) -> BlockId {
        self.new_path(Ip6OffloadState, &src, &dst, mtu)
    }

    fn new_path(&mut self, ty: u8, src: &[u8], dst: &[u8], mtu: u32) -> BlockId {
        let mut s = Box::new([0u8; 16]);
        let mut d = Box::new([0u8; 16]);
        s[..src.len()].copy_from_slice(src);
        d[..dst.len()].copy_from_slice(dst);
        let k = PATH_OFFLOAD_STATE_CONST {
            Header: header::<PATH_OFFLOAD_STATE_CONST>(),
            SourceAddress: s.as_ptr(),
            DestinationAddress: d.as_ptr(),
        };
        self.addresses.push(s);
        self.addresses.push(d);
        let c = PATH_OFFLOAD_STATE_CACHED {
            Header: header::<PATH_OFFLOAD_STATE_CACHED>(),
            PathMtu: mtu,
        };
        let dl = PATH_OFFLOAD_STATE_DELEGATED {
            Header: header::<PATH_OFFLOAD_STATE_DELEGATED>(),
        };
        self.block(
            ty,
            Role::New,
            &[&bytes_of(&k), &bytes_of(&c), &bytes_of(&dl)],
        )
    }

    /// A new TCP connection.
    pub fn new_tcp(&mut self, spec: &TcpSpec) -> BlockId {
        self.block(
            TcpOffloadState,
            Role::New,
            &[
                &bytes_of(&spec.konst),
                &bytes_of(&spec.cached),
                &bytes_of(&spec.delegated),
            ],
        )
    }

    /// Set the block's `NetBufferListChain` (send data handed over).
    pub fn set_chain(&mut self, id: BlockId, chain: PNET_BUFFER_LIST) {
        // SAFETY: our block.
        unsafe { (*self.ptr(id)).NetBufferListChain = chain };
    }

    /// The block's `NetBufferListChain` after the operation.
    pub fn chain(&self, id: BlockId) -> PNET_BUFFER_LIST {
        // SAFETY: our block.
        unsafe { (*self.ptr(id)).NetBufferListChain }
    }

    /// Byte offset of the `i`-th state structure after block `id`
    /// (each follows the previous one by its `Length`).
    fn state_offset(&self, id: BlockId, i: usize) -> usize {
        let base = self.blocks[id].as_ptr().cast::<u8>();
        let mut at = size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>();
        for _ in 0..i {
            // SAFETY: walking our own allocation by each structure's Length.
            let len = unsafe {
                base.add(at)
                    .cast::<OFFLOAD_STATE_HEADER>()
                    .read_unaligned()
                    .Length
            } as usize;
            at += len;
        }
        at
    }

    /// Read the `i`-th state structure after block `id` (as the target left it).
    pub fn state<T: Copy>(&self, id: BlockId, i: usize) -> T {
        let at = self.state_offset(id, i);
        // SAFETY: reading a structure this builder wrote there.
        unsafe {
            self.blocks[id]
                .as_ptr()
                .cast::<u8>()
                .add(at)
                .cast::<T>()
                .read_unaligned()
        }
    }

    /// Overwrite the `Length` of the `i`-th state structure (to make it malformed).
    pub fn set_state_length(&mut self, id: BlockId, i: usize, length: u32) {
        let at = self.state_offset(id, i);
        // SAFETY: writing the Length of a header this builder placed.
        unsafe {
            self.blocks[id]
                .as_mut_ptr()
                .cast::<u8>()
                .add(at)
                .cast::<u32>()
                .write_unaligned(length)
        };
    }

    /// Set `Header.Type` / `Header.Size` of a block.
    pub fn set_header(&mut self, id: BlockId, ty: u8, size: u16) {
        // SAFETY: our block.
        unsafe {
            (*self.ptr(id)).Header = NDIS_OBJECT_HEADER {
                Type: ty,
                Revision: 1,
                Size: size,
            }
        };
    }
}

/// A tree copied into its own pages, which can be made inaccessible: after
/// [`GuardedTree::revoke`] any read or write of a block or state structure
/// faults. Used to prove a driver never touches a tree after completing it.
pub struct GuardedTree {
    base: *mut u8,
    len: usize,
    /// Start of each block inside the region, by `BlockId`.
    offsets: Vec<usize>,
    /// The context slots stay in the original tree (they are the host's).
    _source: Tree,
}

impl GuardedTree {
    /// Copy `tree` (blocks and state structures) into fresh pages, relinking
    /// `NextBlock` / `DependentBlockList` to the copies.
    pub fn new(tree: Tree) -> GuardedTree {
        let page = 4096usize;
        let sizes: Vec<usize> = tree.blocks.iter().map(|b| b.len() * 8).collect();
        let total: usize = sizes.iter().sum::<usize>().next_multiple_of(page).max(page);
        // SAFETY: an anonymous private mapping of `total` bytes.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED, "mmap");
        let base = base.cast::<u8>();
        let mut offsets = Vec::with_capacity(sizes.len());
        let mut at = 0usize;
        for (b, &len) in tree.blocks.iter().zip(&sizes) {
            // SAFETY: copying one block (with its states) into the mapping.
            unsafe { std::ptr::copy_nonoverlapping(b.as_ptr().cast::<u8>(), base.add(at), len) };
            offsets.push(at);
            at += len;
        }
        let old: Vec<usize> = (0..tree.len()).map(|i| tree.ptr(i) as usize).collect();
        let relink = |p: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST| -> PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
            match old.iter().position(|&o| o == p as usize) {
                // SAFETY: the offset is inside the mapping.
                Some(i) => unsafe { base.add(offsets[i]).cast() },
                None => p,
            }
        };
        for &off in &offsets {
            // SAFETY: each copied block starts at `off` in the mapping.
            unsafe {
                let b = base.add(off).cast::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>();
                (*b).NextBlock = relink((*b).NextBlock);
                (*b).DependentBlockList = relink((*b).DependentBlockList);
            }
        }
        GuardedTree {
            base,
            len: total,
            offsets,
            _source: tree,
        }
    }

    /// The copied block `id`.
    pub fn ptr(&self, id: BlockId) -> PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
        // SAFETY: the offset is inside the mapping.
        unsafe { self.base.add(self.offsets[id]).cast() }
    }

    /// Status of block `id` (only while not revoked).
    pub fn status(&self, id: BlockId) -> NDIS_STATUS {
        // SAFETY: our mapping, still accessible.
        unsafe { (*self.ptr(id)).Status }
    }

    /// The context slot value of block `id` (slots are outside the guarded pages).
    pub fn context(&self, id: BlockId) -> usize {
        self._source.context(id)
    }

    /// Address range of the pages.
    pub fn range(&self) -> (usize, usize) {
        (self.base as usize, self.len)
    }

    /// Make every page inaccessible.
    pub fn revoke(&self) {
        // SAFETY: our own mapping.
        unsafe { libc::mprotect(self.base.cast(), self.len, libc::PROT_NONE) };
    }

    /// Make the pages accessible again.
    pub fn restore(&self) {
        // SAFETY: our own mapping.
        unsafe {
            libc::mprotect(
                self.base.cast(),
                self.len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
    }
}

impl Drop for GuardedTree {
    fn drop(&mut self) {
        // SAFETY: unmapping the region mapped in `new`.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// Revoke access to a guarded region from inside a completion hook.
pub fn revoke_range(base: usize, len: usize) {
    // SAFETY: the caller passes a range from `GuardedTree::range`.
    unsafe { libc::mprotect(base as *mut libc::c_void, len, libc::PROT_NONE) };
}

/// Restore access to a guarded region.
pub fn restore_range(base: usize, len: usize) {
    // SAFETY: as above.
    unsafe {
        libc::mprotect(
            base as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
        )
    };
}
