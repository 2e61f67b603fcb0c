//! Each check of the simulator's verifier, shown catching a deliberately
//! broken driver. The "driver" here is the test calling the NDIS imports
//! (the same link-substituted functions the driver calls) the wrong way.

// Test code runs on the host: the driver's allocation bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use chimney_miniport::ffi::imports::*;
use chimney_miniport::ffi::*;
use common::*;
use ndis_sim::{Violation, irql, tracker};
use std::sync::Mutex;

fn lock_storage() -> Box<NDIS_SPIN_LOCK> {
    let mut l = Box::<NDIS_SPIN_LOCK>::default();
    // SAFETY: storage for a lock we own.
    unsafe { NdisAllocateSpinLock(&mut *l) };
    l
}

#[test]
fn catches_passive_only_call_at_dispatch() {
    let sim = with_adapter();
    let mut obj = NDIS_CONFIGURATION_OBJECT {
        Header: NDIS_OBJECT_HEADER::new(
            NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT,
            NDIS_CONFIGURATION_OBJECT_REVISION_1,
            size_of::<NDIS_CONFIGURATION_OBJECT>(),
        ),
        NdisHandle: sim.adapter_handle(),
        Flags: 0,
    };
    let mut h: NDIS_HANDLE = std::ptr::null_mut();
    // SAFETY: valid arguments, wrong IRQL on purpose.
    irql::at_dispatch(|| unsafe { NdisOpenConfigurationEx(&mut obj, &mut h) });
    assert!(sim.violations().contains(&Violation::IrqlTooHigh {
        export: "NdisOpenConfigurationEx",
        irql: DISPATCH_LEVEL,
        max: PASSIVE_LEVEL
    }));
    // SAFETY: close what we opened.
    unsafe { NdisCloseConfiguration(h) };
}

#[test]
fn catches_dpr_acquire_below_dispatch() {
    let sim = ndis_sim::Simulator::new();
    let mut l = lock_storage();
    // SAFETY: a valid lock, wrong IRQL on purpose.
    unsafe {
        NdisDprAcquireSpinLock(&mut *l);
        NdisDprReleaseSpinLock(&mut *l);
    }
    assert!(sim.violations().iter().any(|v| matches!(
        v,
        Violation::IrqlNotDispatch {
            export: "NdisDprAcquireSpinLock",
            ..
        }
    )));
}

#[test]
fn spin_lock_raises_to_dispatch_and_restores() {
    let sim = ndis_sim::Simulator::new();
    let mut l = lock_storage();
    assert_eq!(irql::current(), PASSIVE_LEVEL);
    // SAFETY: correct use.
    unsafe { NdisAcquireSpinLock(&mut *l) };
    assert_eq!(irql::current(), DISPATCH_LEVEL);
    // SAFETY: correct use.
    unsafe { NdisReleaseSpinLock(&mut *l) };
    assert_eq!(irql::current(), PASSIVE_LEVEL);
    sim.assert_clean();
}

#[test]
fn catches_double_acquire() {
    let sim = ndis_sim::Simulator::new();
    let mut l = lock_storage();
    // SAFETY: misuse on purpose (the simulator refuses the second acquire instead of deadlocking).
    unsafe {
        NdisAcquireSpinLock(&mut *l);
        NdisAcquireSpinLock(&mut *l);
        NdisReleaseSpinLock(&mut *l);
    }
    assert!(
        sim.violations()
            .iter()
            .any(|v| matches!(v, Violation::SpinLockDoubleAcquire { .. }))
    );
}

#[test]
fn catches_release_of_lock_not_held() {
    let sim = ndis_sim::Simulator::new();
    let mut l = lock_storage();
    // SAFETY: misuse on purpose.
    unsafe { NdisReleaseSpinLock(&mut *l) };
    assert!(
        sim.violations()
            .iter()
            .any(|v| matches!(v, Violation::SpinLockNotHeld { .. }))
    );
}

