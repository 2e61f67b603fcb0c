//! Shared setup for the simulator tests.
#![allow(dead_code, clippy::disallowed_methods, clippy::disallowed_macros)]

pub mod send;
pub mod tree;

use chimney_miniport::ffi::*;
use ndis_sim::Simulator;

/// A simulator with the driver loaded (DriverEntry succeeded).
pub fn loaded() -> Simulator {
    let mut sim = Simulator::new();
    assert_eq!(sim.load(), STATUS_SUCCESS, "DriverEntry");
    sim
}

/// A simulator with the driver loaded and one adapter initialized.
pub fn with_adapter() -> Simulator {
    let mut sim = loaded();
    assert_eq!(
        sim.initialize_adapter(),
        NDIS_STATUS_SUCCESS,
        "MiniportInitializeEx"
    );
    sim
}

/// Halt and unload, then require a clean verifier record and zero leaks.
pub fn finish(mut sim: Simulator) {
    sim.run_until_idle();
    sim.halt();
    sim.unload();
    sim.assert_clean();
    assert!(
        sim.core.live_resources().is_empty(),
        "leaked: {:?}",
        sim.core.live_resources()
    );
}

/// Read a plain C value from the start of a byte buffer.
pub fn read<T: Copy>(bytes: &[u8]) -> T {
    assert!(bytes.len() >= size_of::<T>(), "buffer too short");
    // SAFETY: length checked; T is a plain C structure of integers.
    unsafe { bytes.as_ptr().cast::<T>().read_unaligned() }
}

/// The bytes of a plain C value.
pub fn bytes_of<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: viewing a Copy value's storage as bytes for an OID buffer.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()).to_vec() }
}

/// An `NDIS_OFFLOAD_PARAMETERS` that only switches chimney per IP version.
pub fn offload_parameters(v4: UCHAR, v6: UCHAR) -> NDIS_OFFLOAD_PARAMETERS {
    // SAFETY: plain data; zero means "no change" for every field.
    let mut p: NDIS_OFFLOAD_PARAMETERS = unsafe { std::mem::zeroed() };
    p.Header = NDIS_OBJECT_HEADER::new(
        NDIS_OBJECT_TYPE_DEFAULT,
        NDIS_OFFLOAD_PARAMETERS_REVISION_1,
        size_of::<NDIS_OFFLOAD_PARAMETERS>(),
    );
    p.TcpConnectionIPv4 = v4;
    p.TcpConnectionIPv6 = v6;
    p
}
