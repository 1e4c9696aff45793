//! Test support: provider zips built in memory with the `zip` crate, release directories
//! written into temporary directories. Only compiled for tests.

use std::io::{Cursor, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use zip::write::SimpleFileOptions;

/// One zip entry to build.
pub struct Entry<'a> {
    name: &'a str,
    kind: Kind<'a>,
    mode: u32,
    stored: bool,
}

enum Kind<'a> {
    File(&'a [u8]),
    Dir,
    Symlink(&'a str),
}

impl<'a> Entry<'a> {
    pub fn file(name: &'a str, bytes: &'a [u8]) -> Entry<'a> {
        Entry {
            name,
            kind: Kind::File(bytes),
            mode: 0o644,
            stored: false,
        }
    }
    pub fn exe(name: &'a str, bytes: &'a [u8]) -> Entry<'a> {
        Entry {
            mode: 0o755,
            ..Entry::file(name, bytes)
        }
    }
    pub fn dir(name: &'a str) -> Entry<'a> {
        Entry {
            name,
            kind: Kind::Dir,
            mode: 0o755,
            stored: false,
        }
    }
    pub fn symlink(name: &'a str, target: &'a str) -> Entry<'a> {
        Entry {
            name,
            kind: Kind::Symlink(target),
            mode: 0o777,
            stored: false,
        }
    }
    pub fn stored(mut self) -> Entry<'a> {
        self.stored = true;
        self
    }
}

/// A zip archive holding `entries`, in order.
pub fn build_zip(entries: &[Entry]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let method = if entry.stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .unix_permissions(entry.mode);
        match entry.kind {
            Kind::File(bytes) => {
                writer.start_file(entry.name, options).unwrap();
                writer.write_all(bytes).unwrap();
            }
            Kind::Dir => writer.add_directory(entry.name, options).unwrap(),
            Kind::Symlink(target) => writer.add_symlink(entry.name, target, options).unwrap(),
        }
    }
    writer.finish().unwrap().into_inner()
}

/// The provider zip whose `h1:` real Terraform recorded (see `hash.rs`): an executable
/// `terraform-provider-foo_v1.2.3` script that echoes `says`, and a README.
pub fn fake_provider_zip(says: &str) -> Vec<u8> {
    let script = format!("#!/bin/sh\necho \"{says}\"\n");
    build_zip(&[
        Entry::exe("terraform-provider-foo_v1.2.3", script.as_bytes()),
        Entry::file("README.md", b"hello\n"),
    ])
}

/// Writes `files` (relative `/` paths) below `dir`, creating directories.
pub fn write_tree(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, bytes).unwrap();
    }
}

/// `sha256sum`'s line for `bytes` named `name`.
pub fn shasums_line(name: &str, bytes: &[u8]) -> String {
    format!("{}  {name}\n", hex::encode(Sha256::digest(bytes)))
}
