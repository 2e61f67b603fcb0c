//! The two items a `no_std` cdylib needs on a non-Windows host when no std
//! program links it (the build CI uses to prove the crate is `no_std`). The
//! driver never panics on a reachable path and never uses the global
//! allocator; these exist only so the artifact links.

use core::alloc::{GlobalAlloc, Layout};

/// A panic has nowhere to go outside a kernel: stop here.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// The driver allocates only through NDIS pool calls, so the global
/// allocator refuses everything (an infallible allocation would then fail loudly).
struct NoGlobalAlloc;

// SAFETY: never hands out memory, so there is nothing to get wrong.
unsafe impl GlobalAlloc for NoGlobalAlloc {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static GLOBAL: NoGlobalAlloc = NoGlobalAlloc;
