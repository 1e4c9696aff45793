//! Finding the `.nuspec` in a package: the one `*.nuspec` member at the root of the zip.
//! Every member name is checked first; an absolute path or a `..` component refuses the whole
//! package. Works on readers, so it is tested with archives built in memory.

use std::io::{Read, Seek};
use std::path::Path;

use super::NugetError;

/// The nuspec member: its name in the archive and its exact bytes.
#[derive(Debug)]
pub(super) struct Member {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The root `*.nuspec` of a package, exactly as stored.
pub(super) fn nuspec<R: Read + Seek>(path: &Path, reader: R) -> Result<Member, NugetError> {
    let _ = (path, reader);
    todo!()
}
