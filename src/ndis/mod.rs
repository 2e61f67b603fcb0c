//! `ndis`: safe wrappers over the NDIS exports the driver imports — pool
//! memory, spin locks, timers, work items, configuration, OID buffers. The
//! layers above use these and never touch `ffi::imports` directly.

pub mod clock;
pub mod config;
pub mod cpu;
pub mod deadline;
pub mod handle;
pub mod handlers;
pub mod nbdata;
pub mod nbl;
pub mod oidbuf;
pub mod pool;
pub mod recvq;
pub mod rxpool;
pub mod sendq;
pub mod spinlock;
pub mod timer;
pub mod tree;

pub use deadline::Deadline;
pub use handle::NdisHandle;
pub use pool::{PoolBox, PoolSlice};
pub use spinlock::SpinLock;
