//! A connection's send queue: the NBLs it owns, in posting order, linked
//! through `MiniportReserved` (no allocation), with a transmit cursor and the
//! bookkeeping that completes them once acknowledged.
//!
//! The queue is byte-oriented: the TCP logic above asks for "the next bytes
//! to send" and reports "so many more bytes acknowledged"; this module maps
//! those onto NBLs, NET_BUFFERs and MDLs and builds the completion chains.
//! An NBL that cannot be sent (malformed, see [`nbdata::validate`]) keeps its
//! FIFO place but carries no bytes: the cursor stops in front of it, and it
//! completes (with its failure status, followed by everything after it,
//! rule 60) once everything before it has been acknowledged.

use super::nbdata::{self, Cursor, Malformed};
use super::nbl::{self, NblQueue};
use crate::ffi::*;
use core::mem::MaybeUninit;
use core::ptr::null_mut;

// Each entry's tag packs its byte length (low 32 bits) and, for an NBL that
// will not be sent, its completion status (high 32 bits, non-zero). Two bits
// no NDIS status uses (28 and 29 of the status: the NTSTATUS reserved and
// customer bits) mark the graceful disconnect request (`CLOSING`) and, once
// a reset or upload emptied the queue around it, that it was set aside
// (`ASIDE`; its length field then holds the bytes acknowledged).
static_assertions::const_assert!(core::mem::size_of::<usize>() == 8);
const CLOSING: usize = 1 << 61;
const ASIDE: usize = 1 << 60;
const MARKS: u32 = 0x3000_0000;
static_assertions::const_assert!(NDIS_STATUS_INVALID_PARAMETER as u32 & MARKS == 0);
static_assertions::const_assert!(NDIS_STATUS_RESOURCES as u32 & MARKS == 0);
static_assertions::const_assert!(NDIS_STATUS_REQUEST_ABORTED as u32 & MARKS == 0);

fn tag(len: u32, fail: NDIS_STATUS) -> usize {
    (len as usize) | (((fail as u32 & !MARKS) as usize) << 32)
}
fn tag_len(t: usize) -> u32 {
    t as u32
}
fn tag_fail(t: usize) -> NDIS_STATUS {
    ((t >> 32) as u32 & !MARKS) as NDIS_STATUS
}

/// NBLs to hand back in one completion call, linked through `Next` in order.
pub struct Completions {
    head: PNET_BUFFER_LIST,
    tail: PNET_BUFFER_LIST,
    count: usize,
}

// SAFETY: holds NBLs the driver owns and is about to complete.
unsafe impl Send for Completions {}

impl Default for Completions {
    fn default() -> Self {
        Self::new()
    }
}

