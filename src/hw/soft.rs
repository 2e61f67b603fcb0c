//! The software NIC: [`OffloadNic`] over the frame port of `ffi::phy`.
//! Segments become Ethernet frames (built by `wire`), received frames are
//! parsed and steered to their connection through the lock-free
//! [`ConnIndex`]. Frames that belong to no offloaded connection are counted
//! and handed to [`NicEvents::unclaimed`] (the ordinary receive path).

use super::index::{ConnIndex, FlowKey};
use super::{NicError, NicEvents, OffloadNic, RxSegment, Traffic};
use crate::ffi::phy::{
    CHIMNEY_PHY_CHARACTERISTICS, CHIMNEY_PHY_CHARACTERISTICS_REVISION_1,
    CHIMNEY_PHY_CHARACTERISTICS_TYPE, CHIMNEY_PHY_MAX_FRAME, CHIMNEY_PHY_RECEIVE_HANDLER,
    CHIMNEY_PHY_TX_READY_HANDLER, NDIS_SIZEOF_CHIMNEY_PHY_CHARACTERISTICS_REVISION_1,
};
use crate::ffi::{
    NDIS_OBJECT_HEADER, NDIS_STATUS, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS, PVOID,
};
use crate::ndis::NdisHandle;
use crate::wire::{self, FrameTemplate, IpPair, SegmentFields};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Counters of the software NIC.
#[derive(Default)]
pub struct NicCounters {
    pub frames_out: AtomicU64,
    pub frames_in: AtomicU64,
    /// Received frames that did not parse (or failed a checksum).
    pub frames_bad: AtomicU64,
    /// Received frames for no offloaded connection.
    pub frames_unmatched: AtomicU64,
    /// Transmits refused because the ring was full.
    pub ring_full: AtomicU64,
    /// Offloaded traffic per IP family (IPv4, IPv6), as [`Traffic`] reports it.
    pub traffic: [TrafficCounters; 2],
}

/// The counters behind [`Traffic`] (relaxed atomics: they are statistics).
#[derive(Default)]
pub struct TrafficCounters {
    pub in_segments: AtomicU64,
    pub in_octets: AtomicU64,
    pub out_segments: AtomicU64,
    pub out_octets: AtomicU64,
    pub out_resets: AtomicU32,
}

impl TrafficCounters {
    fn snapshot(&self) -> Traffic {
        Traffic {
            in_segments: self.in_segments.load(Ordering::Relaxed),
            in_octets: self.in_octets.load(Ordering::Relaxed),
            out_segments: self.out_segments.load(Ordering::Relaxed),
            out_octets: self.out_octets.load(Ordering::Relaxed),
            out_resets: self.out_resets.load(Ordering::Relaxed),
        }
    }

    fn reset(&self) {
        self.in_segments.store(0, Ordering::Relaxed);
        self.in_octets.store(0, Ordering::Relaxed);
        self.out_segments.store(0, Ordering::Relaxed);
        self.out_octets.store(0, Ordering::Relaxed);
        self.out_resets.store(0, Ordering::Relaxed);
    }
}

/// Index of a family's counters.
fn family(ip: &IpPair) -> usize {
    match ip {
        IpPair::V4 { .. } => 0,
        IpPair::V6 { .. } => 1,
    }
}

pub struct SoftNic {
    handle: NdisHandle,
    /// The port's MAC address (the source of every frame).
    pub mac: [u8; 6],
    /// Depth of the port's transmit ring, in frames.
    pub ring_depth: u32,
    index: ConnIndex,
    pub counters: NicCounters,
    /// Still attached to the port (cleared by the first detach).
    attached: AtomicBool,
}

/// The shortest Ethernet frame on the wire, FCS excluded.
const ETH_MIN_FRAME: usize = 60;

/// The target-side flow key of a template.
pub fn flow_of(t: &FrameTemplate) -> FlowKey {
    let (local, remote) = addresses(&t.ip);
    FlowKey {
        local,
        remote,
        local_port: t.src_port,
        remote_port: t.dst_port,
    }
}

fn addresses(ip: &IpPair) -> ([u8; 16], [u8; 16]) {
    let mut a = [0u8; 16];
    let mut b = [0u8; 16];
    match ip {
        IpPair::V4 { src, dst, .. } => {
            if let (Some(x), Some(y)) = (a.get_mut(..4), b.get_mut(..4)) {
                x.copy_from_slice(src);
                y.copy_from_slice(dst);
            }
        }
        IpPair::V6 { src, dst, .. } => {
            a = *src;
            b = *dst;
        }
    }
    (a, b)
}

