//! The test kit of `proxy_rubygems.rs`: the real `gem`, `bundle` and `ruby` sealed into an
//! [`Env`] (their own GEM_HOME, no outer GEM_*, BUNDLE_* or RUBYGEMS_* settings), test gems
//! built with `gem build` (with dependencies, a lib body that uses them, and native
//! `x86_64-linux` twins), and `opp proxy -- ...` around them. Finding the tools is the shared
//! `support::gems`'s.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::cli::Env;

pub use crate::support::gems::{module_name, ruby_tool as tool};

const HINT: &str = "run `scripts/install-test-deps.sh ruby` (apt-get install ruby bundler)";

/// Where gems get installed in `env`.
pub fn gem_home(env: &Env) -> PathBuf {
    env.root().join("gem-home")
}

/// Seals a Ruby tool's command into `env`.
pub fn seal(env: &Env, cmd: &mut Command) {
    env.isolate(cmd, &["GEM_", "BUNDLE_", "RUBY", "GEMRC"]);
    cmd.env("GEM_HOME", gem_home(env));
}

/// `ruby ARGS` sealed into `env`, seeing the gems installed there.
pub fn ruby(env: &Env) -> Command {
    let mut cmd = Command::new(tool("ruby"));
    seal(env, &mut cmd);
    cmd
}

/// `gem ARGS` sealed into `env`.
pub fn gem(env: &Env) -> Command {
    let mut cmd = Command::new(tool("gem"));
    seal(env, &mut cmd);
    cmd
}

/// `opp proxy [flags] -- PROGRAM ARGS...`, with the Ruby tool sealed into `env`.
pub fn proxied(env: &Env, flags: &[&str], program: &str, args: &[&str]) -> Command {
    let mut cmd = env.opp();
    seal(env, &mut cmd);
    cmd.arg("proxy")
        .args(flags)
        .arg("--")
        .arg(tool(program))
        .args(args);
    cmd
}

/// A gem to build.
pub struct TestGem<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub platform: &'a str,
    /// Runtime dependencies: `(name, requirement)`.
    pub deps: &'a [(&'a str, &'a str)],
    /// The body of `lib/NAME.rb` (after `module NAME_CAMEL`'s opening line).
    pub body: &'a str,
    /// More gemspec lines (`s.homepage = ...`).
    pub extra: &'a str,
}

impl TestGem<'_> {
    /// Builds the gem with `gem build` in a fresh directory under `out`; returns the .gem.
    pub fn build(&self, env: &Env, out: &Path) -> PathBuf {
        let file = if self.platform == "ruby" {
            format!("{}-{}.gem", self.name, self.version)
        } else {
            format!("{}-{}-{}.gem", self.name, self.version, self.platform)
        };
        let src = env
            .root()
            .join(format!("src-{}", file.trim_end_matches(".gem")));
        let lib = self.name.replace('-', "_");
        std::fs::create_dir_all(src.join("lib")).unwrap();
        std::fs::create_dir_all(out).unwrap();
        std::fs::write(
            src.join(format!("lib/{lib}.rb")),
            format!(
                "module {}\n  VERSION = \"{}\"\n  {}\nend\n",
                module_name(self.name),
                self.version,
                self.body
            ),
        )
        .unwrap();
        let deps: String = self
            .deps
            .iter()
            .map(|(n, r)| format!("  s.add_runtime_dependency {n:?}, {r:?}\n"))
            .collect();
        std::fs::write(
            src.join("x.gemspec"),
            format!(
                "Gem::Specification.new do |s|\n  s.name = {:?}\n  s.version = {:?}\n  \
                 s.platform = {:?}\n  s.summary = \"opp test gem\"\n  s.authors = [\"opp\"]\n  \
                 s.license = \"MIT\"\n  s.files = [\"lib/{lib}.rb\"]\n  \
                 s.required_ruby_version = \">= 2.5\"\n{deps}{}\nend\n",
                self.name, self.version, self.platform, self.extra
            ),
        )
        .unwrap();
        let path = out.join(&file);
        let mut cmd = gem(env);
        let built = cmd
            .args(["build", "x.gemspec", "--output"])
            .arg(&path)
            .current_dir(&src)
            .output()
            .unwrap_or_else(|e| panic!("cannot run gem build ({e}): {HINT}"));
        assert!(
            built.status.success(),
            "gem build failed: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        path
    }
}

/// A Ruby one-liner for `opp proxy -- ruby -e SCRIPT METHOD PATH [FILE]`: sends one request
/// to the RubyGems frontend with the proxy's secret as `gem push` sends it, prints the
/// status on the first line and the body after it. METHOD `POST-CHUNKED` posts FILE with no
/// `Content-Length` (chunked), as a client that does not say how much it sends.
pub const REQUEST_RB: &str = r#"
require "net/http"
require "stringio"
method, path, file = ARGV
uri = URI(ENV.fetch("OPP_PROXY_RUBYGEMS_URL") + path)
req = method.start_with?("POST") ? Net::HTTP::Post.new(uri) : Net::HTTP::Get.new(uri)
req["Authorization"] = ENV.fetch("OPP_PROXY_TOKEN")
if file
  req["Content-Type"] = "application/octet-stream"
  if method == "POST-CHUNKED"
    req["Transfer-Encoding"] = "chunked"
    req.body_stream = StringIO.new(File.binread(file))
  else
    req.body = File.binread(file)
  end
end
res = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https") { |h| h.request(req) }
puts res.code
$stdout.write res.body
"#;
