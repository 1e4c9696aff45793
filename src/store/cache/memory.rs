//! The byte-bounded map behind [`super::CachingStore`]: values that never change (manifests
//! and small blobs, keyed by repository and digest) are kept until their bytes would pass a
//! budget, and then the entry used longest ago goes first (least recently used).
//!
//! Pure: no I/O, no clock, no locking (the store holds it under a mutex). Built on
//! hashlink's `LinkedHashMap`, which keeps the order of use in O(1) per access.

use std::hash::Hash;

use hashlink::LinkedHashMap;

/// What an entry costs besides its own bytes: the key, the map's node, the `Bytes` handle.
pub const ENTRY_OVERHEAD: usize = 160;

pub struct Bounded<K, V> {
    map: LinkedHashMap<K, (V, usize)>,
    used: usize,
    budget: usize,
}

impl<K: Hash + Eq, V> Bounded<K, V> {
    /// An empty map that holds at most `budget` bytes of entries.
    pub fn new(budget: usize) -> Bounded<K, V> {
        Bounded {
            map: LinkedHashMap::new(),
            used: 0,
            budget,
        }
    }

    /// The largest entry kept: a quarter of the budget, so that one large value never empties
    /// the cache of everything else.
    pub fn largest(&self) -> usize {
        self.budget / 4
    }

    /// The value under `key`, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.map.to_back(key).map(|(v, _)| &*v)
    }

    /// Whether `key` is held, without counting as a use.
    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Keeps `value` under `key` as the most recently used entry, `cost` bytes (plus
    /// [`ENTRY_OVERHEAD`]); drops the least recently used entries until the budget holds.
    /// A value costing more than [`Bounded::largest`] is not kept: returns false.
    pub fn insert(&mut self, key: K, value: V, cost: usize) -> bool {
        let cost = cost.saturating_add(ENTRY_OVERHEAD);
        if cost > self.largest() {
            return false;
        }
        if let Some((_, old)) = self.map.insert(key, (value, cost)) {
            self.used -= old;
        }
        self.used += cost;
        while self.used > self.budget {
            match self.map.pop_front() {
                Some((_, (_, c))) => self.used -= c,
                None => break,
            }
        }
        true
    }

    /// Bytes held, overhead included.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: usize = 1000;

    fn map() -> Bounded<&'static str, u32> {
        // Room for four entries of UNIT bytes (overhead included), none larger than one.
        Bounded::new(4 * (UNIT + ENTRY_OVERHEAD))
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut m = map();
        for (k, v) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            assert!(m.insert(k, v, UNIT));
        }
        assert_eq!(m.get(&"a"), Some(&1)); // a is now the newest; b the oldest
        assert!(m.insert("e", 5, UNIT));
        assert!(!m.contains(&"b"), "b was used longest ago");
        for k in ["a", "c", "d", "e"] {
            assert!(m.contains(&k), "{k} kept");
        }
        assert_eq!(m.len(), 4);
        assert_eq!(m.used(), 4 * (UNIT + ENTRY_OVERHEAD));
    }

    #[test]
    fn an_entry_larger_than_a_quarter_of_the_budget_is_not_kept() {
        let mut m = map();
        assert!(m.insert("a", 1, UNIT));
        assert!(!m.insert("big", 2, UNIT + 1));
        assert!(!m.contains(&"big"));
        assert_eq!(m.get(&"a"), Some(&1), "nothing was evicted for it");
    }

    #[test]
    fn replacing_an_entry_counts_its_bytes_once() {
        let mut m = map();
        assert!(m.insert("a", 1, UNIT));
        assert!(m.insert("a", 2, UNIT / 2));
        assert_eq!(m.len(), 1);
        assert_eq!(m.used(), UNIT / 2 + ENTRY_OVERHEAD);
        assert_eq!(m.get(&"a"), Some(&2));
    }

    #[test]
    fn many_entries_never_pass_the_budget() {
        let mut m: Bounded<u32, u32> = Bounded::new(10 * (UNIT + ENTRY_OVERHEAD));
        for i in 0..1000 {
            m.insert(i, i, (i as usize * 37) % UNIT);
            assert!(m.used() <= 10 * (UNIT + ENTRY_OVERHEAD));
        }
        assert!(m.contains(&999), "the newest entry is kept");
    }
}
