//! Local OCI image layout store: placeholder, being written.
