//! cargo fuzz target `forward`: the harness in tests/fuzzing/fwd.rs.
#![no_main]
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::fwd::fuzz(data));
