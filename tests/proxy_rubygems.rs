//! The proxy's RubyGems frontend with the real clients (Debian's ruby 3.1, RubyGems 3.3,
//! Bundler 2.3), the way a user runs them: gems built with `gem build` and pushed with
//! `opp push rubygems` are installed by `opp proxy -- gem install` and `opp proxy -- bundle
//! install` (over the proxy's default HTTPS), with their dependencies and the native twin
//! for this machine, and load in ruby; `opp proxy -- gem push` lands in the store; too large
//! and broken uploads are refused with nothing stored; the legacy index and the Marshal
//! gemspecs load in ruby. The Ruby tool kit is in `proxy_rubygems/gems.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "proxy_rubygems/gems.rs"]
mod gems;
mod support;

use std::path::{Path, PathBuf};

use gems::{REQUEST_RB, TestGem, gem_home, proxied, ruby};
use support::cli::{Env, run_fail, run_ok, stderr, stdout};

/// `oppdemo-lib` 2.0 (plain and `x86_64-linux`, which says so) and `oppdemo-app` 1.0, which
/// needs `oppdemo-lib >= 2`, built into `dist/` and pushed into the store.
fn push_app_and_lib(env: &Env) -> PathBuf {
    let dist = env.root().join("dist");
    let lib = |platform| TestGem {
        name: "oppdemo-lib",
        version: "2.0",
        platform,
        deps: &[],
        body: if platform == "ruby" {
            "FLAVOUR = \"plain\""
        } else {
            "FLAVOUR = \"native\""
        },
        extra: "",
    };
    lib("ruby").build(env, &dist);
    lib("x86_64-linux").build(env, &dist);
    TestGem {
        name: "oppdemo-app",
        version: "1.0",
        platform: "ruby",
        deps: &[("oppdemo-lib", ">= 2")],
        body: "require \"oppdemo_lib\"\n  LIB = \"#{OppdemoLib::VERSION} #{OppdemoLib::FLAVOUR}\"",
        // Every field the Marshal gemspec carries, so that comparisons cover them.
        extra: "  s.description = \"An app, été included.\"\n  \
                s.homepage = \"https://example.test/app\"\n  \
                s.email = [\"a@example.test\", \"b@example.test\"]\n  \
                s.authors = [\"A\", \"B\"]\n  \
                s.metadata = { \"source_code_uri\" => \"https://example.test/src\" }\n  \
                s.required_rubygems_version = \">= 3.0\"\n  \
                s.add_development_dependency \"minitest\", \"~> 5.0\"",
    }
    .build(env, &dist);
    run_ok(env.opp().args(["push", "rubygems"]).arg(&dist));
    dist
}

/// This machine's own platform, as RubyGems names it.
fn local_platform(env: &Env) -> String {
    let out = run_ok(ruby(env).args(["-e", "print Gem::Platform.local.to_s"]));
    stdout(&out)
}

/// Nothing a gem or Bundler run could have cached or configured is left in the home.
fn home_is_clean(env: &Env) {
    for leftover in [
        env.home().join(".gem"),
        env.home().join(".gemrc"),
        env.home().join(".bundle"),
        env.data_home().join("gem"),
        env.cache_home().join("gem"),
    ] {
        assert!(!leftover.exists(), "{} was left behind", leftover.display());
    }
}

#[test]
fn gem_install_fetches_a_gem_and_its_dependency_through_opp_proxy() {
    let env = Env::new();
    push_app_and_lib(&env);
    run_ok(&mut proxied(
        &env,
        &[],
        "gem",
        &["install", "--no-document", "oppdemo-app"],
    ));
    let out = run_ok(ruby(&env).args(["-e", "require 'oppdemo_app'; print OppdemoApp::LIB"]));
    let flavour = if local_platform(&env) == "x86_64-linux" {
        "native"
    } else {
        "plain"
    };
    assert_eq!(stdout(&out), format!("2.0 {flavour}"));
    assert!(gem_home(&env).join("gems/oppdemo-app-1.0").is_dir());
    home_is_clean(&env);
}

