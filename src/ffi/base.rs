//! Fundamental Windows/NDIS scalar types and the small structures every other
//! FFI module builds on. Names are the C names, as bindgen would emit them.

use core::ffi::c_void;
use static_assertions::{assert_eq_size, const_assert_eq};

pub type UCHAR = u8;
pub type BOOLEAN = u8;
pub type USHORT = u16;
pub type ULONG = u32;
pub type LONG = i32;
pub type ULONG64 = u64;
pub type ULONGLONG = u64;
pub type ULONG_PTR = usize;
pub type SIZE_T = usize;
pub type WCHAR = u16;
pub type PVOID = *mut c_void;
pub type PCVOID = *const c_void;
pub type NTSTATUS = i32;
pub type NDIS_STATUS = i32;
pub type PNDIS_STATUS = *mut NDIS_STATUS;
pub type NDIS_HANDLE = *mut c_void;
pub type PNDIS_HANDLE = *mut NDIS_HANDLE;
pub type NDIS_PORT_NUMBER = ULONG;
pub type NDIS_OID = ULONG;
pub type KIRQL = UCHAR;
pub type KSPIN_LOCK = ULONG_PTR;
pub type NET_IFINDEX = ULONG;
pub type NET_IFTYPE = USHORT;
pub type NDIS_MEDIUM = i32;
pub type NDIS_PHYSICAL_MEDIUM = i32;
pub type NDIS_REQUEST_TYPE = i32;
pub type NDIS_PARAMETER_TYPE = i32;
pub type PHYSICAL_ADDRESS = i64;

pub const TRUE: BOOLEAN = 1;
pub const FALSE: BOOLEAN = 0;

/// `KIRQL` values the driver and the simulator care about.
pub const PASSIVE_LEVEL: KIRQL = 0;
pub const APC_LEVEL: KIRQL = 1;
pub const DISPATCH_LEVEL: KIRQL = 2;

/// `NDIS_OBJECT_HEADER`: first member of nearly every versioned NDIS structure.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OBJECT_HEADER {
    pub Type: UCHAR,
    pub Revision: UCHAR,
    pub Size: USHORT,
}
pub type PNDIS_OBJECT_HEADER = *mut NDIS_OBJECT_HEADER;

impl NDIS_OBJECT_HEADER {
    /// A header for a structure of `size` bytes (sizes of NDIS structures fit a USHORT).
    pub const fn new(type_: UCHAR, revision: UCHAR, size: usize) -> Self {
        Self {
            Type: type_,
            Revision: revision,
            Size: size as USHORT,
        }
    }
}

/// `UNICODE_STRING` (`NDIS_STRING` is the same type). `Length` counts bytes, not characters.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UNICODE_STRING {
    pub Length: USHORT,
    pub MaximumLength: USHORT,
    pub Buffer: *mut WCHAR,
}
pub type NDIS_STRING = UNICODE_STRING;
pub type PNDIS_STRING = *mut UNICODE_STRING;
pub type PUNICODE_STRING = *mut UNICODE_STRING;
pub type PCUNICODE_STRING = *const UNICODE_STRING;

/// `LIST_ENTRY`: doubly linked list links.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LIST_ENTRY {
    pub Flink: *mut LIST_ENTRY,
    pub Blink: *mut LIST_ENTRY,
}

/// `SINGLE_LIST_ENTRY`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SINGLE_LIST_ENTRY {
    pub Next: *mut SINGLE_LIST_ENTRY,
}

/// `NDIS_SPIN_LOCK`: the kernel spin lock plus the IRQL saved by the acquire.
#[repr(C)]
#[derive(Debug, Default)]
pub struct NDIS_SPIN_LOCK {
    pub SpinLock: KSPIN_LOCK,
    pub OldIrql: KIRQL,
}
pub type PNDIS_SPIN_LOCK = *mut NDIS_SPIN_LOCK;

/// `DRIVER_OBJECT` is opaque to an NDIS miniport: it is only passed through to NDIS.
#[repr(C)]
pub struct DRIVER_OBJECT {
    _opaque: [u8; 0],
}
pub type PDRIVER_OBJECT = *mut DRIVER_OBJECT;

/// `DEVICE_OBJECT`, likewise opaque.
#[repr(C)]
pub struct DEVICE_OBJECT {
    _opaque: [u8; 0],
}
pub type PDEVICE_OBJECT = *mut DEVICE_OBJECT;

/// `NET_LUID` (a 64-bit union; only the raw value is used here).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NET_LUID {
    pub Value: ULONG64,
}

/// `GUID`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GUID {
    pub Data1: ULONG,
    pub Data2: USHORT,
    pub Data3: USHORT,
    pub Data4: [UCHAR; 8],
}

const_assert_eq!(core::mem::size_of::<NDIS_OBJECT_HEADER>(), 4);
const_assert_eq!(core::mem::offset_of!(NDIS_OBJECT_HEADER, Type), 0);
const_assert_eq!(core::mem::offset_of!(NDIS_OBJECT_HEADER, Revision), 1);
const_assert_eq!(core::mem::offset_of!(NDIS_OBJECT_HEADER, Size), 2);
const_assert_eq!(core::mem::size_of::<GUID>(), 16);
const_assert_eq!(core::mem::offset_of!(GUID, Data4), 8);
assert_eq_size!(NET_LUID, u64);

#[cfg(target_pointer_width = "64")]
mod layout64 {
    use super::*;
    use core::mem::{offset_of, size_of};
    const_assert_eq!(size_of::<UNICODE_STRING>(), 16);
    const_assert_eq!(offset_of!(UNICODE_STRING, Length), 0);
    const_assert_eq!(offset_of!(UNICODE_STRING, MaximumLength), 2);
    const_assert_eq!(offset_of!(UNICODE_STRING, Buffer), 8);
    const_assert_eq!(size_of::<LIST_ENTRY>(), 16);
    const_assert_eq!(offset_of!(LIST_ENTRY, Blink), 8);
    const_assert_eq!(size_of::<SINGLE_LIST_ENTRY>(), 8);
    const_assert_eq!(size_of::<NDIS_SPIN_LOCK>(), 16);
    const_assert_eq!(offset_of!(NDIS_SPIN_LOCK, SpinLock), 0);
    const_assert_eq!(offset_of!(NDIS_SPIN_LOCK, OldIrql), 8);
}

pub type PBOOLEAN = *mut BOOLEAN;
pub type PULONG = *mut ULONG;
pub type UINT = u32;

/// `PNDIS_DRIVER_OPTIONAL_HANDLERS`: ndis.h declares a union of every optional
/// handler table, each of which begins with an `NDIS_OBJECT_HEADER` whose
/// `Type` says which table it is; a pointer to the header stands for it.
pub type PNDIS_DRIVER_OPTIONAL_HANDLERS = *mut NDIS_OBJECT_HEADER;

/// `PNDIS_MINIPORT_ADAPTER_ATTRIBUTES`: likewise a union of the attribute
/// structures, told apart by their header's `Type`.
pub type PNDIS_MINIPORT_ADAPTER_ATTRIBUTES = *mut NDIS_OBJECT_HEADER;
