//! Ruby Marshal 4.8 of the few RubyGems objects the legacy index serves, written from Rust
//! with no Ruby at run time: the `[[name, Gem::Version, platform], ...]` tuples of
//! `specs.4.8.gz`, and the `Gem::Specification` of `quick/Marshal.4.8/*.gemspec.rz`, shaped
//! exactly as RubyGems' own `_dump` / `marshal_dump` write them (`specification.rb`,
//! `version.rb`, `requirement.rb`; `Gem::Dependency` and `Gem::Platform` are plain objects).
//!
//! The bytes are laid out by the `marshal-rs` crate (symbols and links, string encodings);
//! this module only decides which Ruby objects to build. It knows nothing of HTTP, gzip or
//! the store: `SpecFields` is filled by the caller from a gem's stored info.

use marshal_rs::{Arena, ValueId};

use super::platform::platform_parts;

/// `Gem::Specification::CURRENT_SPECIFICATION_VERSION` of every RubyGems since 1.3.
const CURRENT_SPECIFICATION_VERSION: i32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum MarshalError {
    #[error("cannot build the Ruby object {0}")]
    Build(&'static str),
}

/// A requirement as `[(operator, version)]`, e.g. `[(">=", "2.7"), ("<", "4")]`.
pub type Requirement = [(String, String)];

/// One dependency of a gem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    /// `true` for a runtime dependency, `false` for a development one.
    pub runtime: bool,
    pub requirement: Vec<(String, String)>,
}

/// What a `Gem::Specification` in the legacy index carries (its `_dump` fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFields {
    pub name: String,
    pub version: String,
    /// `ruby` for a plain gem, else e.g. `x86_64-linux`.
    pub platform: String,
    pub rubygems_version: String,
    pub specification_version: i32,
    /// The day the gem was built (year, month 1-12, day 1-31).
    pub date: (i32, u32, u32),
    pub summary: String,
    pub description: Option<String>,
    pub homepage: Option<String>,
    /// One address is dumped as a string, several as an array (as the gemspec had it).
    pub email: Vec<String>,
    pub authors: Vec<String>,
    pub licenses: Vec<String>,
    pub metadata: Vec<(String, String)>,
    pub required_ruby_version: Vec<(String, String)>,
    pub required_rubygems_version: Vec<(String, String)>,
    pub dependencies: Vec<Dependency>,
}

/// `Marshal.dump([[name, Gem::Version, platform], ...])`, the body of `specs.4.8`.
pub fn spec_tuples<'a>(
    tuples: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> Result<Vec<u8>, MarshalError> {
    let mut b = Builder::new();
    let mut items = Vec::new();
    for (name, version, platform) in tuples {
        let name = b.string(name);
        let version = b.version(version)?;
        let platform = b.string(platform);
        items.push(b.array(&[name, version, platform])?);
    }
    let root = b.array(&items)?;
    Ok(b.finish(root))
}

/// `Marshal.dump(spec)` of a `Gem::Specification`: a `_dump` (`u`) object whose payload is
/// the Marshal of RubyGems' 19-field array.
pub fn specification(spec: &SpecFields) -> Result<Vec<u8>, MarshalError> {
    let fields = specification_fields(spec)?;
    let mut b = Builder::new();
    let payload = b.arena.push_bytes(fields);
    if !b
        .arena
        .set_user_defined(payload, b"Gem::Specification".to_vec())
    {
        return Err(MarshalError::Build("Gem::Specification"));
    }
    Ok(b.finish(payload))
}

/// The array `Gem::Specification#_dump` marshals, in its order.
fn specification_fields(spec: &SpecFields) -> Result<Vec<u8>, MarshalError> {
    let mut b = Builder::new();
    let rubygems_version = b.string(&spec.rubygems_version);
    let specification_version = b.arena.push_fixnum(if spec.specification_version > 0 {
        spec.specification_version
    } else {
        CURRENT_SPECIFICATION_VERSION
    });
    let name = b.string(&spec.name);
    let version = b.version(&spec.version)?;
    let date = b.time_utc(spec.date)?;
    let summary = b.string(&spec.summary);
    let required_ruby = b.requirement(&spec.required_ruby_version)?;
    let required_rubygems = b.requirement(&spec.required_rubygems_version)?;
    let original_platform = b.string(&spec.platform);
    let deps = spec
        .dependencies
        .iter()
        .map(|d| b.dependency(d))
        .collect::<Result<Vec<_>, _>>()?;
    let dependencies = b.array(&deps)?;
    let rubyforge_project = b.string("");
    let email = match spec.email.as_slice() {
        [] => b.arena.push_nil(),
        [one] => b.string(one),
        many => b.strings(many)?,
    };
    let authors = b.strings(&spec.authors)?;
    let description = b.optional_string(spec.description.as_deref());
    let homepage = b.optional_string(spec.homepage.as_deref());
    let has_rdoc = b.arena.push_bool(true);
    // A plain gem's new platform is the same "ruby" string; any other is a Gem::Platform.
    let new_platform = if spec.platform == "ruby" {
        original_platform
    } else {
        b.platform(&spec.platform)?
    };
    let licenses = b.strings(&spec.licenses)?;
    let pairs: Vec<(ValueId, ValueId)> = spec
        .metadata
        .iter()
        .map(|(k, v)| (b.string(k), b.string(v)))
        .collect();
    let metadata = b
        .arena
        .push_hash(&pairs, None)
        .ok_or(MarshalError::Build("the metadata Hash"))?;
    let root = b.array(&[
        rubygems_version,
        specification_version,
        name,
        version,
        date,
        summary,
        required_ruby,
        required_rubygems,
        original_platform,
        dependencies,
        rubyforge_project,
        email,
        authors,
        description,
        homepage,
        has_rdoc,
        new_platform,
        licenses,
        metadata,
    ])?;
    Ok(b.finish(root))
}