impl Completions {
    pub const fn new() -> Self {
        Completions {
            head: null_mut(),
            tail: null_mut(),
            count: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    pub fn len(&self) -> usize {
        self.count
    }

    /// The chain to pass to the completion call (NULL when empty).
    pub fn head(&self) -> PNET_BUFFER_LIST {
        self.head
    }

    /// Append `p` with its status already set.
    ///
    /// # Safety
    /// `p` must be an NBL the driver owns, in no other list.
    pub unsafe fn push(&mut self, p: PNET_BUFFER_LIST) {
        // SAFETY: caller contract.
        unsafe { nbl::set_next(p, null_mut()) };
        if self.tail.is_null() {
            self.head = p;
        } else {
            // SAFETY: the tail is an NBL this list holds.
            unsafe { nbl::set_next(self.tail, p) };
        }
        self.tail = p;
        self.count += 1;
    }

    /// Complete `p` with `status` and `acked` bytes sent and acknowledged.
    ///
    /// # Safety
    /// `p` must be a validated NBL the driver owns, in no other list.
    pub unsafe fn finish(&mut self, p: PNET_BUFFER_LIST, status: NDIS_STATUS, acked: u32) {
        // SAFETY: caller contract.
        unsafe {
            nbl::set_status(p, status);
            nbdata::account_acked(p, acked);
            self.push(p);
        }
    }

    /// Complete an NBL that was never accepted (nothing read, nothing sent).
    ///
    /// # Safety
    /// `p` must be an NBL the driver owns, in no other list.
    pub unsafe fn refuse(&mut self, p: PNET_BUFFER_LIST, status: NDIS_STATUS) {
        // SAFETY: caller contract.
        unsafe {
            nbl::set_status(p, status);
            nbl::set_bytes_transferred(p, 0);
            self.push(p);
        }
    }

    /// Move everything out (for completing after a lock is released).
    pub fn take(&mut self) -> Completions {
        core::mem::take(self)
    }

    /// Append all of `other`.
    pub fn append(&mut self, other: Completions) {
        if other.head.is_null() {
            return;
        }
        if self.tail.is_null() {
            self.head = other.head;
        } else {
            // SAFETY: the tail is an NBL this list holds.
            unsafe { nbl::set_next(self.tail, other.head) };
        }
        self.tail = other.tail;
        self.count += other.count;
    }
}

/// Most buffer pieces one segment is gathered from; a segment whose bytes
/// are spread over more MDLs is cut short there.
pub const MAX_FRAGMENTS: usize = 16;

/// What the next segment carries: how many pieces, how many bytes, and
/// whether it ends an NBL. Commit it with [`SendQueue::commit`].
#[derive(Clone, Copy, Debug)]
pub struct Chunk {
    pub slices: usize,
    pub bytes: u32,
    /// These bytes end an NBL (PSH goes on this segment).
    pub ends_nbl: bool,
}

/// The next bytes to transmit, as slices borrowed from the queued NBLs
/// (filled by [`SendQueue::peek`]). The slice array is not initialised
/// beyond the pieces in use, and the caller keeps it in its own frame, so a
/// segment costs nothing for the slots it does not need.
pub struct Segment<'a> {
    slices: usize,
    frags: [MaybeUninit<&'a [u8]>; MAX_FRAGMENTS],
}

impl Default for Segment<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Segment<'a> {
    /// An empty segment to peek into.
    #[inline(always)]
    pub const fn new() -> Self {
        Segment {
            slices: 0,
            frags: [const { MaybeUninit::uninit() }; MAX_FRAGMENTS],
        }
    }

    /// The payload pieces, in order.
    #[inline(always)]
    pub fn payload(&self) -> &[&'a [u8]] {
        let written = self.frags.get(..self.slices).unwrap_or(&[]);
        // SAFETY: `peek` wrote the first `slices` slots before setting
        // `slices`; `MaybeUninit<T>` has `T`'s layout.
        unsafe { &*(written as *const [MaybeUninit<&'a [u8]>] as *const [&'a [u8]]) }
    }
}

/// The transmit position: an NBL and the cursor in it. How many of its bytes
/// are left is kept beside it in [`SendQueue`] (`left`), where it packs with
/// the queue's other 32-bit fields.
#[derive(Clone, Copy, Debug)]
struct Position {
    nbl: PNET_BUFFER_LIST,
    cursor: Cursor,
}

impl Position {
    /// Nothing positioned (nothing left to send, or blocked by a failed NBL).
    const NONE: (Position, u32) = (
        Position {
            nbl: null_mut(),
            cursor: Cursor::EMPTY,
        },
        0,
    );
}

/// One connection's queued send NBLs.
pub struct SendQueue {
    q: NblQueue,
    /// Bytes of the head NBL already acknowledged.
    head_acked: u32,
    /// Next byte to transmit; `nbl` NULL when nothing is positioned.
    pos: Position,
    /// Bytes of `pos.nbl` not yet read; 0 exactly when nothing is positioned.
    left: u32,
    /// Bytes queued and not yet acknowledged (good NBLs only).
    unacked: u64,
    /// Bytes queued and not yet transmitted.
    unsent: u64,
    /// Once one NBL failed, everything queued after it fails too.
    failed: NDIS_STATUS,
    /// Queued entries that carry no bytes (failed or zero-length): they
    /// complete as soon as they reach the head, without an ACK of their own.
    /// The disconnect request is never counted: it does not complete here.
    empty: u32,
}

/// Where the queued disconnect request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closing {
    /// None queued.
    None,
    /// Behind other entries, or at the head with bytes unacknowledged.
    Queued,
    /// At the head, every byte acknowledged (0 for a request without data).
    Acked(u32),
    /// At the head, failed with this status: a send before it failed
    /// (REQUEST_ABORTED), or it is malformed (its data and the FIN are
    /// never sent).
    Failed(NDIS_STATUS),
    /// Set aside by a reset or an upload, with so many bytes acknowledged.
    Aside(u32),
}

// SAFETY: holds NBLs the driver owns; used under the connection's spin lock.
unsafe impl Send for SendQueue {}

