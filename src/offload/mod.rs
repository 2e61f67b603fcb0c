//! `offload`: the chimney state owned by the target — advertised capability
//! and current configuration, the host's TCP parameters, offload statistics.
//! (The offload state tree and connection objects join it in later work.)
//! Safe Rust only: no FFI calls here.

pub mod caps;
pub mod handle;
pub mod params;
pub mod slots;
pub mod stats;
