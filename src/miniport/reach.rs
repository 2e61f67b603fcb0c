//! Neighbor reachability (spec §6.14, rule 101). Per neighbor slot the
//! data path keeps two times on the NIC clock: NRT, the last forward
//! progress seen through the neighbor on any connection (an ACK of new
//! data, or new in-order data), and HRT, the last time the host vouched
//! for it (HRT = now − HostReachabilityDelta). Both are atomics, read and
//! written without locks from the data path.
//!
//! Before transmitting, a connection checks its neighbor: when both times
//! are older than `NceStaleTicks`, a `NeighborReachabilityQuery` is due.
//! The indication cannot be made there (a connection lock is held, and the
//! send handler may run at PASSIVE_LEVEL), so the neighbor is marked and
//! the receive timer is set to fire at once; its callback makes the
//! indication at DISPATCH_LEVEL with no lock held, with one
//! `NeighborOffloadState` block followed by the neighbor's const, cached
//! and delegated structures, and takes the host's answer (the
//! HostReachabilityDelta it writes into the cached structure) as the new
//! HRT. The transmission itself is not held back.

use super::adapter::Adapter;
use super::send::DataPath;
use crate::ffi::imports::NdisMOffloadEventIndicate;
use crate::ffi::*;
use crate::ndis::{NdisHandle, PoolSlice};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Pool tag of the per-neighbor reachability times.
pub const TAG_REACH: ULONG = u32::from_le_bytes(*b"CmNr");

/// `Header.Revision` of the block the target builds (no revision macro
/// exists for it; the spec flags it UNCONFIRMED): 1, the first revision.
pub const QUERY_BLOCK_REVISION: UCHAR = 1;

/// One neighbor slot's times.
pub struct Reach {
    nrt: AtomicU32,
    hrt: AtomicU32,
    /// A query is due (set by the staleness test, cleared once indicated).
    query: AtomicBool,
}

/// Every neighbor slot's reachability state.
pub struct Reachability {
    slots: PoolSlice<Reach>,
    /// Some slot has a query due.
    pending: AtomicBool,
}

/// The block a query indicates: the block list immediately followed by
/// the neighbor's three state structures (spec §6.14).
#[repr(C)]
struct QueryBlock {
    list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    konst: NEIGHBOR_OFFLOAD_STATE_CONST,
    cached: NEIGHBOR_OFFLOAD_STATE_CACHED,
    delegated: NEIGHBOR_OFFLOAD_STATE_DELEGATED,
}

static_assertions::const_assert_eq!(
    core::mem::offset_of!(QueryBlock, konst),
    size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>()
);
static_assertions::const_assert_eq!(
    core::mem::offset_of!(QueryBlock, cached),
    core::mem::offset_of!(QueryBlock, konst) + size_of::<NEIGHBOR_OFFLOAD_STATE_CONST>()
);
static_assertions::const_assert_eq!(
    core::mem::offset_of!(QueryBlock, delegated),
    core::mem::offset_of!(QueryBlock, cached) + size_of::<NEIGHBOR_OFFLOAD_STATE_CACHED>()
);

fn older_than(now: u32, t: u32, limit: u32) -> bool {
    now.wrapping_sub(t) > limit
}

impl Reachability {
    /// State for `count` neighbor slots (PASSIVE_LEVEL, at initialization).
    pub fn new(handle: NdisHandle, count: usize) -> Result<Self, NDIS_STATUS> {
        let slots = PoolSlice::try_new_with(handle, TAG_REACH, count.max(1), |_| Reach {
            nrt: AtomicU32::new(0),
            hrt: AtomicU32::new(0),
            query: AtomicBool::new(false),
        })?;
        Ok(Reachability {
            slots,
            pending: AtomicBool::new(false),
        })
    }

    /// Neighbor `i` was offloaded at `now` with these deltas.
    pub fn offloaded(&self, i: u32, now: u32, nrd: u32, hrd: u32) {
        if let Some(r) = self.slots.get(i as usize) {
            r.nrt.store(now.wrapping_sub(nrd), Ordering::Relaxed);
            r.hrt.store(now.wrapping_sub(hrd), Ordering::Relaxed);
            r.query.store(false, Ordering::Relaxed);
        }
    }

