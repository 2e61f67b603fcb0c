//! A connection's posted receive requests (`MiniportTcpOffloadReceive`,
//! spec §6.3): NBLs of one NET_BUFFER each, kept in posting order, linked
//! through `MiniportReserved` (no allocation), filled oldest first and
//! completed in the same order.
//!
//! Each entry's tag packs the request's size (low 32 bits), the bytes placed
//! so far (bits 32–62) and its mode (bit 63 set: non-push, complete only
//! when full). A request that cannot be used (malformed) carries the
//! `UNUSABLE` size and completes with `NDIS_STATUS_INVALID_PARAMETER`
//! when it reaches the head.
//!
//! A request already finished (status, byte count and NET_BUFFER advance
//! set: aborted by a reset, refused at the door, ended by the peer's FIN)
//! may wait in the queue, marked `SETTLED`, until whoever holds the
//! connection's receive gate hands it back: one receive call at a time per
//! connection (rule 72), in posting order.
//!
//! An abortive disconnect that settled requests may wait behind them in the
//! same queue, marked `DISCONNECT`: it is handed out with them, after the
//! last one before it, so the disconnect completes only once the requests
//! it ended have gone back.

use super::nbdata;
use super::nbl::{self, NblQueue};
use super::sendq::Completions;
use crate::ffi::*;

const NO_PUSH: usize = 1 << 63;
const PLACED_SHIFT: u32 = 32;
const PLACED_MASK: usize = (1 << 31) - 1;
/// Size marking a request that is completed unused (malformed).
const UNUSABLE: u32 = u32::MAX;
/// Size marking a request that is finished and waits to be handed back.
const SETTLED: u32 = u32::MAX - 1;
/// Size marking an abortive disconnect request waiting for the settled
/// requests before it (not a receive request).
const DISCONNECT: u32 = u32::MAX - 2;

/// A finished entry: a settled request or a waiting disconnect.
fn finished(size: u32) -> bool {
    size == SETTLED || size == DISCONNECT
}

fn tag(size: u32, placed: u32, no_push: bool) -> usize {
    size as usize
        | ((placed as usize & PLACED_MASK) << PLACED_SHIFT)
        | if no_push { NO_PUSH } else { 0 }
}
fn tag_size(t: usize) -> u32 {
    t as u32
}
fn tag_placed(t: usize) -> u32 {
    ((t >> PLACED_SHIFT) & PLACED_MASK) as u32
}
fn tag_no_push(t: usize) -> bool {
    t & NO_PUSH != 0
}

/// The request at the head of the queue, as the delivery algorithm sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// No request posted.
    None,
    /// A request that takes no data (zero bytes, or malformed): it completes
    /// as soon as it is at the head.
    Empty,
    /// A request with `room` bytes still free, `placed` bytes filled.
    Open { room: u32, placed: u32, push: bool },
    /// A finished request waiting to be handed back, or a disconnect
    /// request waiting behind such requests.
    Settled,
}

/// Posted receive requests of one connection.
pub struct RecvQueue {
    q: NblQueue,
}

// SAFETY: holds NBLs the driver owns; used under the connection's spin lock.
unsafe impl Send for RecvQueue {}

