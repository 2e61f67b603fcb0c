//! NDIS timer objects and I/O work items, driven by the simulator's virtual
//! clock. Nothing fires on its own: the harness runs due timers (at
//! DISPATCH_LEVEL) and queued work items (at PASSIVE_LEVEL) deterministically,
//! in (due time, arming order) and FIFO order respectively.

use super::check_irql_max;
use super::memory::{sim_alloc, sim_free};
use crate::state::{self, Armed, Kind, SimCore, lock, report};
use crate::verifier::Violation;
use chimney_miniport::ffi::{
    BOOLEAN, DISPATCH_LEVEL, FALSE, NDIS_HANDLE, NDIS_IO_WORKITEM_FUNCTION, NDIS_STATUS,
    NDIS_STATUS_INVALID_PARAMETER, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS,
    NDIS_TIMER_CHARACTERISTICS, NDIS_TIMER_FUNCTION, PASSIVE_LEVEL, PNDIS_HANDLE, PVOID, TRUE,
    ULONG,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What the simulator keeps for one timer object (lives in pool memory it owns).
#[repr(C)]
pub struct SimTimer {
    pub function: NDIS_TIMER_FUNCTION,
    pub context: PVOID,
}

/// What the simulator keeps for one I/O work item.
#[repr(C)]
pub struct SimWorkItem {
    pub routine: NDIS_IO_WORKITEM_FUNCTION,
    pub context: PVOID,
    pub queued: bool,
}

fn owner(handle: NDIS_HANDLE) -> Option<Arc<SimCore>> {
    state::lookup(handle as usize, &Kind::AdapterHandle)
        .or_else(|| state::lookup(handle as usize, &Kind::DriverHandle))
}

/// `NdisAllocateTimerObject` (ndis.sys). PASSIVE_LEVEL.
///
/// # Safety
/// NDIS contract: valid characteristics and out pointer.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisAllocateTimerObject(
    NdisHandle: NDIS_HANDLE,
    TimerCharacteristics: *const NDIS_TIMER_CHARACTERISTICS,
    pTimerObject: PNDIS_HANDLE,
) -> NDIS_STATUS {
    check_irql_max("NdisAllocateTimerObject", PASSIVE_LEVEL);
    let Some(sim) = owner(NdisHandle) else {
        report(Violation::BadHandle {
            export: "NdisAllocateTimerObject",
            handle: NdisHandle as usize,
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    if TimerCharacteristics.is_null() || pTimerObject.is_null() {
        report(Violation::BadArgument {
            export: "NdisAllocateTimerObject",
            detail: "NULL argument".into(),
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: checked non-NULL; NDIS contract says it points to characteristics.
    let ch = unsafe { &*TimerCharacteristics };
    if ch.TimerFunction.is_none() {
        report(Violation::BadArgument {
            export: "NdisAllocateTimerObject",
            detail: "no TimerFunction".into(),
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    sim.record_call("NdisAllocateTimerObject");
    let p = sim_alloc(&sim, size_of::<SimTimer>(), Kind::Timer);
    if p.is_null() {
        return NDIS_STATUS_RESOURCES;
    }
    // SAFETY: `p` is fresh, 16-aligned and large enough for a SimTimer.
    unsafe {
        p.cast::<SimTimer>().write(SimTimer {
            function: ch.TimerFunction,
            context: ch.FunctionContext,
        });
        *pTimerObject = p;
    }
    NDIS_STATUS_SUCCESS
}

fn cancel_armed(sim: &SimCore, timer: usize) -> bool {
    let mut timers = lock(&sim.timers);
    let before = timers.len();
    timers.retain(|_, a| a.timer != timer);
    timers.len() != before
}

/// `NdisSetTimerObject` (ndis.sys). IRQL <= DISPATCH_LEVEL.
/// `DueTime` is in 100 ns units, negative for relative (the only form we accept).
/// Returns TRUE if the timer was already armed (it is re-armed).
#[unsafe(no_mangle)]
pub extern "system" fn NdisSetTimerObject(
    TimerObject: NDIS_HANDLE,
    DueTime: i64,
    MillisecondsPeriod: ULONG,
    FunctionContext: PVOID,
) -> BOOLEAN {
    check_irql_max("NdisSetTimerObject", DISPATCH_LEVEL);
    let Some(sim) = state::lookup(TimerObject as usize, &Kind::Timer) else {
        report(Violation::BadHandle {
            export: "NdisSetTimerObject",
            handle: TimerObject as usize,
        });
        return FALSE;
    };
    if !FunctionContext.is_null() {
        // SAFETY: registered Timer objects are SimTimer records we wrote.
        unsafe { (*TimerObject.cast::<SimTimer>()).context = FunctionContext };
    }
    let now = sim.now_100ns.load(Ordering::SeqCst);
    let due = if DueTime < 0 {
        now.saturating_add(DueTime.unsigned_abs())
    } else {
        (DueTime as u64).max(now)
    };
    let seq = sim.timer_seq.fetch_add(1, Ordering::SeqCst);
    // Cancel and re-arm under one lock, as KeSetTimer does atomically: a
    // processor looking for due timers never sees the timer missing.
    let was = {
        let mut timers = lock(&sim.timers);
        let before = timers.len();
        let t = TimerObject as usize;
        timers.retain(|_, a| a.timer != t);
        let was = timers.len() != before;
        timers.insert(
            (due, seq),
            Armed {
                timer: t,
                period_100ns: u64::from(MillisecondsPeriod) * 10_000,
            },
        );
        was
    };
    if was { TRUE } else { FALSE }
}

/// `NdisCancelTimerObject` (ndis.sys): TRUE if the timer was armed.
#[unsafe(no_mangle)]
pub extern "system" fn NdisCancelTimerObject(TimerObject: NDIS_HANDLE) -> BOOLEAN {
    check_irql_max("NdisCancelTimerObject", DISPATCH_LEVEL);
    let Some(sim) = state::lookup(TimerObject as usize, &Kind::Timer) else {
        report(Violation::BadHandle {
            export: "NdisCancelTimerObject",
            handle: TimerObject as usize,
        });
        return FALSE;
    };
    if cancel_armed(&sim, TimerObject as usize) {
        TRUE
    } else {
        FALSE
    }
}

/// `NdisFreeTimerObject` (ndis.sys). PASSIVE_LEVEL; an armed timer is cancelled.
#[unsafe(no_mangle)]
pub extern "system" fn NdisFreeTimerObject(TimerObject: NDIS_HANDLE) {
    check_irql_max("NdisFreeTimerObject", PASSIVE_LEVEL);
    let Some(sim) = state::lookup(TimerObject as usize, &Kind::Timer) else {
        report(Violation::BadHandle {
            export: "NdisFreeTimerObject",
            handle: TimerObject as usize,
        });
        return;
    };
    cancel_armed(&sim, TimerObject as usize);
    free_object(TimerObject, size_of::<SimTimer>());
}

/// Release a Timer/WorkItem record (registered under its own kind).
fn free_object(p: NDIS_HANDLE, len: usize) {
    if let Some(e) = state::unregister(p as usize) {
        state::register(p as usize, Kind::Memory { tag: 0, len }, &e.sim);
        sim_free(p);
    }
}

/// `NdisAllocateIoWorkItem` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisAllocateIoWorkItem(NdisObjectHandle: NDIS_HANDLE) -> NDIS_HANDLE {
    check_irql_max("NdisAllocateIoWorkItem", DISPATCH_LEVEL);
    let Some(sim) = owner(NdisObjectHandle) else {
        report(Violation::BadHandle {
            export: "NdisAllocateIoWorkItem",
            handle: NdisObjectHandle as usize,
        });
        return std::ptr::null_mut();
    };
    sim.record_call("NdisAllocateIoWorkItem");
    let p = sim_alloc(&sim, size_of::<SimWorkItem>(), Kind::WorkItem);
    if !p.is_null() {
        // SAFETY: fresh, aligned, large enough.
        unsafe {
            p.cast::<SimWorkItem>().write(SimWorkItem {
                routine: None,
                context: std::ptr::null_mut(),
                queued: false,
            })
        };
    }
    p
}

/// `NdisQueueIoWorkItem` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisQueueIoWorkItem(
    NdisIoWorkItemHandle: NDIS_HANDLE,
    Routine: NDIS_IO_WORKITEM_FUNCTION,
    WorkItemContext: PVOID,
) {
    check_irql_max("NdisQueueIoWorkItem", DISPATCH_LEVEL);
    let Some(sim) = state::lookup(NdisIoWorkItemHandle as usize, &Kind::WorkItem) else {
        report(Violation::BadHandle {
            export: "NdisQueueIoWorkItem",
            handle: NdisIoWorkItemHandle as usize,
        });
        return;
    };
    let item = NdisIoWorkItemHandle.cast::<SimWorkItem>();
    // SAFETY: registered WorkItem objects are SimWorkItem records we wrote.
    let already = unsafe { (*item).queued };
    if already {
        report(Violation::BadArgument {
            export: "NdisQueueIoWorkItem",
            detail: "work item queued twice".into(),
        });
        return;
    }
    // SAFETY: as above.
    unsafe {
        (*item).routine = Routine;
        (*item).context = WorkItemContext;
        (*item).queued = true;
    }
    lock(&sim.work_items).push_back(item as usize);
}

/// `NdisFreeIoWorkItem` (ndis.sys). Freeing a queued item is misuse.
#[unsafe(no_mangle)]
pub extern "system" fn NdisFreeIoWorkItem(NdisIoWorkItemHandle: NDIS_HANDLE) {
    check_irql_max("NdisFreeIoWorkItem", DISPATCH_LEVEL);
    let Some(sim) = state::lookup(NdisIoWorkItemHandle as usize, &Kind::WorkItem) else {
        report(Violation::BadHandle {
            export: "NdisFreeIoWorkItem",
            handle: NdisIoWorkItemHandle as usize,
        });
        return;
    };
    let queued = lock(&sim.work_items).contains(&(NdisIoWorkItemHandle as usize));
    if queued {
        report(Violation::BadArgument {
            export: "NdisFreeIoWorkItem",
            detail: "work item freed while queued".into(),
        });
        return;
    }
    free_object(NdisIoWorkItemHandle, size_of::<SimWorkItem>());
}

/// Run the next queued work item, at PASSIVE_LEVEL. Returns false if none.
pub fn run_one_work_item(sim: &SimCore) -> bool {
    let Some(item) = lock(&sim.work_items).pop_front() else {
        return false;
    };
    let item = item as *mut SimWorkItem;
    // SAFETY: queued items stay allocated (freeing a queued item is refused).
    let (routine, ctx) = unsafe {
        (*item).queued = false;
        ((*item).routine, (*item).context)
    };
    if let Some(f) = routine {
        crate::irql::at(PASSIVE_LEVEL, || {
            // SAFETY: the driver registered this routine for this context.
            unsafe { f(ctx, item.cast()) }
        });
    }
    true
}

/// Fire the earliest timer due at or before the current virtual time, at
/// DISPATCH_LEVEL. Returns false if none is due.
pub fn fire_one_due_timer(sim: &SimCore) -> bool {
    let now = sim.now_100ns.load(Ordering::SeqCst);
    let next = {
        let mut timers = lock(&sim.timers);
        let key = match timers.keys().next() {
            Some(&k) if k.0 <= now => k,
            _ => return false,
        };
        timers.remove(&key).map(|a| (key.0, a))
    };
    let Some((due, armed)) = next else {
        return false;
    };
    if armed.period_100ns != 0 {
        let seq = sim.timer_seq.fetch_add(1, Ordering::SeqCst);
        lock(&sim.timers).insert((due + armed.period_100ns, seq), armed);
    }
    let t = armed.timer as *mut SimTimer;
    // SAFETY: armed timers are live SimTimer records (freeing cancels them).
    let (f, ctx) = unsafe { ((*t).function, (*t).context) };
    if let Some(f) = f {
        // A timer set again while its callback runs may fire on another
        // processor meanwhile, as a re-queued DPC does: counted, so a
        // model check can show it explored that.
        {
            let mut runs = lock(&sim.timer_runs);
            let n = runs.entry(t as usize).or_insert(0);
            if *n > 0 {
                sim.overlapping_timer_runs.fetch_add(1, Ordering::Relaxed);
            }
            *n += 1;
        }
        crate::irql::at_dispatch(|| {
            // SAFETY: the driver registered this callback for this context.
            unsafe {
                f(
                    std::ptr::null_mut(),
                    ctx,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            }
        });
        let mut runs = lock(&sim.timer_runs);
        if let Some(n) = runs.get_mut(&(t as usize)) {
            *n -= 1;
            if *n == 0 {
                runs.remove(&(t as usize));
            }
        }
    }
    true
}

/// Due time of the earliest armed timer, if any.
pub fn next_due(sim: &SimCore) -> Option<u64> {
    lock(&sim.timers).keys().next().map(|k| k.0)
}

/// `KeQueryPerformanceCounter` (ntoskrnl.exe): the virtual clock, counted in
/// 100 ns units (frequency 10 MHz). Any IRQL.
#[unsafe(no_mangle)]
pub extern "system" fn KeQueryPerformanceCounter(PerformanceFrequency: *mut i64) -> i64 {
    if !PerformanceFrequency.is_null() {
        // SAFETY: the caller passes a writable LARGE_INTEGER.
        unsafe { *PerformanceFrequency = 10_000_000 };
    }
    state::current().map_or(0, |s| s.now_100ns.load(Ordering::SeqCst) as i64)
}
