//! `offload`: the chimney state owned by the target — advertised capability
//! and current configuration, the host's TCP parameters, statistics, and the
//! offloaded objects (neighbor, path, TCP) with the state-tree walk that
//! creates, updates, queries, invalidates and terminates them.
//! Safe Rust only: raw tree memory is reached through `ndis::tree`.

pub mod backlog;
pub mod caps;
pub mod close;
pub mod conn;
pub mod handle;
pub mod keepalive;
pub mod objects;
pub mod params;
pub mod rexmit;
pub mod rx;
pub mod sack;
pub mod slots;
pub mod stats;
pub mod table;
pub mod txinit;
pub mod walk;
