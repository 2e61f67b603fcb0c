//! The NDIS and kernel exports the driver imports, implemented for the host.
//!
//! Each function has the name, C signature and calling convention of the real
//! export of ndis.sys or ntoskrnl.exe, so the driver's `extern "system"` imports
//! resolve to these at link time. [`EXPORTS`] lists every one of them with the
//! image that exports it on Windows.

// Exports keep the C names and parameter names of the real functions.
#![allow(non_snake_case)]

pub mod chimney;
pub mod config;
pub mod driver;
pub mod memory;
pub mod nblpool;
pub mod oid;
pub mod phy;
pub mod spinlock;
pub mod timer;

use crate::irql;
use crate::state::report;
use crate::verifier::Violation;
use chimney_miniport::ffi::DISPATCH_LEVEL;

/// Which Windows image exports a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    Ndis,
    Ntoskrnl,
    /// The frame port under the software offload engine (`ffi::phy`): on the
    /// host the simulator, on Windows a NIC backend.
    Phy,
}

/// Record a violation if the current IRQL is above `max`.
pub(crate) fn check_irql_max(export: &'static str, max: u8) {
    let irql = irql::current();
    if irql > max {
        report(Violation::IrqlTooHigh { export, irql, max });
    }
}

/// Record a violation unless the current IRQL is exactly DISPATCH_LEVEL.
pub(crate) fn check_irql_dispatch(export: &'static str) {
    let irql = irql::current();
    if irql != DISPATCH_LEVEL {
        report(Violation::IrqlNotDispatch { export, irql });
    }
}

macro_rules! export_table {
    ($( $image:ident : $path:path => $name:literal ),* $(,)?) => {
        /// Every export the simulator implements: (name, image, address).
        /// Referencing the functions here also makes the linker keep them, so the
        /// driver's imports always find their definitions.
        pub fn exports() -> Vec<(&'static str, Image, usize)> {
            vec![ $( ($name, Image::$image, $path as *const () as usize) ),* ]
        }
    };
}

export_table! {
    Ndis: driver::NdisMRegisterMiniportDriver => "NdisMRegisterMiniportDriver",
    Ndis: driver::NdisMDeregisterMiniportDriver => "NdisMDeregisterMiniportDriver",
    Ndis: driver::NdisSetOptionalHandlers => "NdisSetOptionalHandlers",
    Ndis: driver::NdisMSetMiniportAttributes => "NdisMSetMiniportAttributes",
    Ndis: driver::NdisMIndicateStatusEx => "NdisMIndicateStatusEx",
    Ndis: driver::NdisMSendNetBufferListsComplete => "NdisMSendNetBufferListsComplete",
    Ndis: chimney::NdisMGetOffloadHandlers => "NdisMGetOffloadHandlers",
    Ndis: chimney::NdisMInitiateOffloadComplete => "NdisMInitiateOffloadComplete",
    Ndis: chimney::NdisMTerminateOffloadComplete => "NdisMTerminateOffloadComplete",
    Ndis: chimney::NdisMUpdateOffloadComplete => "NdisMUpdateOffloadComplete",
    Ndis: chimney::NdisMInvalidateOffloadComplete => "NdisMInvalidateOffloadComplete",
    Ndis: chimney::NdisMQueryOffloadStateComplete => "NdisMQueryOffloadStateComplete",
    Ndis: chimney::NdisMOffloadEventIndicate => "NdisMOffloadEventIndicate",
    Ndis: oid::NdisMOidRequestComplete => "NdisMOidRequestComplete",
    Ndis: config::NdisOpenConfigurationEx => "NdisOpenConfigurationEx",
    Ndis: config::NdisReadConfiguration => "NdisReadConfiguration",
    Ndis: config::NdisCloseConfiguration => "NdisCloseConfiguration",
    Ndis: memory::NdisAllocateMemoryWithTagPriority => "NdisAllocateMemoryWithTagPriority",
    Ndis: memory::NdisFreeMemory => "NdisFreeMemory",
    Ndis: spinlock::NdisAllocateSpinLock => "NdisAllocateSpinLock",
    Ndis: spinlock::NdisFreeSpinLock => "NdisFreeSpinLock",
    Ndis: spinlock::NdisAcquireSpinLock => "NdisAcquireSpinLock",
    Ndis: spinlock::NdisReleaseSpinLock => "NdisReleaseSpinLock",
    Ndis: spinlock::NdisDprAcquireSpinLock => "NdisDprAcquireSpinLock",
    Ndis: spinlock::NdisDprReleaseSpinLock => "NdisDprReleaseSpinLock",
    Ndis: timer::NdisAllocateTimerObject => "NdisAllocateTimerObject",
    Ndis: timer::NdisSetTimerObject => "NdisSetTimerObject",
    Ndis: timer::NdisCancelTimerObject => "NdisCancelTimerObject",
    Ndis: timer::NdisFreeTimerObject => "NdisFreeTimerObject",
    Ndis: timer::NdisAllocateIoWorkItem => "NdisAllocateIoWorkItem",
    Ndis: timer::NdisQueueIoWorkItem => "NdisQueueIoWorkItem",
    Ndis: timer::NdisFreeIoWorkItem => "NdisFreeIoWorkItem",
    Ntoskrnl: timer::KeQueryPerformanceCounter => "KeQueryPerformanceCounter",
    Ndis: nblpool::NdisAllocateNetBufferListPool => "NdisAllocateNetBufferListPool",
    Ndis: nblpool::NdisFreeNetBufferListPool => "NdisFreeNetBufferListPool",
    Ndis: nblpool::NdisAllocateNetBufferAndNetBufferList => "NdisAllocateNetBufferAndNetBufferList",
    Ndis: nblpool::NdisFreeNetBufferList => "NdisFreeNetBufferList",
    Ndis: nblpool::NdisAllocateMdl => "NdisAllocateMdl",
    Ndis: nblpool::NdisFreeMdl => "NdisFreeMdl",
    Ndis: nblpool::NdisMSleep => "NdisMSleep",
    Ndis: nblpool::NdisMIndicateReceiveNetBufferLists => "NdisMIndicateReceiveNetBufferLists",
    Ndis: phy::NdisAdvanceNetBufferDataStart => "NdisAdvanceNetBufferDataStart",
    Ntoskrnl: phy::MmMapLockedPagesSpecifyCache => "MmMapLockedPagesSpecifyCache",
    Phy: phy::ChimneyPhyAttach => "ChimneyPhyAttach",
    Phy: phy::ChimneyPhyDetach => "ChimneyPhyDetach",
    Phy: phy::ChimneyPhyTransmit => "ChimneyPhyTransmit",
}
