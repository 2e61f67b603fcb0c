//! ndis-sim