/// Builds one Marshal stream.
struct Builder {
    arena: Arena<'static>,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            arena: Arena::builder(),
        }
    }

    fn finish(mut self, root: ValueId) -> Vec<u8> {
        self.arena.set_root(root);
        marshal_rs::dump(&self.arena)
    }

    /// A UTF-8 string, as Ruby writes string literals.
    fn string(&mut self, text: &str) -> ValueId {
        self.arena.push_string(text.to_owned())
    }

    fn optional_string(&mut self, text: Option<&str>) -> ValueId {
        match text {
            Some(t) => self.string(t),
            None => self.arena.push_nil(),
        }
    }

    fn array(&mut self, items: &[ValueId]) -> Result<ValueId, MarshalError> {
        self.arena
            .push_array(items)
            .ok_or(MarshalError::Build("an Array"))
    }

    fn strings(&mut self, items: &[String]) -> Result<ValueId, MarshalError> {
        let ids: Vec<ValueId> = items.iter().map(|s| self.string(s)).collect();
        self.array(&ids)
    }

    /// `Gem::Version#marshal_dump`: `[version]`.
    fn version(&mut self, version: &str) -> Result<ValueId, MarshalError> {
        let text = self.string(version);
        let body = self.array(&[text])?;
        self.arena
            .push_user_marshal(b"Gem::Version".to_vec(), body)
            .ok_or(MarshalError::Build("Gem::Version"))
    }

    /// `Gem::Requirement#marshal_dump`: `[[[op, Gem::Version], ...]]`; empty means `>= 0`.
    fn requirement(&mut self, requirement: &Requirement) -> Result<ValueId, MarshalError> {
        let default = [(">=".to_owned(), "0".to_owned())];
        let pairs = if requirement.is_empty() {
            &default[..]
        } else {
            requirement
        };
        let mut items = Vec::new();
        for (op, version) in pairs {
            let op = self.string(op);
            let version = self.version(version)?;
            items.push(self.array(&[op, version])?);
        }
        let list = self.array(&items)?;
        let body = self.array(&[list])?;
        self.arena
            .push_user_marshal(b"Gem::Requirement".to_vec(), body)
            .ok_or(MarshalError::Build("Gem::Requirement"))
    }

    /// A `Gem::Dependency` with the instance variables RubyGems itself dumps (and
    /// RubyGems >= 3.5's safe loader accepts).
    fn dependency(&mut self, dep: &Dependency) -> Result<ValueId, MarshalError> {
        let name = self.string(&dep.name);
        let requirement = self.requirement(&dep.requirement)?;
        let kind: &[u8] = if dep.runtime {
            b"runtime"
        } else {
            b"development"
        };
        let kind = self.arena.push_symbol(kind.to_vec());
        let prerelease = self.arena.push_bool(false);
        self.arena
            .push_object(
                b"Gem::Dependency".to_vec(),
                &[
                    (b"@name".to_vec(), name),
                    (b"@requirement".to_vec(), requirement),
                    (b"@type".to_vec(), kind),
                    (b"@prerelease".to_vec(), prerelease),
                    (b"@version_requirements".to_vec(), requirement),
                ],
            )
            .ok_or(MarshalError::Build("Gem::Dependency"))
    }

    /// A `Gem::Platform` object (`@cpu`, `@os`, `@version`).
    fn platform(&mut self, text: &str) -> Result<ValueId, MarshalError> {
        let (cpu, os, version) = platform_parts(text);
        let cpu = self.optional_string(cpu.as_deref());
        let os = self.string(&os);
        let version = self.optional_string(version.as_deref());
        self.arena
            .push_object(
                b"Gem::Platform".to_vec(),
                &[
                    (b"@cpu".to_vec(), cpu),
                    (b"@os".to_vec(), os),
                    (b"@version".to_vec(), version),
                ],
            )
            .ok_or(MarshalError::Build("Gem::Platform"))
    }

    /// Midnight UTC of a day, as `Time#_dump` writes it: two little-endian words with the
    /// "new format" and UTC bits, plus the `zone` Ruby adds.
    fn time_utc(&mut self, (year, month, day): (i32, u32, u32)) -> Result<ValueId, MarshalError> {
        let valid = (1900..=1900 + 0xffff).contains(&year)
            && (1..=12).contains(&month)
            && (1..=31).contains(&day);
        if !valid {
            return Err(MarshalError::Build("Time (the gem's date is out of range)"));
        }
        let year = u32::try_from(year - 1900).map_err(|_| MarshalError::Build("Time"))?;
        let high: u32 = (1 << 31) | (1 << 30) | (year << 14) | ((month - 1) << 10) | (day << 5);
        let low: u32 = 0;
        let mut bytes = high.to_le_bytes().to_vec();
        bytes.extend_from_slice(&low.to_le_bytes());
        let time = self.arena.push_bytes(bytes);
        let zone = self
            .arena
            .push_str_with_encoding(b"UTC".to_vec(), marshal_rs::ENCODING_US_ASCII)
            .ok_or(MarshalError::Build("Time"))?;
        let made = self.arena.set_user_defined(time, b"Time".to_vec())
            && self.arena.push_extra_ivar(time, b"zone", zone);
        if !made {
            return Err(MarshalError::Build("Time"));
        }
        Ok(time)
    }
}

#[cfg(test)]
#[path = "marshal_tests.rs"]
mod tests;
