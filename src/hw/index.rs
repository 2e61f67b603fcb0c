//! The hardware's connection lookup: received 4-tuple → connection id.
//!
//! An open-addressing table of `AtomicU64` entries, sized at initialization
//! (twice the connection capacity, a power of two), so receive processing
//! reads it without any lock. Writers (offload and upload, serialized by the
//! offload table's lock) publish with release stores. An entry packs a
//! 36-bit flow hash with the 28-bit id; a hash match is only a candidate,
//! and the chimney layer confirms the full 4-tuple under the connection's
//! lock, so a hash collision can never deliver a segment to the wrong
//! connection (it can at worst shadow one: documented in docs/decisions.md).

use crate::ffi::{NDIS_STATUS, NDIS_STATUS_RESOURCES, ULONG};
use crate::ndis::{NdisHandle, PoolSlice};
use crate::sync::{AtomicU64, Ordering};

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = u64::MAX;
const ID_BITS: u32 = 28;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
/// Largest id the index can hold (the all-ones id is reserved for tombstones).
pub const MAX_ID: u32 = (ID_MASK - 1) as u32;

pub const TAG_INDEX: ULONG = u32::from_le_bytes(*b"CmIx");

/// A connection's identity on the wire, as seen by the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlowKey {
    /// Addresses in network order; IPv4 uses the first 4 bytes.
    pub local: [u8; 16],
    pub remote: [u8; 16],
    pub local_port: u16,
    pub remote_port: u16,
}

impl FlowKey {
    /// A 64-bit mix of the key: the addresses as four 64-bit words and the
    /// ports, each folded in with a multiply and rotate, then a final
    /// avalanche (murmur3's finalizer).
    pub fn hash(&self) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let word = |b: &[u8; 16], half: usize| -> u64 {
            let mut w = [0u8; 8];
            if let Some(src) = b.get(half * 8..half * 8 + 8) {
                w.copy_from_slice(src);
            }
            u64::from_le_bytes(w)
        };
        let ports = (u64::from(self.local_port) << 16) | u64::from(self.remote_port);
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for w in [
            word(&self.local, 0),
            word(&self.local, 1),
            word(&self.remote, 0),
            word(&self.remote, 1),
            ports,
        ] {
            h = (h ^ w).wrapping_mul(K).rotate_left(29);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Packed entry for (hash, id): the hash part is never all-zero, so an entry
/// is never EMPTY, and ids stay below the all-ones tombstone id.
fn entry(hash: u64, id: u32) -> u64 {
    ((hash | 1) << ID_BITS) | (u64::from(id) & ID_MASK)
}

fn same_hash(e: u64, hash: u64) -> bool {
    e != EMPTY && e != TOMBSTONE && (e >> ID_BITS) == ((hash | 1) << ID_BITS) >> ID_BITS
}

/// The index has no free slot (or the id does not fit an entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexFull;

pub struct ConnIndex {
    slots: PoolSlice<AtomicU64>,
    mask: usize,
}

impl ConnIndex {
    /// Room for `capacity` connections at a load factor of at most one half.
    pub fn new(handle: NdisHandle, capacity: usize) -> Result<Self, NDIS_STATUS> {
        let size = capacity
            .max(1)
            .checked_mul(2)
            .and_then(usize::checked_next_power_of_two)
            .ok_or(NDIS_STATUS_RESOURCES)?;
        let slots = PoolSlice::try_new_with(handle, TAG_INDEX, size, |_| AtomicU64::new(EMPTY))?;
        Ok(ConnIndex {
            slots,
            mask: size - 1,
        })
    }

    fn probe(&self, hash: u64) -> impl Iterator<Item = &AtomicU64> {
        let start = (hash as usize) & self.mask;
        let n = self.slots.len();
        (0..n).filter_map(move |i| self.slots.get((start + i) & self.mask))
    }

    /// Start fetching the slot where `key`'s probe begins, ahead of an
    /// insert or remove (offload and upload touch one random slot each).
    pub fn prefetch(&self, key: &FlowKey) {
        let start = (key.hash() as usize) & self.mask;
        if let Some(slot) = self.slots.get(start) {
            crate::ndis::cpu::prefetch(core::ptr::from_ref(slot));
        }
    }

    /// Add `id` under `key`. Writers must be serialized by the caller.
    pub fn insert(&self, key: &FlowKey, id: u32) -> Result<(), IndexFull> {
        if id > MAX_ID {
            return Err(IndexFull);
        }
        let hash = key.hash();
        let want = entry(hash, id);
        let mut free: Option<&AtomicU64> = None;
        for slot in self.probe(hash) {
            let e = slot.load(Ordering::Acquire);
            if e == want {
                return Ok(());
            }
            if e == TOMBSTONE && free.is_none() {
                free = Some(slot);
            }
            if e == EMPTY {
                free = free.or(Some(slot));
                break;
            }
        }
        let slot = free.ok_or(IndexFull)?;
        slot.store(want, Ordering::Release);
        Ok(())
    }

    /// Remove `id` under `key`. Writers must be serialized by the caller.
    pub fn remove(&self, key: &FlowKey, id: u32) {
        let hash = key.hash();
        let want = entry(hash, id);
        let start = (hash as usize) & self.mask;
        for i in 0..self.slots.len() {
            let k = (start + i) & self.mask;
            let Some(slot) = self.slots.get(k) else {
                return;
            };
            let e = slot.load(Ordering::Acquire);
            if e == EMPTY {
                return;
            }
            if e == want {
                slot.store(TOMBSTONE, Ordering::Release);
                self.reclaim(k);
                return;
            }
        }
    }

    /// Turn the tombstone at `k`, and the run of tombstones before it, back
    /// into empty slots when the slot after `k` is empty: no probe chain
    /// can pass through them to a live entry, so a lock-free reader loses
    /// nothing, and lookups of absent keys stay short under churn.
    fn reclaim(&self, mut k: usize) {
        let next = self.slots.get((k + 1) & self.mask);
        if next.is_none_or(|n| n.load(Ordering::Acquire) != EMPTY) {
            return;
        }
        for _ in 0..self.slots.len() {
            let Some(slot) = self.slots.get(k) else {
                return;
            };
            if slot.load(Ordering::Acquire) != TOMBSTONE {
                return;
            }
            slot.store(EMPTY, Ordering::Release);
            k = k.wrapping_sub(1) & self.mask;
        }
    }

    /// (live entries, tombstones): for tests and diagnostics (a full scan).
    pub fn occupancy(&self) -> (usize, usize) {
        self.slots
            .iter()
            .fold((0, 0), |(l, t), s| match s.load(Ordering::Relaxed) {
                EMPTY => (l, t),
                TOMBSTONE => (l, t + 1),
                _ => (l + 1, t),
            })
    }

    /// The candidates for `key`, in probe order, until `accept` takes one.
    pub fn find(&self, key: &FlowKey, mut accept: impl FnMut(u32) -> bool) -> Option<u32> {
        let hash = key.hash();
        for slot in self.probe(hash) {
            let e = slot.load(Ordering::Acquire);
            if e == EMPTY {
                return None;
            }
            if same_hash(e, hash) {
                let id = (e & ID_MASK) as u32;
                if accept(id) {
                    return Some(id);
                }
            }
        }
        None
    }
}
