//! cargo fuzz target `rx_frames`: the harness in tests/fuzzing/rx.rs.
#![no_main]
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::rx::fuzz(data));
