//! CPU hints that change no result, only when memory arrives.

/// Start loading the cache line at `p` (for a write or a read soon after):
/// the load overlaps with the work done before the access. Any address is
/// allowed, NULL and unmapped included; a prefetch never faults.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 reads nothing into the program and cannot fault,
    // whatever the address; SSE is part of every x86-64 CPU.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] every cache line of the `bytes` bytes at `p`.
#[inline(always)]
pub fn prefetch_range<T>(p: *const T, bytes: usize) {
    const LINE: usize = 64;
    let start = p.cast::<u8>();
    let mut off = 0;
    while off < bytes {
        prefetch(start.wrapping_add(off));
        off += LINE;
    }
}
