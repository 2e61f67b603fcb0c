//! The per-NBL send kernels shared by `benches/send_path.rs` and
//! `examples/send_path_count.rs` (callgrind instruction counts): the
//! driver's queue and the `Mutex<VecDeque<Box<…>>>` baseline doing the same
//! work. Not a benchmark target itself.

use chimney_miniport::ffi::*;
use chimney_miniport::ndis::SpinLock;
use chimney_miniport::ndis::nbdata::{Cursor, account_acked};
use chimney_miniport::ndis::sendq::{Completions, Segment, SendQueue};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes per NBL and per segment.
pub const MSS: u32 = 1448;

/// The driver's structures: per NBL one locked push + segment (as the send
/// handler does it), then one locked cumulative ACK per NBL (as the receive
/// DPC does it); returns the NBLs completed.
#[inline(never)]
pub fn run_driver(q: &SpinLock<SendQueue>, nbls: &[PNET_BUFFER_LIST]) -> usize {
    for &p in nbls {
        send_one(&mut q.lock(), p);
    }
    // Acknowledgements arrive in the receive DPC: at DISPATCH_LEVEL, where
    // the driver takes connection locks with NdisDprAcquireSpinLock
    // (`miniport::receive`).
    let mut done = Completions::new();
    ndis_sim::irql::at_dispatch(|| {
        for _ in nbls {
            q.lock_at_dispatch().ack(u64::from(MSS), &mut done);
        }
    });
    done.len()
}

/// `run_driver` without the spin lock: the queue work alone.
#[inline(never)]
pub fn run_driver_unlocked(q: &mut SendQueue, nbls: &[PNET_BUFFER_LIST]) -> usize {
    for &p in nbls {
        send_one(q, p);
    }
    let mut done = Completions::new();
    for _ in nbls {
        q.ack(u64::from(MSS), &mut done);
    }
    done.len()
}