#[test]
fn catches_lock_held_across_call_into_ndis() {
    let sim = with_adapter();
    let mut l = lock_storage();
    let mut ind = NDIS_STATUS_INDICATION {
        Header: NDIS_OBJECT_HEADER::new(
            NDIS_OBJECT_TYPE_STATUS_INDICATION,
            NDIS_STATUS_INDICATION_REVISION_1,
            size_of::<NDIS_STATUS_INDICATION>(),
        ),
        SourceHandle: sim.adapter_handle(),
        PortNumber: 0,
        StatusCode: NDIS_STATUS_MEDIA_CONNECT,
        Flags: 0,
        DestinationHandle: std::ptr::null_mut(),
        RequestId: std::ptr::null_mut(),
        StatusBuffer: std::ptr::null_mut(),
        StatusBufferSize: 0,
        Guid: GUID::default(),
        NdisReserved: [std::ptr::null_mut(); 4],
    };
    // SAFETY: a valid indication made while holding a lock, on purpose.
    unsafe {
        NdisAcquireSpinLock(&mut *l);
        NdisMIndicateStatusEx(sim.adapter_handle(), &mut ind);
        NdisReleaseSpinLock(&mut *l);
    }
    assert!(
        sim.violations()
            .contains(&Violation::SpinLockHeldAcrossCall {
                export: "NdisMIndicateStatusEx",
                locks: 1
            })
    );
}

#[test]
fn spin_lock_excludes_other_processors() {
    let sim = ndis_sim::Simulator::new();
    struct Shared(Box<NDIS_SPIN_LOCK>, Mutex<()>, std::cell::UnsafeCell<u64>);
    // SAFETY: the u64 is only touched under the NDIS lock.
    unsafe impl Sync for Shared {}
    let s = Shared(
        lock_storage(),
        Mutex::new(()),
        std::cell::UnsafeCell::new(0),
    );
    let lock_ptr = &*s.0 as *const NDIS_SPIN_LOCK as usize;
    let shared = &s;
    let core = sim.core.clone();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let core = core.clone();
            scope.spawn(move || {
                let s = shared;
                ndis_sim::state::set_current(Some(core));
                for _ in 0..20_000 {
                    // SAFETY: correct use; the counter is protected by the lock.
                    unsafe {
                        NdisAcquireSpinLock(lock_ptr as PNDIS_SPIN_LOCK);
                        let v = s.2.get().read_volatile();
                        s.2.get().write_volatile(v + 1);
                        NdisReleaseSpinLock(lock_ptr as PNDIS_SPIN_LOCK);
                    }
                }
            });
        }
    });
    let _ = &s.1;
    // SAFETY: both threads have finished; no one else touches the counter.
    assert_eq!(unsafe { *s.2.get() }, 40_000);
    sim.assert_clean();
}

#[test]
fn catches_completion_before_handler_returned() {
    let sim = with_adapter();
    // SAFETY: an all-zero block list is valid plain data.
    let mut root = Box::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>::new(unsafe { std::mem::zeroed() });
    let p: *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST = &mut *root;
    // The handler "is still running": completing now is a synchronous completion.
    tracker::give(&sim.core, p as usize, "MiniportInitiateOffload");
    // SAFETY: the block list lives for the call.
    unsafe { NdisMInitiateOffloadComplete(sim.adapter_handle(), p) };
    assert!(
        sim.violations()
            .contains(&Violation::CompletedBeforeReturn {
                export: "NdisMInitiateOffloadComplete",
                object: p as usize
            })
    );
}

#[test]
fn catches_double_completion() {
    let sim = with_adapter();
    // SAFETY: an all-zero block list is valid plain data.
    let mut root = Box::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>::new(unsafe { std::mem::zeroed() });
    let p: *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST = &mut *root;
    tracker::give(&sim.core, p as usize, "MiniportTerminateOffload");
    tracker::handler_returned(&sim.core, p as usize);
    // SAFETY: the block list lives for the call.
    unsafe { NdisMTerminateOffloadComplete(sim.adapter_handle(), p) };
    assert!(sim.violations().is_empty());
    // SAFETY: the block list lives for the call.
    unsafe { NdisMTerminateOffloadComplete(sim.adapter_handle(), p) };
    assert!(sim.violations().contains(&Violation::CompletedTwice {
        export: "NdisMTerminateOffloadComplete",
        object: p as usize
    }));
}

#[test]
fn catches_completion_of_something_never_given() {
    let sim = with_adapter();
    // SAFETY: an all-zero block list is valid plain data.
    let mut root = Box::<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>::new(unsafe { std::mem::zeroed() });
    let p: *mut NDIS_MINIPORT_OFFLOAD_BLOCK_LIST = &mut *root;
    // SAFETY: the block list lives for the call.
    unsafe { NdisMQueryOffloadStateComplete(sim.adapter_handle(), p) };
    assert!(sim.violations().contains(&Violation::CompletedNeverGiven {
        export: "NdisMQueryOffloadStateComplete",
        object: p as usize
    }));
}

