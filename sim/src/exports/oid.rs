//! `NdisMOidRequestComplete`: the completion of an OID request the driver pended.

use super::check_irql_max;
use super::driver::adapter_sim;
use super::spinlock::check_no_lock_held;
use crate::state::lock;
use crate::tracker;
use chimney_miniport::ffi::{DISPATCH_LEVEL, NDIS_HANDLE, NDIS_STATUS, PNDIS_OID_REQUEST};

/// `NdisMOidRequestComplete` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisMOidRequestComplete(
    MiniportAdapterHandle: NDIS_HANDLE,
    OidRequest: PNDIS_OID_REQUEST,
    Status: NDIS_STATUS,
) {
    check_irql_max("NdisMOidRequestComplete", DISPATCH_LEVEL);
    check_no_lock_held("NdisMOidRequestComplete");
    let Some(sim) = adapter_sim("NdisMOidRequestComplete", MiniportAdapterHandle) else {
        return;
    };
    if tracker::complete(&sim, OidRequest as usize, "NdisMOidRequestComplete").is_some() {
        lock(&sim.oid_completions).push((OidRequest as usize, Status));
    }
}
