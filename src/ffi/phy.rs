//! The frame port under the software offload engine: the only "hardware" this
//! driver drives. It is a tiny C ABI, imported like the NDIS exports, so the
//! driver code is identical wherever it runs:
//!
//! - on a Linux host, `ndis-sim` defines these functions (a scripted TCP peer
//!   now, a TAP device in a network namespace later);
//! - on Windows, a real NIC backend (or a loopback port) supplies them; until
//!   one exists, `ChimneyPhyAttach` is absent there and the adapter does not
//!   advertise chimney (docs/windows.md).
//!
//! Contract:
//! - `ChimneyPhyAttach` (PASSIVE_LEVEL) registers the receive and transmit-ready
//!   handlers, returns the port's MAC address and its transmit-ring depth in
//!   frames. `NDIS_STATUS_SUCCESS` or a failure status.
//! - `ChimneyPhyTransmit` (IRQL <= DISPATCH_LEVEL) copies one complete Ethernet
//!   frame (no FCS) into the transmit ring. `NDIS_STATUS_SUCCESS`, or
//!   `NDIS_STATUS_RESOURCES` when the ring is full; after a refusal the port
//!   calls `TxReadyHandler` once space has freed.
//! - The port calls `ReceiveHandler` at DISPATCH_LEVEL with one received frame,
//!   valid only during the call, and `TxReadyHandler` at DISPATCH_LEVEL. It
//!   holds none of its locks during either call, so the handlers may transmit.
//! - `ChimneyPhyDetach` (PASSIVE_LEVEL): when it returns, no handler is
//!   running and none will be called again.

use super::*;

/// One received frame (Ethernet header first, no FCS), at DISPATCH_LEVEL.
pub type CHIMNEY_PHY_RECEIVE_HANDLER =
    Option<unsafe extern "system" fn(Context: PVOID, Frame: *const UCHAR, Length: ULONG)>;

/// Transmit-ring space has freed after a refused `ChimneyPhyTransmit`.
pub type CHIMNEY_PHY_TX_READY_HANDLER = Option<unsafe extern "system" fn(Context: PVOID)>;

/// `Header.Type` of [`CHIMNEY_PHY_CHARACTERISTICS`] (NDIS_OBJECT_TYPE_DEFAULT).
pub const CHIMNEY_PHY_CHARACTERISTICS_TYPE: UCHAR = 0x80;
pub const CHIMNEY_PHY_CHARACTERISTICS_REVISION_1: UCHAR = 1;

/// What the driver registers with the frame port.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CHIMNEY_PHY_CHARACTERISTICS {
    pub Header: NDIS_OBJECT_HEADER,
    /// Passed back to both handlers.
    pub Context: PVOID,
    pub ReceiveHandler: CHIMNEY_PHY_RECEIVE_HANDLER,
    pub TxReadyHandler: CHIMNEY_PHY_TX_READY_HANDLER,
}
pub type PCHIMNEY_PHY_CHARACTERISTICS = *mut CHIMNEY_PHY_CHARACTERISTICS;

pub const NDIS_SIZEOF_CHIMNEY_PHY_CHARACTERISTICS_REVISION_1: USHORT =
    core::mem::size_of::<CHIMNEY_PHY_CHARACTERISTICS>() as USHORT;

/// Longest frame the port carries: 1500-byte MTU + Ethernet header + one 802.1Q tag.
pub const CHIMNEY_PHY_MAX_FRAME: usize = 1518;

#[cfg(target_pointer_width = "64")]
mod layout64 {
    use super::*;
    use core::mem::{offset_of, size_of};
    use static_assertions::const_assert_eq;
    type C = CHIMNEY_PHY_CHARACTERISTICS;
    const_assert_eq!(size_of::<C>(), 32);
    const_assert_eq!(offset_of!(C, Header), 0);
    const_assert_eq!(offset_of!(C, Context), 8);
    const_assert_eq!(offset_of!(C, ReceiveHandler), 16);
    const_assert_eq!(offset_of!(C, TxReadyHandler), 24);
}

#[cfg(not(target_os = "windows"))]
unsafe extern "system" {
    pub fn ChimneyPhyAttach(
        MiniportAdapterHandle: NDIS_HANDLE,
        Characteristics: *const CHIMNEY_PHY_CHARACTERISTICS,
        MacAddress: *mut UCHAR,
        TxRingSize: *mut ULONG,
    ) -> NDIS_STATUS;
    pub fn ChimneyPhyDetach(MiniportAdapterHandle: NDIS_HANDLE);
    pub fn ChimneyPhyTransmit(
        MiniportAdapterHandle: NDIS_HANDLE,
        Frame: *const UCHAR,
        Length: ULONG,
    ) -> NDIS_STATUS;
}
