//! `miniport`: the entry points NDIS calls — DriverEntry and the miniport
//! characteristics (`driver`), adapter lifecycle (`adapter`), OID requests
//! (`ctrlpath`), the ordinary send/receive path (`datapath`) and the ten
//! chimney handlers (`chimney`). Each glues an NDIS callback to the layers
//! below; the logic lives in those layers.

// Entry points keep the C parameter names of their NDIS prototypes.
#![allow(non_snake_case)]

pub mod adapter;
pub mod chimney;
pub mod close;
pub mod ctrlpath;
pub mod datapath;
pub mod driver;
pub mod forward;
pub mod hardware;
pub mod reach;
pub mod receive;
pub mod send;
pub mod xmit;

pub use adapter::Adapter;
