//! The NIC clock: time in host ticks (`TicksPerSecond` of the offload
//! parameters), from the kernel's performance counter. Wraps at 2^32 ticks,
//! which every user of it handles (timer deadlines compare with wrapping
//! arithmetic).

use crate::ffi::imports::KeQueryPerformanceCounter;

/// Current NIC time in ticks of `ticks_per_second`.
pub fn nic_ticks(ticks_per_second: u32) -> u32 {
    let mut freq: i64 = 0;
    // SAFETY: valid out pointer; callable at any IRQL.
    let count = unsafe { KeQueryPerformanceCounter(&mut freq) };
    if freq <= 0 || count < 0 {
        return 0;
    }
    let ticks = (count as u128 * u128::from(ticks_per_second)) / freq as u128;
    ticks as u32
}

/// Wait about `us` microseconds (PASSIVE_LEVEL only, no spin lock held).
pub fn sleep_us(us: u32) {
    // SAFETY: a plain wait; the callers run at PASSIVE_LEVEL.
    unsafe { crate::ffi::imports::NdisMSleep(us) };
}
