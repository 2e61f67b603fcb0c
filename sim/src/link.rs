//! A wire to something outside the simulator (a TAP device in a network
//! namespace, see [`crate::tap`]) in place of the scripted peer, with seeded
//! impairments in both directions: loss, duplication, reordering (a frame
//! held back while later ones pass) and a fixed one-way delay.
//!
//! Every decision comes from a SplitMix64 stream per direction, so the same
//! seed makes the same decision for the n-th frame each way; what the far
//! end sends, and when, is up to it (a real kernel is not deterministic).
//! Times are the simulator's virtual clock (100 ns units).

use std::collections::BTreeMap;

/// Impairments of one direction, in parts per million where a probability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Impairment {
    /// Frames dropped.
    pub loss_ppm: u32,
    /// Frames delivered twice (the copy right after the original).
    pub dup_ppm: u32,
    /// Frames held back by `reorder_ms` extra, so later frames overtake them.
    pub reorder_ppm: u32,
    pub reorder_ms: u32,
    /// Added to every frame.
    pub delay_ms: u32,
}

/// Impairments of both directions and the seed of their decisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkConfig {
    pub seed: u64,
    /// Frames the driver transmits, on their way out.
    pub outbound: Impairment,
    /// Frames from outside, on their way to the driver.
    pub inbound: Impairment,
}

/// What the impairments did, per direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCounters {
    pub frames: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

/// SplitMix64: a small, well-mixed, seedable stream.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `ppm` / 1,000,000.
    pub fn chance(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.next_u64() % 1_000_000 < u64::from(ppm)
    }
}

/// One direction: its impairments, decisions and counters.
#[derive(Clone, Debug)]
pub struct Direction {
    imp: Impairment,
    rng: SplitMix64,
    pub counters: LinkCounters,
}

impl Direction {
    pub fn new(imp: Impairment, seed: u64) -> Self {
        Direction {
            imp,
            rng: SplitMix64::new(seed),
            counters: LinkCounters::default(),
        }
    }

    /// Due times (virtual, 100 ns) of the copies of a frame sent at `now`:
    /// none if lost, two if duplicated. The decisions are drawn in a fixed
    /// order, so they depend only on the seed and the frame's index.
    pub fn admit(&mut self, now: u64) -> Vec<u64> {
        self.counters.frames += 1;
        let lost = self.rng.chance(self.imp.loss_ppm);
        let dup = self.rng.chance(self.imp.dup_ppm);
        let late = self.rng.chance(self.imp.reorder_ppm);
        if lost {
            self.counters.dropped += 1;
            return Vec::new();
        }
        let mut due = now + u64::from(self.imp.delay_ms) * 10_000;
        if late {
            self.counters.reordered += 1;
            due += u64::from(self.imp.reorder_ms) * 10_000;
        }
        if dup {
            self.counters.duplicated += 1;
            vec![due, due]
        } else {
            vec![due]
        }
    }
}

/// The link's state inside the simulator: impairments both ways and the
/// frames on their way out, by due time.
pub struct Link {
    pub outbound: Direction,
    pub inbound: Direction,
    /// Frames for the far end: (due, order) → frame.
    out_queue: BTreeMap<(u64, u64), Vec<u8>>,
    order: u64,
}

impl Link {
    pub fn new(cfg: LinkConfig) -> Self {
        Link {
            outbound: Direction::new(cfg.outbound, cfg.seed),
            inbound: Direction::new(cfg.inbound, cfg.seed ^ 0xA5A5_5A5A_0F0F_F0F0),
            out_queue: BTreeMap::new(),
            order: 0,
        }
    }

    /// A frame the driver transmitted at `now`: queue its copies.
    pub fn from_driver(&mut self, now: u64, frame: Vec<u8>) {
        for due in self.outbound.admit(now) {
            self.order += 1;
            self.out_queue.insert((due, self.order), frame.clone());
        }
    }

    /// Frames due for the far end by `now`, in due order.
    pub fn take_due(&mut self, now: u64) -> Vec<Vec<u8>> {
        let later = self.out_queue.split_off(&(now + 1, 0));
        let due = std::mem::replace(&mut self.out_queue, later);
        due.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_decisions_and_rates_near_their_settings() {
        let imp = Impairment {
            loss_ppm: 100_000,
            dup_ppm: 50_000,
            reorder_ppm: 50_000,
            reorder_ms: 3,
            delay_ms: 1,
        };
        let run = |seed| {
            let mut d = Direction::new(imp, seed);
            let v: Vec<Vec<u64>> = (0..20_000).map(|i| d.admit(i * 10)).collect();
            (v, d.counters)
        };
        let (a, ca) = run(7);
        let (b, cb) = run(7);
        assert_eq!(a, b);
        assert_eq!(ca, cb);
        let (c, _) = run(8);
        assert_ne!(a, c, "another seed, other decisions");
        assert!((1_700..2_300).contains(&ca.dropped), "{ca:?}");
        assert!((800..1_200).contains(&ca.duplicated), "{ca:?}");
        assert!((800..1_200).contains(&ca.reordered), "{ca:?}");
        // Delay always applies; reordered frames get the extra hold.
        for (i, dues) in a.iter().enumerate() {
            for &d in dues {
                let base = i as u64 * 10 + 10_000;
                assert!(d == base || d == base + 30_000, "{i}: {d}");
            }
        }
    }

    #[test]
    fn take_due_returns_frames_in_due_order_and_keeps_the_rest() {
        let mut l = Link::new(LinkConfig {
            seed: 1,
            outbound: Impairment {
                reorder_ppm: 1_000_000,
                reorder_ms: 2,
                ..Default::default()
            },
            inbound: Impairment::default(),
        });
        l.from_driver(0, vec![1]);
        assert!(l.take_due(19_999).is_empty());
        assert_eq!(l.take_due(20_000), vec![vec![1]]);
        let mut l = Link::new(LinkConfig::default());
        l.from_driver(5, vec![2]);
        l.from_driver(5, vec![3]);
        assert_eq!(l.take_due(5), vec![vec![2], vec![3]]);
    }
}
