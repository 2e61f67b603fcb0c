//! `ffi`: the C world, as the headers spell it — types in their true layout,
//! constants with their sources, and the `extern "system"` imports. Nothing else.
//!
//! Layouts are asserted for 64-bit Windows (x64 and ARM64 share them). The Linux
//! host is also LP64 for pointers, so the same assertions hold where tests run;
//! `ULONG` is `u32` everywhere (never `c_ulong`, which is 64-bit on Linux).

#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]
#![allow(clippy::upper_case_acronyms)]

pub mod base;
pub mod chimney;
pub mod imports;
pub mod miniport;
pub mod nbl;
pub mod objects;
pub mod oid;
pub mod phy;
pub mod status;

pub use base::*;
pub use chimney::*;
pub use miniport::*;
pub use nbl::*;
pub use objects::*;
pub use oid::*;
pub use phy::*;
pub use status::*;