/// One bare lock: a compare-and-swap to take a private word and a release
/// store to give it back, with no IRQL and no checks: the least a spin-lock
/// acquire/release pair costs on this machine.
#[inline(always)]
fn bare_lock_pair(w: &AtomicUsize, tag: usize) {
    while w
        .compare_exchange(0, tag | 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {}
    black_box(w);
    w.store(0, Ordering::Release);
}

/// What every conforming design pays per NBL, whatever its queue: the two
/// bare lock pairs of [`bare_lock_pair`] (the issue puts the send queue under
/// a per-connection spin lock, taken by the send handler and where the ACK
/// is processed), the NBL's check against its MDL chain (malformed NBLs must
/// fail in place), and at acknowledgement the status,
/// `TcpOffloadBytesTransferred` and the NET_BUFFER advance (rule 58). No
/// queue, no segmentation, no completion list: a floor, not a design.
#[inline(never)]
pub fn run_mandated(w: &AtomicUsize, nbls: &[PNET_BUFFER_LIST]) -> usize {
    let mut lens = [0u32; 64];
    for (i, &p) in nbls.iter().enumerate() {
        bare_lock_pair(w, i);
        // SAFETY: an NBL this benchmark owns and restored.
        let len = unsafe { chimney_miniport::ndis::nbdata::validate(p) }.unwrap_or(0);
        if let Some(l) = lens.get_mut(i) {
            *l = len;
        }
    }
    let mut n = 0;
    for (i, &p) in nbls.iter().enumerate() {
        bare_lock_pair(w, i);
        let len = lens.get(i).copied().unwrap_or(0);
        // SAFETY: as above; fully acknowledged, as the ACK kernels retire it.
        unsafe {
            (*p).Status = NDIS_STATUS_SUCCESS;
            account_acked(p, len);
        }
        n += usize::from(len == MSS);
    }
    n
}

/// Queue one NBL and cut its segments (the send handler's work per NBL).
#[inline(always)]
fn send_one(q: &mut SendQueue, p: PNET_BUFFER_LIST) {
    // SAFETY: an NBL this benchmark owns and restored; it joins one queue.
    let _ = unsafe { q.push(p) };
    loop {
        let mut seg = Segment::new();
        let Some(chunk) = q.peek(MSS, &mut seg) else {
            break;
        };
        black_box(seg.payload());
        q.commit(&chunk);
    }
}

/// One queued NBL of the baseline.
pub struct Desc {
    nbl: PNET_BUFFER_LIST,
    len: u32,
    cursor: Cursor,
    sent: u32,
}

// SAFETY: the benchmark owns the NBLs; a descriptor is used under the mutex.
unsafe impl Send for Desc {}

/// The baseline: a mutex around a deque of boxed descriptors.
pub struct Baseline {
    q: VecDeque<Box<Desc>>,
    /// Index of the first descriptor with unsent bytes.
    next: usize,
    head_acked: u32,
}

#[inline(never)]
pub fn run_baseline(m: &Mutex<Baseline>, nbls: &[PNET_BUFFER_LIST], done: &mut Done) -> usize {
    let mut frags: [&[u8]; 16] = [&[]; 16];
    for &p in nbls {
        baseline_send_one(&mut m.lock().unwrap(), p, &mut frags);
    }
    for _ in nbls {
        baseline_ack(&mut m.lock().unwrap(), done);
    }
    finish(done)
}

/// `run_baseline` without the mutex: the queue work alone.
#[inline(never)]
pub fn run_baseline_unlocked(
    b: &mut Baseline,
    nbls: &[PNET_BUFFER_LIST],
    done: &mut Done,
) -> usize {
    let mut frags: [&[u8]; 16] = [&[]; 16];
    for &p in nbls {
        baseline_send_one(b, p, &mut frags);
    }
    for _ in nbls {
        baseline_ack(b, done);
    }
    finish(done)
}

/// The baseline's completion list: the completed descriptors, boxes and
/// all. The caller keeps it between runs so its capacity is reused (the
/// driver's completion list is intrusive and never grows); each run ends by
/// freeing the descriptors, one `free` per NBL.
#[allow(clippy::vec_box)]
pub type Done = Vec<Box<Desc>>;

/// Count and free the completed descriptors.
#[inline(always)]
fn finish(done: &mut Done) -> usize {
    let n = done.len();
    done.clear();
    n
}

#[inline(always)]
fn baseline_send_one(b: &mut Baseline, p: PNET_BUFFER_LIST, frags: &mut [&[u8]; 16]) {
    // SAFETY: as in `run_driver`; the cursor reads the NBL's MDLs.
    let len = unsafe { chimney_miniport::ndis::nbdata::validate(p) }.unwrap_or(0);
    b.q.push_back(Box::new(Desc {
        nbl: p,
        len,
        // SAFETY: validated just now.
        cursor: unsafe { Cursor::new(p) },
        sent: 0,
    }));
    while let Some(d) = b.q.get_mut(b.next) {
        let want = MSS.min(d.len - d.sent);
        // SAFETY: a validated NBL the benchmark owns.
        let (n, got) = unsafe { d.cursor.gather(want, frags) };
        black_box(&frags[..n]);
        d.sent += got;
        if d.sent == d.len {
            b.next += 1;
        }
    }
}

/// One cumulative ACK of one MSS.
#[inline(always)]
fn baseline_ack(b: &mut Baseline, done: &mut Done) {
    let mut left = MSS;
    while let Some(d) = b.q.front() {
        let need = d.len - b.head_acked;
        if left < need {
            b.head_acked += left;
            break;
        }
        left -= need;
        b.head_acked = 0;
        b.next = b.next.saturating_sub(1);
        let d = b.q.pop_front().expect("front");
        // SAFETY: as above: fully acknowledged, about to complete.
        unsafe {
            (*d.nbl).Status = NDIS_STATUS_SUCCESS;
            account_acked(d.nbl, d.len);
        }
        done.push(d);
    }
}

pub fn new_baseline() -> Mutex<Baseline> {
    Mutex::new(Baseline {
        q: VecDeque::new(),
        next: 0,
        head_acked: 0,
    })
}

pub type NbData = Vec<(PNET_BUFFER, NET_BUFFER_DATA)>;

pub fn save_addrs(nbls: &[PNET_BUFFER_LIST]) -> NbData {
    let mut v = Vec::new();
    for &p in nbls {
        // SAFETY: NBLs this benchmark built, owned by this thread now.
        unsafe {
            let mut nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
            while !nb.is_null() {
                v.push((nb, (*nb).NetBufferHeader.NetBufferData));
                nb = (*nb).NetBufferHeader.NetBufferData.Next;
            }
        }
    }
    v
}

pub fn restore_addrs(nbls: &[PNET_BUFFER_LIST], saved: &NbData) {
    for &(nb, d) in saved {
        // SAFETY: as in `save_addrs`.
        unsafe { (*nb).NetBufferHeader.NetBufferData = d };
    }
    for (i, &p) in nbls.iter().enumerate() {
        let next = nbls.get(i + 1).copied().unwrap_or(std::ptr::null_mut());
        // SAFETY: as above.
        unsafe { (*p).NetBufferListHeader.NetBufferListData.Next = next };
    }
}
