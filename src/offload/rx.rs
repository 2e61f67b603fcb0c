//! The receive side of one offloaded connection: data the target has
//! acknowledged and not yet delivered, held in the adapter's receive buffers
//! ([`RxPool`]) as a queue of buffer indices, plus the ACK bookkeeping
//! (delayed ACK, RFC 1122 §4.2.3.2) and the indication state (spec §6.5).
//!
//! Everything here runs under the connection's lock; the pool's own lock is
//! taken inside it, never the other way round.

use crate::ndis::rxpool::{NO_BUF, RxPool};
use crate::wire::SackBlocks;

/// A held segment's label bit (above the TCP flags): the latest to arrive.
pub const RECENT: u8 = 0x80;

/// `a` before `b` in sequence space.
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Receive state of one connection.
#[derive(Clone, Copy, Debug)]
pub struct RxQueue {
    head: u32,
    tail: u32,
    /// Bytes buffered (acknowledged, not delivered).
    pub bytes: u32,
    /// In-order data segments received since the last ACK went out
    /// (`TcpAckFrequency` is at most 255).
    pub unacked_segments: u16,
    /// Out-of-order segments received since the last upload request for
    /// them (`HighOutOfOrderPackets`).
    pub out_of_order: u16,
    /// Out-of-order segments held for reassembly: one per buffer, linked
    /// in sequence order, each labelled with its sequence number.
    ooo_head: u32,
    pub ooo_segments: u8,
    /// NIC tick by which the delayed ACK is due (None: no ACK owed).
    pub ack_due: Option<u32>,
    /// The connection sits on the adapter's delayed-ACK list.
    pub ack_listed: bool,
    /// Right edge of the window last advertised (RCV.NXT + RCV.WND then).
    pub adv_edge: u32,
    /// An indication call for this connection is running (rule 72).
    pub indicating: bool,
    /// The host refused an indication: none until it posts a receive (§6.5).
    pub refused: bool,
    /// A segment with PSH delivered some of the buffered bytes: once they
    /// are all placed, a partly filled push-mode request completes (§6.6).
    pub psh: bool,
    /// NIC tick at which the push timer fires (None: not running).
    pub push_due: Option<u32>,
    /// The push timer fired: complete the partly filled push-mode request.
    pub push_fire: bool,
    /// The peer's FIN was accepted (RCV.NXT counts it).
    pub fin_in: bool,
    /// `TcpIndicateDisconnect` was made.
    pub disconnect_indicated: bool,
}

