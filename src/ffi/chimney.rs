//! PLACEHOLDER (being written): ndischimney.h types.
#[repr(C)]
pub struct NDIS_TCP_CONNECTION_OFFLOAD { _p: [u8; 0] }
pub type PNDIS_TCP_CONNECTION_OFFLOAD = *mut NDIS_TCP_CONNECTION_OFFLOAD;
