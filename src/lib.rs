//! chimney-miniport: an NDIS 6 miniport driver that is a TCP chimney offload target.
#![cfg_attr(all(target_os = "windows", not(test)), no_std)]
extern crate alloc;

pub mod ffi;
