//! Adapter lifecycle: halt frees everything, and every allocation made during
//! initialization can fail without a leak or a crash.

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::*;
use common::*;
use ndis_sim::Violation;

#[test]
fn halt_leaves_zero_allocations() {
    let mut sim = with_adapter();
    assert!(
        !sim.core.live_resources().is_empty(),
        "the adapter holds pool memory while running"
    );
    sim.halt();
    let live = sim.core.live_resources();
    assert!(
        live.iter().all(|(_, k)| !k.is_adapter_resource()),
        "after halt only the driver handle remains: {live:?}"
    );
    sim.unload();
    assert!(
        sim.core.live_resources().is_empty(),
        "after unload nothing remains"
    );
    sim.assert_clean();
}

#[test]
fn initialize_fails_cleanly_when_each_allocation_fails_in_turn() {
    // Count the allocations one successful initialization makes. The
    // fewest receive buffers (16) keep the sweep short while still failing
    // each kind of allocation (pool memory, NBL pool, NBL, MDL, timer...).
    let mut probe = loaded();
    probe.set_config("*ReceiveBuffers", 16);
    let before = probe.allocation_count();
    assert_eq!(probe.initialize_adapter(), NDIS_STATUS_SUCCESS);
    let n = probe.allocation_count() - before;
    finish(probe);
    assert!(
        n >= 3,
        "initialization allocates (adapter, timer, configuration…): {n}"
    );

    for k in 1..=n {
        let mut sim = loaded();
        sim.set_config("*ReceiveBuffers", 16);
        sim.fail_allocation(k);
        let st = sim.initialize_adapter();
        assert!(
            !nt_success(st),
            "allocation {k} of {n} failed, so InitializeEx must fail (got {st:#x})"
        );
        // No leak (the harness records leaks after a failed InitializeEx), no violation.
        sim.assert_clean();
        assert!(
            sim.core
                .live_resources()
                .iter()
                .all(|(_, k)| !k.is_adapter_resource())
        );
        // And the driver still works afterwards.
        sim.fail_allocation(0);
        assert_eq!(
            sim.initialize_adapter(),
            NDIS_STATUS_SUCCESS,
            "after failing allocation {k}"
        );
        finish(sim);
    }
}

#[test]
fn pause_restart_reset_check_for_hang_shutdown_are_safe() {
    let sim = with_adapter();
    let ch = sim.driver().characteristics.expect("chars").0;
    let ctx = sim.context();
    // SAFETY: calling the driver's registered handlers with its own context.
    unsafe {
        assert_eq!(
            ch.PauseHandler.unwrap()(ctx, std::ptr::null_mut()),
            NDIS_STATUS_SUCCESS
        );
        assert_eq!(
            ch.RestartHandler.unwrap()(ctx, std::ptr::null_mut()),
            NDIS_STATUS_SUCCESS
        );
        assert_eq!(ch.CheckForHangHandlerEx.unwrap()(ctx), FALSE);
        let mut addressing: BOOLEAN = TRUE;
        assert_eq!(
            ch.ResetHandlerEx.unwrap()(ctx, &mut addressing),
            NDIS_STATUS_SUCCESS
        );
        assert_eq!(addressing, FALSE);
        ch.DevicePnPEventNotifyHandler.unwrap()(ctx, std::ptr::null_mut());
        ch.ShutdownHandlerEx.unwrap()(ctx, NdisShutdownPowerOff);
        ch.CancelOidRequestHandler.unwrap()(ctx, std::ptr::null_mut());
        ch.CancelSendHandler.unwrap()(ctx, std::ptr::null_mut());
    }
    finish(sim);
}

#[test]
fn verifier_reports_pool_leak_by_tag_at_halt() {
    // A deliberately broken flow: memory taken and never released must be
    // reported at halt, with its tag.
    let mut sim = with_adapter();
    let h = sim.adapter_handle();
    // SAFETY: acting as a buggy driver: allocate and never free.
    let p = unsafe {
        chimney_miniport::ffi::imports::NdisAllocateMemoryWithTagPriority(
            h,
            64,
            0x5465_7374,
            NormalPoolPriority,
        )
    };
    assert!(!p.is_null());
    sim.halt();
    let v = sim.violations();
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::Leak { what } if what.contains("tag: 1415934836"))),
        "leak by tag reported: {v:?}"
    );
}
