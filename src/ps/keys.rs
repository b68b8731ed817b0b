//! How a vector's keys are split across shards: contiguous, as even as possible.

use std::ops::Range;

/// The keys of a `len`-long vector owned by `shard` of `shards` (the first `len % shards`
/// shards own one key more), so every process derives the same split from the same counts.
pub fn key_range(len: usize, shards: usize, shard: usize) -> Range<usize> {
    let shards = shards.max(1);
    let base = len / shards;
    let extra = len % shards;
    let start = shard * base + shard.min(extra);
    let size = base + usize::from(shard < extra);
    start.min(len)..(start + size).min(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_tile_the_vector() {
        for len in [0, 1, 7, 10, 1000] {
            for shards in 1..6 {
                let mut next = 0;
                for s in 0..shards {
                    let r = key_range(len, shards, s);
                    assert_eq!(r.start, next);
                    assert!(r.len() <= len / shards + 1);
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
    }
}
