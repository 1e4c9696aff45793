//! A local gem source for the tests, standing in for rubygems.org: the gems a test built with
//! the real `gem build`, served by Python's `http.server` (behind basic auth when asked) from a
//! directory holding the compact
//! index (`/versions`, `/info/NAME`, `/names`) and the files (`/gems/NAME-VERSION[-PLATFORM].gem`).
//! Anything else (Bundler's `/api/v1/dependencies`, the full index) answers 404, so a client
//! that did not use the compact index fails instead of quietly falling back.
//!
//! The index is written here because Ruby 3.1's `gem generate_index` writes no compact index.
//! Each gem's name, version, platform, runtime dependencies and required Ruby and RubyGems
//! versions are read by RubyGems itself (`Gem::Package#spec`); the lines follow the format
//! Bundler's `CompactIndexClient::GemParser` reads (`VERSION[-PLATFORM] DEP:REQ&REQ,...|
//! checksum:SHA256,ruby:REQ,rubygems:REQ`) and `/versions` carries the MD5 of each `/info`
//! body, as Bundler's parser expects. The server's request log is kept, so a test can see what
//! a client asked for.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::cli::{Env, run_ok, stdout};
use super::gems::ruby_command;

/// Prints one tab-separated line per gem: name, version, platform, runtime dependencies in
/// compact-index form, required Ruby and RubyGems versions, sha256 of the file; sorted by
/// name and `Gem::Version`, platform `ruby` first.
const DESCRIBE_RB: &str = r##"
require "rubygems/package"; require "digest"
req = ->(r) { r.requirements.map { |op, v| "#{op} #{v}" }.join("&") }
rows = ARGV.map do |path|
  s = Gem::Package.new(path).spec
  deps = s.runtime_dependencies.map { |d| "#{d.name}:#{req.(d.requirement)}" }.join(",")
  [s.name, s.version, s.platform.to_s, deps, req.(s.required_ruby_version),
   req.(s.required_rubygems_version), Digest::SHA256.file(path).hexdigest]
end
rows.sort_by { |r| [r[0], r[1], r[2] == "ruby" ? "" : r[2]] }.each do |r|
  puts r.map(&:to_s).join("\t")
end
"##;

/// `python -c SERVE_PY PORT ROOT USER:PASSWORD`: `http.server` serving ROOT on 127.0.0.1,
/// answering 401 (with a Basic challenge) to requests without those credentials when given;
/// each request logged on stderr as `http.server` logs it.
const SERVE_PY: &str = r#"
import base64, functools, http.server, sys
port, root, auth = int(sys.argv[1]), sys.argv[2], sys.argv[3]
want = "Basic " + base64.b64encode(auth.encode()).decode() if auth else None
class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        if want and self.headers.get("Authorization") != want:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="gems"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return super().send_head()
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=root))
server.serve_forever()
"#;

/// One gem file as the index lists it.
#[derive(Clone, Debug)]
pub struct IndexedGem {
    pub name: String,
    pub version: String,
    pub platform: String,
    /// `dep:>= 1&< 2,other:~> 1.2`.
    pub deps: String,
    pub ruby: String,
    pub rubygems: String,
    pub sha256: String,
    pub path: PathBuf,
}

impl IndexedGem {
    /// `NAME-VERSION[-PLATFORM].gem`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.gem", self.name, self.version_and_platform())
    }

    fn version_and_platform(&self) -> String {
        if self.platform == "ruby" {
            self.version.clone()
        } else {
            format!("{}-{}", self.version, self.platform)
        }
    }

    /// The gem's `/info` line (without the newline).
    pub fn info_line(&self) -> String {
        let mut line = format!(
            "{} {}|checksum:{}",
            self.version_and_platform(),
            self.deps,
            self.sha256
        );
        for (key, req) in [("ruby", &self.ruby), ("rubygems", &self.rubygems)] {
            if !req.is_empty() && req != ">= 0" {
                line.push_str(&format!(",{key}:{req}"));
            }
        }
        line
    }
}

/// A running gem source; the server is stopped when it is dropped.
pub struct GemSource {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    pub root: PathBuf,
    pub gems: Vec<IndexedGem>,
    log: PathBuf,
}

impl GemSource {
    /// Describes `files` with RubyGems, writes the index and the files under `env`, and
    /// serves them.
    pub fn serve(env: &Env, files: &[PathBuf]) -> GemSource {
        GemSource::serve_with_auth(env, files, None)
    }

