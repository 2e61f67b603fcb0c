//! PLACEHOLDER (being written): NET_BUFFER_LIST, NET_BUFFER, MDL.
#[repr(C)]
pub struct NET_BUFFER_LIST { _p: [u8; 0] }
pub type PNET_BUFFER_LIST = *mut NET_BUFFER_LIST;
#[repr(C)]
pub struct NET_BUFFER { _p: [u8; 0] }
pub type PNET_BUFFER = *mut NET_BUFFER;
#[repr(C)]
pub struct MDL { _p: [u8; 0] }
pub type PMDL = *mut MDL;