#[test]
fn bundle_install_resolves_a_gemfile_for_rubygems_org_through_opp_proxy() {
    let env = Env::new();
    push_app_and_lib(&env);
    let project = env.root().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("Gemfile"),
        "source \"https://rubygems.org\"\ngem \"oppdemo-app\"\n",
    )
    .unwrap();
    run_ok(proxied(&env, &[], "bundle", &["install"]).current_dir(&project));
    let lock = std::fs::read_to_string(project.join("Gemfile.lock")).unwrap();
    // The lock file names the Gemfile's source, never the throwaway proxy.
    assert!(lock.contains("remote: https://rubygems.org/"), "{lock}");
    assert!(lock.contains("oppdemo-app (1.0)"), "{lock}");
    assert!(
        !lock.contains("127.0.0.1") && !lock.contains("localhost"),
        "{lock}"
    );
    let mut exec = std::process::Command::new(gems::tool("bundle"));
    gems::seal(&env, &mut exec);
    let out = run_ok(exec.current_dir(&project).args([
        "exec",
        "ruby",
        "-e",
        "require 'oppdemo_app'; print OppdemoApp::LIB",
    ]));
    assert!(stdout(&out).starts_with("2.0 "), "{}", stdout(&out));
    assert!(
        !project.join(".bundle").exists(),
        "bundle config was written"
    );
    home_is_clean(&env);

    // A private gem server's name is served by the proxy as well.
    let private = env.root().join("private");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::write(
        private.join("Gemfile"),
        "source \"https://gems.internal.invalid\"\ngem \"oppdemo-lib\"\n",
    )
    .unwrap();
    run_ok(proxied(&env, &[], "bundle", &["install"]).current_dir(&private));
    let lock = std::fs::read_to_string(private.join("Gemfile.lock")).unwrap();
    assert!(
        lock.contains("remote: https://gems.internal.invalid/"),
        "{lock}"
    );
    assert!(lock.contains("oppdemo-lib (2.0"), "{lock}");
}

/// `opp proxy [flags] -- ruby -e REQUEST_RB METHOD PATH [FILE]`: status and body.
fn request(
    env: &Env,
    flags: &[&str],
    method: &str,
    path: &str,
    file: Option<&Path>,
) -> (u16, Vec<u8>) {
    let mut args = vec!["-e", REQUEST_RB, method, path];
    let file_text;
    if let Some(f) = file {
        file_text = f.display().to_string();
        args.push(&file_text);
    }
    let out = run_ok(&mut proxied(env, flags, "ruby", &args));
    let newline = out
        .stdout
        .iter()
        .position(|b| *b == b'\n')
        .expect("a status line");
    let status = String::from_utf8_lossy(&out.stdout[..newline])
        .trim()
        .parse()
        .expect("a status");
    (status, out.stdout[newline + 1..].to_vec())
}

/// What `opp list rubygems` says the store holds.
fn listed(env: &Env) -> String {
    stdout(&run_ok(env.opp().args(["list", "rubygems"])))
}

#[test]
fn gem_push_through_opp_proxy_lands_in_the_store_and_other_bytes_get_409() {
    let env = Env::new();
    let dist = env.root().join("dist");
    let pushed = TestGem {
        name: "oppdemo-pushed",
        version: "0.3.0",
        platform: "ruby",
        deps: &[],
        body: "",
        extra: "",
    }
    .build(&env, &dist);
    let out = run_ok(&mut proxied(
        &env,
        &[],
        "gem",
        &["push", pushed.to_str().unwrap()],
    ));
    assert!(
        stdout(&out).contains("Successfully registered gem: oppdemo-pushed (0.3.0)"),
        "{}",
        stdout(&out)
    );
    assert!(listed(&env).contains("oppdemo-pushed"), "{}", listed(&env));
    // The same bytes again change nothing.
    run_ok(&mut proxied(
        &env,
        &[],
        "gem",
        &["push", pushed.to_str().unwrap()],
    ));

    let other = TestGem {
        name: "oppdemo-pushed",
        version: "0.3.0",
        platform: "ruby",
        deps: &[],
        body: "CHANGED = true",
        extra: "",
    }
    .build(&env, &env.root().join("other"));
    let out = run_fail(&mut proxied(
        &env,
        &[],
        "gem",
        &["push", other.to_str().unwrap()],
    ));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("already exists with other content"), "{text}");

    // What was pushed first is what gem installs.
    run_ok(&mut proxied(
        &env,
        &[],
        "gem",
        &["install", "--no-document", "oppdemo-pushed"],
    ));
    let installed = gem_home(&env).join("cache/oppdemo-pushed-0.3.0.gem");
    assert_eq!(
        std::fs::read(installed).unwrap(),
        std::fs::read(&pushed).unwrap()
    );
}

