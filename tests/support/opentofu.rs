//! What OpenTofu (>= 1.10) demands of providers and modules stored in an OCI registry, as
//! checks on the JSON opp pushed, plus plain-HTTP access to a real registry to read that JSON
//! back (and to push hand-made layouts). No OpenTofu binary is available here (see
//! /work/shared/docs/test-tools.md), so these rules stand in for `tofu init` with an
//! `oci_mirror` block or an `oci://` module source. Each rule names the OpenTofu function
//! that enforces it (opentofu/opentofu: `internal/getproviders/oci_registry_mirror_source.go`,
//! `internal/getproviders/package_location_oci_blob_archive.go`,
//! `internal/getmodules/oci_getter.go`). opp's own additions (title annotations, the
//! checksums entry), which OpenTofu ignores, are not checked here.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// `ociIndexManifestArtifactType` in oci_registry_mirror_source.go.
pub const PROVIDER_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider";
/// `ociPackageManifestArtifactType` in oci_registry_mirror_source.go.
pub const PROVIDER_TARGET_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider-target";
/// `ociIndexManifestArtifactType` in getmodules/oci_getter.go (sic: it names an image manifest).
pub const MODULE_ARTIFACT_TYPE: &str = "application/vnd.opentofu.modulepkg";
/// `ociPackageMediaType` (package_location_oci_blob_archive.go) and the only entry of
/// `ociBlobMediaTypePreference` (oci_getter.go).
pub const PACKAGE_MEDIA_TYPE: &str = "archive/zip";
/// `ociImageManifestSizeLimitMiB` (both files). OpenTofu's test is `size/1024/1024 > 4`, so
/// it lets a little more through; formats.md promises less than 4 MiB, which is checked.
pub const MANIFEST_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// A provider version tag as OpenTofu's `oci_mirror` reads it:
/// - a valid OCI tag, `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (distribution spec; OpenTofu hands
///   tags to ORAS-Go, which rejects others);
/// - with every `_` read as `+`, a version: `AvailableVersions` runs `versions.ParseVersion`
///   (apparentlymart/go-versions) and skips tags that fail, e.g. `v1.2.3` ("a "v" prefix
///   should not be used");
/// - and exactly the tag OpenTofu asks for: `fetchOCIDescriptorForVersion` resolves
///   `strings.ReplaceAll(version.String(), "+", "_")`, so `1.2` (listed as 1.2.0) or `01.2.3`
///   would be listed but never found. Hence: canonical semver, `+` written `_`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    check_oci_tag(tag)?;
    let version_text = tag.replace('_', "+");
    let version = semver::Version::parse(&version_text).map_err(|e| {
        format!("tag {tag:?} is not a semver version with `+` written `_` (OpenTofu skips it): {e}")
    })?;
    let canonical = version.to_string().replace('+', "_");
    if canonical != tag {
        return Err(format!(
            "tag {tag:?} is listed by OpenTofu as {version} but then resolved as {canonical:?}"
        ));
    }
    Ok(())
}

/// An OCI tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`); for modules, OpenTofu asks for nothing
/// more (oci_getter.go `resolveManifestDescriptor`: `ValidateReferenceAsTag`; default
/// `latest`).
pub fn check_oci_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || tag.len() > 128 {
        return Err(format!(
            "tag {tag:?} is not an OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})"
        ));
    }
    Ok(())
}

