//! Seeded impairments on the scripted peer's wire (see [`crate::link`]),
//! in virtual time, so a whole run is a function of its seed: driver frames
//! may be lost, duplicated or held back on their way to the peer, and the
//! peer's frames on their way to the driver. The scripted peer does not
//! retransmit by itself: unless the test resends what goes missing, its
//! data frames are spared loss (`spare_data`; they may still be duplicated
//! or reordered), and only its ACKs are lost.

use crate::link::{Direction, LinkConfig, LinkCounters};
use etherparse::{SlicedPacket, TransportSlice};
use std::collections::BTreeMap;

pub struct Impaired {
    pub outbound: Direction,
    pub inbound: Direction,
    /// Driver frames held back: (due, order) → frame.
    delayed: BTreeMap<(u64, u64), Vec<u8>>,
    order: u64,
    spare_data: bool,
}

/// Whether `frame` is TCP with payload (or SYN/FIN: sequence space the
/// scripted peer would never send again).
fn carries_sequence(frame: &[u8]) -> bool {
    match SlicedPacket::from_ethernet(frame) {
        Ok(p) => match &p.transport {
            Some(TransportSlice::Tcp(t)) => !t.payload().is_empty() || t.syn() || t.fin(),
            _ => false,
        },
        Err(_) => false,
    }
}

impl Impaired {
    pub fn new(cfg: LinkConfig, spare_data: bool) -> Self {
        Impaired {
            outbound: Direction::new(cfg.outbound, cfg.seed),
            inbound: Direction::new(cfg.inbound, cfg.seed ^ 0xA5A5_5A5A_0F0F_F0F0),
            delayed: BTreeMap::new(),
            order: 0,
            spare_data,
        }
    }

    pub fn counters(&self) -> (LinkCounters, LinkCounters) {
        (self.outbound.counters, self.inbound.counters)
    }

    /// A driver frame at `now`: the copies the peer gets now (none if lost
    /// or held back); held-back copies wait for [`Impaired::take_due`].
    pub fn from_driver(&mut self, now: u64, frame: Vec<u8>) -> Vec<Vec<u8>> {
        let mut now_copies = Vec::new();
        for due in self.outbound.admit(now) {
            if due <= now {
                now_copies.push(frame.clone());
            } else {
                self.order += 1;
                self.delayed.insert((due, self.order), frame.clone());
            }
        }
        now_copies
    }

    /// The oldest held-back driver frame due by `now`.
    pub fn take_due(&mut self, now: u64) -> Option<Vec<u8>> {
        let (&k, _) = self.delayed.iter().next()?;
        if k.0 > now {
            return None;
        }
        self.delayed.remove(&k)
    }

    pub fn next_due(&self) -> Option<u64> {
        self.delayed.keys().next().map(|k| k.0)
    }

    /// Due times of the copies of a peer frame sent at `now` (with
    /// `spare_data`, a frame carrying sequence space is never lost).
    pub fn to_driver(&mut self, now: u64, frame: &[u8]) -> Vec<u64> {
        let keep = self.spare_data && carries_sequence(frame);
        loop {
            let dues = self.inbound.admit(now);
            if !dues.is_empty() || !keep {
                return dues;
            }
            // A lost data frame: undo the count and draw again.
            self.inbound.counters.dropped -= 1;
            self.inbound.counters.frames -= 1;
        }
    }
}
