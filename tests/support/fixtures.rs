//! Package files for tests: the real PyPI files that `scripts/install-test-deps.sh fixtures`
//! downloads once (preferred for round trips: their bytes, names and metadata are what users
//! have), and wheels built here, either valid ones of a chosen size (benchmarks) or broken in
//! one stated way (bad-input tests). It does not run opp or any client; see `cli.rs` for that.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// A pure-Python wheel; [`SIX_SDIST`] is the sdist of the same release.
pub const SIX_WHEEL: &str = "six-1.16.0-py2.py3-none-any.whl";
pub const SIX_SDIST: &str = "six-1.16.0.tar.gz";
/// Three releases of one project, oldest first, for version-specifier tests.
pub const ATTRS_WHEELS: [&str; 3] = [
    "attrs-22.2.0-py3-none-any.whl",
    "attrs-23.1.0-py3-none-any.whl",
    "attrs-23.2.0-py3-none-any.whl",
];
/// attrs' only pre-release on PyPI (2015, published as an sdist only).
pub const ATTRS_PRE_SDIST: &str = "attrs-15.0.0a1.tar.gz";
/// One binary release (MarkupSafe 2.1.5) with wheels for several platforms and Pythons.
pub const MARKUPSAFE_WHEELS: [&str; 5] = [
    "MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "MarkupSafe-2.1.5-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "MarkupSafe-2.1.5-cp311-cp311-win_amd64.whl",
    "MarkupSafe-2.1.5-cp311-cp311-macosx_10_9_universal2.whl",
    "MarkupSafe-2.1.5-cp311-cp311-musllinux_1_1_x86_64.whl",
];

/// Every file in [`pypi_fixture_dir`].
pub fn pypi_fixture_names() -> Vec<&'static str> {
    let mut names = vec![SIX_WHEEL, SIX_SDIST, ATTRS_PRE_SDIST];
    names.extend(ATTRS_WHEELS);
    names.extend(MARKUPSAFE_WHEELS);
    names
}

/// The test tools directory: `$OPP_TEST_TOOLS`, else the installer's default.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("OPP_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            dirs::cache_dir()
                .unwrap_or_else(|| PathBuf::from(".cache"))
                .join("opp-test-tools")
        })
}

/// The directory holding the real PyPI files (a flat `--find-links` directory).
pub fn pypi_fixture_dir() -> PathBuf {
    let dir = tools_dir().join("fixtures").join("pypi");
    if !dir.is_dir() {
        panic!(
            "PyPI fixtures not found in {}: run scripts/install-test-deps.sh fixtures",
            dir.display()
        );
    }
    dir
}

/// The path of one real PyPI file, e.g. [`SIX_WHEEL`].
pub fn pypi_fixture(file_name: &str) -> PathBuf {
    let path = tools_dir().join("fixtures").join("pypi").join(file_name);
    if !path.is_file() {
        panic!(
            "PyPI fixture {} not found: run scripts/install-test-deps.sh fixtures",
            path.display()
        );
    }
    path
}

