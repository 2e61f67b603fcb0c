//! Fuzz harnesses: each turns arbitrary bytes into a script of host actions,
//! runs it against the driver's registered handlers in the simulator, and
//! checks what must hold whatever the input (principle 4): no crash, a
//! defined status for every item, a clean verifier record, nothing leaked.
//!
//! Two callers share them. `fuzz/` (cargo fuzz, coverage-guided libFuzzer)
//! explores; `tests/fuzz_replay.rs` replays the committed corpora and a
//! seeded batch of random inputs on every test run, also under valgrind.
#![allow(dead_code, clippy::disallowed_methods, clippy::disallowed_macros)]

pub mod data;
pub mod oid;
pub mod ordinary;
pub mod rx;
pub mod tree;

/// A harness: one input, run to the end; panics on a broken invariant.
pub type Harness = fn(&[u8]);

/// Every harness, by its cargo-fuzz target name.
pub const TARGETS: &[(&str, Harness)] = &[
    ("rx_frames", rx::fuzz),
    ("state_tree", tree::fuzz),
    ("oid_requests", oid::fuzz),
    ("data_path", data::fuzz),
    ("ordinary_path", ordinary::fuzz),
];
