//! chimney-miniport: an NDIS 6 miniport driver that is a TCP chimney offload
//! target.
//!
//! Layers, top-down (each module says what it owns):
//! - [`miniport`]: the entry points NDIS calls, glued to the layers below;
//! - [`offload`]: chimney state owned by the target (safe Rust only);
//! - [`ndis`]: safe wrappers over the NDIS exports (spin locks, pool, timers…);
//! - [`ffi`]: the C types, constants and imports, in their true layout.
//!
//! The crate is `no_std` on every target. On Windows wdk-panic and the
//! wdk-alloc global allocator complete the kernel image. On a Linux host the
//! `host` feature (enabled by `ndis-sim`) lets the same code link into a std
//! program, where `ndis-sim` implements the NDIS exports; without it the
//! crate still builds as a no_std library (CI proves it), see `bare`.

#![cfg_attr(not(any(test, feature = "host")), no_std)]
// Kernel rules, machine-checked outside tests: no panicking shortcuts, no
// unchecked indexing, no infallible allocation (clippy.toml lists the banned
// constructors).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::todo,
        clippy::unimplemented,
        clippy::unreachable,
        clippy::indexing_slicing,
        clippy::disallowed_methods,
        clippy::disallowed_macros
    )
)]

extern crate alloc;

#[cfg(all(target_os = "windows", not(any(test, feature = "host"))))]
extern crate wdk_panic;

#[cfg(all(target_os = "windows", not(any(test, feature = "host"))))]
#[global_allocator]
static GLOBAL_ALLOCATOR: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;

#[cfg(all(not(target_os = "windows"), not(any(test, feature = "host"))))]
mod bare;

pub mod ffi;
pub mod hw;
pub mod miniport;
pub mod ndis;
pub mod offload;
pub mod sync;
pub mod wire;
