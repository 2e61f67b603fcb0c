//! Checked access to an offload state tree NDIS handed us: block lists, their
//! links, their context slots, and the state structures that follow each block
//! in memory. Every structure is read and written unaligned, and only after its
//! `OFFLOAD_STATE_HEADER.Length` says it is large enough.

use crate::ffi::{
    NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NDIS_STATUS, NEIGHBOR_OFFLOAD_STATE_CACHED,
    NEIGHBOR_OFFLOAD_STATE_CONST, NEIGHBOR_OFFLOAD_STATE_DELEGATED, OFFLOAD_STATE_HEADER,
    PATH_OFFLOAD_STATE_CACHED, PATH_OFFLOAD_STATE_CONST, PATH_OFFLOAD_STATE_DELEGATED,
    PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST, PNET_BUFFER_LIST, PVOID, TCP_OFFLOAD_STATE_CACHED,
    TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_DELEGATED,
};
use core::marker::PhantomData;
use core::ptr::NonNull;

/// Largest state structure we accept (anything bigger is malformed).
const MAX_STATE_LENGTH: u32 = 4096;

/// One block of a tree that stays valid for `'t` (until its completion call).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlockRef<'t> {
    p: NonNull<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>,
    _tree: PhantomData<&'t ()>,
}

/// The role a block plays (spec §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `MiniportOffloadContext` is NULL.
    Placeholder,
    /// The slot holds a context value (linker, or object to operate on).
    Reference(usize),
    /// The slot holds NULL: offload a new object whose state follows.
    New,
}

/// Why a block's state could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

impl<'t> BlockRef<'t> {
    /// # Safety
    /// `p` must be NULL or point to a block list of a tree NDIS handed this
    /// driver, which (with every block reachable from it, their context slots
    /// and state structures) stays valid and unshared for `'t`.
    pub unsafe fn new(p: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST) -> Option<Self> {
        NonNull::new(p).map(|p| BlockRef {
            p,
            _tree: PhantomData,
        })
    }