/// A `.whl` that holds text, not a zip archive: `notazip-1.0.0-py3-none-any.whl`.
pub fn not_a_zip_wheel(dir: &Path) -> PathBuf {
    let path = prepare(dir, "notazip-1.0.0-py3-none-any.whl");
    std::fs::write(
        &path,
        "this is not a zip archive, only text with a wheel's name\n",
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// A zip wheel, `nometadata-1.0.0-py3-none-any.whl`, with a module, `WHEEL` and `RECORD` in
/// `nometadata-1.0.0.dist-info/` but no `METADATA`.
pub fn wheel_without_metadata(dir: &Path) -> PathBuf {
    let info = "nometadata-1.0.0.dist-info";
    let members = vec![
        member(
            "nometadata/__init__.py",
            module_source("nometadata", "1.0.0"),
        ),
        member(format!("{info}/WHEEL"), wheel_file()),
    ];
    write_wheel(
        &prepare(dir, "nometadata-1.0.0-py3-none-any.whl"),
        &members,
        Some(info),
        None,
    )
}

/// A renamed wheel: the file name says `mismatch` 1.0.0, while the `METADATA` (and the
/// dist-info directory `mismatch-2.0.0.dist-info`) say version 2.0.0.
pub fn wheel_with_mismatched_name(dir: &Path) -> PathBuf {
    let info = "mismatch-2.0.0.dist-info";
    let members = vec![
        member("mismatch/__init__.py", module_source("mismatch", "2.0.0")),
        member(
            format!("{info}/METADATA"),
            metadata_file("mismatch", "2.0.0"),
        ),
        member(format!("{info}/WHEEL"), wheel_file()),
    ];
    write_wheel(
        &prepare(dir, "mismatch-1.0.0-py3-none-any.whl"),
        &members,
        Some(info),
        None,
    )
}

/// An otherwise valid wheel, `evil-1.0.0-py3-none-any.whl`, with a member `../evil.py` (listed
/// in `RECORD` too) that would land outside the install directory.
pub fn wheel_with_parent_paths(dir: &Path) -> PathBuf {
    let info = "evil-1.0.0.dist-info";
    let members = vec![
        member("evil/__init__.py", module_source("evil", "1.0.0")),
        member(
            "../evil.py",
            b"raise SystemExit('installed outside the target')\n".to_vec(),
        ),
        member(format!("{info}/METADATA"), metadata_file("evil", "1.0.0")),
        member(format!("{info}/WHEEL"), wheel_file()),
    ];
    write_wheel(
        &prepare(dir, "evil-1.0.0-py3-none-any.whl"),
        &members,
        Some(info),
        None,
    )
}

/// A valid pure-Python wheel `<name>-<version>-py3-none-any.whl` (name normalised: lower case,
/// runs of `-_.` as `_`) with a module of that name whose `__version__` is `version`, METADATA,
/// WHEEL and a RECORD with correct sha256 hashes. With `size_bytes` > 0 it also carries
/// `<module>/_padding.bin`, stored uncompressed and filled with pseudo-random bytes (the same
/// for the same name and version), so that the file is exactly `size_bytes` long (or a minimal
/// wheel of about 1 KiB when that is larger). Sizes are limited to under 4 GiB.
pub fn make_wheel(dir: &Path, name: &str, version: &str, size_bytes: u64) -> PathBuf {
    assert!(
        size_bytes < u64::from(u32::MAX) - (1 << 20),
        "make_wheel builds wheels under 4 GiB"
    );
    let module = normalize(name);
    let info = format!("{module}-{version}.dist-info");
    let path = prepare(dir, &format!("{module}-{version}-py3-none-any.whl"));
    let members = vec![
        member(
            format!("{module}/__init__.py"),
            module_source(name, version),
        ),
        member(format!("{info}/METADATA"), metadata_file(name, version)),
        member(format!("{info}/WHEEL"), wheel_file()),
    ];
    if size_bytes == 0 {
        return write_wheel(&path, &members, Some(&info), None);
    }
    let digest = Sha256::digest(format!("{name} {version}"));
    let mut pad = Padding {
        name: format!("{module}/_padding.bin"),
        len: 0,
        seed: u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7].map(|i| digest[i])),
        comment: 0,
    };
    // Every member but RECORD is the same whatever the padding's length, and RECORD is stored,
    // so the archive grows by exactly the padding plus the extra digits of its size in RECORD.
    let base = wheel_bytes(
        io::Cursor::new(Vec::new()),
        &members,
        Some(&info),
        Some(&pad),
    )
    .unwrap_or_else(|e| panic!("build a wheel in memory: {e}"))
    .into_inner()
    .len() as u64;
    // `len + digits(len)` skips one value at each power of ten: a 1-byte zip comment fills it.
    (pad.len, pad.comment) = match padding_for(size_bytes, base) {
        Some(len) => (len, 0),
        None => (
            padding_for(size_bytes - 1, base).unwrap_or(0),
            usize::from(size_bytes > base),
        ),
    };
    write_wheel(&path, &members, Some(&info), Some(&pad))
}

/// The `sha256=<urlsafe base64, no padding>` hash a wheel's RECORD gives for `data`.
pub fn record_hash(data: &[u8]) -> String {
    format!("sha256={}", base64_urlsafe_nopad(&Sha256::digest(data)))
}

