//! The offload table: preallocated pools of neighbor, path and TCP objects,
//! the links between them, and the objects whose release waits for a
//! terminate completion. Nothing here allocates after `OffloadTable::new`.

use super::handle::{ObjKind, ObjRef};
use super::objects::{Common, Neighbor, Path, Tcp};
use super::slots::{Slot, Slots, Stale};
use crate::ffi::{NDIS_STATUS, NDIS_STATUS_RESOURCES, ULONG};
use crate::ndis::{NdisHandle, PoolSlice};

pub type Pool<T> = Slots<PoolSlice<Slot<T>>, T>;

/// Admission settings of the interface (registry and current configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    pub ipv4: bool,
    pub ipv6: bool,
    /// Interface VLAN id (0 = none configured).
    pub vlan_id: u16,
    /// The interface MAC: the only source MAC the target can send with.
    pub mac: [u8; 6],
    /// Largest `InitialRcvWnd` accepted.
    pub max_rcv_window: u32,
}

/// Pool tags.
pub const TAG_NEIGHBORS: ULONG = u32::from_le_bytes(*b"CmNb");
pub const TAG_PATHS: ULONG = u32::from_le_bytes(*b"CmPa");
pub const TAG_TCPS: ULONG = u32::from_le_bytes(*b"CmTc");
pub const TAG_PENDING: ULONG = u32::from_le_bytes(*b"CmPe");

/// All offloaded objects of one adapter.
pub struct OffloadTable {
    pub neighbors: Pool<Neighbor>,
    pub paths: Pool<Path>,
    pub tcps: Pool<Tcp>,
    /// Source of context generations: strictly increasing, never 0, so a
    /// context value is never issued twice (and values show offload order).
    seq: u32,
    /// Terminated objects to release once the completion call has returned.
    pending: PoolSlice<Option<ObjRef>>,
    pending_len: usize,
    pub admission: Admission,
    /// Walks started so far: each walk marks the blocks it reaches with a
    /// value derived from this, so no two walks share a mark.
    walks: usize,
}

impl OffloadTable {
    /// Neighbor slots for `capacity` connections: next hops are few (a
    /// gateway or an on-link peer each), so a quarter plus a floor of 16.
    pub fn neighbor_capacity(capacity: usize) -> usize {
        capacity / 4 + 16
    }

    /// Preallocate pools for `capacity` connections, as many paths (one
    /// destination per connection at worst) and `neighbor_capacity` neighbors.
    pub fn new(
        handle: NdisHandle,
        capacity: usize,
        admission: Admission,
    ) -> Result<Self, NDIS_STATUS> {
        let n_neighbors = Self::neighbor_capacity(capacity);
        let neighbors =
            PoolSlice::try_new_with(handle, TAG_NEIGHBORS, n_neighbors, |_| Slot::empty())?;
        let paths = PoolSlice::try_new_with(handle, TAG_PATHS, capacity, |_| Slot::empty())?;
        let tcps = PoolSlice::try_new_with(handle, TAG_TCPS, capacity, |_| Slot::empty())?;
        let total = capacity
            .checked_mul(2)
            .and_then(|c| c.checked_add(n_neighbors))
            .ok_or(NDIS_STATUS_RESOURCES)?;
        let pending = PoolSlice::try_new_with(handle, TAG_PENDING, total, |_| None)?;
        Ok(OffloadTable {
            neighbors: Slots::new(ObjKind::Neighbor, neighbors),
            paths: Slots::new(ObjKind::Path, paths),
            tcps: Slots::new(ObjKind::Tcp, tcps),
            seq: 0,
            pending,
            pending_len: 0,
            admission,
            walks: 0,
        })
    }

    /// The next context generation.
    /// A mark no earlier walk used (and not a small value or a pointer a
    /// zero-filled or reused block is likely to hold).
    pub fn next_walk_mark(&mut self) -> usize {
        self.walks = self.walks.wrapping_add(1);
        (self.walks << 1 | 1) ^ (0xC4A3_5EED_u32 as usize).rotate_right(8)
    }

    pub fn next_generation(&mut self) -> u32 {
        self.seq = match self.seq.wrapping_add(1) {
            0 => 1,
            g => g,
        };
        self.seq
    }

    /// Live connections.
    pub fn connections(&self) -> u32 {
        self.tcps.live()
    }

    /// Bookkeeping of a live object.
    pub fn common(&self, r: ObjRef) -> Result<&Common, Stale> {
        match r.kind {
            ObjKind::Neighbor => self.neighbors.get(r).map(|o| &o.common),
            ObjKind::Path => self.paths.get(r).map(|o| &o.common),
            ObjKind::Tcp => self.tcps.get(r).map(|o| &o.common),
        }
    }