    fn raw(self) -> *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
        self.p.as_ptr()
    }

    pub fn addr(self) -> usize {
        self.raw() as usize
    }

    /// The next block at the same layer.
    pub fn next(self) -> Option<Self> {
        // SAFETY: `new`'s contract covers every block reachable from this one.
        unsafe { Self::new((*self.raw()).NextBlock) }
    }

    /// The first block of the next layer.
    pub fn dependent(self) -> Option<Self> {
        // SAFETY: as in `next`.
        unsafe { Self::new((*self.raw()).DependentBlockList) }
    }

    /// `Header.Type`: the state structures that follow.
    pub fn state_type(self) -> u8 {
        // SAFETY: valid block (constructor contract).
        unsafe { (*self.raw()).Header.Type }
    }

    /// `Header.Size`.
    pub fn size(self) -> u16 {
        // SAFETY: valid block.
        unsafe { (*self.raw()).Header.Size }
    }

    /// `Header.Revision`.
    pub fn revision(self) -> u8 {
        // SAFETY: valid block.
        unsafe { (*self.raw()).Header.Revision }
    }

    pub fn role(self) -> Role {
        // SAFETY: valid block; a non-NULL slot pointer points to the caller's PVOID slot.
        unsafe {
            let slot = (*self.raw()).MiniportOffloadContext;
            if slot.is_null() {
                Role::Placeholder
            } else {
                match slot.read_unaligned() as usize {
                    0 => Role::New,
                    v => Role::Reference(v),
                }
            }
        }
    }

    /// Call `f` with every non-zero context value the tree's blocks carry
    /// (referencing blocks), depth-first; cycles and deep trees are cut off
    /// by a visit bound. Reads only.
    pub fn for_each_reference(self, mut f: impl FnMut(usize)) {
        const MAX_VISITS: usize = 1 << 21;
        let mut stack: [Option<BlockRef<'t>>; 4] = [Some(self), None, None, None];
        let mut depth = 0usize;
        let mut visits = 0usize;
        loop {
            let Some(b) = stack.get(depth).copied().flatten() else {
                if depth == 0 {
                    return;
                }
                depth -= 1;
                continue;
            };
            visits += 1;
            if visits > MAX_VISITS {
                return;
            }
            if let Role::Reference(v) = b.role() {
                f(v);
            }
            if let Some(slot) = stack.get_mut(depth) {
                *slot = b.next();
            }
            if let Some(d) = b.dependent()
                && let Some(slot) = stack.get_mut(depth + 1)
            {
                *slot = Some(d);
                depth += 1;
            }
        }
    }

    /// Write the completion status of this block.
    pub fn set_status(self, status: NDIS_STATUS) {
        // SAFETY: valid block; Status is ours to write.
        unsafe { (*self.raw()).Status = status };
    }

    /// Record that the walk marked `mark` has reached this block, in
    /// `Scratch[0]` (the target's while it holds the tree).
    pub fn set_mark(self, mark: usize) {
        // SAFETY: valid block; Scratch is ours to write while we hold the tree.
        unsafe { (*self.raw()).Scratch[0] = mark as PVOID };
    }

    /// Whether the walk marked `mark` has reached this block already.
    pub fn marked(self, mark: usize) -> bool {
        // SAFETY: valid block.
        unsafe { (*self.raw()).Scratch[0] as usize == mark }
    }

    /// The status written so far (the walk reads back what it wrote).
    pub fn status(self) -> NDIS_STATUS {
        // SAFETY: valid block.
        unsafe { (*self.raw()).Status }
    }

    /// Write a context value into the slot (new offloads, on success only).
    pub fn write_context(self, value: usize) {
        // SAFETY: valid block; only called when the slot pointer is non-NULL.
        unsafe {
            let slot = (*self.raw()).MiniportOffloadContext;
            if !slot.is_null() {
                slot.write_unaligned(value as PVOID);
            }
        }
    }

    /// `NdisOffloadHandle`.
    pub fn offload_handle(self) -> usize {
        // SAFETY: valid block.
        unsafe { (*self.raw()).NdisOffloadHandle as usize }
    }

    /// `NetBufferListChain` (send data handed over / back).
    pub fn net_buffer_list_chain(self) -> PNET_BUFFER_LIST {
        // SAFETY: valid block.
        unsafe { (*self.raw()).NetBufferListChain }
    }

    pub fn set_net_buffer_list_chain(self, chain: PNET_BUFFER_LIST) {
        // SAFETY: valid block; the chain field is in/out.
        unsafe { (*self.raw()).NetBufferListChain = chain };
    }

    /// The state structures after this block, in order.
    pub fn states(self) -> Result<StateCursor<'t>, Malformed> {
        let size = usize::from(self.size());
        if size < size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>() || size > MAX_STATE_LENGTH as usize
        {
            return Err(Malformed);
        }
        Ok(StateCursor {
            at: self.addr() + size,
            _tree: PhantomData,
        })
    }
}

/// A state structure type that may follow a block.
///
/// # Safety
/// Implement only for `#[repr(C)]` state structures that start with an
/// `OFFLOAD_STATE_HEADER` and are valid for every bit pattern.
pub unsafe trait StateStruct: Copy {}
// SAFETY: repr(C) state structures of integers, arrays and raw pointers.
unsafe impl StateStruct for NEIGHBOR_OFFLOAD_STATE_CONST {}
// SAFETY: as above.
unsafe impl StateStruct for NEIGHBOR_OFFLOAD_STATE_CACHED {}
// SAFETY: as above.
unsafe impl StateStruct for NEIGHBOR_OFFLOAD_STATE_DELEGATED {}
// SAFETY: as above.
unsafe impl StateStruct for PATH_OFFLOAD_STATE_CONST {}
// SAFETY: as above.
unsafe impl StateStruct for PATH_OFFLOAD_STATE_CACHED {}
// SAFETY: as above.
unsafe impl StateStruct for PATH_OFFLOAD_STATE_DELEGATED {}
// SAFETY: as above.
unsafe impl StateStruct for TCP_OFFLOAD_STATE_CONST {}
// SAFETY: as above.
unsafe impl StateStruct for TCP_OFFLOAD_STATE_CACHED {}
// SAFETY: as above (its unions hold a pointer pair or an integer: any bits are valid).
unsafe impl StateStruct for TCP_OFFLOAD_STATE_DELEGATED {}

/// Walks the state structures following one block.
pub struct StateCursor<'t> {
    at: usize,
    _tree: PhantomData<&'t ()>,
}

