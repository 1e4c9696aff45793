//! Remote registry store: placeholder, being written.
