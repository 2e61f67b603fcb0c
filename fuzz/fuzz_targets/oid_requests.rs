//! cargo fuzz target `oid_requests`: the harness in tests/fuzzing/oid.rs.
#![no_main]
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::oid::fuzz(data));