#[test]
fn a_push_over_the_upload_limit_is_refused_with_413_and_nothing_stored() {
    let env = Env::new();
    let big = TestGem {
        name: "oppdemo-big",
        version: "1.0",
        platform: "ruby",
        deps: &[],
        body: "",
        extra: "",
    }
    .build(&env, &env.root().join("dist"));
    assert!(std::fs::metadata(&big).unwrap().len() > 1024);
    let limit = ["--max-upload-size", "1KiB"];
    // gem push says how large its body is: refused from its Content-Length.
    let out = run_fail(&mut proxied(
        &env,
        &limit,
        "gem",
        &["push", big.to_str().unwrap()],
    ));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("larger than the proxy accepts"), "{text}");
    assert!(text.contains("--max-upload-size"), "{text}");
    // A body that does not say its size is counted as it arrives.
    let (status, body) = request(&env, &limit, "POST-CHUNKED", "api/v1/gems", Some(&big));
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert!(!listed(&env).contains("oppdemo-big"), "{}", listed(&env));
    // Under the limit, the same bytes go through.
    let (status, body) = request(&env, &[], "POST-CHUNKED", "api/v1/gems", Some(&big));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(listed(&env).contains("oppdemo-big"), "{}", listed(&env));
}

#[test]
fn a_file_that_is_not_a_gem_is_refused_with_the_reason_and_nothing_stored() {
    let env = Env::new();
    let bad = env.root().join("bad.gem");
    std::fs::write(&bad, b"this is not a tar archive at all, just text").unwrap();
    let (status, body) = request(&env, &[], "POST", "api/v1/gems", Some(&bad));
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 422, "{text}");
    assert_eq!(
        text,
        "the pushed .gem is not a gem: a .gem is a tar archive, and this one cannot be read as \
         tar (failed to read entire block); rebuild it with `gem build`\n",
        "the reason, then the hint, as gem prints the body"
    );
    // An empty store lists no package (opp says so on stderr).
    assert!(listed(&env).trim().is_empty(), "{}", listed(&env));
}

#[test]
fn the_marshal_gemspec_and_the_full_index_load_in_ruby() {
    let env = Env::new();
    push_app_and_lib(&env);
    let script = r##"
require "net/http"; require "zlib"
get = lambda do |path|
  uri = URI(ENV.fetch("OPP_PROXY_RUBYGEMS_URL") + path)
  req = Net::HTTP::Get.new(uri); req["Authorization"] = ENV.fetch("OPP_PROXY_TOKEN")
  res = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https") { |h| h.request(req) }
  raise "#{path}: #{res.code}" unless res.code == "200"
  res.body
end
spec = Marshal.load(Zlib::Inflate.inflate(get.("quick/Marshal.4.8/oppdemo-app-1.0.gemspec.rz")))
puts [spec.class, spec.full_name, spec.dependencies.map(&:to_s).inspect, spec.required_ruby_version].join("|")
native = Marshal.load(Zlib::Inflate.inflate(get.("quick/Marshal.4.8/oppdemo-lib-2.0-x86_64-linux.gemspec.rz")))
puts [native.full_name, native.platform.class, native.platform].join("|")
%w[specs latest_specs prerelease_specs].each do |index|
  puts "#{index}: " + Marshal.load(Zlib.gunzip(get.("#{index}.4.8.gz"))).map { |n, v, p| "#{n} #{v} #{p}" }.sort.join(", ")
end
"##;
    let out = run_ok(&mut proxied(&env, &[], "ruby", &["-e", script]));
    assert_eq!(
        stdout(&out),
        "Gem::Specification|oppdemo-app-1.0|[\"oppdemo-lib (>= 2)\", \"minitest (~> 5.0, development)\"]|>= 2.5\n\
         oppdemo-lib-2.0-x86_64-linux|Gem::Platform|x86_64-linux\n\
         specs: oppdemo-app 1.0 ruby, oppdemo-lib 2.0 ruby, oppdemo-lib 2.0 x86_64-linux\n\
         latest_specs: oppdemo-app 1.0 ruby, oppdemo-lib 2.0 ruby, oppdemo-lib 2.0 x86_64-linux\n\
         prerelease_specs: \n"
    );
    // `gem list --remote` reads the full index.
    let out = run_ok(&mut proxied(
        &env,
        &[],
        "gem",
        &["list", "--remote", "oppdemo"],
    ));
    assert!(
        stdout(&out).contains("oppdemo-app (1.0)"),
        "{}",
        stdout(&out)
    );
}

/// Every attribute of a `Gem::Specification` the legacy index carries, one per line.
const SPEC_ATTRIBUTES_RB: &str = r##"
def attributes(s)
  [s.class, s.name, s.version, s.platform.class, s.platform, s.original_platform,
   s.date.utc.to_s, s.summary, s.description.inspect, s.email.inspect, s.authors.inspect,
   s.homepage.inspect, s.licenses.inspect, s.metadata.inspect, s.required_ruby_version,
   s.required_rubygems_version, s.specification_version, s.rubygems_version,
   s.dependencies.map { |d| [d.name, d.type, d.requirement.to_s] }.inspect, s.full_name]
