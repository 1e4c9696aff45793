//! `opp mirror rubygems ...`: plan what to bring from the gem source (a closure over the
//! requested gems, and the gems each `--lock` pins), run the plan into the configured store,
//! print what happened to each file and a summary (as `opp mirror pypi` does).

use std::collections::BTreeSet;

use crate::cli::MirrorRubygemsArgs;
use crate::config::Settings;
use crate::mirror::credentials::Netrc;
use crate::mirror::rubygems::bundler;
use crate::mirror::rubygems::resolve::Options;
use crate::mirror::rubygems::sink::RubygemsSink;
use crate::mirror::rubygems::upstream::{Credentials, Upstream};
use crate::mirror::rubygems::{self, RubygemsMirrorError, lock};
use crate::mirror::{self, MirrorError, download};
use crate::output::Output;

/// The gem source used when none is given.
const DEFAULT_UPSTREAM: &str = "https://rubygems.org/";
/// The largest Gemfile.lock read (a large application's is a few hundred KiB).
const MAX_LOCK: u64 = 64 * 1024 * 1024;

pub async fn run(
    settings: &Settings,
    out: &Output,
    args: MirrorRubygemsArgs,
) -> anyhow::Result<()> {
    let requests = args
        .specs
        .iter()
        .map(|s| rubygems::request(s))
        .collect::<Result<Vec<_>, _>>()?;
    let options = Options {
        platforms: args.platforms.clone(),
        ruby: args
            .ruby_version
            .as_deref()
            .map(rubygems::ruby_version)
            .transpose()?,
        pre: args.pre,
    };
    let mut locks = Vec::new();
    for path in &args.lock {
        let read_error = |source| MirrorError::Read {
            path: path.display().to_string(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_LOCK {
            return Err(RubygemsMirrorError::BadLock {
                path: path.display().to_string(),
                reason: format!("it is {size} bytes, more than a lock file holds"),
            }
            .into());
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let locked = lock::read(&text).map_err(|reason| RubygemsMirrorError::BadLock {
            path: path.display().to_string(),
            reason,
        })?;
        for skipped in &locked.skipped {
            out.warn(format!("{}: not mirrored: {skipped}", path.display()));
        }
        locks.extend(locked.gems);
    }

    let client = download::client()?;
    let credentials = credentials(out, &args)?;
    let upstream = Upstream::new(
        client.clone(),
        args.upstream
            .as_deref()
            .or(settings
                .mirror_upstreams
                .get("rubygems")
                .map(String::as_str))
            .unwrap_or(DEFAULT_UPSTREAM),
        &credentials,
    )?;
    let target = super::open(&settings.location, settings)?;
    let sink = RubygemsSink {
        packages: target.packages(out),
    };
    let (mut plan, mut problems) = if requests.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        out.status(format!(
            "resolving {} gem(s) against {}",
            requests.len(),
            upstream.describe()
        ));
        rubygems::plan(&upstream, &requests, &options).await?
    };
    if !locks.is_empty() {
        let (files, lock_problems) =
            rubygems::plan_lock(&client, &locks, args.upstream.as_deref(), &credentials).await;
        plan.extend(files);
        problems.extend(lock_problems);
    }
    plan.sort_by(|a, b| (&a.package, &a.file_name).cmp(&(&b.package, &b.file_name)));
    plan.dedup_by(|a, b| a.package == b.package && a.file_name == b.file_name);
    let fatal = problems.iter().filter(|p| p.fatal).count();
    for p in &problems {
        out.warn(&p.message);
    }
    let releases: BTreeSet<(&str, &str)> = plan
        .iter()
        .map(|f| (f.package.as_str(), f.version.as_str()))
        .collect();
    out.status(format!(
        "plan: {} file(s) of {} release(s)",
        plan.len(),
        releases.len()
    ));

    let results = mirror::execute(plan, &sink, &client, out, args.dry_run).await;
    super::mirror::report(out, &results, settings.location.describe(), args.dry_run);
    if args.json {
        out.json(&results);
    }
    let (_, _, failed, _) = mirror::counts(&results);
    if failed > 0 || fatal > 0 {
        anyhow::bail!(
            "the mirror is incomplete: {failed} file(s) failed and {fatal} gem(s) could not be \
             planned (see above)"
        );
    }
    Ok(())
}

/// Where the gem source's credentials may be: Bundler's settings for the application (the
/// first `--lock`'s directory, else the nearest directory with a Gemfile or gems.rb from
/// here up), and `.netrc`.
fn credentials(out: &Output, args: &MirrorRubygemsArgs) -> anyhow::Result<Credentials> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let app_root = match args.lock.first() {
        Some(lock) => std::path::absolute(lock)
            .ok()
            .and_then(|p| p.parent().map(std::path::Path::to_path_buf)),
        None => cwd
            .ancestors()
            .find(|d| d.join("Gemfile").is_file() || d.join("gems.rb").is_file())
            .map(std::path::Path::to_path_buf),
    };
    let bundler = bundler::Settings::load(app_root.as_deref())?;
    let netrc = Netrc::load().unwrap_or_else(|why| {
        out.warn(format!("{why}; going on without .netrc credentials"));
        Netrc::default()
    });
    Ok(Credentials { bundler, netrc })
}
