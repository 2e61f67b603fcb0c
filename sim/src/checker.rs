//! The simulated kernel under a model checker.
//!
//! A real kernel runs each processor's code on its own hardware thread.
//! Loom (`--cfg chimney_loom`) and shuttle (`--cfg chimney_shuttle`) run
//! their threads as coroutines on one host thread, and switch between them
//! only at operations they know: their own atomics, locks and yields. For
//! the driver's spin-lock paths to be explored, the simulator's side of
//! them must be such operations, and the state it keeps per processor must
//! be kept per checker thread:
//!
//! - [`processor_local!`]: a thread-local that is per checker thread under
//!   a checker (the IRQL, the locks held, the current simulator, the call
//!   depths), a plain `const` thread-local otherwise;
//! - [`lock_word`]: the word an `NDIS_SPIN_LOCK` is taken on. Normally the
//!   lock's own `SpinLock` field, used atomically. A checker cannot watch a
//!   field of C memory, so under one each lock gets a checker atomic of its
//!   own, in a table keyed by the lock's address that the checker resets
//!   with every execution;
//! - [`spin`]: what a processor does while another holds the lock it wants
//!   (under a checker, a yield, so that the holder runs);
//! - [`host_at_work`]: inside the host's completion routines, a point where
//!   the checker may switch processors.
//!
//! Without a checker none of this costs anything on the hot path: the
//! words are the locks' own and the thread-locals are `const`.

/// A thread-local, per processor: per checker thread under a checker.
macro_rules! processor_local {
    ($(#[$a:meta])* static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(any(chimney_loom, chimney_shuttle)))]
        std::thread_local! { $(#[$a])* static $name: $t = const { $init }; }
        #[cfg(chimney_loom)]
        loom::thread_local! { $(#[$a])* static $name: $t = $init; }
        #[cfg(all(chimney_shuttle, not(chimney_loom)))]
        shuttle::thread_local! { $(#[$a])* static $name: $t = $init; }
    };
}
pub(crate) use processor_local;

use chimney_miniport::ffi::PNDIS_SPIN_LOCK;

#[cfg(not(any(chimney_loom, chimney_shuttle)))]
mod imp {
    use super::PNDIS_SPIN_LOCK;
    use std::sync::atomic::AtomicUsize;

    pub type Word = &'static AtomicUsize;

    /// The lock's own `SpinLock` field.
    #[inline(always)]
    pub fn lock_word(lock: PNDIS_SPIN_LOCK) -> Word {
        // SAFETY: the caller checked the pointer (non-NULL, aligned); the
        // driver passes an NDIS_SPIN_LOCK it owns, live while the lock is
        // used, whose `SpinLock` word only the exports touch, atomically.
        unsafe { AtomicUsize::from_ptr(&raw mut (*lock).SpinLock) }
    }

    pub fn fresh_word(_lock: PNDIS_SPIN_LOCK) {}

    #[inline(always)]
    pub fn spin() {
        std::thread::yield_now();
    }

    #[inline(always)]
    pub fn host_at_work() {}
}

#[cfg(any(chimney_loom, chimney_shuttle))]
mod imp {
    use super::PNDIS_SPIN_LOCK;
    #[cfg(chimney_loom)]
    use loom::{lazy_static, sync::atomic::AtomicUsize, thread::yield_now};
    #[cfg(all(chimney_shuttle, not(chimney_loom)))]
    use shuttle::{lazy_static, sync::atomic::AtomicUsize, thread::yield_now};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    pub type Word = Arc<AtomicUsize>;

    lazy_static! {
        /// Each lock's word, by address, for this execution only.
        static ref WORDS: Mutex<HashMap<usize, Word>> = Mutex::new(HashMap::new());
    }

    fn words() -> std::sync::MutexGuard<'static, HashMap<usize, Word>> {
        WORDS.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The checker's word for `lock` (made free on first use).
    pub fn lock_word(lock: PNDIS_SPIN_LOCK) -> Word {
        let mut w = words();
        Arc::clone(
            w.entry(lock as usize)
                .or_insert_with(|| Arc::new(AtomicUsize::new(0))),
        )
    }

    /// `NdisAllocateSpinLock`: the storage may have held another lock.
    pub fn fresh_word(lock: PNDIS_SPIN_LOCK) {
        words().insert(lock as usize, Arc::new(AtomicUsize::new(0)));
    }

    pub fn spin() {
        yield_now();
    }

    lazy_static! {
        /// Counts [`host_at_work`] calls: a write, so that a partial-order
        /// checker (loom) sees two processors' completion routines as
        /// dependent and tries them in both orders.
        static ref HOST: AtomicUsize = AtomicUsize::new(0);
    }

    pub fn host_at_work() {
        HOST.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The host's completion routine is running: a point where the checker may
/// run another processor (a real completion routine takes its time; without
/// this, a completion call would be one indivisible step to the checker).
pub(crate) use imp::host_at_work;
pub(crate) use imp::{Word, fresh_word, lock_word, spin};
