//! What to mirror of one provider request from a network mirror (`network_mirror`): the
//! newest version its `index.json` lists that meets the constraint, that version's archives
//! (every platform, unless narrowed; with `--lock`, the platforms whose mirror hashes the lock
//! file names), and the hashes each zip must match once downloaded ([`MirrorChecks`], checked
//! by the sink: a mirror states `h1:` hashes, which only the zip's contents give). A mirror
//! has no `SHA256SUMS` or signature: the version is stored marked unsigned, with an
//! `SHA256SUMS` opp writes from the checked zips. [`select`] is pure; [`plan`] asks the
//! mirror.

use std::collections::BTreeMap;

use super::TerraformMirrorError as Error;
use super::network_mirror::{Archive, NetworkMirror};
use super::plan::{Options, Planned, Request, VersionMeta, choose};
use super::registry::VersionInfo;
use crate::ecosystem::terraform_provider::{
    shasums_file_name, shasums_sig_file_name, zip_file_name,
};
use crate::mirror::PlanFile;
use crate::packages::provider::{Provenance, SIGNATURE, SOURCE, SOURCE_KIND};

/// What `io.opp.terraform.signature` says of a version from a network mirror.
pub const UNSIGNED: &str = "unsigned";
/// What `io.opp.terraform.source-kind` says of one.
pub const NETWORK_MIRROR: &str = "network-mirror";

/// The hashes the zips of a version from a network mirror must match (each as `h1:...` or
/// `zh:<hex>`): the mirror's for that zip (one of them), and the lock file's (one of them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorChecks {
    /// zip file name -> the mirror's hashes of it.
    pub mirror: BTreeMap<String, Vec<String>>,
    /// The lock file's hashes of the version (empty without `--lock`).
    pub lock: Vec<String>,
}

impl MirrorChecks {
    /// Why the zip `file` with sha256 `sha256` (hex) and contents hash `h1` fails the checks,
    /// if it does.
    pub fn check(&self, file: &str, sha256: &str, h1: &str) -> Result<(), String> {
        let zh = format!("zh:{sha256}");
        let has = |hashes: &[String]| hashes.iter().any(|h| *h == zh || h == h1);
        let mirror = self.mirror.get(file).map(Vec::as_slice).unwrap_or_default();
        if !mirror.is_empty() && !has(mirror) {
            return Err(format!(
                "the network mirror's hash of {file} is {}, but the downloaded zip's are {zh} \
                 and {h1}; nothing stored",
                mirror.join(", ")
            ));
        }
        if !self.lock.is_empty() && !has(&self.lock) {
            return Err(format!(
                "neither {zh} nor {h1} of {file} is among the lock file's hashes; nothing stored"
            ));
        }
        Ok(())
    }
}

/// The mirror's hashes of an archive, as `h1:...` and `zh:<hex>`.
fn hashes_of(a: &Archive) -> Vec<String> {
    let mut all = a.h1.clone();
    all.extend(a.zh.iter().map(|z| format!("zh:{z}")));
    all
}

