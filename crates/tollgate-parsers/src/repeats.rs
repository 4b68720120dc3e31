//! Tells repeats from duplicates. A recipe without line numbers gives the same fingerprint to the
//! same rule matching the same code twice in one file; those are distinct findings. The n-th
//! distinct place (in report order) that shares a fingerprint gets `n` mixed in, so the identity
//! survives code moving (order is kept) while true duplicates (same place) keep sharing one.
//!
//! The table holds an entry per finding of the report: megabytes for a large one, visited in
//! report order on one thread, one cache miss per finding. It is an open-addressing table of
//! its own so that [`Repeats::prepare`] can touch the very slots a batch's inserts will write
//! (a hash map's lookup of an absent key does not), letting the misses of a batch overlap.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// First places by fingerprint, and the later places of the few fingerprints seen at several.
pub(crate) struct Repeats {
    first: FirstPlaces,
    more: HashMap<u64, Vec<u64>>,
}

impl Repeats {
    /// Room for `findings` without growing.
    pub(crate) fn with_capacity(findings: usize) -> Self {
        Repeats {
            first: FirstPlaces::with_capacity(findings),
            more: HashMap::new(),
        }
    }

    /// The n-th distinct place (from 0) that `fingerprint` (its first 64 bits, already a hash)
    /// is seen at.
    pub(crate) fn index(&mut self, fingerprint: u64, place: u64) -> usize {
        let first = self.first.first_or_insert(fingerprint, place);
        if first == place {
            return 0;
        }
        let more = self.more.entry(fingerprint).or_default();
        match more.iter().position(|p| *p == place) {
            Some(i) => i + 1,
            None => {
                more.push(place);
                more.len()
            }
        }
    }

    /// Reads the slots where these fingerprints are or would go: independent loads, so their
    /// cache misses overlap; the in-order [`index`](Self::index) calls that follow find them
    /// cached.
    pub(crate) fn prepare(&self, fingerprints: impl Iterator<Item = u64>) {
        let mut seen = 0u64;
        for fingerprint in fingerprints {
            seen ^= self.first.home(fingerprint).0;
        }
        std::hint::black_box(seen);
    }
}

/// Open addressing with linear probing, at most half full. Slots are placed by the fingerprint
/// mixed with a per-process random key, so crafted fingerprints cannot pile into one run.
struct FirstPlaces {
    /// (fingerprint, first place); fingerprint 0 marks an empty slot.
    slots: Vec<(u64, u64)>,
    len: usize,
    /// The first place of fingerprint 0, which cannot be stored in a slot.
    zero: Option<u64>,
    seed: u64,
}

impl FirstPlaces {
    fn with_capacity(entries: usize) -> Self {
        FirstPlaces {
            slots: vec![(0, 0); (entries * 2).next_power_of_two().max(16)],
            len: 0,
            zero: None,
            seed: std::collections::hash_map::RandomState::new().hash_one(0u64) | 1,
        }
    }

    fn slot_of(&self, fingerprint: u64) -> usize {
        let mixed = (fingerprint ^ self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // The high bits of the product are the well-mixed ones.
        (mixed >> (64 - self.slots.len().trailing_zeros())) as usize
    }

    fn home(&self, fingerprint: u64) -> (u64, u64) {
        self.slots[self.slot_of(fingerprint)]
    }

    /// The first place recorded for `fingerprint`, recording `place` if there is none.
    fn first_or_insert(&mut self, fingerprint: u64, place: u64) -> u64 {
        if fingerprint == 0 {
            return *self.zero.get_or_insert(place);
        }
        let mask = self.slots.len() - 1;
        let mut at = self.slot_of(fingerprint);
        loop {
            match self.slots[at] {
                (0, _) => break,
                (f, first) if f == fingerprint => return first,
                _ => at = (at + 1) & mask,
            }
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
            return self.first_or_insert(fingerprint, place);
        }
        self.slots[at] = (fingerprint, place);
        self.len += 1;
        place
    }

    fn grow(&mut self) {
        let doubled = vec![(0, 0); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.len = 0;
        for (fingerprint, place) in old.into_iter().filter(|(f, _)| *f != 0) {
            self.first_or_insert(fingerprint, place);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table against a `HashMap` model, through growth, with fingerprint 0 and with
    /// fingerprints that share their low and their high bits.
    #[test]
    fn first_places_are_what_a_map_says() {
        let mut table = FirstPlaces::with_capacity(1);
        let mut model: HashMap<u64, u64> = HashMap::new();
        let mut x = 0x1234_5678_9abc_def0u64;
        for i in 0..50_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let fingerprint = match i % 5 {
                0 => 0,
                1 => x & 0xff,        // few distinct, low bits only
                2 => (x & 0xf) << 60, // high bits only
                _ => x % 20_000,      // repeats
            };
            let place = x.rotate_left(7) % 3;
            let expected = *model.entry(fingerprint).or_insert(place);
            assert_eq!(table.first_or_insert(fingerprint, place), expected, "{i}");
        }
        assert_eq!(table.len + usize::from(table.zero.is_some()), model.len());
        assert!(table.len * 2 <= table.slots.len());
    }

    #[test]
    fn repeats_number_distinct_places_in_order() {
        let mut r = Repeats::with_capacity(4);
        assert_eq!(r.index(7, 100), 0);
        assert_eq!(r.index(7, 100), 0); // a true duplicate
        assert_eq!(r.index(7, 200), 1);
        assert_eq!(r.index(8, 200), 0);
        assert_eq!(r.index(7, 300), 2);
        assert_eq!(r.index(7, 200), 1);
        r.prepare([7, 9].into_iter());
        assert_eq!(r.index(0, 1), 0);
        assert_eq!(r.index(0, 2), 1);
    }
}