/// The member names of a zip file, in archive order.
pub fn zip_member_names(path: &Path) -> Vec<String> {
    let archive = open_zip(path);
    archive
        .file_names_raw()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

/// The bytes of one member of a zip file, `None` if there is no such member.
pub fn zip_member(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut archive = open_zip(path);
    let mut file = archive.by_name(name).ok()?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .unwrap_or_else(|e| panic!("read {name} in {}: {e}", path.display()));
    Some(data)
}

fn open_zip(path: &Path) -> zip::ZipArchive<File> {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    zip::ZipArchive::new(file)
        .unwrap_or_else(|e| panic!("{} is not a zip archive: {e}", path.display()))
}

/// The padding length `l` with `base + l + (digits(l) - 1) == size`, if there is one.
fn padding_for(size: u64, base: u64) -> Option<u64> {
    let digits = |n: u64| n.to_string().len() as u64;
    (1..=20)
        .filter_map(|d| (size + 1).checked_sub(base + d))
        .find(|&l| base + l + digits(l) == size + 1)
}

/// The distribution name as wheel file names and module names spell it.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn module_source(name: &str, version: &str) -> Vec<u8> {
    format!("\"\"\"{name} {version}: a test package built by opp's tests.\"\"\"\n__version__ = \"{version}\"\n")
        .into_bytes()
}

fn metadata_file(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: A test package built by opp's tests\nRequires-Python: >=3.7\n")
        .into_bytes()
}

fn wheel_file() -> Vec<u8> {
    b"Wheel-Version: 1.0\nGenerator: opp-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec()
}

fn member(name: impl Into<String>, data: Vec<u8>) -> (String, Vec<u8>) {
    (name.into(), data)
}

/// Creates `dir` if needed and returns `dir/file_name`.
fn prepare(dir: &Path, file_name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir.join(file_name)
}

/// A member of pseudo-random bytes that brings a wheel to a wanted size.
struct Padding {
    name: String,
    len: u64,
    /// Seed of the pseudo-random bytes.
    seed: u64,
    /// Length of the zip comment (spaces) that makes up the last byte, if needed.
    comment: usize,
}

fn write_wheel(
    path: &Path,
    members: &[(String, Vec<u8>)],
    record_dir: Option<&str>,
    pad: Option<&Padding>,
) -> PathBuf {
    let file = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    wheel_bytes(file, members, record_dir, pad)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.to_path_buf()
}

/// Writes the members (deflated), then the padding (stored), then `<record_dir>/RECORD`
/// (stored) listing them all, when `record_dir` is given.
fn wheel_bytes<W: Write + Seek>(
    out: W,
    members: &[(String, Vec<u8>)],
    record_dir: Option<&str>,
    pad: Option<&Padding>,
) -> zip::result::ZipResult<W> {
    let deflated = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let stored = deflated.compression_method(CompressionMethod::Stored);
    let mut zip = ZipWriter::new(out);
    let mut record = String::new();
    for (name, data) in members {
        zip.start_file(name.as_str(), deflated)?;
        zip.write_all(data)?;
        record.push_str(&format!("{name},{},{}\n", record_hash(data), data.len()));
    }
    if let Some(pad) = pad {
        zip.start_file(pad.name.as_str(), stored)?;
        let hash = write_random(&mut zip, pad.len, pad.seed)?;
        record.push_str(&format!(
            "{},sha256={},{}\n",
            pad.name,
            base64_urlsafe_nopad(&hash),
            pad.len
        ));
        zip.set_comment(" ".repeat(pad.comment))?;
    }
    if let Some(dir) = record_dir {
        record.push_str(&format!("{dir}/RECORD,,\n"));
        zip.start_file(format!("{dir}/RECORD"), stored)?;
        zip.write_all(record.as_bytes())?;
    }
    zip.finish()
}

/// Writes `len` pseudo-random (incompressible) bytes from a splitmix64 stream; returns their
/// sha256.
fn write_random(out: &mut impl Write, len: u64, seed: u64) -> io::Result<Vec<u8>> {
    let mut state = seed;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n])?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher.finalize().to_vec())
}

/// RFC 4648 §5 base64 ("URL and filename safe") without `=` padding, as wheel RECORDs use.
fn base64_urlsafe_nopad(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}