    /// The host gave a new HostReachabilityDelta for `i` (an update).
    pub fn host_delta(&self, i: u32, now: u32, hrd: u32) {
        if let Some(r) = self.slots.get(i as usize) {
            r.hrt.store(now.wrapping_sub(hrd), Ordering::Relaxed);
        }
    }

    /// NicReachabilityDelta of `i` at `now`.
    pub fn nrd(&self, i: u32, now: u32) -> Option<u32> {
        self.slots
            .get(i as usize)
            .map(|r| now.wrapping_sub(r.nrt.load(Ordering::Relaxed)))
    }

    /// Forward progress through neighbor `i` at `now` (NRT = now).
    #[inline]
    pub fn progress(&self, i: u32, now: u32) {
        if let Some(r) = self.slots.get(i as usize) {
            r.nrt.store(now, Ordering::Relaxed);
        }
    }

    /// The staleness test before transmitting through `i`: true when a
    /// query became due now (the caller makes the timer fire).
    #[inline]
    pub fn check(&self, i: u32, now: u32, stale: u32) -> bool {
        let Some(r) = self.slots.get(i as usize) else {
            return false;
        };
        if !older_than(now, r.nrt.load(Ordering::Relaxed), stale)
            || !older_than(now, r.hrt.load(Ordering::Relaxed), stale)
        {
            return false;
        }
        if r.query.swap(true, Ordering::AcqRel) {
            return false; // already due
        }
        self.pending.store(true, Ordering::Release);
        true
    }
}

/// Make every query that is due (DISPATCH_LEVEL, no driver lock held).
pub fn indicate_queries(adapter: &Adapter, dp: &DataPath) {
    if !dp.reach.pending.swap(false, Ordering::AcqRel) {
        return;
    }
    let Some(table) = adapter.offload.as_ref() else {
        return;
    };
    for (i, r) in dp.reach.slots.iter().enumerate() {
        if !r.query.load(Ordering::Acquire) {
            continue;
        }
        let states = {
            let t = table.lock();
            t.neighbors.at(i).map(|(_, n)| (n.konst, n.cached))
        };
        let Some((mut konst, mut cached)) = states else {
            r.query.store(false, Ordering::Release);
            continue;
        };
        // The lengths say where the next structure starts: ours are packed
        // (the host's may have been padded).
        konst.Header.Length = size_of::<NEIGHBOR_OFFLOAD_STATE_CONST>() as ULONG;
        cached.Header.Length = size_of::<NEIGHBOR_OFFLOAD_STATE_CACHED>() as ULONG;
        let now = dp.now();
        let mut block = QueryBlock {
            // SAFETY: all-zero is a valid block list (null links, no handles).
            list: unsafe { core::mem::zeroed() },
            konst,
            cached,
            delegated: NEIGHBOR_OFFLOAD_STATE_DELEGATED {
                Header: OFFLOAD_STATE_HEADER {
                    Length: size_of::<NEIGHBOR_OFFLOAD_STATE_DELEGATED>() as ULONG,
                    RecognizedOptions: 0,
                },
                NicReachabilityDelta: now.wrapping_sub(r.nrt.load(Ordering::Relaxed)),
            },
        };
        block.list.Header = NDIS_OBJECT_HEADER {
            Type: NeighborOffloadState,
            Revision: QUERY_BLOCK_REVISION,
            Size: size_of::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>() as USHORT,
        };
        block.list.Status = NDIS_STATUS_SUCCESS;
        // SAFETY: the block and the structures after it live on this stack
        // frame for the call; the host answers synchronously; DISPATCH_LEVEL,
        // no driver lock held.
        unsafe {
            NdisMOffloadEventIndicate(
                adapter.handle.raw(),
                &mut block.list,
                NeighborReachabilityQuery,
            )
        };
        // The host's answer: HRT = now − HRD (0: its entry is stale, which
        // holds further queries off for NceStaleTicks).
        r.hrt.store(
            now.wrapping_sub(block.cached.HostReachabilityDelta),
            Ordering::Relaxed,
        );
        r.query.store(false, Ordering::Release);
    }
}
