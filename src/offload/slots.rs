//! A fixed-capacity object pool with generation-checked handles.
//!
//! Storage is allocated once (at adapter initialization) by the caller and
//! handed in as any `DerefMut<Target = [Slot<T>]>` (pool memory in the
//! driver, a `Vec` in unit tests). Taking and releasing slots never allocates.

use super::handle::{MAX_INDEX, ObjKind, ObjRef};
use core::ops::DerefMut;

/// One pool slot.
pub struct Slot<T> {
    generation: u32,
    next_free: u32,
    value: Option<T>,
}

impl<T> Slot<T> {
    pub const fn empty() -> Self {
        Slot {
            generation: 0,
            next_free: NONE,
            value: None,
        }
    }
}

const NONE: u32 = u32::MAX;

/// Why a reference did not resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    /// Wrong kind for this pool, or index out of range: never issued by it.
    Foreign,
    /// The slot's object was released (or replaced) since the value was issued.
    Gone,
}

/// The pool.
pub struct Slots<S, T>
where
    S: DerefMut<Target = [Slot<T>]>,
{
    kind: ObjKind,
    slots: S,
    free_head: u32,
    live: u32,
}

impl<S, T> Slots<S, T>
where
    S: DerefMut<Target = [Slot<T>]>,
{
    /// Wrap preallocated storage (every slot empty). Capacity is capped at
    /// what a handle can address.
    pub fn new(kind: ObjKind, mut slots: S) -> Self {
        let n = slots.len().min(MAX_INDEX as usize);
        for (i, s) in slots.iter_mut().enumerate().take(n) {
            s.value = None;
            s.generation = 0;
            s.next_free = if i + 1 < n { (i + 1) as u32 } else { NONE };
        }
        Slots {
            kind,
            slots,
            free_head: if n == 0 { NONE } else { 0 },
            live: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len().min(MAX_INDEX as usize)
    }

    pub fn live(&self) -> u32 {
        self.live
    }

    /// The slot the next insert will take, if any.
    pub fn next_free(&self) -> Option<u32> {
        (self.free_head != NONE).then_some(self.free_head)
    }

    /// Store `value` in a free slot under `generation` (never 0: the caller
    /// draws it from a sequence, so a context value is never issued twice);
    /// `Err(value)` when the pool is exhausted.
    pub fn insert(&mut self, value: T, generation: u32) -> Result<ObjRef, T> {
        let idx = self.free_head;
        let Some(slot) = self.slots.get_mut(idx as usize) else {
            return Err(value);
        };
        self.free_head = slot.next_free;
        slot.next_free = NONE;
        slot.value = Some(value);
        slot.generation = generation.max(1);
        let generation = slot.generation;
        self.live += 1;
        // The next insert writes the new free head: fetch it now.
        if let Some(next) = self.slots.get(self.free_head as usize) {
            crate::ndis::cpu::prefetch_range(core::ptr::from_ref(next), size_of::<Slot<T>>());
        }
        Ok(ObjRef {
            kind: self.kind,
            index: idx,
            generation,
        })
    }

    fn slot(&self, r: ObjRef) -> Result<&Slot<T>, Stale> {
        if r.kind != self.kind || r.index as usize >= self.capacity() {
            return Err(Stale::Foreign);
        }
        let s = self.slots.get(r.index as usize).ok_or(Stale::Foreign)?;
        if s.generation != r.generation || s.value.is_none() {
            return Err(Stale::Gone);
        }
        Ok(s)
    }

    /// The live object `r` names.
    pub fn get(&self, r: ObjRef) -> Result<&T, Stale> {
        self.slot(r)?.value.as_ref().ok_or(Stale::Gone)
    }

    /// The live object `r` names, mutably.
    pub fn get_mut(&mut self, r: ObjRef) -> Result<&mut T, Stale> {
        self.slot(r)?;
        self.slots
            .get_mut(r.index as usize)
            .and_then(|s| s.value.as_mut())
            .ok_or(Stale::Gone)
    }

    /// The live object in slot `index`, if any, with its reference.
    pub fn at(&self, index: usize) -> Option<(ObjRef, &T)> {
        let s = self.slots.get(index)?;
        let v = s.value.as_ref()?;
        Some((
            ObjRef {
                kind: self.kind,
                index: index as u32,
                generation: s.generation,
            },
            v,
        ))
    }

    /// The live object in slot `index`, mutably.
    pub fn at_mut(&mut self, index: usize) -> Option<&mut T> {
        self.slots.get_mut(index)?.value.as_mut()
    }

    /// Release the object `r` names; its handle (and every copy) goes stale.
    pub fn remove(&mut self, r: ObjRef) -> Result<T, Stale> {
        self.slot(r)?;
        let head = self.free_head;
        let s = self.slots.get_mut(r.index as usize).ok_or(Stale::Foreign)?;
        let v = s.value.take().ok_or(Stale::Gone)?;
        s.generation = 0; // no live value: every handle to it is stale
        s.next_free = head;
        self.free_head = r.index;
        self.live -= 1;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn pool(n: usize) -> Slots<Vec<Slot<u32>>, u32> {
        Slots::new(ObjKind::Tcp, (0..n).map(|_| Slot::empty()).collect())
    }

    #[test]
    fn exhaustion_reuse_and_staleness() {
        let mut p = pool(2);
        let a = p.insert(10, 1).unwrap();
        let b = p.insert(20, 2).unwrap();
        assert_eq!(p.insert(30, 3), Err(30), "capacity 2");
        assert_eq!(p.get(a), Ok(&10));
        assert_eq!(p.remove(a), Ok(10));
        assert_eq!(p.get(a), Err(Stale::Gone), "terminated context is stale");
        assert_eq!(p.remove(a), Err(Stale::Gone), "double terminate refused");
        let c = p.insert(40, 4).unwrap();
        assert_eq!(c.index, a.index, "slot reused");
        assert_ne!(c.generation, a.generation, "with a new generation");
        assert_eq!(p.get(a), Err(Stale::Gone));
        assert_eq!(p.get(c), Ok(&40));
        let forged = ObjRef {
            kind: ObjKind::Path,
            ..b
        };
        assert_eq!(p.get(forged), Err(Stale::Foreign));
        let out_of_range = ObjRef { index: 99, ..b };
        assert_eq!(p.get(out_of_range), Err(Stale::Foreign));
        assert_eq!(p.live(), 2);
    }

    #[test]
    fn zero_capacity_pool_refuses_everything() {
        let mut p = pool(0);
        assert_eq!(p.insert(1, 1), Err(1));
    }
}
