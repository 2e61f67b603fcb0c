//! Context values handed to NDIS (`*MiniportOffloadContext`).
//!
//! A context value is not a pointer: it encodes the object's kind, its slot
//! index in a preallocated pool and the slot's generation. A value the target
//! never issued, or one whose object was terminated (the generation moved on),
//! fails validation instead of being dereferenced.
//!
//! Layout of the 64-bit value: `gen:32 | kind:4 | index:28`. `kind` is never 0,
//! so a valid value is never NULL.

/// Which layer an offloaded object belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ObjKind {
    Neighbor = 1,
    Path = 2,
    Tcp = 3,
}

impl ObjKind {
    fn from_bits(b: u64) -> Option<Self> {
        match b {
            1 => Some(ObjKind::Neighbor),
            2 => Some(ObjKind::Path),
            3 => Some(ObjKind::Tcp),
            _ => None,
        }
    }
}

/// Largest slot index a handle can name.
pub const MAX_INDEX: u32 = (1 << 28) - 1;

/// A reference to an offloaded object: kind, slot index, generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjRef {
    pub kind: ObjKind,
    pub index: u32,
    pub generation: u32,
}

impl ObjRef {
    /// The value written to `*MiniportOffloadContext`.
    pub fn to_context(self) -> usize {
        let v = (u64::from(self.generation) << 32)
            | ((self.kind as u64) << 28)
            | u64::from(self.index & MAX_INDEX);
        v as usize
    }

    /// Decode a context value; `None` if it cannot be one we issued. (The
    /// generation still has to be checked against the slot.)
    pub fn from_context(v: usize) -> Option<ObjRef> {
        let v = v as u64;
        let kind = ObjKind::from_bits((v >> 28) & 0xF)?;
        let generation = (v >> 32) as u32;
        if generation == 0 {
            return None;
        }
        Some(ObjRef {
            kind,
            index: (v & u64::from(MAX_INDEX)) as u32,
            generation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_never_null() {
        for kind in [ObjKind::Neighbor, ObjKind::Path, ObjKind::Tcp] {
            for (index, generation) in [(0, 1), (MAX_INDEX, u32::MAX), (12345, 7)] {
                let r = ObjRef {
                    kind,
                    index,
                    generation,
                };
                let v = r.to_context();
                assert_ne!(v, 0);
                assert_eq!(ObjRef::from_context(v), Some(r));
            }
        }
        assert_eq!(ObjRef::from_context(0), None);
        assert_eq!(
            ObjRef::from_context(0x1234_5678),
            None,
            "generation 0 is never issued"
        );
        assert_eq!(
            ObjRef::from_context((1 << 32) | (9 << 28)),
            None,
            "unknown kind"
        );
    }
}
