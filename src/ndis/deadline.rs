//! `Deadline`: when a one-shot timer shared by many connections must fire,
//! kept without a lock by every processor that needs it sooner.
//!
//! The timer itself (an NDIS timer object) is set by a separate call after
//! the deadline is decided, so two processors can decide in one order and
//! set the timer in the other. `arm` closes that gap: after setting the
//! timer it looks again, and if a sooner deadline was installed meanwhile
//! it sets the timer again for that one. Whoever sets the timer last has
//! looked after its own set, so the timer ends up set no later than the
//! soonest deadline armed since it last fired (tests/model_check.rs
//! checks this under loom and shuttle). An early fire is harmless: the callback
//! services what is due and arms again for the rest.
//!
//! Times are 32-bit tick counts compared modulo 2^32 (RFC 1982), so a
//! deadline is "sooner" when it lies less than 2^31 ticks before another.

use crate::sync::{AtomicU64, Ordering};

/// Set while a deadline is armed; the low 32 bits hold it.
const ARMED: u64 = 1 << 32;

/// True if tick `a` comes strictly before tick `b`.
fn sooner(a: u32, b: u32) -> bool {
    let d = b.wrapping_sub(a);
    d != 0 && d < 1 << 31
}

pub struct Deadline {
    state: AtomicU64,
}

impl Default for Deadline {
    fn default() -> Self {
        Self::new()
    }
}

impl Deadline {
    pub fn new() -> Self {
        Deadline {
            state: AtomicU64::new(0),
        }
    }

    /// The deadline armed now, if any.
    pub fn armed(&self) -> Option<u32> {
        let s = self.state.load(Ordering::Acquire);
        (s & ARMED != 0).then_some(s as u32)
    }

    /// Make sure the timer fires no later than tick `due`. `set(t)` sets
    /// the timer to fire at tick `t`, replacing any earlier setting. It is
    /// called only when `due` is sooner than the armed deadline or nothing
    /// is armed: first with `due`, then again with any still sooner
    /// deadline another processor installed meanwhile. Returns true if
    /// this call set the timer.
    pub fn arm(&self, due: u32, mut set: impl FnMut(u32)) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & ARMED != 0 && !sooner(due, s as u32) {
                return false; // Armed for no later than `due`.
            }
            match self.state.compare_exchange_weak(
                s,
                ARMED | u64::from(due),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        let mut want = due;
        // Each pass follows a strictly sooner deadline, installed by another
        // processor; a handful at most in practice, and bounded regardless.
        for _ in 0..64 {
            set(want);
            let s = self.state.load(Ordering::Acquire);
            if s & ARMED == 0 || !sooner(s as u32, want) {
                break;
            }
            want = s as u32;
        }
        true
    }

    /// The timer fired: nothing is armed any more. The callback then
    /// services what is due and arms again for what is not.
    pub fn fired(&self) {
        self.state.fetch_and(!ARMED, Ordering::AcqRel);
    }
}

#[cfg(all(test, not(chimney_loom)))]
mod tests {
    use super::*;

    /// The timer settings made, in order.
    #[derive(Default)]
    struct Sets {
        at: [u32; 8],
        n: usize,
    }

    impl Sets {
        fn set(&mut self, t: u32) {
            self.at[self.n] = t;
            self.n += 1;
        }
        fn seen(&self) -> &[u32] {
            &self.at[..self.n]
        }
    }

    #[test]
    fn sooner_deadlines_reset_the_timer_later_ones_do_not() {
        let d = Deadline::new();
        let mut sets = Sets::default();
        assert!(d.arm(100, |t| sets.set(t)));
        assert!(!d.arm(150, |t| sets.set(t)));
        assert!(!d.arm(100, |t| sets.set(t)));
        assert!(d.arm(40, |t| sets.set(t)));
        assert_eq!(sets.seen(), [100, 40]);
        assert_eq!(d.armed(), Some(40));
        d.fired();
        assert_eq!(d.armed(), None);
        assert!(d.arm(500, |t| sets.set(t)));
        assert_eq!(sets.seen(), [100, 40, 500]);
    }

    #[test]
    fn comparisons_wrap_around() {
        let d = Deadline::new();
        let mut sets = Sets::default();
        assert!(d.arm(u32::MAX - 5, |t| sets.set(t)));
        // 10 ticks after the wrap is later, not sooner.
        assert!(!d.arm(4, |t| sets.set(t)));
        assert!(d.arm(u32::MAX - 9, |t| sets.set(t)));
        assert_eq!(sets.seen(), [u32::MAX - 5, u32::MAX - 9]);
    }
}