#[test]
fn catches_bad_free_and_bad_handle() {
    let sim = with_adapter();
    let mut x = [0u8; 32];
    // SAFETY: deliberately freeing memory NDIS never allocated (the simulator refuses it).
    unsafe { NdisFreeMemory(x.as_mut_ptr().cast(), 32, 0) };
    // SAFETY: deliberately arming a timer that does not exist.
    unsafe { NdisSetTimerObject(x.as_mut_ptr().cast(), -10_000, 0, std::ptr::null_mut()) };
    let v = sim.violations();
    assert!(
        v.iter().any(|v| matches!(v, Violation::BadFree { .. })),
        "{v:?}"
    );
    assert!(
        v.iter().any(|v| matches!(
            v,
            Violation::BadHandle {
                export: "NdisSetTimerObject",
                ..
            }
        )),
        "{v:?}"
    );
}

#[test]
fn failure_injection_fails_exactly_the_nth_allocation() {
    let sim = with_adapter();
    let h = sim.adapter_handle();
    sim.fail_allocation(2);
    // SAFETY: plain allocations through the import.
    let a = unsafe { NdisAllocateMemoryWithTagPriority(h, 16, 1, NormalPoolPriority) };
    // SAFETY: plain allocation.
    let b = unsafe { NdisAllocateMemoryWithTagPriority(h, 16, 1, NormalPoolPriority) };
    // SAFETY: plain allocation.
    let c = unsafe { NdisAllocateMemoryWithTagPriority(h, 16, 1, NormalPoolPriority) };
    assert!(!a.is_null() && b.is_null() && !c.is_null());
    // SAFETY: freeing what we allocated.
    unsafe {
        NdisFreeMemory(a, 16, 0);
        NdisFreeMemory(c, 16, 0);
    }
    finish(sim);
}

static ORDER: Mutex<Vec<(usize, u8)>> = Mutex::new(Vec::new());

unsafe extern "system" fn record_timer(_s1: PVOID, ctx: PVOID, _s2: PVOID, _s3: PVOID) {
    ORDER.lock().unwrap().push((ctx as usize, irql::current()));
}

unsafe extern "system" fn record_work(ctx: PVOID, _h: NDIS_HANDLE) {
    ORDER.lock().unwrap().push((ctx as usize, irql::current()));
}

#[test]
fn virtual_clock_fires_timers_in_due_order_at_dispatch_and_work_items_fifo_at_passive() {
    let sim = with_adapter();
    let h = sim.adapter_handle();
    ORDER.lock().unwrap().clear();
    let mut timers = Vec::new();
    for (ctx, ms) in [(1usize, 30i64), (2, 10), (3, 20), (4, 10)] {
        let ch = NDIS_TIMER_CHARACTERISTICS {
            Header: NDIS_OBJECT_HEADER::new(
                NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS,
                NDIS_TIMER_CHARACTERISTICS_REVISION_1,
                size_of::<NDIS_TIMER_CHARACTERISTICS>(),
            ),
            AllocationTag: 0x7465_7374,
            TimerFunction: Some(record_timer),
            FunctionContext: ctx as PVOID,
        };
        let mut t: NDIS_HANDLE = std::ptr::null_mut();
        // SAFETY: valid characteristics and out pointer.
        let st = unsafe { NdisAllocateTimerObject(h, &ch, &mut t) };
        assert_eq!(st, NDIS_STATUS_SUCCESS);
        // SAFETY: our timer.
        unsafe { NdisSetTimerObject(t, -ms * 10_000, 0, std::ptr::null_mut()) };
        timers.push(t);
    }
    // SAFETY: plain work item use.
    let w1 = unsafe { NdisAllocateIoWorkItem(h) };
    // SAFETY: plain allocation.
    let w2 = unsafe { NdisAllocateIoWorkItem(h) };
    // SAFETY: queue both.
    unsafe {
        NdisQueueIoWorkItem(w1, Some(record_work), 100 as PVOID);
        NdisQueueIoWorkItem(w2, Some(record_work), 101 as PVOID);
    }
    sim.advance_ms(9);
    assert_eq!(
        *ORDER.lock().unwrap(),
        vec![(100, PASSIVE_LEVEL), (101, PASSIVE_LEVEL)],
        "no timer before it is due"
    );
    sim.advance_ms(25);
    assert_eq!(
        ORDER.lock().unwrap()[2..],
        [
            (2, DISPATCH_LEVEL),
            (4, DISPATCH_LEVEL),
            (3, DISPATCH_LEVEL),
            (1, DISPATCH_LEVEL)
        ],
        "due order, ties in arming order"
    );
    // SAFETY: free everything (cancelled timers included).
    unsafe {
        for t in timers {
            NdisFreeTimerObject(t);
        }
        NdisFreeIoWorkItem(w1);
        NdisFreeIoWorkItem(w2);
    }
    finish(sim);
}

