//! The scripted peer's reassembly and SACK blocks, for connections
//! registered with `sack`: out-of-order data is kept (by sequence number)
//! and joins the stream when the hole before it fills; ACKs carry up to
//! three SACK blocks, the one holding the latest segment first (RFC 2018).

use super::seq_gt;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Reassembly {
    /// Held segments by offset from the connection's first sequence number.
    held: BTreeMap<u32, Vec<u8>>,
    /// Offset of the latest segment held.
    recent: Option<u32>,
}

impl Reassembly {
    /// Keep `data` found at offset `at` (beyond what is in order).
    pub fn hold(&mut self, at: u32, data: &[u8]) {
        let keep = self.held.get(&at).is_none_or(|d| d.len() < data.len());
        if keep {
            self.held.insert(at, data.to_vec());
        }
        self.recent = Some(at);
    }

    /// Bytes that now continue the stream at offset `next`, in order,
    /// removed from what is held (overlaps cut).
    pub fn take_in_order(&mut self, mut next: u32) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((&at, _)) = self.held.iter().next() {
            if at > next {
                break;
            }
            let data = self.held.remove(&at).unwrap_or_default();
            let skip = (next - at) as usize;
            if skip < data.len() {
                out.extend_from_slice(&data[skip..]);
                next += (data.len() - skip) as u32;
            }
        }
        out
    }

    /// The SACK blocks (absolute sequence numbers, `base` = the offset-0
    /// sequence number) of what is held.
    pub fn blocks(&self, base: u32) -> Vec<(u32, u32)> {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for (&at, d) in &self.held {
            let end = at + d.len() as u32;
            match ranges.last_mut() {
                Some(r) if at <= r.1 => r.1 = r.1.max(end),
                _ => ranges.push((at, end)),
            }
        }
        let first = self
            .recent
            .and_then(|s| ranges.iter().position(|r| r.0 <= s && s < r.1));
        let mut out: Vec<(u32, u32)> = first.map(|i| ranges[i]).into_iter().collect();
        out.extend(
            ranges
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != first)
                .map(|(_, r)| *r),
        );
        out.truncate(3);
        out.into_iter()
            .map(|(l, r)| (base.wrapping_add(l), base.wrapping_add(r)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// Offset of `seq` from `base` when it lies ahead of it (else None).
pub fn offset(base: u32, seq: u32) -> Option<u32> {
    (seq == base || seq_gt(seq, base)).then(|| seq.wrapping_sub(base))
}