impl SoftNic {
    /// Attach to the frame port (PASSIVE_LEVEL). `context` is passed back to
    /// both handlers and must outlive [`SoftNic::detach`].
    pub fn attach(
        handle: NdisHandle,
        capacity: usize,
        context: PVOID,
        receive: CHIMNEY_PHY_RECEIVE_HANDLER,
        tx_ready: CHIMNEY_PHY_TX_READY_HANDLER,
    ) -> Result<Self, NDIS_STATUS> {
        let index = ConnIndex::new(handle, capacity)?;
        let ch = CHIMNEY_PHY_CHARACTERISTICS {
            Header: NDIS_OBJECT_HEADER::new(
                CHIMNEY_PHY_CHARACTERISTICS_TYPE,
                CHIMNEY_PHY_CHARACTERISTICS_REVISION_1,
                NDIS_SIZEOF_CHIMNEY_PHY_CHARACTERISTICS_REVISION_1 as usize,
            ),
            Context: context,
            ReceiveHandler: receive,
            TxReadyHandler: tx_ready,
        };
        let mut mac = [0u8; 6];
        let mut ring_depth = 0u32;
        let status = attach_port(handle, &ch, &mut mac, &mut ring_depth);
        if status != NDIS_STATUS_SUCCESS {
            return Err(status);
        }
        Ok(SoftNic {
            handle,
            mac,
            ring_depth,
            index,
            counters: NicCounters::default(),
            attached: AtomicBool::new(true),
        })
    }

    /// Detach from the frame port (PASSIVE_LEVEL): no handler runs
    /// afterwards. Idempotent; dropping the NIC detaches it too, so every
    /// initialization failure after the attach gives the port back.
    pub fn detach(&self) {
        if self.attached.swap(false, Ordering::AcqRel) {
            detach_port(self.handle);
        }
    }

    /// One received frame: parse it and hand it to its connection.
    pub fn receive(&self, frame: &[u8], events: &impl NicEvents) {
        self.counters.frames_in.fetch_add(1, Ordering::Relaxed);
        let Ok(seg) = wire::parse_frame(frame) else {
            self.counters.frames_bad.fetch_add(1, Ordering::Relaxed);
            events.unclaimed(frame);
            return;
        };
        if seg.ip_options {
            // IPv4 options are the host's to process (spec §6.10): it hands
            // the TCP segment back through MiniportTcpOffloadForward.
            events.unclaimed(frame);
            return;
        }
        // The frame travels remote → local: swap to the target's view.
        let (remote, local) = addresses(&seg.ip);
        let key = FlowKey {
            local,
            remote,
            local_port: seg.dst_port,
            remote_port: seg.src_port,
        };
        let rx = RxSegment {
            flow: key,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.window,
            timestamps: seg.timestamps,
            sack: seg.sack,
            payload: seg.payload,
            frame,
        };
        if self
            .index
            .find(&key, |id| events.segment(id, &rx))
            .is_none()
        {
            self.counters
                .frames_unmatched
                .fetch_add(1, Ordering::Relaxed);
            events.unclaimed(frame);
            return;
        }
        // Taken by an offloaded connection: offloaded traffic (wrapping adds).
        if let Some(t) = self.counters.traffic.get(family(&seg.ip)) {
            t.in_segments.fetch_add(1, Ordering::Relaxed);
            t.in_octets
                .fetch_add(u64::from(seg.ip_len), Ordering::Relaxed);
        }
    }
}

impl SoftNic {
    /// Transmit a complete frame the host built (the ordinary path). The
    /// frame is copied before this returns.
    pub fn transmit_frame(&self, frame: &[u8]) -> Result<(), NicError> {
        match transmit(self.handle, frame) {
            NDIS_STATUS_SUCCESS => {
                self.counters.frames_out.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            NDIS_STATUS_RESOURCES => {
                self.counters.ring_full.fetch_add(1, Ordering::Relaxed);
                Err(NicError::RingFull)
            }
            _ => Err(NicError::Refused),
        }
    }
}

impl OffloadNic for SoftNic {
    fn add_connection(&self, id: u32, t: &FrameTemplate) -> Result<(), NicError> {
        self.index
            .insert(&flow_of(t), id)
            .map_err(|_| NicError::Refused)
    }

