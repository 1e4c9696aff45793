//! PyPI wheels and sdists: placeholder, being written.