#[test]
fn rule_072_receive_completions_overlapping_on_two_processors_are_reported() {
    // Two processors complete receive requests of one connection at once:
    // the first is held inside its NdisTcpOffloadReceiveComplete call (the
    // host's hook waits) while the second makes its own.
    let sim = with_adapter();
    let c = common::send::offload(&sim, 1, 4000, ndis_sim::AckPolicy::Manual);
    let (a, b) = (
        ndis_sim::builders::NblChain::single(&[0u8; 10]),
        ndis_sim::builders::NblChain::single(&[0u8; 10]),
    );
    let context = c.tree.context(c.tcp);
    for ch in [&a, &b] {
        ndis_sim::exports::chimney::note_receive_post(&sim.core, ch.head() as usize, context);
    }
    let complete = ndis_sim::exports::chimney::tcp_event_handlers()
        .NdisTcpOffloadReceiveComplete
        .expect("receive complete");
    let inside = std::sync::Arc::new(std::sync::Barrier::new(2));
    let after = std::sync::Arc::new(std::sync::Barrier::new(2));
    {
        let (inside, after) = (inside.clone(), after.clone());
        *sim.core.on_receive_complete.lock().unwrap() = Some(Box::new(move || {
            inside.wait();
            after.wait();
        }));
    }
    let handle = sim.adapter_handle() as usize;
    let (pa, pb) = (a.head() as usize, b.head() as usize);
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: the simulator's export with its adapter handle and a
            // request of this test.
            unsafe { complete(handle as NDIS_HANDLE, pa as PNET_BUFFER_LIST) }
        });
        s.spawn(|| {
            inside.wait();
            // SAFETY: as above.
            unsafe { complete(handle as NDIS_HANDLE, pb as PNET_BUFFER_LIST) };
            after.wait();
        });
    });
    let overlaps = sim
        .violations()
        .iter()
        .filter(|v| format!("{v:?}").contains("on another processor (rule 72"))
        .count();
    assert_eq!(overlaps, 1, "{:#?}", sim.violations());
}

#[test]
fn rule_046_a_terminate_completing_before_a_request_on_its_connection_is_reported() {
    // A receive request posted on the connection is still the driver's
    // when a terminate of that connection is completed: the simulator
    // reports it (every request on a terminated object completes first).
    let sim = with_adapter();
    let c = common::send::offload(&sim, 1, 4000, ndis_sim::AckPolicy::Manual);
    let request = ndis_sim::builders::NblChain::single(&[0u8; 100]);
    assert_eq!(
        sim.call_tcp_io(ndis_sim::TcpIoKind::Receive, c.slot_ptr(), request.head()),
        NDIS_STATUS_PENDING
    );
    let (term, root) = common::send::terminate_tree(&c);
    for id in 0..term.len() {
        // SAFETY: a block of this test's tree: terminated, as far as the
        // completion will say.
        unsafe { (*term.ptr(id)).Status = NDIS_STATUS_SUCCESS };
    }
    // SAFETY: the simulator's export with its adapter handle and a tree of
    // this test.
    irql::at_dispatch(|| unsafe {
        NdisMTerminateOffloadComplete(sim.adapter_handle(), term.ptr(root))
    });
    let late = |sim: &ndis_sim::Simulator| {
        sim.violations()
            .iter()
            .filter(|v| format!("{v:?}").contains("(rule 46)"))
            .count()
    };
    assert_eq!(late(&sim), 1, "{:#?}", sim.violations());
}