impl Default for SendQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl SendQueue {
    pub const fn new() -> Self {
        SendQueue {
            q: NblQueue::new(),
            head_acked: 0,
            pos: Position::NONE.0,
            left: 0,
            unacked: 0,
            unsent: 0,
            failed: NDIS_STATUS_SUCCESS,
            empty: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Bytes queued and not yet acknowledged.
    pub fn unacked(&self) -> u64 {
        self.unacked
    }

    /// Bytes queued and not yet transmitted.
    pub fn unsent(&self) -> u64 {
        self.unsent
    }

    /// The failure status in force (SUCCESS while the queue is healthy).
    pub fn failed(&self) -> NDIS_STATUS {
        self.failed
    }

    /// Append one NBL. A malformed NBL, or any NBL after a failure, is kept
    /// in order but will complete with a failure status and is never read.
    ///
    /// # Safety
    /// `p` must be an NBL the driver now owns (until it is completed or
    /// handed back), in no other list.
    pub unsafe fn push(&mut self, p: PNET_BUFFER_LIST) -> Result<u32, Malformed> {
        // (The NBL's own `Next` is left as it is: the queue links through
        // MiniportReserved, and completion relinks `Next`.)
        let checked = if self.failed != NDIS_STATUS_SUCCESS {
            Ok(0)
        } else {
            // With nothing positioned, the cursor is set up for this NBL
            // while it is checked (unused unless it is good and has data).
            let cursor = if self.pos.nbl.is_null() {
                Some(&mut self.pos.cursor)
            } else {
                None
            };
            // SAFETY: caller contract.
            unsafe { nbdata::validate_into(p, cursor) }
        };
        let (len, fail) = match checked {
            Ok(len) if self.failed == NDIS_STATUS_SUCCESS => (len, NDIS_STATUS_SUCCESS),
            Ok(_) => (0, self.failed),
            Err(m) => {
                self.failed = m.status();
                (0, m.status())
            }
        };
        // SAFETY: caller contract.
        unsafe { self.q.push(p, tag(len, fail)) };
        if len == 0 {
            self.empty += 1;
        }
        self.unacked += u64::from(len);
        self.unsent += u64::from(len);
        if self.pos.nbl.is_null() && fail == NDIS_STATUS_SUCCESS && len > 0 {
            // Nothing was positioned: everything before was sent. The
            // cursor was set by the check above.
            self.pos.nbl = p;
            self.left = len;
        }
        checked
    }

    /// Append the connection's graceful disconnect request (spec §6.8),
    /// last: its data (if any) is sent after everything queued, like a
    /// send's, but the request never completes with the sends. Once fully
    /// acknowledged it stays at the head; a reset or an upload sets it
    /// aside; [`SendQueue::take_closing`] hands it out. The caller queues
    /// nothing after it (the tail is how the queue finds it).
    ///
    /// # Safety
    /// As for [`SendQueue::push`]; at most one request per connection.
    pub unsafe fn push_closing(&mut self, p: PNET_BUFFER_LIST) -> Result<u32, Malformed> {
        let empty = self.empty;
        // Behind a failed send the request fails too, as aborted: its data
        // and FIN can never follow a whole stream.
        let inherited = self.failed;
        if inherited != NDIS_STATUS_SUCCESS {
            self.failed = NDIS_STATUS_REQUEST_ABORTED;
        }
        // SAFETY: caller contract.
        let r = unsafe { self.push(p) };
        if inherited != NDIS_STATUS_SUCCESS {
            self.failed = inherited;
        }
        // It never completes as an entry without bytes.
        self.empty = empty;
        // SAFETY: `p` is the entry just queued.
        let t = unsafe { NblQueue::tag_of(p) };
        self.set_tail_tag(t | CLOSING);
        r
    }

    fn set_tail_tag(&mut self, t: usize) {
        let p = self.q.tail();
        if !p.is_null() {
            // SAFETY: the tail is an entry of this queue.
            unsafe { NblQueue::set_tag_of(p, t) };
        }
    }

    /// Where the disconnect request stands.
    pub fn closing(&self) -> Closing {
        let p = self.q.tail();
        if p.is_null() {
            return Closing::None;
        }
        // SAFETY: the tail is an entry of this queue.
        let t = unsafe { NblQueue::tag_of(p) };
        if t & CLOSING == 0 {
            Closing::None
        } else if t & ASIDE != 0 {
            Closing::Aside(tag_len(t))
        } else if p != self.q.head() {
            Closing::Queued
        } else if tag_fail(t) != NDIS_STATUS_SUCCESS {
            Closing::Failed(tag_fail(t))
        } else if self.head_acked == tag_len(t) {
            Closing::Acked(tag_len(t))
        } else {
            Closing::Queued
        }
    }

    /// Hand out the disconnect request once it is at the head (acknowledged
    /// or failed) or set aside: (request, data bytes acknowledged). It
    /// leaves the queue, then empty.
    pub fn take_closing(&mut self) -> Option<(PNET_BUFFER_LIST, u32)> {
        let acked = match self.closing() {
            Closing::None | Closing::Queued => return None,
            Closing::Aside(acked) => acked,
            Closing::Acked(_) | Closing::Failed(_) => self.head_acked,
        };
        let (p, _) = self.q.pop()?;
        self.reset();
        Some((p, acked))
    }

    /// Keep the disconnect request `p`, just popped with `acked` bytes
    /// acknowledged, as the only entry, set aside (a reset or an upload is
    /// emptying the queue).
    fn set_aside(&mut self, p: PNET_BUFFER_LIST, acked: u32) {
        // SAFETY: `p` was this queue's entry, popped just now: still ours,
        // and in no list.
        unsafe { self.q.push(p, CLOSING | ASIDE | acked as usize) };
    }

    /// Move the transmit position `bytes` forward from the first
    /// unacknowledged byte (data handed over at offload whose first part the
    /// host had already sent).
    pub fn seek_from_una(&mut self, bytes: u64) {
        let bytes = bytes.min(self.unacked);
        let mut skip = bytes + u64::from(self.head_acked);
        (self.pos, self.left) = Position::NONE;
        let mut p = self.q.head();
        while !p.is_null() {
            // SAFETY: `p` is an entry of this queue.
            let t = unsafe { NblQueue::tag_of(p) };
            if tag_fail(t) != NDIS_STATUS_SUCCESS {
                break;
            }
            let len = u64::from(tag_len(t));
            if skip < len {
                // SAFETY: a queued good NBL: validated and owned.
                let mut cursor = unsafe { Cursor::new(p) };
                // SAFETY: as above; skip < len.
                unsafe { cursor.skip(skip as u32) };
                self.pos = Position { nbl: p, cursor };
                self.left = (len - skip) as u32;
                break;
            }
            skip -= len;
            // SAFETY: `p` is an entry of this queue.
            p = unsafe { NblQueue::next_of(p) };
        }
        self.unsent = self.unacked - bytes;
    }

    /// The next bytes to transmit: at most `max`, never across an NBL
    /// boundary, gathered into `seg`. `None` when nothing is ready. Nothing
    /// moves until [`SendQueue::commit`].
    #[inline(always)]
    pub fn peek<'a>(&'a self, max: u32, seg: &mut Segment<'a>) -> Option<Chunk> {
        seg.slices = 0;
        let left = self.left;
        // Nothing positioned has `left` 0 (see `Position::NONE`).
        if left == 0 || max == 0 {
            return None;
        }
        let want = max.min(left);
        // SAFETY: the cursor reads a validated NBL this queue owns; the
        // slices borrow `self`, so they cannot outlive the caller's lock.
        let run = unsafe { self.pos.cursor.contiguous(want) };
        let (slices, bytes) = match run {
            Some(run) => {
                seg.frags[0].write(run);
                (1, want)
            }
            None => {
                let mut cursor = self.pos.cursor;
                // SAFETY: as above.
                unsafe { cursor.gather_into(want, &mut seg.frags) }
            }
        };
        seg.slices = slices;
        if bytes == 0 {
            return None;
        }
        Some(Chunk {
            slices,
            bytes,
            ends_nbl: bytes == left,
        })
    }

    /// The bytes of `chunk`, the last [`SendQueue::peek`], were handed to the
    /// hardware: move the transmit position past them.
    #[inline]
    pub fn commit(&mut self, chunk: &Chunk) {
        let bytes = chunk.bytes.min(self.left);
        if bytes == 0 {
            return;
        }
        self.left -= bytes;
        if self.left == 0 {
            (self.pos, self.left) = self.position_after(self.pos.nbl);
        } else {
            // SAFETY: the cursor reads a validated NBL this queue owns, and
            // `bytes` < the bytes it has left.
            unsafe { self.pos.cursor.skip(bytes) };
        }
        self.unsent = self.unsent.saturating_sub(u64::from(bytes));
    }

    /// Start of the next good NBL after `p` (none if a failed one comes first).
    #[inline]
    fn position_after(&self, p: PNET_BUFFER_LIST) -> (Position, u32) {
        // SAFETY: `p` and the entries after it belong to this queue.
        let mut next = unsafe { NblQueue::next_of(p) };
        while !next.is_null() {
            // SAFETY: as above.
            let t = unsafe { NblQueue::tag_of(next) };
            if tag_fail(t) != NDIS_STATUS_SUCCESS {
                break;
            }
            if tag_len(t) > 0 {
                let pos = Position {
                    nbl: next,
                    // SAFETY: a queued good NBL: validated and owned.
                    cursor: unsafe { Cursor::new(next) },
                };
                return (pos, tag_len(t));
            }
            // A zero-length good NBL carries nothing: skip it.
            // SAFETY: as above.
            next = unsafe { NblQueue::next_of(next) };
        }
        Position::NONE
    }

    /// `bytes` more were acknowledged: complete every NBL now fully
    /// acknowledged with SUCCESS (and any zero-length or failed NBL that
    /// reaches the head) into `done`, in order.
    pub fn ack(&mut self, bytes: u64, done: &mut Completions) {
        let mut left = bytes.min(self.unacked);
        self.unacked -= left;
        loop {
            // With every byte of this ACK used, only an entry without bytes
            // could still complete now; without any, the head stays as it is.
            if left == 0 && self.empty == 0 {
                return;
            }
            let Some((p, t)) = self.q.peek() else {
                return;
            };
            let len = tag_len(t);
            let fail = tag_fail(t);
            if t & CLOSING != 0 {
                // The disconnect request stays at the head, its bytes counted
                // as acknowledged (see `push_closing`).
                if fail == NDIS_STATUS_SUCCESS {
                    self.head_acked = self.head_acked.saturating_add(left as u32).min(len);
                }
                return;
            }
            if len == 0 {
                // An entry without bytes always leaves below (a failed one
                // at once; a zero-length one needs nothing acknowledged).
                self.empty = self.empty.saturating_sub(1);
            }
            if fail != NDIS_STATUS_SUCCESS {
                // Everything before it is acknowledged: it fails now (rule 60).
                self.q.pop();
                // SAFETY: owned, never read; nothing sent from it.
                unsafe { done.refuse(p, fail) };
                continue;
            }
            let need = u64::from(len - self.head_acked);
            if left < need {
                self.head_acked += left as u32;
                return;
            }
            left -= need;
            self.q.pop();
            self.head_acked = 0;
            if self.pos.nbl == p {
                (self.pos, self.left) = self.position_after(p);
            }
            // SAFETY: a validated NBL, fully sent and acknowledged.
            unsafe { done.finish(p, NDIS_STATUS_SUCCESS, len) };
        }
    }

    /// Fail everything queued with `status` (the partially acknowledged head
    /// reports its acknowledged bytes, rule 59).
    /// A queued disconnect request is set aside, not completed.
    pub fn fail_all(&mut self, status: NDIS_STATUS, done: &mut Completions) {
        while let Some((p, t)) = self.q.pop() {
            let acked = if tag_fail(t) == NDIS_STATUS_SUCCESS {
                core::mem::take(&mut self.head_acked)
            } else {
                0
            };
            if t & CLOSING != 0 {
                let acked = if t & ASIDE != 0 { tag_len(t) } else { acked };
                // The last entry: nothing follows it.
                self.set_aside(p, acked);
                break;
            }
            // SAFETY: owned; validated if good (account_acked reads NBs),
            // and a failed NBL reports 0 acknowledged bytes.
            unsafe { done.finish(p, status, acked) };
        }
        self.reset();
    }

    /// Upload: return the unacknowledged good NBLs as one chain in original
    /// order (the head advanced past its acknowledged bytes so its first
    /// data byte is `SndUna`), and complete failed ones into `done`.
    /// Returns (head, tail), NULL when nothing is handed back. A queued
    /// disconnect request is set aside, not handed back.
    pub fn take_for_upload(
        &mut self,
        done: &mut Completions,
    ) -> (PNET_BUFFER_LIST, PNET_BUFFER_LIST) {
        let mut back = Completions::new();
        while let Some((p, t)) = self.q.pop() {
            let fail = tag_fail(t);
            if t & CLOSING != 0 {
                let acked = if t & ASIDE != 0 {
                    tag_len(t)
                } else if fail == NDIS_STATUS_SUCCESS {
                    core::mem::take(&mut self.head_acked)
                } else {
                    0
                };
                // The last entry: nothing follows it.
                self.set_aside(p, acked);
                break;
            }
            if fail != NDIS_STATUS_SUCCESS {
                // SAFETY: owned and never read.
                unsafe { done.refuse(p, fail) };
                continue;
            }
            let acked = core::mem::take(&mut self.head_acked);
            if acked > 0 {
                // SAFETY: a validated NBL; the acked prefix leaves it.
                unsafe { nbdata::account_acked(p, acked) };
            }
            // SAFETY: owned; linked into the chain handed back.
            unsafe { back.push(p) };
        }
        self.reset();
        (back.head, back.tail)
    }

    fn reset(&mut self) {
        self.head_acked = 0;
        self.empty = 0;
        (self.pos, self.left) = Position::NONE;
        self.unacked = 0;
        self.unsent = 0;
    }
}
