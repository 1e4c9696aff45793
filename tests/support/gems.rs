//! Real gems for the tests: writes a `.gemspec` and a `lib/NAME.rb` into a temporary
//! directory and runs the real `gem build` (Debian's ruby), so every gem a test pushes is one
//! RubyGems made. Also runs `gem install --local` and `ruby -e 'require ...'` against what a
//! test pulled. Builds nothing by hand: broken gems for bad-input tests live in those tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cli::{Env, run_ok, stdout};

/// What to put in a gemspec.
#[derive(Clone, Debug, Default)]
pub struct GemSpec<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// `None` for a plain (`ruby`) gem.
    pub platform: Option<&'a str>,
    /// Runtime dependencies: name and requirement parts (`[">= 2.0", "< 4"]`).
    pub runtime: &'a [(&'a str, &'a [&'a str])],
    pub required_ruby_version: Option<&'a str>,
}

/// The `ruby` and `gem` commands, or a panic saying how to install them.
pub fn ruby_tool(name: &str) -> PathBuf {
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/bin")])
    {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{name}` is not installed: run `scripts/install-test-deps.sh ruby` (apt: ruby, bundler)"
    );
}

/// A `gem`/`ruby` command sealed off from the user's gems and configuration.
pub fn ruby_command(env: &Env, tool: &str) -> Command {
    let mut cmd = Command::new(ruby_tool(tool));
    env.isolate(&mut cmd, &["GEM_", "RUBY", "BUNDLE"]);
    cmd.env("SOURCE_DATE_EPOCH", "1700000000");
    cmd
}

/// The Ruby module a gem's lib file defines: `Foo_Bar` -> `FooBar`.
pub fn module_name(gem: &str) -> String {
    gem.split(['_', '-', '.'])
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Builds the gem with the real `gem build` in a fresh directory under `env` and returns
/// the path of the `.gem` (`NAME-VERSION[-PLATFORM].gem`). `lib/NAME.rb` defines
/// `module <module_name>; VERSION = "<version>"; end`.
pub fn build(env: &Env, spec: &GemSpec<'_>) -> PathBuf {
    let full_name = match spec.platform {
        Some(p) => format!("{}-{}-{p}", spec.name, spec.version),
        None => format!("{}-{}", spec.name, spec.version),
    };
    let dir = env.root().join("gem-src").join(&full_name);
    std::fs::create_dir_all(dir.join("lib")).expect("create the gem source directory");
    let lib = format!("lib/{}.rb", spec.name.to_ascii_lowercase());
    std::fs::write(
        dir.join(&lib),
        format!(
            "module {}\n  VERSION = {:?}\nend\n",
            module_name(spec.name),
            spec.version
        ),
    )
    .expect("write the gem's lib file");
    let mut gemspec = format!(
        "Gem::Specification.new do |s|\n  s.name = {:?}\n  s.version = {:?}\n  \
         s.summary = \"opp test gem\"\n  s.authors = [\"opp tests\"]\n  s.license = \"MIT\"\n  \
         s.files = [{lib:?}]\n",
        spec.name, spec.version
    );
    if let Some(p) = spec.platform {
        gemspec.push_str(&format!("  s.platform = {p:?}\n"));
    }
    if let Some(r) = spec.required_ruby_version {
        gemspec.push_str(&format!("  s.required_ruby_version = {r:?}\n"));
    }
    for (name, reqs) in spec.runtime {
        let reqs: Vec<String> = reqs.iter().map(|r| format!("{r:?}")).collect();
        gemspec.push_str(&format!(
            "  s.add_runtime_dependency {name:?}, {}\n",
            reqs.join(", ")
        ));
    }
    gemspec.push_str("end\n");
    let file = format!("{}.gemspec", spec.name);
    std::fs::write(dir.join(&file), gemspec).expect("write the gemspec");
    run_ok(
        ruby_command(env, "gem")
            .arg("build")
            .arg(&file)
            .current_dir(&dir),
    );
    let gem = dir.join(format!("{full_name}.gem"));
    assert!(gem.is_file(), "gem build did not write {}", gem.display());
    gem
}

/// Installs a `.gem` file with `gem install --local` into a fresh GEM_HOME, then requires it
/// with `ruby` and returns what `<module>::VERSION` says.
pub fn install_and_require(env: &Env, gem_file: &Path, name: &str) -> String {
    let home = env.root().join(format!("gem-home-{name}"));
    run_ok(
        ruby_command(env, "gem")
            .args(["install", "--local", "--no-document", "--install-dir"])
            .arg(&home)
            .arg(gem_file),
    );
    let out = run_ok(
        ruby_command(env, "ruby")
            .env("GEM_HOME", &home)
            .env("GEM_PATH", &home)
            .arg("-e")
            .arg(format!(
                "require {:?}; puts {}::VERSION",
                name.to_ascii_lowercase(),
                module_name(name)
            )),
    );
    stdout(&out).trim().to_owned()
}
