//! ndis-sim: the host NDIS simulator.
//!
//! On Linux the driver's NDIS imports resolve, at link time, to the exports
//! in [`exports`]; [`Simulator`] loads the driver through its real
//! `DriverEntry` and drives the handlers it registered, while [`verifier`]
//! records every rule the driver breaks. Module names mirror the driver's,
//! so a reader always knows which side of the seam they are on.

// Exports keep C names; they take raw pointers because their C prototypes do
// (the NDIS contract is their precondition), and builders box elements on
// purpose so addresses handed to the driver never move.
#![allow(non_snake_case, clippy::not_unsafe_ptr_arg_deref, clippy::vec_box)]

pub mod builders;
mod checker;
pub mod exports;
pub mod harness;
pub mod hoststack;
pub mod irql;
pub mod link;
pub mod linux;
pub mod peer;
pub mod plot;
pub mod state;
pub mod tap;
pub mod tracker;
pub mod verifier;

// sim/tests/phy.rs runs as unit tests of this library (under its own crate
// name): as an integration test it would make cargo build the chimney-sim
// binary (panic = abort) beside the unwind build of the driver's cdylib, and
// those two outputs share one file name (sim/Cargo.toml: autotests = false).
#[cfg(test)]
extern crate self as ndis_sim;
#[cfg(test)]
#[path = "../tests/phy.rs"]
mod phy_tests;

pub use harness::{OidResult, Simulator, StateOpKind, TcpIoKind};
pub use peer::{AckPolicy, ConnKey, Direction, PeerConn, PeerRecord, SegInfo};
pub use verifier::Violation;
