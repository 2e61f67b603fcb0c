//! Internet checksum (RFC 1071): the one's complement sum of the data read
//! as big-endian 16-bit words, complemented.
//!
//! Speed: the bulk of the data is summed as 32-bit words into a 64-bit
//! accumulator. That is the same sum modulo 0xFFFF, because 2^16 ≡ 1
//! (mod 0xFFFF): a 32-bit word `hi·2^16 + lo` counts as `hi + lo`.

/// Words summed into a plain `u64` before folding into the running sum:
/// 2^16 words of at most 2^32 - 1 each stay below 2^48, so the inner loop
/// needs no carry handling (and the compiler can vectorize it).
const BLOCK_WORDS: usize = 1 << 16;

/// A running Internet checksum that can be fed several slices in order.
///
/// A slice of odd length leaves its last byte pending: it is the high byte
/// of a word whose low byte is the first byte of the next slice, exactly as
/// if the slices were one contiguous buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Sum modulo 2^64 - 1 (end-around carry). 0xFFFF divides 2^64 - 1, so
    /// this folds to the right 16-bit one's complement sum. It stays zero
    /// only while every word added is zero, which keeps the one's
    /// complement distinction between 0x0000 and 0xFFFF.
    acc: u64,
    /// High byte of a word that the next slice completes.
    pending: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            acc: 0,
            pending: None,
        }
    }

    /// Adds `w` with end-around carry.
    #[inline]
    fn add_wide(&mut self, w: u64) {
        let (sum, carry) = self.acc.overflowing_add(w);
        // After an overflow `sum` is at most 2^64 - 2: adding 1 cannot wrap.
        self.acc = sum.wrapping_add(u64::from(carry));
    }

    /// Adds the bytes of `data`, continuing where the previous slice ended.
    #[inline]
    pub fn add(&mut self, data: &[u8]) {
        let mut data = data;
        if let Some(hi) = self.pending {
            let Some((&lo, rest)) = data.split_first() else {
                return;
            };
            self.add_wide(u64::from(u16::from_be_bytes([hi, lo])));
            self.pending = None;
            data = rest;
        }
        let (words, tail) = data.as_chunks::<4>();
        for block in words.chunks(BLOCK_WORDS) {
            // Native byte order skips a byte swap per word. On a little-endian
            // machine every 16-bit lane then holds a byte-swapped word, and
            // the one's complement sum of swapped words is the swapped sum
            // (RFC 1071 §2(B)), so one swap of the folded block fixes it.
            let sum = block.iter().fold(0u64, |acc, w| {
                acc.wrapping_add(u64::from(u32::from_ne_bytes(*w)))
            });
            let folded = fold(sum);
            self.add_wide(u64::from(if cfg!(target_endian = "little") {
                folded.swap_bytes()
            } else {
                folded
            }));
        }
        let (pairs, odd) = tail.as_chunks::<2>();
        for pair in pairs {
            self.add_wide(u64::from(u16::from_be_bytes(*pair)));
        }
        if let Some(&b) = odd.first() {
            self.pending = Some(b);
        }
    }

    /// Adds a 16-bit field in network order.
    #[inline]
    pub fn add_u16(&mut self, v: u16) {
        self.add(&v.to_be_bytes());
    }

    /// Adds a 32-bit field in network order.
    #[inline]
    pub fn add_u32(&mut self, v: u32) {
        self.add(&v.to_be_bytes());
    }

    /// The folded one's complement sum, not complemented. A pending odd
    /// byte counts as padded with a zero byte (RFC 1071).
    #[must_use]
    pub fn sum(&self) -> u16 {
        let mut acc = *self;
        if let Some(hi) = acc.pending {
            acc.add_wide(u64::from(u16::from_be_bytes([hi, 0])));
        }
        fold(acc.acc)
    }

    /// The checksum to store in a header: the complemented sum. Over data
    /// that already holds a correct checksum this is zero.
    #[must_use]
    pub fn finish(&self) -> u16 {
        !self.sum()
    }
}

/// Folds a wide sum to 16 bits with end-around carries. Each round keeps
/// the value mod 0xFFFF and never turns a non-zero value into zero; four
/// rounds bring any u64 below 2^16.
#[inline]
fn fold(mut s: u64) -> u16 {
    while s > 0xFFFF {
        s = (s >> 16).wrapping_add(s & 0xFFFF);
    }
    s as u16
}

/// The Internet checksum of one contiguous buffer.
#[must_use]
pub fn checksum(data: &[u8]) -> u16 {
    let mut c = Checksum::new();
    c.add(data);
    c.finish()
}
