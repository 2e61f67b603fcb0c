//! ndis-sim: the host NDIS simulator.
//!
//! On Linux the driver's NDIS imports resolve, at link time, to the exports
//! in [`exports`]; [`Simulator`] loads the driver through its real
//! `DriverEntry` and drives the handlers it registered, while [`verifier`]
//! records every rule the driver breaks. Module names mirror the driver's,
//! so a reader always knows which side of the seam they are on.

#![allow(non_snake_case)]

pub mod builders;
pub mod exports;
pub mod harness;
pub mod irql;
pub mod state;
pub mod tracker;
pub mod verifier;

pub use harness::{OidResult, Simulator, StateOpKind, TcpIoKind};
pub use verifier::Violation;
