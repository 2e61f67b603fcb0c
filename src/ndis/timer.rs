//! NDIS timer objects and I/O work items. Timers fire at DISPATCH_LEVEL,
//! work items run at PASSIVE_LEVEL. Both are allocated at initialization and
//! freed at halt; arming and queueing allocate nothing.

use super::NdisHandle;
use crate::ffi::imports::{
    NdisAllocateIoWorkItem, NdisAllocateTimerObject, NdisCancelTimerObject, NdisFreeIoWorkItem,
    NdisFreeTimerObject, NdisQueueIoWorkItem, NdisSetTimerObject,
};
use crate::ffi::{
    NDIS_HANDLE, NDIS_IO_WORKITEM_FUNCTION, NDIS_OBJECT_HEADER,
    NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS, NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1,
    NDIS_STATUS, NDIS_STATUS_RESOURCES, NDIS_TIMER_CHARACTERISTICS,
    NDIS_TIMER_CHARACTERISTICS_REVISION_1, NDIS_TIMER_FUNCTION, PVOID, ULONG, nt_success,
};

/// An allocated NDIS timer object.
pub struct Timer {
    handle: NdisHandle,
}

impl Timer {
    /// `NdisAllocateTimerObject` at PASSIVE_LEVEL; `context` is passed to `function`.
    pub fn allocate(
        owner: NdisHandle,
        tag: ULONG,
        function: NDIS_TIMER_FUNCTION,
        context: PVOID,
    ) -> Result<Timer, NDIS_STATUS> {
        let ch = NDIS_TIMER_CHARACTERISTICS {
            Header: NDIS_OBJECT_HEADER {
                Type: NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS,
                Revision: NDIS_TIMER_CHARACTERISTICS_REVISION_1,
                Size: NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1,
            },
            AllocationTag: tag,
            TimerFunction: function,
            FunctionContext: context,
        };
        let mut h: NDIS_HANDLE = core::ptr::null_mut();
        // SAFETY: characteristics and out pointer are valid for the call.
        let st = unsafe { NdisAllocateTimerObject(owner.raw(), &ch, &mut h) };
        if !nt_success(st) {
            return Err(st);
        }
        if h.is_null() {
            return Err(NDIS_STATUS_RESOURCES);
        }
        Ok(Timer {
            handle: NdisHandle::new(h),
        })
    }

    /// Arm (or re-arm) to fire once after `ms` milliseconds. True if it was armed already.
    pub fn set_ms(&self, ms: u32) -> bool {
        let due = -(i64::from(ms) * 10_000);
        // SAFETY: our timer object is valid until drop.
        unsafe { NdisSetTimerObject(self.handle.raw(), due, 0, core::ptr::null_mut()) != 0 }
    }

    /// Disarm. True if it was armed (its callback will then not run for that arming).
    pub fn cancel(&self) -> bool {
        // SAFETY: our timer object is valid until drop.
        unsafe { NdisCancelTimerObject(self.handle.raw()) != 0 }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: allocated by NdisAllocateTimerObject and not freed before.
        unsafe { NdisFreeTimerObject(self.handle.raw()) };
    }
}

/// An allocated NDIS I/O work item.
pub struct WorkItem {
    handle: NdisHandle,
}

impl WorkItem {
    pub fn allocate(owner: NdisHandle) -> Result<WorkItem, NDIS_STATUS> {
        // SAFETY: plain allocation call.
        let h = unsafe { NdisAllocateIoWorkItem(owner.raw()) };
        if h.is_null() {
            return Err(NDIS_STATUS_RESOURCES);
        }
        Ok(WorkItem {
            handle: NdisHandle::new(h),
        })
    }

    /// Queue `routine(context)` to run at PASSIVE_LEVEL.
    ///
    /// # Safety
    /// `context` must stay valid until the routine runs, and the item must not
    /// be queued again before it has started running.
    pub unsafe fn queue(&self, routine: NDIS_IO_WORKITEM_FUNCTION, context: PVOID) {
        // SAFETY: our work item is valid until drop.
        unsafe { NdisQueueIoWorkItem(self.handle.raw(), routine, context) };
    }
}

impl Drop for WorkItem {
    fn drop(&mut self) {
        // SAFETY: allocated by NdisAllocateIoWorkItem, not queued when dropped.
        unsafe { NdisFreeIoWorkItem(self.handle.raw()) };
    }
}