    pub fn common_mut(&mut self, r: ObjRef) -> Result<&mut Common, Stale> {
        match r.kind {
            ObjKind::Neighbor => self.neighbors.get_mut(r).map(|o| &mut o.common),
            ObjKind::Path => self.paths.get_mut(r).map(|o| &mut o.common),
            ObjKind::Tcp => self.tcps.get_mut(r).map(|o| &mut o.common),
        }
    }

    /// A reference the host may still use: issued by us, not yet terminated.
    pub fn usable(&self, r: ObjRef) -> bool {
        self.common(r).is_ok_and(|c| !c.terminated)
    }

    /// The object a path or connection links to.
    pub fn parent_of(&self, r: ObjRef) -> Option<ObjRef> {
        match r.kind {
            ObjKind::Neighbor => None,
            ObjKind::Path => self.paths.get(r).ok().map(|p| p.neighbor),
            ObjKind::Tcp => self.tcps.get(r).ok().map(|t| t.path),
        }
    }

    /// Add a reference from a new dependent to `parent`.
    pub fn add_ref(&mut self, parent: ObjRef) {
        if let Ok(c) = self.common_mut(parent) {
            c.refs = c.refs.saturating_add(1);
        }
    }

    /// Drop a dependent's reference; a terminated parent with no dependents
    /// left is released (and so on up the tree).
    pub fn drop_ref(&mut self, parent: ObjRef) {
        let release = match self.common_mut(parent) {
            Ok(c) => {
                c.refs = c.refs.saturating_sub(1);
                c.terminated && c.refs == 0
            }
            Err(_) => false,
        };
        if release {
            self.release(parent);
        }
    }

    /// Remove an object from its pool and drop its reference on its parent.
    fn release(&mut self, r: ObjRef) {
        let parent = self.parent_of(r);
        let removed = match r.kind {
            ObjKind::Neighbor => self.neighbors.remove(r).is_ok(),
            ObjKind::Path => self.paths.remove(r).is_ok(),
            ObjKind::Tcp => self.tcps.remove(r).is_ok(),
        };
        if let (true, Some(p)) = (removed, parent) {
            self.drop_ref(p);
        }
    }

    /// Mark `r` terminated (its context is stale for the host from now on)
    /// and queue its release for after the completion call.
    pub fn terminate(&mut self, r: ObjRef) {
        if let Ok(c) = self.common_mut(r) {
            c.terminated = true;
        }
        if let Some(slot) = self.pending.get_mut(self.pending_len) {
            *slot = Some(r);
            self.pending_len += 1;
        }
    }

    /// True if the connection, its path or its neighbor is invalidated.
    pub fn tcp_uses_invalid(&self, t: &Tcp) -> bool {
        let path = self.paths.get(t.path).ok();
        let neighbor = path.and_then(|p| self.neighbors.get(p.neighbor).ok());
        t.common.invalid
            || path.is_some_and(|p| p.common.invalid)
            || neighbor.is_some_and(|n| n.common.invalid)
    }

    /// Connections that depend on an invalidated object and have not been
    /// reported yet, starting at slot `from`: fills `out` with their
    /// (`NdisOffloadHandle`, slot index), marks them reported, and returns
    /// (count, next slot).
    pub fn take_invalidated(&mut self, from: usize, out: &mut [(usize, u32)]) -> (usize, usize) {
        let mut n = 0;
        let mut i = from;
        while i < self.tcps.capacity() && n < out.len() {
            let hit = self
                .tcps
                .at(i)
                .filter(|(_, t)| !t.common.upload_requested && !t.common.terminated)
                .is_some_and(|(_, t)| self.tcp_uses_invalid(t));
            if hit && let Some(t) = self.tcps.at_mut(i) {
                t.common.upload_requested = true;
                if let Some(slot) = out.get_mut(n) {
                    *slot = (t.common.offload_handle, i as u32);
                    n += 1;
                }
            }
            i += 1;
        }
        (n, i)
    }

    /// After NdisMTerminateOffloadComplete: release what was terminated,
    /// dependents before what they depend on (the reverse of the walk order).
    /// Objects something still depends on wait for their last dependent.
    pub fn finish_terminations(&mut self) {
        while self.pending_len > 0 {
            self.pending_len -= 1;
            let r = self
                .pending
                .get_mut(self.pending_len)
                .and_then(Option::take);
            if let Some(r) = r
                && self.common(r).is_ok_and(|c| c.refs == 0)
            {
                self.release(r);
            }
        }
    }
}
