//! Choosing a version of a package from what the store holds, the same way for `opp pull`
//! and the proxy: the stored versions in the ecosystem's order (newest first), and the
//! newest one a request accepts, or a not-found error that names the package, the store and
//! every stored version. What a version request means (a PEP 440 specifier, a NuGet range, a
//! gem requirement, a Terraform constraint) stays with each ecosystem; this is the skeleton
//! around it.

use super::{PackageError, Packages, Result};
use crate::ecosystem;
use crate::release::Ecosystem;

/// What a version request is, for the error when nothing matches.
pub struct Asked<'a> {
    /// What a package is called in the ecosystem (`package`, `gem`, `provider`, `module`).
    pub noun: &'a str,
    /// The request as the user wrote it (`matches` it in the error), if any.
    pub matches: Option<&'a str>,
    /// Appended to the error when nothing matches (` (pre-releases need --pre)`).
    pub hint: &'a str,
}

impl Packages<'_> {
    /// Every stored version of `name`, newest first in the ecosystem's order; versions that
    /// do not parse go last.
    pub async fn versions_newest_first(&self, eco: Ecosystem, name: &str) -> Result<Vec<String>> {
        let mut versions = self.versions(eco, name).await?;
        ecosystem::sort_newest_first(eco, &mut versions);
        versions.dedup();
        Ok(versions)
    }

    /// The stored version of `name` that `pick` chooses from the stored versions (newest
    /// first). No version stored, or none picked, is [`PackageError::NotFound`] naming the
    /// package, the store and (when there are some) every stored version.
    pub async fn select_version(
        &self,
        eco: Ecosystem,
        name: &str,
        asked: &Asked<'_>,
        pick: impl FnOnce(&[String]) -> Option<String>,
    ) -> Result<String> {
        let versions = self.versions_newest_first(eco, name).await?;
        if versions.is_empty() {
            let repo = self.mapper.repository(eco, name)?;
            return Err(PackageError::NotFound(format!(
                "no {} `{name}` in {}",
                asked.noun,
                self.store.location(&repo)
            )));
        }
        pick(&versions).ok_or_else(|| no_match(name, asked, &versions))
    }
}

/// The error when no stored version matches.
fn no_match(name: &str, asked: &Asked<'_>, newest_first: &[String]) -> PackageError {
    let matches = asked
        .matches
        .map(|m| format!(" matches `{m}`"))
        .unwrap_or_default();
    PackageError::NotFound(format!(
        "no version of `{name}`{matches}{}; stored: {}",
        asked.hint,
        newest_first.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_match_names_the_request_and_every_stored_version() {
        let asked = Asked {
            noun: "gem",
            matches: Some(">= 3"),
            hint: " (pre-releases need --pre)",
        };
        let e = no_match("rack", &asked, &["2.1".into(), "2.0".into()]);
        assert_eq!(
            e.to_string(),
            "no version of `rack` matches `>= 3` (pre-releases need --pre); stored: 2.1, 2.0"
        );
        let bare = Asked {
            noun: "gem",
            matches: None,
            hint: "",
        };
        assert_eq!(
            no_match("rack", &bare, &["1.0".into()]).to_string(),
            "no version of `rack`; stored: 1.0"
        );
    }
}