/// The image index a provider version tag points at, with the platform manifests it lists
/// (`manifests`: digest -> manifest JSON). Every broken rule is reported, joined by `; `.
pub fn check_provider_index(
    index: &Value,
    manifests: &HashMap<String, Value>,
) -> Result<(), String> {
    let mut errors = Vec::new();
    // fetchOCIDescriptorForVersion: the tag must resolve to an image index (the registry's
    // Content-Type, i.e. the body's mediaType); fetchOCIIndexManifest: the body's mediaType
    // and artifactType must equal the descriptor's, and the artifactType is required.
    expect_field(index, "mediaType", INDEX_MEDIA_TYPE, "index", &mut errors);
    expect_field(
        index,
        "artifactType",
        PROVIDER_ARTIFACT_TYPE,
        "index",
        &mut errors,
    );
    let entries = index["manifests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut platforms: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        // selectOCIImageManifest: entries of any other artifactType are ignored.
        if entry["artifactType"] != PROVIDER_TARGET_ARTIFACT_TYPE {
            continue;
        }
        let what = format!("index entry {i}");
        // selectOCIImageManifest: "provider image manifest has unsupported media type".
        expect_field(entry, "mediaType", MANIFEST_MEDIA_TYPE, &what, &mut errors);
        // fetchOCIManifestBlob: size limit, and the content must match the (sha256) digest.
        check_descriptor(entry, &what, Some(MANIFEST_SIZE_LIMIT), &mut errors);
        let Some(platform) = check_platform(entry, &what, &mut errors) else {
            continue;
        };
        *platforms.entry(platform.clone()).or_default() += 1;
        let digest = entry["digest"].as_str().unwrap_or_default();
        match manifests.get(digest) {
            Some(manifest) => check_platform_manifest(manifest, &platform, &what, &mut errors),
            None => errors.push(format!("{what}: manifest {digest} was not fetched")),
        }
    }
    if platforms.is_empty() {
        // selectOCIImageManifest: no usable entry is "unsupported artifact type" (or, with
        // os.version on every entry, "platform not supported").
        errors.push(format!(
            "index lists no usable manifest of artifactType {PROVIDER_TARGET_ARTIFACT_TYPE}"
        ));
    }
    for ((os, arch), n) in platforms {
        if n > 1 {
            // selectOCIImageManifest: "ambiguous manifest has multiple descriptors for platform".
            errors.push(format!(
                "index lists {n} manifests for platform {os}_{arch}"
            ));
        }
    }
    verdict(errors)
}

/// The image manifest an `oci://` module source points at.
pub fn check_module_manifest(manifest: &Value) -> Result<(), String> {
    let mut errors = Vec::new();
    // resolveManifestDescriptor: "selected object is not an OCI image manifest" (an index is
    // refused); fetchOCIImageManifest: body mediaType and artifactType must be these.
    expect_field(
        manifest,
        "mediaType",
        MANIFEST_MEDIA_TYPE,
        "module manifest",
        &mut errors,
    );
    expect_field(
        manifest,
        "artifactType",
        MODULE_ARTIFACT_TYPE,
        "module manifest",
        &mut errors,
    );
    // selectOCILayerBlob (getmodules): one archive/zip layer; a second one is "multiple
    // layers with media type", none is "no layers of types supported"; others are ignored.
    // fetchOCIBlobToTemporaryFile verifies the blob against the descriptor's digest and size.
    check_zip_layer(manifest, "module manifest", None, &mut errors);
    verdict(errors)
}

/// A manifest or index exactly as the registry served it.
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The `Content-Type` the registry answered with.
    pub content_type: String,
    /// `sha256:` of the bytes.
    pub digest: String,
}

impl Fetched {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!("manifest {} is not JSON: {e}", self.digest);
        })
    }
}

/// GET `http://<registry_host>/v2/<repo>/manifests/<reference>` (a tag or a digest) accepting
/// OCI indexes and manifests. Panics on any answer but 2xx, and when a digest reference does
/// not match the bytes.
pub fn fetch(registry_host: &str, repo: &str, reference: &str) -> Fetched {
    let url = format!("http://{registry_host}/v2/{repo}/manifests/{reference}");
    let accept = format!("{INDEX_MEDIA_TYPE}, {MANIFEST_MEDIA_TYPE}");
    let answer = http(
        reqwest::Method::GET,
        &url,
        (reqwest::header::ACCEPT, &accept),
        Vec::new(),
    );
    let fetched = Fetched {
        digest: sha256_digest(&answer.body),
        bytes: answer.body,
        content_type: answer.content_type,
    };
    if reference.starts_with("sha256:") && reference != fetched.digest {
        panic!("GET {url}: the body's digest is {}", fetched.digest);
    }
    fetched
}

/// Uploads a blob to the registry (POST, then PUT with the digest); returns its digest. For
/// tests that push hand-made (good or broken) layouts.
pub fn put_blob(registry_host: &str, repo: &str, data: &[u8]) -> String {
    let digest = sha256_digest(data);
    let url = format!("http://{registry_host}/v2/{repo}/blobs/uploads/");
    let octets = || (reqwest::header::CONTENT_TYPE, "application/octet-stream");
    let location = http(reqwest::Method::POST, &url, octets(), Vec::new())
        .location
        .unwrap_or_else(|| panic!("POST {url}: no Location"));
    let base = if location.starts_with("http") {
        location
    } else {
        format!("http://{registry_host}{location}")
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}digest={digest}");
    http(reqwest::Method::PUT, &url, octets(), data.to_vec());
    digest
}