/// One state structure in the host's memory.
pub struct StateRef<'t, T: StateStruct> {
    at: usize,
    _t: PhantomData<(&'t (), T)>,
}

impl<'t> StateCursor<'t> {
    /// The next structure, which must be a `T`: its `Length` must cover `T`.
    pub fn take<T: StateStruct>(&mut self) -> Result<StateRef<'t, T>, Malformed> {
        // SAFETY: the block's type promises a state structure here (contract of
        // BlockRef::new); we read only its 8-byte header before checking Length.
        let header = unsafe { (self.at as *const OFFLOAD_STATE_HEADER).read_unaligned() };
        if header.Length < size_of::<T>() as u32 || header.Length > MAX_STATE_LENGTH {
            return Err(Malformed);
        }
        let r = StateRef {
            at: self.at,
            _t: PhantomData,
        };
        self.at += header.Length as usize;
        Ok(r)
    }
}

impl<T: StateStruct> StateRef<'_, T> {
    pub fn get(&self) -> T {
        // SAFETY: Length covered T (checked in `next`); unaligned read of a Pod-like T.
        unsafe { (self.at as *const T).read_unaligned() }
    }

    /// Write `value`, keeping the host's header (Length, RecognizedOptions).
    pub fn set(&self, value: T) {
        // SAFETY: as in `get`; we overwrite the bytes after the 8-byte header only.
        unsafe {
            let src = (&value as *const T)
                .cast::<u8>()
                .add(size_of::<OFFLOAD_STATE_HEADER>());
            let dst = (self.at as *mut u8).add(size_of::<OFFLOAD_STATE_HEADER>());
            core::ptr::copy_nonoverlapping(
                src,
                dst,
                size_of::<T>() - size_of::<OFFLOAD_STATE_HEADER>(),
            );
        }
    }
}

impl StateRef<'_, PATH_OFFLOAD_STATE_CONST> {
    /// Copy the source and destination addresses (`len` = 4 or 16 bytes each).
    pub fn addresses(&self, len: usize) -> Result<([u8; 16], [u8; 16]), Malformed> {
        let c = self.get();
        if c.SourceAddress.is_null() || c.DestinationAddress.is_null() || len > 16 {
            return Err(Malformed);
        }
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        // SAFETY: the host passes addresses of `len` bytes valid during the call.
        unsafe {
            core::ptr::copy_nonoverlapping(c.SourceAddress, s.as_mut_ptr(), len);
            core::ptr::copy_nonoverlapping(c.DestinationAddress, d.as_mut_ptr(), len);
        }
        Ok((s, d))
    }
}

impl StateRef<'_, PATH_OFFLOAD_STATE_CONST> {
    /// Copy addresses into the buffers a query's structure points to.
    pub fn write_addresses(
        &self,
        source: &[u8; 16],
        destination: &[u8; 16],
        len: usize,
    ) -> Result<(), Malformed> {
        let c = self.get();
        let (Some(s), Some(d)) = (source.get(..len), destination.get(..len)) else {
            return Err(Malformed);
        };
        if c.SourceAddress.is_null() || c.DestinationAddress.is_null() {
            return Err(Malformed);
        }
        // SAFETY: the host supplies address buffers of `len` bytes for a query.
        unsafe {
            core::ptr::copy_nonoverlapping(s.as_ptr(), c.SourceAddress.cast_mut(), len);
            core::ptr::copy_nonoverlapping(d.as_ptr(), c.DestinationAddress.cast_mut(), len);
        }
        Ok(())
    }
}

/// `SendDataHead` / `SendDataTail` of an initiate's delegated state, as addresses.
pub fn send_data(d: &TCP_OFFLOAD_STATE_DELEGATED) -> (usize, usize) {
    // SAFETY: at initiate the union holds the head/tail pair; any bit pattern
    // is a valid pair of pointer values (they are not dereferenced here).
    unsafe {
        (
            d.Send.SendData.SendDataHead as usize,
            d.Send.SendData.SendDataTail as usize,
        )
    }
}

/// `BufferedData` of an initiate's delegated state, as an address.
pub fn buffered_data(d: &TCP_OFFLOAD_STATE_DELEGATED) -> usize {
    // SAFETY: at initiate the union holds the BufferedData pointer; read as a value.
    unsafe { d.Receive.BufferedData as usize }
}
