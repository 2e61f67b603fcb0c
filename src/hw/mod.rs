//! The NIC hardware boundary: what the chimney layer asks of the hardware
//! that carries offloaded connections, and what the hardware reports back.
//!
//! The chimney layer (`miniport::send`) owns the host's requests: the NBL
//! queues, TCP sequence accounting, segmentation and completions. Below
//! [`OffloadNic`] is "the hardware": it learns which 4-tuples belong to which
//! connection, takes fully described segments into a bounded transmit ring,
//! and reports received segments and freed ring space through [`NicEvents`].
//! [`soft::SoftNic`] implements it in software over a frame port
//! (`ffi::phy`); a real TOE NIC backend would implement the same trait.

pub mod index;
pub mod soft;

pub use crate::wire::{FrameTemplate, SegmentFields};

/// Why the hardware did not take a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NicError {
    /// The transmit ring is full: keep the data queued; [`NicEvents::tx_ready`]
    /// follows when space frees.
    RingFull,
    /// The hardware cannot serve this request at all (no table space, a
    /// frame it cannot build).
    Refused,
}

/// A received TCP segment, already matched to an offloaded connection.
#[derive(Clone, Copy, Debug)]
pub struct RxSegment<'a> {
    /// The 4-tuple as the target sees it (local = the offloaded side).
    pub flow: index::FlowKey,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// The window field as on the wire (unscaled).
    pub window: u16,
    pub timestamps: Option<(u32, u32)>,
    /// The SACK option's blocks, as received.
    pub sack: crate::wire::SackBlocks,
    pub payload: &'a [u8],
    /// The whole frame as received (empty for a segment the host forwarded,
    /// which has none): what goes up the ordinary path if it is held.
    pub frame: &'a [u8],
}

/// What the hardware counted of one IP family's offloaded traffic since
/// its last reset (spec §7.6): only segments of offloaded connections, in
/// both directions; octets are whole IP datagrams (headers included). Each
/// counter wraps at its width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Segments received and taken by an offloaded connection.
    pub in_segments: u64,
    pub in_octets: u64,
    /// Segments transmitted for offloaded connections.
    pub out_segments: u64,
    pub out_octets: u64,
    /// Of those, segments carrying RST.
    pub out_resets: u32,
}

/// The hardware, as the chimney layer drives it.
pub trait OffloadNic {
    /// Steer received segments of `t`'s 4-tuple to connection `id` from now on.
    fn add_connection(&self, id: u32, t: &FrameTemplate) -> Result<(), NicError>;
    /// Stop steering `t`'s 4-tuple to `id`.
    fn remove_connection(&self, id: u32, t: &FrameTemplate);
    /// A hint: `add_connection` or `remove_connection` for `key` follows
    /// shortly, so the hardware may start fetching what it will touch.
    /// Changes nothing observable; doing nothing is correct.
    fn expect_connection(&self, key: &index::FlowKey) {
        let _ = key;
    }
    /// Transmit one segment of the connection `t` describes; `payload` is
    /// gathered in order. The data is copied before this returns.
    fn post(&self, t: &FrameTemplate, s: &SegmentFields, payload: &[&[u8]])
    -> Result<(), NicError>;
    /// The traffic counters of IPv4 (`ipv6` false) or IPv6.
    fn traffic(&self, ipv6: bool) -> Traffic;
    /// Zero the traffic counters of one family.
    fn reset_traffic(&self, ipv6: bool);
}

/// What the hardware reports, at DISPATCH_LEVEL, with no driver lock held.
pub trait NicEvents {
    /// A segment arrived, steered to connection `id`. Returns false when
    /// `id` is not (or no longer) the connection of `seg.flow`, so the
    /// hardware can try its next candidate.
    fn segment(&self, id: u32, seg: &RxSegment<'_>) -> bool;
    /// Transmit-ring space freed after a [`NicError::RingFull`].
    fn tx_ready(&self);
    /// A frame no offloaded connection took (other traffic, unparsable
    /// frames, segments of a connection being uploaded): it belongs to the
    /// host's own stack.
    fn unclaimed(&self, frame: &[u8]);
}
