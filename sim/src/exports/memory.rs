//! Pool memory: `NdisAllocateMemoryWithTagPriority` / `NdisFreeMemory`,
//! tracked per tag, with injectable failure.

use super::check_irql_max;
use crate::state::{self, Kind, report};
use crate::verifier::Violation;
use chimney_miniport::ffi::{DISPATCH_LEVEL, NDIS_HANDLE, PVOID, ULONG};
use std::alloc::Layout;

/// Pool allocations are 16-byte aligned on 64-bit Windows (MEMORY_ALLOCATION_ALIGNMENT).
pub const POOL_ALIGN: usize = 16;

/// Fill pattern of fresh pool memory: NDIS does not zero it, so neither do we.
pub const FRESH_FILL: u8 = 0xA5;

/// Allocations of at least this size are placed on 2 MiB boundaries and
/// backed by the host's huge pages where it allows (a kernel maps large
/// pool allocations with large pages when it can; without this, the host's
/// 4 KiB TLB reach, not the driver's accesses, would dominate a benchmark
/// that touches a 100,000-connection table at random).
const HUGE: usize = 2 << 20;

fn layout_for(len: usize) -> Option<Layout> {
    let align = if len >= HUGE { HUGE } else { POOL_ALIGN };
    Layout::from_size_align(len.max(1), align).ok()
}

/// Allocate `len` bytes for `sim` as `kind` (used by every allocating export).
pub(crate) fn sim_alloc(sim: &std::sync::Arc<state::SimCore>, len: usize, kind: Kind) -> PVOID {
    if !sim.allocation_allowed() {
        return std::ptr::null_mut();
    }
    let Some(layout) = layout_for(len) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    if p.is_null() {
        return std::ptr::null_mut();
    }
    if layout.size() >= HUGE {
        // SAFETY: advice on memory we own and have not touched yet; a
        // refusal changes nothing.
        unsafe { libc::madvise(p.cast(), layout.size() & !(HUGE - 1), libc::MADV_HUGEPAGE) };
    }
    // SAFETY: `p` points to `layout.size()` freshly allocated bytes.
    unsafe { std::ptr::write_bytes(p, FRESH_FILL, layout.size()) };
    state::register(p as usize, kind, sim);
    p.cast()
}

/// Release memory obtained from [`sim_alloc`]; reports a bad free otherwise.
pub(crate) fn sim_free(p: PVOID) -> bool {
    let Some(entry) = state::unregister(p as usize) else {
        report(Violation::BadFree {
            address: p as usize,
        });
        return false;
    };
    let len = match entry.kind {
        Kind::Memory { len, .. } => len,
        other => {
            // Not memory: put it back and complain.
            state::register(p as usize, other, &entry.sim);
            report(Violation::BadFree {
                address: p as usize,
            });
            return false;
        }
    };
    let layout = layout_for(len).expect("layout was valid at allocation");
    // SAFETY: `p` was allocated by `sim_alloc` with this very layout and is unregistered now.
    unsafe { std::alloc::dealloc(p.cast(), layout) };
    true
}

/// `NdisAllocateMemoryWithTagPriority` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisAllocateMemoryWithTagPriority(
    NdisHandle: NDIS_HANDLE,
    Length: u32,
    Tag: ULONG,
    _Priority: i32,
) -> PVOID {
    check_irql_max("NdisAllocateMemoryWithTagPriority", DISPATCH_LEVEL);
    let sim = state::lookup(NdisHandle as usize, &Kind::AdapterHandle)
        .or_else(|| state::lookup(NdisHandle as usize, &Kind::DriverHandle));
    let Some(sim) = sim else {
        report(Violation::BadHandle {
            export: "NdisAllocateMemoryWithTagPriority",
            handle: NdisHandle as usize,
        });
        return std::ptr::null_mut();
    };
    sim.record_call("NdisAllocateMemoryWithTagPriority");
    sim_alloc(
        &sim,
        Length as usize,
        Kind::Memory {
            tag: Tag,
            len: Length as usize,
        },
    )
}

/// `NdisFreeMemory` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisFreeMemory(VirtualAddress: PVOID, _Length: u32, _MemoryFlags: u32) {
    check_irql_max("NdisFreeMemory", DISPATCH_LEVEL);
    sim_free(VirtualAddress);
}