    /// [`GemSource::serve`], answering 401 to requests without `user`:`password` (basic auth).
    pub fn serve_with_auth(env: &Env, files: &[PathBuf], auth: Option<(&str, &str)>) -> GemSource {
        let gems = describe(env, files);
        let root = env.root().join("gem-source");
        std::fs::create_dir_all(root.join("gems")).expect("create the gem source directory");
        for g in &gems {
            std::fs::copy(&g.path, root.join("gems").join(g.file_name()))
                .expect("copy a gem into the source");
        }
        write_index(&root, &gems);
        let log = env.root().join("gem-source.log");
        let port = super::registry::free_port();
        let auth = auth.map(|(u, p)| format!("{u}:{p}")).unwrap_or_default();
        let child = env
            .python()
            .args(["-u", "-c", SERVE_PY, &port.to_string()])
            .arg(&root)
            .arg(&auth)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the source's log"))
            .spawn()
            .expect("start the gem source (python http.server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the gem source did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        GemSource {
            child,
            url: format!("http://127.0.0.1:{port}/"),
            root,
            gems,
            log,
        }
    }

    /// Rewrites the index with `sha256` as the checksum of the gem file named `file`.
    pub fn set_checksum(&mut self, file: &str, sha256: &str) {
        let g = self
            .gems
            .iter_mut()
            .find(|g| g.file_name() == file)
            .unwrap_or_else(|| panic!("the source has no {file}"));
        g.sha256 = sha256.to_owned();
        write_index(&self.root, &self.gems);
    }

    /// The indexed gem named `file`.
    pub fn gem(&self, file: &str) -> &IndexedGem {
        self.gems
            .iter()
            .find(|g| g.file_name() == file)
            .unwrap_or_else(|| panic!("the source has no {file}"))
    }

    /// The paths of every GET the source answered so far, with their status, in order:
    /// `("/versions", 200)`.
    pub fn requests(&self) -> Vec<(String, u16)> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let rest = line.split_once("\"GET ")?.1;
                let (path, rest) = rest.split_once(' ')?;
                let status = rest.split_once("\" ")?.1.split(' ').next()?.parse().ok()?;
                Some((path.to_owned(), status))
            })
            .collect()
    }

    /// How many `/gems/...` files the source served.
    pub fn gem_downloads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(p, s)| p.starts_with("/gems/") && *s == 200)
            .count()
    }
}

impl Drop for GemSource {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each gem as RubyGems reads it.
fn describe(env: &Env, files: &[PathBuf]) -> Vec<IndexedGem> {
    let out = run_ok(
        ruby_command(env, "ruby")
            .arg("-e")
            .arg(DESCRIBE_RB)
            .args(files),
    );
    let text = stdout(&out);
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "unexpected description: {line}");
            let mut g = IndexedGem {
                name: f[0].to_owned(),
                version: f[1].to_owned(),
                platform: f[2].to_owned(),
                deps: f[3].to_owned(),
                ruby: f[4].to_owned(),
                rubygems: f[5].to_owned(),
                sha256: f[6].to_owned(),
                path: PathBuf::new(),
            };
            g.path = files
                .iter()
                .find(|p| p.file_name().is_some_and(|n| n == g.file_name().as_str()))
                .unwrap_or_else(|| panic!("no file is named {}", g.file_name()))
                .clone();
            g
        })
        .collect()
}

/// Writes `/versions`, `/names` and `/info/NAME` for `gems` (sorted by name, then version).
fn write_index(root: &Path, gems: &[IndexedGem]) {
    use md5::{Digest, Md5};
    std::fs::create_dir_all(root.join("info")).expect("create info/");
    let mut names: Vec<&str> = gems.iter().map(|g| g.name.as_str()).collect();
    names.dedup();
    let mut versions = String::from("created_at: 2024-01-01T00:00:00Z\n---\n");
    for name in &names {
        let mine: Vec<&IndexedGem> = gems.iter().filter(|g| g.name == *name).collect();
        let mut info = String::from("---\n");
        for g in &mine {
            info.push_str(&g.info_line());
            info.push('\n');
        }
        std::fs::write(root.join("info").join(name), &info).expect("write an info file");
        let listed: Vec<String> = mine.iter().map(|g| g.version_and_platform()).collect();
        versions.push_str(&format!(
            "{name} {} {}\n",
            listed.join(","),
            hex::encode(Md5::digest(info.as_bytes()))
        ));
    }
    std::fs::write(root.join("versions"), versions).expect("write versions");
    std::fs::write(root.join("names"), format!("---\n{}\n", names.join("\n")))
        .expect("write names");
}
