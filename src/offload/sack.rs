//! The sender's side of SACK (RFC 2018, loss recovery after RFC 6675) on
//! connections that negotiated it: a scoreboard of up to three SACKed
//! ranges above SND.UNA, and, in recovery, retransmission of the holes
//! below the highest SACKed byte, each once per recovery, while the data in
//! the network (the "pipe": outstanding less SACKed) is below cwnd. New
//! data follows under the same pipe; SACKs of data sent after recovery
//! began mark the retransmissions still missing as lost. A retransmission
//! timeout forgets the scoreboard (the receiver may have discarded what it
//! reported).

use super::conn::{ConnTx, Pumped};
use crate::hw::OffloadNic;
use crate::wire::SackBlocks;

/// `a` before `b` in sequence space.
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl ConnTx {
    /// SACKed bytes above SND.UNA.
    pub(super) fn sacked_bytes(&self) -> u32 {
        self.sacked
            .as_slice()
            .iter()
            .map(|&(l, r)| r.wrapping_sub(l))
            .fold(0u32, u32::saturating_add)
    }

    /// Merge an ACK's blocks into the scoreboard. Blocks outside
    /// (SND.UNA, SND.MAX] are ignored (a D-SACK of old data, a forgery);
    /// one reaching below SND.UNA is cut there. Three ranges are kept:
    /// the lowest, which hold the next holes.
    pub(super) fn on_sack(&mut self, blocks: &SackBlocks) {
        if !self.sack {
            return;
        }
        let una = self.snd_una;
        let max = self.snd_max;
        let mut all = [(0u32, 0u32); 6];
        let mut n = 0usize;
        for &(l, r) in self.sacked.as_slice().iter().chain(blocks.as_slice()) {
            let l = if seq_lt(l, una) { una } else { l };
            if !seq_lt(l, r) || seq_lt(max, r) {
                continue;
            }
            if let Some(slot) = all.get_mut(n) {
                *slot = (l, r);
                n += 1;
            }
        }
        let ranges = all.get_mut(..n).unwrap_or_default();
        ranges.sort_unstable_by_key(|&(l, _)| l.wrapping_sub(una));
        let mut out = SackBlocks::default();
        let mut cur: Option<(u32, u32)> = None;
        for &(l, r) in ranges.iter() {
            cur = match cur {
                Some((cl, cr)) if !seq_lt(cr, l) => Some((cl, if seq_lt(cr, r) { r } else { cr })),
                Some((cl, cr)) => {
                    out.push(cl, cr);
                    Some((l, r))
                }
                None => Some((l, r)),
            };
        }
        if let Some((cl, cr)) = cur {
            out.push(cl, cr);
        }
        self.sacked = out;
    }

    /// In SACK recovery: data sent after recovery began (past `recover`)
    /// is SACKed while a hole below it is still missing, so that hole's
    /// retransmission, sent before that data, was lost too. The holes are
    /// scanned again (each resent once more) and the episode extends to
    /// SND.MAX. Without this only the RTO repairs a lost retransmission.
    pub(super) fn lost_retransmission(&mut self) {
        if !self.sack || !self.in_recovery {
            return;
        }
        let Some(&(_, highest)) = self.sacked.as_slice().last() else {
            return;
        };
        if seq_lt(self.recover, highest) && seq_lt(self.snd_una, self.recover) {
            self.rexmit_next = self.snd_una;
            self.recover = self.snd_max;
        }
    }

    /// SND.UNA moved: drop or cut the ranges it passed.
    pub(super) fn sack_trim(&mut self) {
        if self.sacked.n > 0 {
            self.on_sack(&SackBlocks::default());
        }
    }

    /// The first hole at or after `rexmit_next` (and SND.UNA) that lies
    /// below a SACKed range: `[start, end)`.
    fn next_hole(&self) -> Option<(u32, u32)> {
        let mut from = if seq_lt(self.rexmit_next, self.snd_una) {
            self.snd_una
        } else {
            self.rexmit_next
        };
        for &(l, r) in self.sacked.as_slice() {
            if seq_lt(from, l) {
                return Some((from, l));
            }
            if seq_lt(from, r) {
                from = r;
            }
        }
        None
    }

    /// In SACK recovery: send the holes again, oldest first, while the
    /// pipe is below cwnd (RFC 6675 §5, NextSeg rule 1).
    pub(super) fn resend_holes(&mut self, nic: &impl OffloadNic, now: u32) -> Pumped {
        let mut done = Pumped::default();
        let mut pipe = self.in_flight().saturating_sub(self.sacked_bytes());
        let mut guard = 64;
        while guard > 0 && pipe < self.cwnd {
            guard -= 1;
            let Some((start, end)) = self.next_hole() else {
                break;
            };
            let len = end.wrapping_sub(start).min(self.mss);
            let sent = self.resend_range(nic, now, start, len);
            if sent.sent == 0 {
                break;
            }
            self.rexmit_next = start.wrapping_add(len);
            pipe = pipe.saturating_add(len);
            done.sent += sent.sent;
            done.retransmitted += sent.retransmitted;
        }
        done
    }
}