impl Default for RecvQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvQueue {
    pub const fn new() -> Self {
        RecvQueue { q: NblQueue::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Append one receive request. Its size is its single NET_BUFFER's
    /// `DataLength`; bytes the host already put in it
    /// (`TcpReceiveBytesTransferred`) count as placed. A request that is not
    /// exactly one well-formed NET_BUFFER keeps its place and will complete
    /// with `NDIS_STATUS_INVALID_PARAMETER`. Returns true if the host had
    /// pre-filled it (its push timer starts at once, rule 68).
    ///
    /// # Safety
    /// `p` must be an NBL the driver now owns (until completed), in no other
    /// list.
    pub unsafe fn post(&mut self, p: PNET_BUFFER_LIST) -> bool {
        // SAFETY: caller contract.
        let (size, prefilled, no_push) = unsafe {
            let one_nb = {
                let nb = (*p).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
                !nb.is_null() && (*nb).NetBufferHeader.NetBufferData.Next.is_null()
            };
            let size = match nbdata::validate(p) {
                Ok(len) if one_nb && len < DISCONNECT => len,
                _ => UNUSABLE,
            };
            let prefilled = nbl::info(p, TcpReceiveBytesTransferred) as u32;
            let no_push = nbl::info(p, TcpReceiveNoPush) != 0;
            (size, prefilled, no_push)
        };
        let placed = if size == UNUSABLE {
            0
        } else {
            prefilled.min(size)
        };
        // SAFETY: caller contract.
        unsafe { self.q.push(p, tag(size, placed, no_push)) };
        placed > 0 && size != UNUSABLE
    }

    /// What the head request can take.
    pub fn head(&self) -> Head {
        let Some((_, t)) = self.q.peek() else {
            return Head::None;
        };
        let size = tag_size(t);
        let placed = tag_placed(t);
        if finished(size) {
            return Head::Settled;
        }
        if size == UNUSABLE || size == 0 {
            return Head::Empty;
        }
        Head::Open {
            room: size.saturating_sub(placed),
            placed,
            push: !tag_no_push(t),
        }
    }

    /// Copy as much of `data` as fits into the head request, after what it
    /// holds. Returns the bytes copied.
    pub fn fill_head(&mut self, data: &[u8]) -> u32 {
        let Some((p, t)) = self.q.peek() else {
            return 0;
        };
        let size = tag_size(t);
        let placed = tag_placed(t);
        if size == UNUSABLE || finished(size) || placed >= size {
            return 0;
        }
        let want = data.len().min((size - placed) as usize);
        // SAFETY: a queued request: validated (one NET_BUFFER whose MDLs,
        // mapped, cover `size` bytes) and owned until completed; `placed +
        // want <= size`.
        let n = unsafe { nbdata::write_at(p, placed, data.get(..want).unwrap_or(&[])) };
        self.q.set_head_tag(tag(size, placed + n, tag_no_push(t)));
        n
    }

    /// Complete the head request into `done`: SUCCESS with the bytes placed
    /// (INVALID_PARAMETER and nothing for a malformed one). A waiting
    /// disconnect request at the head is not one: it stays.
    pub fn complete_head(&mut self, done: &mut Completions) {
        if self
            .q
            .peek()
            .is_some_and(|(_, t)| tag_size(t) == DISCONNECT)
        {
            return;
        }
        if let Some((p, t)) = self.q.pop() {
            // SAFETY: a request we owned, now leaving the queue.
            unsafe { finish(p, t, NDIS_STATUS_SUCCESS, done) };
        }
    }

    /// Complete every request with `status` and the bytes it holds (rule
    /// 69). With `filled_succeed` (an upload: the data in them is the
    /// host's), those holding data complete with SUCCESS instead. The queue
    /// is left empty: a disconnect request waiting in it is returned, for
    /// the caller to complete after `done`.
    #[must_use = "a disconnect request waiting in the queue is handed out"]
    pub fn complete_all(
        &mut self,
        status: NDIS_STATUS,
        filled_succeed: bool,
        done: &mut Completions,
    ) -> Completions {
        let mut disconnects = Completions::new();
        while let Some((p, t)) = self.q.pop() {
            // SAFETY: a request (or disconnect request) we owned, now
            // leaving the queue.
            unsafe { finish_entry(p, t, status, filled_succeed, done, &mut disconnects) };
        }
        disconnects
    }

    /// Finish every request as [`Self::complete_all`] does, but keep them
    /// queued, marked settled, for [`Self::take_settled`] (a waiting
    /// disconnect request keeps its place among them).
    pub fn settle_all(&mut self, status: NDIS_STATUS, filled_succeed: bool) {
        let mut entries = core::mem::take(&mut self.q);
        while let Some((p, t)) = entries.pop() {
            let mut one = Completions::new();
            let mut disconnect = Completions::new();
            // SAFETY: `p` left the old queue just now and joins this one.
            unsafe {
                finish_entry(p, t, status, filled_succeed, &mut one, &mut disconnect);
                let size = if disconnect.is_empty() {
                    SETTLED
                } else {
                    DISCONNECT
                };
                self.q.push(p, tag(size, 0, false));
            }
        }
    }

    /// Queue the abortive disconnect request `p` behind the settled requests
    /// it ended: [`Self::take_settled`] hands it out after them.
    ///
    /// # Safety
    /// `p` must be a disconnect NBL the driver now owns (until completed),
    /// in no other list.
    pub unsafe fn hold_disconnect(&mut self, p: PNET_BUFFER_LIST) {
        // SAFETY: caller contract.
        unsafe { self.q.push(p, tag(DISCONNECT, 0, false)) };
    }

    /// Queue a request refused at the door (`status`, nothing read), to be
    /// handed back in its turn.
    ///
    /// # Safety
    /// As for [`Self::post`].
    pub unsafe fn park(&mut self, p: PNET_BUFFER_LIST, status: NDIS_STATUS) {
        // SAFETY: caller contract.
        unsafe {
            nbl::set_status(p, status);
            nbl::set_bytes_transferred(p, 0);
            self.q.push(p, tag(SETTLED, 0, false));
        }
    }

    /// Move the settled requests at the head into `done`, in order. A
    /// disconnect request waiting behind them leaves the queue too and is
    /// returned (NULL if none): it completes after `done`.
    #[must_use = "a disconnect request waiting in the queue is handed out"]
    pub fn take_settled(&mut self, done: &mut Completions) -> PNET_BUFFER_LIST {
        while self.head() == Head::Settled {
            let Some((p, t)) = self.q.pop() else {
                break;
            };
            if tag_size(t) == DISCONNECT {
                return p;
            }
            // SAFETY: a finished request leaving the queue, ours until
            // handed back.
            unsafe { done.push(p) };
        }
        core::ptr::null_mut()
    }
}

/// Finish one entry that just left the queue: a request into `done` (see
/// [`RecvQueue::complete_all`] for its status), a waiting disconnect
/// request into `disconnects`, untouched.
///
/// # Safety
/// `p` must be an entry that just left the queue, with its tag `t`.
unsafe fn finish_entry(
    p: PNET_BUFFER_LIST,
    t: usize,
    status: NDIS_STATUS,
    filled_succeed: bool,
    done: &mut Completions,
    disconnects: &mut Completions,
) {
    if tag_size(t) == DISCONNECT {
        // SAFETY: caller contract; the request joins one list.
        unsafe { disconnects.push(p) };
        return;
    }
    let st = if filled_succeed && tag_placed(t) > 0 && !finished(tag_size(t)) {
        NDIS_STATUS_SUCCESS
    } else {
        status
    };
    // SAFETY: caller contract.
    unsafe { finish(p, t, st, done) };
}

/// # Safety
/// `p` must be a request that just left the queue, with its tag `t`.
unsafe fn finish(p: PNET_BUFFER_LIST, t: usize, status: NDIS_STATUS, done: &mut Completions) {
    if tag_size(t) == SETTLED {
        // SAFETY: caller contract; finished when it was settled.
        unsafe { done.push(p) };
    } else if tag_size(t) == UNUSABLE {
        // SAFETY: caller contract; nothing was read or written.
        unsafe { done.refuse(p, NDIS_STATUS_INVALID_PARAMETER) };
    } else {
        // SAFETY: caller contract; a validated request: the bytes placed are
        // reported and its NET_BUFFER advanced past them (rule 70).
        unsafe { done.finish(p, status, tag_placed(t)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        for (size, placed, np) in [(0, 0, false), (1460, 17, true), (UNUSABLE, 0, false)] {
            let t = tag(size, placed, np);
            assert_eq!(
                (tag_size(t), tag_placed(t), tag_no_push(t)),
                (size, placed, np)
            );
        }
    }
}