/// The archives to mirror: those of the platforms `chosen` (from [`choose`]) and, with a lock
/// file's hashes, those whose mirror hashes the lock names. Every one must have a hash to
/// check it against (the mirror's or the lock's).
pub fn select<'a>(
    request: &Request,
    version: &str,
    archives: &'a [Archive],
    chosen: &[(String, String)],
) -> Result<Vec<&'a Archive>, Error> {
    let lock: Vec<String> = match &request.locked {
        Some((zh, h1)) => zh
            .iter()
            .map(|z| format!("zh:{z}"))
            .chain(h1.clone())
            .collect(),
        None => Vec::new(),
    };
    let selected: Vec<&Archive> = archives
        .iter()
        .filter(|a| chosen.contains(&(a.os.clone(), a.arch.clone())))
        .filter(|a| lock.is_empty() || hashes_of(a).iter().any(|h| lock.contains(h)))
        .collect();
    if selected.is_empty() {
        return Err(Error::NoPlatform {
            name: request.name.clone(),
            version: version.to_owned(),
            asked: "the platforms whose zips the lock file's hashes name".to_owned(),
            available: chosen
                .iter()
                .map(|(o, a)| format!("{o}_{a}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if lock.is_empty()
        && let Some(bare) = selected.iter().find(|a| !a.has_hashes())
    {
        return Err(Error::MirrorNoHashes {
            what: format!("{} {version}", request.name),
            platform: format!("{}_{}", bare.os, bare.arch),
        });
    }
    Ok(selected)
}

/// Plans `request` from the network mirror: its versions, the chosen version's archives, the
/// zips to fetch (with the sha256 the mirror states, when it states exactly one).
pub async fn plan(
    mirror: &NetworkMirror,
    request: &Request,
    options: &Options,
) -> Result<Planned, Error> {
    let a = &request.address;
    let (_, listed) = mirror.versions(a).await?;
    let bare: Vec<VersionInfo> = listed
        .iter()
        .map(|v| VersionInfo {
            version: v.clone(),
            protocols: Vec::new(),
            platforms: Vec::new(),
        })
        .collect();
    let version = choose(request, &bare, &[])?.version.version;
    let archives = mirror.archives(a, &version).await?;
    let info = VersionInfo {
        version: version.clone(),
        protocols: Vec::new(),
        platforms: archives
            .iter()
            .map(|x| (x.os.clone(), x.arch.clone()))
            .collect(),
    };
    let choice = choose(request, &[info], &options.platforms)?;
    let selected = select(request, &version, &archives, &choice.platforms)?;
    let mut files = Vec::new();
    let mut zips = BTreeMap::new();
    let mut zip_sha256 = BTreeMap::new();
    let mut checks = MirrorChecks {
        lock: match &request.locked {
            Some((zh, h1)) => zh
                .iter()
                .map(|z| format!("zh:{z}"))
                .chain(h1.clone())
                .collect(),
            None => Vec::new(),
        },
        ..MirrorChecks::default()
    };
    for archive in selected {
        let name = zip_file_name(&a.provider_type, &version, &archive.os, &archive.arch);
        zips.insert(name.clone(), (archive.os.clone(), archive.arch.clone()));
        checks.mirror.insert(name.clone(), hashes_of(archive));
        if let [one] = archive.zh.as_slice() {
            zip_sha256.insert(name.clone(), one.clone());
        }
        files.push(PlanFile {
            package: request.name.clone(),
            version: version.clone(),
            file_name: name,
            url: archive.url.clone(),
            sha256: match archive.zh.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            allowed: Vec::new(),
            size: None,
            local: None,
        });
    }
    let mut provenance = Provenance::default();
    for (key, value) in [
        (SOURCE, mirror.base.to_string()),
        (SIGNATURE, UNSIGNED.to_owned()),
        (SOURCE_KIND, NETWORK_MIRROR.to_owned()),
    ] {
        provenance.annotations.insert(key.to_owned(), value);
    }
    Ok(Planned {
        files,
        version: VersionMeta {
            name: request.name.clone(),
            provider_type: a.provider_type.clone(),
            version: version.clone(),
            protocols: Vec::new(),
            zips,
            zip_sha256,
            sums_name: shasums_file_name(&a.provider_type, &version),
            sig_name: shasums_sig_file_name(&a.provider_type, &version),
            provenance,
            signer: None,
            unverified: None,
            locked_h1: Vec::new(),
            mirror: Some(checks),
        },
        missing: choice.missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::terraform::plan::parse_request;
    use reqwest::Url;

    fn archive(os: &str, arch: &str, hashes: &[&str]) -> Archive {
        Archive {
            os: os.into(),
            arch: arch.into(),
            url: Url::parse("https://m.example/z.zip").unwrap(),
            h1: hashes
                .iter()
                .filter(|h| h.starts_with("h1:"))
                .map(|h| (*h).to_owned())
                .collect(),
            zh: hashes
                .iter()
                .filter_map(|h| h.strip_prefix("zh:"))
                .map(str::to_owned)
                .collect(),
        }
    }

    fn p(o: &str, a: &str) -> (String, String) {
        (o.into(), a.into())
    }

    #[test]
    fn a_lock_file_selects_the_archives_whose_hashes_it_names() {
        let archives = [
            archive("darwin", "arm64", &["h1:d"]),
            archive("linux", "amd64", &["h1:l", "zh:0a"]),
            archive("windows", "amd64", &["h1:w"]),
        ];
        let all = [
            p("darwin", "arm64"),
            p("linux", "amd64"),
            p("windows", "amd64"),
        ];
        let mut r = parse_request("acme/hello@1.2.3").unwrap();
        assert_eq!(select(&r, "1.2.3", &archives, &all).unwrap().len(), 3);
        r.locked = Some((vec!["0a".into()], vec!["h1:w".into()]));
        let chosen: Vec<_> = select(&r, "1.2.3", &archives, &all)
            .unwrap()
            .iter()
            .map(|a| a.os.clone())
            .collect();
        assert_eq!(chosen, ["linux", "windows"]);
        r.locked = Some((vec![], vec!["h1:other".into()]));
        assert_eq!(
            select(&r, "1.2.3", &archives, &all)
                .unwrap_err()
                .to_string(),
            "acme/hello 1.2.3 has none of the platforms asked for (the platforms whose zips the \
             lock file's hashes name); it has: darwin_arm64, linux_amd64, windows_amd64"
        );
    }

    #[test]
    fn an_archive_without_hashes_is_refused_without_a_lock_file() {
        let archives = [archive("linux", "amd64", &[])];
        let r = parse_request("acme/hello").unwrap();
        assert_eq!(
            select(&r, "1.2.3", &archives, &[p("linux", "amd64")])
                .unwrap_err()
                .to_string(),
            "acme/hello 1.2.3: the network mirror gives no h1: or zh: hash for linux_amd64, so \
             opp cannot check its zip; nothing stored"
        );
    }

    #[test]
    fn a_zip_must_match_one_mirror_hash_and_one_lock_hash() {
        let checks = MirrorChecks {
            mirror: BTreeMap::from([("z.zip".to_owned(), vec!["h1:good".to_owned()])]),
            lock: vec!["zh:aa".to_owned()],
        };
        assert_eq!(checks.check("z.zip", "aa", "h1:good"), Ok(()));
        assert_eq!(
            checks.check("z.zip", "aa", "h1:evil").unwrap_err(),
            "the network mirror's hash of z.zip is h1:good, but the downloaded zip's are zh:aa \
             and h1:evil; nothing stored"
        );
        assert_eq!(
            checks.check("z.zip", "bb", "h1:good").unwrap_err(),
            "neither zh:bb nor h1:good of z.zip is among the lock file's hashes; nothing stored"
        );
    }
}
