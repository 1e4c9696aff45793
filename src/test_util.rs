//! Helpers shared by the unit tests.

use std::collections::BTreeMap;

/// A string map from literal pairs, as annotations and checksum lists are kept.
pub fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