    fn remove_connection(&self, id: u32, t: &FrameTemplate) {
        self.index.remove(&flow_of(t), id);
    }

    fn expect_connection(&self, key: &FlowKey) {
        self.index.prefetch(key);
    }

    fn traffic(&self, ipv6: bool) -> Traffic {
        self.counters
            .traffic
            .get(usize::from(ipv6))
            .map(TrafficCounters::snapshot)
            .unwrap_or_default()
    }

    fn reset_traffic(&self, ipv6: bool) {
        if let Some(t) = self.counters.traffic.get(usize::from(ipv6)) {
            t.reset();
        }
    }

    fn post(
        &self,
        t: &FrameTemplate,
        s: &SegmentFields,
        payload: &[&[u8]],
    ) -> Result<(), NicError> {
        let mut frame = [0u8; CHIMNEY_PHY_MAX_FRAME];
        let len = wire::build_frame(t, s, payload, &mut frame).map_err(|_| NicError::Refused)?;
        // Ethernet's minimum frame (FCS excluded): a short segment is padded
        // with zeros; the IP length still says where the packet ends.
        let bytes = frame
            .get(..len.max(ETH_MIN_FRAME))
            .ok_or(NicError::Refused)?;
        match transmit(self.handle, bytes) {
            NDIS_STATUS_SUCCESS => {
                self.counters.frames_out.fetch_add(1, Ordering::Relaxed);
                if let Some(c) = self.counters.traffic.get(family(&t.ip)) {
                    let eth = wire::ETH_HEADER + t.vlan_tci.map_or(0, |_| wire::VLAN_TAG);
                    c.out_segments.fetch_add(1, Ordering::Relaxed);
                    c.out_octets
                        .fetch_add(len.saturating_sub(eth) as u64, Ordering::Relaxed);
                    if s.flags & wire::tcp_flags::RST != 0 {
                        c.out_resets.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(())
            }
            NDIS_STATUS_RESOURCES => {
                self.counters.ring_full.fetch_add(1, Ordering::Relaxed);
                Err(NicError::RingFull)
            }
            _ => Err(NicError::Refused),
        }
    }
}

// The three port calls. Elsewhere than Windows they are imports resolved by
// the host (ndis-sim); on Windows no port exists yet, so attaching fails and
// the adapter runs without chimney (docs/windows.md).

impl Drop for SoftNic {
    fn drop(&mut self) {
        self.detach();
    }
}

#[cfg(not(target_os = "windows"))]
fn attach_port(
    handle: NdisHandle,
    ch: &CHIMNEY_PHY_CHARACTERISTICS,
    mac: &mut [u8; 6],
    ring: &mut u32,
) -> NDIS_STATUS {
    // SAFETY: all pointers are to live locals / our adapter handle.
    unsafe { crate::ffi::phy::ChimneyPhyAttach(handle.raw(), ch, mac.as_mut_ptr(), ring) }
}

#[cfg(not(target_os = "windows"))]
fn detach_port(handle: NdisHandle) {
    // SAFETY: our adapter handle, attached at initialization.
    unsafe { crate::ffi::phy::ChimneyPhyDetach(handle.raw()) }
}

#[cfg(not(target_os = "windows"))]
fn transmit(handle: NdisHandle, frame: &[u8]) -> NDIS_STATUS {
    // SAFETY: the frame is a live slice; the port copies it before returning.
    unsafe { crate::ffi::phy::ChimneyPhyTransmit(handle.raw(), frame.as_ptr(), frame.len() as u32) }
}

#[cfg(target_os = "windows")]
fn attach_port(
    _: NdisHandle,
    _: &CHIMNEY_PHY_CHARACTERISTICS,
    _: &mut [u8; 6],
    _: &mut u32,
) -> NDIS_STATUS {
    crate::ffi::NDIS_STATUS_NOT_SUPPORTED
}

#[cfg(target_os = "windows")]
fn detach_port(_: NdisHandle) {}

#[cfg(target_os = "windows")]
fn transmit(_: NdisHandle, _: &[u8]) -> NDIS_STATUS {
    crate::ffi::NDIS_STATUS_NOT_SUPPORTED
}