/// Puts a manifest or index (serialized compactly, sent as its own `mediaType`) under
/// `reference` (a tag or its digest); returns its digest and size.
pub fn put_manifest(
    registry_host: &str,
    repo: &str,
    reference: &str,
    value: &Value,
) -> (String, usize) {
    let body = serde_json::to_vec(value).expect("serialize a manifest");
    let media_type = value["mediaType"].as_str().unwrap_or(MANIFEST_MEDIA_TYPE);
    let url = format!("http://{registry_host}/v2/{repo}/manifests/{reference}");
    let (digest, size) = (sha256_digest(&body), body.len());
    http(
        reqwest::Method::PUT,
        &url,
        (reqwest::header::CONTENT_TYPE, media_type),
        body,
    );
    (digest, size)
}

/// `sha256:` + the lowercase hex sha256 of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

struct Answer {
    body: Vec<u8>,
    content_type: String,
    location: Option<String>,
}

/// One plain-HTTP request with one header; panics (showing the body) unless it answers 2xx.
fn http(
    method: reqwest::Method,
    url: &str,
    (name, value): (reqwest::header::HeaderName, &str),
    body: Vec<u8>,
) -> Answer {
    opp::store::registry::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for a registry request");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");
        let response = client
            .request(method.clone(), url)
            .header(name, value)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status();
        let header = |h: reqwest::header::HeaderName| {
            let value = response.headers().get(h)?.to_str().ok()?;
            Some(value.to_owned())
        };
        let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let location = header(reqwest::header::LOCATION);
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"))
            .to_vec();
        if !status.is_success() {
            panic!(
                "{method} {url}: {status}\n{}",
                String::from_utf8_lossy(&body)
            );
        }
        Answer {
            body,
            content_type,
            location,
        }
    })
}

/// [`fetch`], parsed as JSON.
pub fn fetch_json(registry_host: &str, repo: &str, reference: &str) -> Value {
    fetch(registry_host, repo, reference).json()
}

/// Checks the provider version `tag` in `repo` as OpenTofu's `oci_mirror` would read it: the
/// tag, the index and every platform manifest ([`check_tag`], [`check_provider_index`]), and
/// for each manifest the served bytes ([`check_served`]).
pub fn check_provider_in_registry(
    registry_host: &str,
    repo: &str,
    tag: &str,
) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Err(e) = check_tag(tag) {
        errors.push(e);
    }
    let index = fetch(registry_host, repo, tag);
    collect(check_served(&index, "index"), &mut errors);
    let index_json = index.json();
    let mut manifests = HashMap::new();
    for entry in index_json["manifests"].as_array().into_iter().flatten() {
        if entry["artifactType"] != PROVIDER_TARGET_ARTIFACT_TYPE {
            continue;
        }
        let Some(digest) = entry["digest"].as_str() else {
            continue;
        };
        let manifest = fetch(registry_host, repo, digest);
        collect(check_served(&manifest, digest), &mut errors);
        if entry["size"].as_u64() != Some(manifest.bytes.len() as u64) {
            errors.push(format!(
                "index entry {digest}: size {} but the manifest has {} bytes",
                entry["size"],
                manifest.bytes.len()
            ));
        }
        manifests.insert(digest.to_owned(), manifest.json());
    }
    collect(check_provider_index(&index_json, &manifests), &mut errors);
    verdict(errors)
}

/// Checks the module at `repo:tag` as an OpenTofu `oci://` source would read it.
pub fn check_module_in_registry(registry_host: &str, repo: &str, tag: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Err(e) = check_oci_tag(tag) {
        errors.push(e);
    }
    let manifest = fetch(registry_host, repo, tag);
    collect(check_served(&manifest, "module manifest"), &mut errors);
    collect(check_module_manifest(&manifest.json()), &mut errors);
    verdict(errors)
}