impl RxQueue {
    pub const fn new() -> Self {
        RxQueue {
            head: NO_BUF,
            tail: NO_BUF,
            bytes: 0,
            unacked_segments: 0,
            out_of_order: 0,
            ooo_head: NO_BUF,
            ooo_segments: 0,
            ack_due: None,
            ack_listed: false,
            adv_edge: 0,
            indicating: false,
            refused: false,
            psh: false,
            push_due: None,
            push_fire: false,
            fin_in: false,
            disconnect_indicated: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head == NO_BUF
    }

    /// Append `data`, filling the last buffer first. Returns the bytes
    /// taken: fewer than offered when the pool runs out.
    pub fn append(&mut self, pool: &RxPool, mut data: &[u8]) -> usize {
        let mut taken = 0;
        while !data.is_empty() {
            if self.tail == NO_BUF || pool.room(self.tail) == 0 {
                let Some(b) = pool.take() else {
                    break;
                };
                if self.tail == NO_BUF {
                    self.head = b;
                } else {
                    pool.set_next(self.tail, b);
                }
                self.tail = b;
            }
            let n = pool.append(self.tail, data);
            if n == 0 {
                break;
            }
            data = data.get(n..).unwrap_or(&[]);
            taken += n;
        }
        self.bytes = self.bytes.saturating_add(taken as u32);
        taken
    }

    /// The first buffer, left in place (FILL copies out of it).
    pub fn front(&self) -> Option<u32> {
        (self.head != NO_BUF).then_some(self.head)
    }

    /// `n` bytes at the front were placed elsewhere (a posted receive):
    /// drop them, giving an emptied buffer back to the pool.
    pub fn consume_front(&mut self, pool: &RxPool, n: u32) {
        let b = self.head;
        if b == NO_BUF {
            return;
        }
        let n = n.min(pool.pending(b));
        pool.consume(b, n);
        self.bytes = self.bytes.saturating_sub(n);
        if pool.pending(b) == 0 {
            self.head = pool.next(b);
            if self.head == NO_BUF {
                self.tail = NO_BUF;
            }
            pool.set_next(b, NO_BUF);
            pool.give(b);
        }
    }

    /// Detach the first buffer (for an indication). Its unconsumed bytes
    /// no longer count as buffered until [`RxQueue::push_front`].
    pub fn pop_front(&mut self, pool: &RxPool) -> Option<u32> {
        if self.head == NO_BUF {
            return None;
        }
        let b = self.head;
        self.head = pool.next(b);
        if self.head == NO_BUF {
            self.tail = NO_BUF;
        }
        pool.set_next(b, NO_BUF);
        self.bytes = self.bytes.saturating_sub(pool.pending(b));
        Some(b)
    }

    /// Put a buffer back at the front (an indication was refused).
    pub fn push_front(&mut self, pool: &RxPool, b: u32) {
        if pool.pending(b) == 0 {
            pool.give(b);
            return;
        }
        pool.set_next(b, self.head);
        if self.head == NO_BUF {
            self.tail = b;
        }
        self.head = b;
        self.bytes = self.bytes.saturating_add(pool.pending(b));
    }

    /// Detach the whole queue: (first buffer, bytes). The caller owns the
    /// buffers, linked through the pool.
    pub fn take_all(&mut self) -> (u32, u32) {
        let r = (self.head, self.bytes);
        self.head = NO_BUF;
        self.tail = NO_BUF;
        self.bytes = 0;
        r
    }

    /// Give every buffer back to the pool and forget the queue (the
    /// out-of-order segments too).
    pub fn release(&mut self, pool: &RxPool) {
        let (head, _) = self.take_all();
        pool.give_queue(head);
        self.drop_out_of_order(pool);
    }

    /// Give the held out-of-order segments back (never acknowledged, so
    /// the peer sends them again to whoever holds the connection next).
    pub fn drop_out_of_order(&mut self, pool: &RxPool) {
        pool.give_queue(self.ooo_head);
        self.ooo_head = NO_BUF;
        self.ooo_segments = 0;
    }

    /// The SACK blocks the held segments make (RFC 2018 §4): the block
    /// holding the latest segment held (its buffer carries [`RECENT`])
    /// first, then the others from the lowest up, three at most; none when
    /// nothing is held.
    pub fn sack_blocks(&self, pool: &RxPool) -> SackBlocks {
        let mut recent = None;
        let mut at = self.ooo_head;
        let mut guard = usize::from(self.ooo_segments) + 1;
        while at != NO_BUF && guard > 0 {
            guard -= 1;
            let (s, flags) = pool.seq(at);
            if flags & RECENT != 0 {
                recent = Some(s);
            }
            at = pool.next(at);
        }
        let mut first: Option<(u32, u32)> = None;
        let mut others = SackBlocks::default();
        let mut current: Option<(u32, u32)> = None;
        let mut at = self.ooo_head;
        let mut guard = usize::from(self.ooo_segments) + 1;
        let mut place = |r: (u32, u32), first: &mut Option<(u32, u32)>| {
            let holds = recent.is_some_and(|s| !seq_lt(s, r.0) && seq_lt(s, r.1));
            if holds && first.is_none() {
                *first = Some(r);
            } else {
                others.push(r.0, r.1);
            }
        };
        while at != NO_BUF && guard > 0 {
            guard -= 1;
            let (s, _) = pool.seq(at);
            let e = s.wrapping_add(pool.pending(at));
            current = match current {
                // Touching or overlapping: one block.
                Some((l, r)) if !seq_lt(r, s) => Some((l, if seq_lt(r, e) { e } else { r })),
                Some(done) => {
                    place(done, &mut first);
                    Some((s, e))
                }
                None => Some((s, e)),
            };
            at = pool.next(at);
        }
        if let Some(done) = current {
            place(done, &mut first);
        }
        let mut out = SackBlocks::default();
        if let Some((l, r)) = first {
            out.push(l, r);
        }
        for &(l, r) in others.as_slice() {
            out.push(l, r);
        }
        out
    }

    /// Link a filled buffer at the end of the in-order queue.
    fn push_back(&mut self, pool: &RxPool, b: u32) {
        pool.set_next(b, NO_BUF);
        if self.tail == NO_BUF {
            self.head = b;
        } else {
            pool.set_next(self.tail, b);
        }
        self.tail = b;
        self.bytes = self.bytes.saturating_add(pool.pending(b));
    }

    /// Hold `data`, which starts at `seq` beyond RCV.NXT, for reassembly.
    /// False (nothing held) when the connection already holds `limit`
    /// segments, fewer than `reserve` buffers would stay free for everyone
    /// else, or a held segment already covers it. The caller has cut
    /// `data` to the advertised window.
    pub fn hold_out_of_order(
        &mut self,
        pool: &RxPool,
        seq: u32,
        data: &[u8],
        flags: u8,
        limit: u8,
        reserve: usize,
    ) -> bool {
        if data.is_empty()
            || data.len() > crate::ndis::rxpool::RX_BUF_BYTES
            || self.ooo_segments >= limit
            || pool.available() <= reserve
        {
            return false;
        }
        // Find the place: after every segment starting at or before `seq`.
        let end = seq.wrapping_add(data.len() as u32);
        let mut prev = NO_BUF;
        let mut at = self.ooo_head;
        let mut guard = usize::from(self.ooo_segments) + 1;
        while at != NO_BUF && guard > 0 {
            guard -= 1;
            let (s, _) = pool.seq(at);
            let e = s.wrapping_add(pool.pending(at));
            if s == seq && !seq_lt(e, end) {
                return false; // a duplicate of what is held
            }
            if seq_lt(seq, s) {
                break;
            }
            prev = at;
            at = pool.next(at);
        }
        let Some(b) = pool.take() else {
            return false;
        };
        if pool.append(b, data) != data.len() {
            pool.give(b);
            return false;
        }
        // The newest segment is the one marked RECENT: the mark moves here.
        let mut other = self.ooo_head;
        let mut guard = usize::from(self.ooo_segments) + 1;
        while other != NO_BUF && guard > 0 {
            guard -= 1;
            let (_, f) = pool.seq(other);
            if f & RECENT != 0 {
                pool.set_flags(other, f & !RECENT);
            }
            other = pool.next(other);
        }
        pool.set_seq(b, seq, flags | RECENT);
        pool.set_next(b, at);
        if prev == NO_BUF {
            self.ooo_head = b;
        } else {
            pool.set_next(prev, b);
        }
        self.ooo_segments = self.ooo_segments.saturating_add(1);
        true
    }

    /// Move the held segments that now continue the stream at `*rcv_nxt`
    /// into the in-order queue (their overlap with what is already there
    /// cut off), advancing `*rcv_nxt`; segments entirely before it are
    /// freed. Returns (bytes moved, whether one of them carried PSH).
    pub fn drain_in_order(&mut self, pool: &RxPool, rcv_nxt: &mut u32) -> (u32, bool) {
        let mut moved = 0u32;
        let mut psh = false;
        let mut guard = usize::from(self.ooo_segments) + 1;
        while self.ooo_head != NO_BUF && guard > 0 {
            guard -= 1;
            let b = self.ooo_head;
            let (s, flags) = pool.seq(b);
            let len = pool.pending(b);
            if seq_lt(*rcv_nxt, s) {
                break; // a hole is left
            }
            self.ooo_head = pool.next(b);
            self.ooo_segments = self.ooo_segments.saturating_sub(1);
            let skip = rcv_nxt.wrapping_sub(s);
            if skip >= len {
                pool.set_next(b, NO_BUF);
                pool.give(b);
                continue;
            }
            pool.consume(b, skip);
            let n = len - skip;
            self.push_back(pool, b);
            *rcv_nxt = rcv_nxt.wrapping_add(n);
            moved = moved.saturating_add(n);
            psh |= flags & crate::wire::tcp_flags::PSH != 0;
        }
        (moved, psh)
    }
}

impl Default for RxQueue {
    fn default() -> Self {
        Self::new()
    }
}
