//! Where mirrored gems go: the store, through the path `opp push rubygems` takes (each gem
//! described from its own specification, then `Packages::push_rubygems`), so a mirrored gem
//! is laid out exactly like a pushed one and the proxy serves it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::ecosystem::rubygems as eco;
use crate::mirror::{PlanFile, Sink};
use crate::packages::Packages;

pub struct RubygemsSink<'a> {
    pub packages: Packages<'a>,
}

/// An error with its causes on one line.
fn chain(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

#[async_trait::async_trait]
impl Sink for RubygemsSink<'_> {
    fn ecosystem(&self) -> crate::release::Ecosystem {
        crate::release::Ecosystem::Rubygems
    }

    async fn stored(
        &self,
        package: &str,
        version: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let release = self
            .packages
            .gem_release(package, version)
            .await
            .map_err(chain)?;
        Ok(crate::mirror::execute::file_digests(release))
    }

    async fn push(&self, files: Vec<(PlanFile, PathBuf)>) -> Vec<Result<bool, String>> {
        let mut outcome: Vec<Result<bool, String>> = Vec::with_capacity(files.len());
        let mut gems = Vec::new();
        for (f, path) in &files {
            let path = path.clone();
            match tokio::task::spawn_blocking(move || eco::describe(&path)).await {
                Ok(Ok(gem)) if gem.file_name == f.file_name => {
                    gems.push(gem);
                    outcome.push(Ok(true));
                }
                Ok(Ok(gem)) => outcome.push(Err(format!(
                    "its own specification names it {}, not what the source lists; nothing \
                     stored",
                    gem.file_name
                ))),
                Ok(Err(e)) => outcome.push(Err(format!(
                    "{} is not a gem opp can push: {}",
                    f.file_name,
                    chain(e)
                ))),
                Err(e) => outcome.push(Err(e.to_string())),
            }
        }
        if gems.is_empty() {
            return outcome;
        }
        match self.packages.push_rubygems(gems, false).await {
            Ok(pushed) => {
                let status: BTreeMap<&str, &str> =
                    pushed.iter().map(|p| (p.file.as_str(), p.status)).collect();
                for ((f, _), o) in files.iter().zip(outcome.iter_mut()) {
                    if o.is_ok() {
                        *o = Ok(status.get(f.file_name.as_str()) != Some(&"unchanged"));
                    }
                }
            }
            Err(e) => {
                let why = chain(e);
                for o in outcome.iter_mut().filter(|o| o.is_ok()) {
                    *o = Err(why.clone());
                }
            }
        }
        outcome
    }
}
