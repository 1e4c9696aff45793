//! Copy: placeholder.
