//! The preferred send backlog (spec §6.12, rule 90): how many bytes the host
//! should keep posted on a connection so the target never runs out of data
//! to send, and the throttle that decides when a change is worth a
//! `TcpIndicateSendBacklogChange`.
//!
//! The estimate is two windows' worth of what may be in flight,
//! `2 × min(cwnd, snd_wnd)`: one window on the wire, one queued behind it
//! for the next round trip. It is rounded up to whole segments and kept
//! between [`MIN_SEGMENTS`] segments and [`MAX_BACKLOG`] bytes.

/// Never ask for fewer than this many full segments.
pub const MIN_SEGMENTS: u32 = 2;
/// Never ask for more than this (the host's buffers are finite).
pub const MAX_BACKLOG: u32 = 16 << 20;
/// A change smaller than 1/`STEP_FRACTION` of the last indicated value is
/// not indicated ...
pub const STEP_FRACTION: u32 = 4;
/// ... nor one smaller than this many segments ...
pub const STEP_SEGMENTS: u32 = 2;
/// ... nor any within this many milliseconds of the previous indication.
pub const MIN_INTERVAL_MS: u32 = 100;

/// The preferred backlog for the given windows and MSS.
pub fn preferred(cwnd: u32, snd_wnd: u32, mss: u32) -> u32 {
    let mss = mss.max(1);
    let two = u64::from(cwnd.min(snd_wnd)) * 2;
    let rounded = two.div_ceil(u64::from(mss)) * u64::from(mss);
    let floor = u64::from(MIN_SEGMENTS) * u64::from(mss);
    rounded.clamp(floor, u64::from(MAX_BACKLOG)) as u32
}

/// The last indicated backlog and when it was indicated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Throttle {
    /// The value the host knows (indicated, or the initial estimate).
    pub last: u32,
    /// NIC ticks of the last indication.
    at: u32,
    /// No indication yet: the interval does not apply.
    fresh: bool,
}

impl Throttle {
    /// Start from `value` at offload (the host learns it by query; no event).
    pub const fn start(value: u32) -> Self {
        Throttle {
            last: value,
            at: 0,
            fresh: true,
        }
    }

    /// `value` is the current estimate at NIC time `now`: returns it when
    /// it should be indicated (and records that it was).
    pub fn check(&mut self, value: u32, mss: u32, now: u32, ticks_per_second: u32) -> Option<u32> {
        let step = (self.last / STEP_FRACTION).max(STEP_SEGMENTS.saturating_mul(mss.max(1)));
        if value.abs_diff(self.last) < step {
            return None;
        }
        let interval =
            (u64::from(ticks_per_second) * u64::from(MIN_INTERVAL_MS)).div_ceil(1000) as u32;
        if !self.fresh && now.wrapping_sub(self.at) < interval {
            return None;
        }
        self.last = value;
        self.at = now;
        self.fresh = false;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_windows_in_whole_segments_within_bounds() {
        assert_eq!(preferred(14_600, 64_240, 1448), 21 * 1448);
        assert_eq!(preferred(100_000, 3000, 1000), 6000);
        assert_eq!(preferred(0, 0, 1448), 2 * 1448, "floor");
        assert_eq!(preferred(u32::MAX, u32::MAX, 1448), MAX_BACKLOG, "ceiling");
        assert_eq!(preferred(10, 10, 0), 20, "zero MSS does not divide by zero");
    }

    #[test]
    fn small_changes_are_not_indicated() {
        let mut t = Throttle::start(40_000);
        assert_eq!(t.check(40_000 + 9_999, 1448, 0, 1000), None, "< 1/4");
        assert_eq!(t.check(50_000, 1448, 0, 1000), Some(50_000));
        assert_eq!(t.last, 50_000);
        // Small values: the step is two segments, not a quarter.
        let mut t = Throttle::start(4000);
        assert_eq!(t.check(4000 + 2 * 1448 - 1, 1448, 0, 1000), None);
        assert_eq!(t.check(4000 + 2 * 1448, 1448, 0, 1000), Some(6896));
    }

    #[test]
    fn indications_are_at_least_the_interval_apart() {
        let mut t = Throttle::start(10_000);
        assert_eq!(t.check(100_000, 1448, 5, 1000), Some(100_000));
        assert_eq!(t.check(10_000, 1448, 104, 1000), None, "99 ms later");
        assert_eq!(t.check(10_000, 1448, 105, 1000), Some(10_000), "100 ms");
        // 10 MHz ticks: 1,000,000 ticks per 100 ms; wrap-around is fine.
        let mut t = Throttle::start(10_000);
        assert!(t.check(100_000, 1448, u32::MAX - 10, 10_000_000).is_some());
        assert!(t.check(10_000, 1448, 999_988, 10_000_000).is_none());
        assert!(t.check(10_000, 1448, 999_989, 10_000_000).is_some());
    }
}