end
"##;

#[test]
fn the_marshal_gemspecs_match_what_gem_generate_index_writes_for_the_same_gems() {
    let env = Env::new();
    let dist = push_app_and_lib(&env);
    let index = env.root().join("generated");
    std::fs::create_dir_all(index.join("gems")).unwrap();
    for entry in std::fs::read_dir(&dist).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, index.join("gems").join(path.file_name().unwrap())).unwrap();
    }
    run_ok(
        gems::gem(&env)
            .args(["generate_index", "--directory"])
            .arg(&index),
    );
    let script = format!(
        r##"require "net/http"; require "zlib"
{SPEC_ATTRIBUTES_RB}
%w[oppdemo-app-1.0 oppdemo-lib-2.0 oppdemo-lib-2.0-x86_64-linux].each do |full|
  path = "quick/Marshal.4.8/#{{full}}.gemspec.rz"
  uri = URI(ENV.fetch("OPP_PROXY_RUBYGEMS_URL") + path)
  req = Net::HTTP::Get.new(uri); req["Authorization"] = ENV.fetch("OPP_PROXY_TOKEN")
  res = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https") {{ |h| h.request(req) }}
  raise "#{{path}}: #{{res.code}}" unless res.code == "200"
  ours = attributes(Marshal.load(Zlib::Inflate.inflate(res.body)))
  theirs = attributes(Marshal.load(Zlib::Inflate.inflate(File.binread(File.join(ARGV[0], path)))))
  ours.zip(theirs).each {{ |a, b| puts "#{{full}}: ours #{{a.inspect}}, gem generate_index #{{b.inspect}}" if a.to_s != b.to_s }}
  puts "#{{full}}: #{{ours.size}} attributes compared"
end
"##
    );
    let out = run_ok(&mut proxied(
        &env,
        &[],
        "ruby",
        &["-e", &script, index.to_str().unwrap()],
    ));
    assert_eq!(
        stdout(&out),
        "oppdemo-app-1.0: 20 attributes compared\n\
         oppdemo-lib-2.0: 20 attributes compared\n\
         oppdemo-lib-2.0-x86_64-linux: 20 attributes compared\n"
    );
}

#[test]
fn the_compact_index_lists_every_gem_with_the_md5_of_its_info() {
    let env = Env::new();
    let dist = push_app_and_lib(&env);
    let (status, versions) = request(&env, &[], "GET", "versions", None);
    assert_eq!(status, 200);
    let versions = String::from_utf8(versions).unwrap();
    let (status, info) = request(&env, &[], "GET", "info/oppdemo-lib", None);
    assert_eq!(status, 200);
    let info = String::from_utf8(info).unwrap();
    let md5 = stdout(&run_ok(ruby(&env).args([
        "-rdigest",
        "-e",
        "print Digest::MD5.hexdigest(ARGV[0])",
        "--",
        &info,
    ])));
    assert!(versions.starts_with("created_at: "), "{versions}");
    assert!(
        versions.contains("\n---\n")
            && versions.contains(&format!("oppdemo-lib 2.0,2.0-x86_64-linux {md5}\n")),
        "{versions}"
    );
    let sha = |file: &str| {
        let out = run_ok(ruby(&env).args([
            "-rdigest",
            "-e",
            "print Digest::SHA256.file(ARGV[0]).hexdigest",
            dist.join(file).to_str().unwrap(),
        ]));
        stdout(&out)
    };
    assert_eq!(
        info,
        format!(
            "---\n2.0 |checksum:{},ruby:>= 2.5\n2.0-x86_64-linux |checksum:{},ruby:>= 2.5\n",
            sha("oppdemo-lib-2.0.gem"),
            sha("oppdemo-lib-2.0-x86_64-linux.gem")
        )
    );
    let (status, app) = request(&env, &[], "GET", "info/oppdemo-app", None);
    assert_eq!(status, 200);
    // Runtime dependencies only; the required versions that say something.
    let app = String::from_utf8(app).unwrap();
    let app_line = format!(
        "1.0 oppdemo-lib:>= 2|checksum:{},ruby:>= 2.5,rubygems:>= 3.0\n",
        sha("oppdemo-app-1.0.gem")
    );
    assert_eq!(app, format!("---\n{app_line}"));
    let (status, _) = request(&env, &[], "GET", "info/no-such-gem", None);
    assert_eq!(status, 404);
}