/// What OpenTofu checks on the bytes of any manifest or index it fetches
/// (`fetchOCIManifestBlob`, `fetchOCIIndexManifest`, `fetchOCIImageManifest`): under the size
/// limit, and a body `mediaType` equal to the media type the registry announced.
pub fn check_served(fetched: &Fetched, what: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    if fetched.bytes.len() >= MANIFEST_SIZE_LIMIT {
        errors.push(format!(
            "{what}: {} bytes, at or over the 4 MiB limit",
            fetched.bytes.len()
        ));
    }
    let body_type = serde_json::from_slice::<Value>(&fetched.bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if fetched.content_type != body_type {
        errors.push(format!(
            "{what}: served as {:?} but its mediaType is {body_type:?}",
            fetched.content_type
        ));
    }
    verdict(errors)
}

/// The manifest one index entry points at.
fn check_platform_manifest(
    manifest: &Value,
    (os, arch): &(String, String),
    what: &str,
    errors: &mut Vec<String>,
) {
    let what = format!("{what} manifest");
    // fetchOCIImageManifest: body mediaType and artifactType equal the index entry's.
    expect_field(manifest, "mediaType", MANIFEST_MEDIA_TYPE, &what, errors);
    expect_field(
        manifest,
        "artifactType",
        PROVIDER_TARGET_ARTIFACT_TYPE,
        &what,
        errors,
    );
    // selectOCILayerBlob (getproviders): exactly one archive/zip layer, others ignored;
    // hashFromOCIDigest: its digest must be sha256 (it becomes the `zh:` hash);
    // checkOCIBlobDescriptor: a platform on the layer, if any, must be the entry's.
    check_zip_layer(manifest, &what, Some((os.as_str(), arch.as_str())), errors);
}

fn check_zip_layer(
    manifest: &Value,
    what: &str,
    platform: Option<(&str, &str)>,
    errors: &mut Vec<String>,
) {
    let layers: Vec<&Value> = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["mediaType"] == PACKAGE_MEDIA_TYPE)
        .collect();
    match layers.as_slice() {
        [layer] => {
            check_descriptor(layer, &format!("{what} layer"), None, errors);
            if let (Some((os, arch)), Some(p)) = (platform, layer.get("platform"))
                && (p["os"] != os || p["architecture"] != arch)
            {
                errors.push(format!("{what} layer: platform {p} is not {os}/{arch}"));
            }
        }
        [] => errors.push(format!(
            "{what}: no layer of mediaType {PACKAGE_MEDIA_TYPE}"
        )),
        many => errors.push(format!(
            "{what}: {} layers of mediaType {PACKAGE_MEDIA_TYPE}, OpenTofu needs exactly one",
            many.len()
        )),
    }
}

/// selectOCIImageManifest: an entry needs `platform` with `os` and `architecture`; one with
/// `os.version` never matches (ignored). The doc comment of `ociPackageManifestArtifactType`
/// reserves the other platform fields for future finer selection, so formats.md allows only
/// `os` and `architecture`.
fn check_platform(entry: &Value, what: &str, errors: &mut Vec<String>) -> Option<(String, String)> {
    let Some(platform) = entry["platform"].as_object() else {
        errors.push(format!("{what}: no platform"));
        return None;
    };
    let os = platform
        .get("os")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let arch = platform
        .get("architecture")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if os.is_empty() || arch.is_empty() {
        errors.push(format!("{what}: platform needs os and architecture"));
        return None;
    }
    let extra: Vec<&String> = platform
        .keys()
        .filter(|k| *k != "os" && *k != "architecture")
        .collect();
    if !extra.is_empty() {
        errors.push(format!(
            "{what}: platform {os}/{arch} has {extra:?} (OpenTofu ignores entries with os.version)"
        ));
    }
    Some((os.to_owned(), arch.to_owned()))
}

/// A descriptor: `digest` `sha256:` + 64 lowercase hex (go-digest `Validate`, and
/// `hashFromOCIDigest` for layers) and a positive `size`, at most `limit`.
fn check_descriptor(desc: &Value, what: &str, limit: Option<usize>, errors: &mut Vec<String>) {
    let digest = desc["digest"].as_str().unwrap_or_default();
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        errors.push(format!(
            "{what}: digest {digest:?} is not sha256:<64 lowercase hex>"
        ));
    }
    match desc["size"].as_u64() {
        Some(size) if size > 0 && limit.is_none_or(|l| size < l as u64) => {}
        _ => errors.push(format!("{what}: bad size {}", desc["size"])),
    }
}

fn expect_field(value: &Value, field: &str, want: &str, what: &str, errors: &mut Vec<String>) {
    if value[field] != want {
        errors.push(format!("{what}: {field} is {}, not {want:?}", value[field]));
    }
}

fn collect(result: Result<(), String>, errors: &mut Vec<String>) {
    if let Err(e) = result {
        errors.push(e);
    }
}

fn verdict(errors: Vec<String>) -> Result<(), String> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
