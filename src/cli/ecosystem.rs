//! Parsing an ecosystem name on the command line: the possible values (with their one-line
//! help, for `--help`, completions and man pages) come from [`Ecosystem::ALL`] and each
//! ecosystem's contract, so the model needs no clap and the CLI keeps no copy of the enum.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::release::Ecosystem;

/// Former name of the ecosystem argument's type; the CLI parses [`Ecosystem`] itself now.
pub type EcosystemArg = Ecosystem;

/// The value parser of every ecosystem argument: `#[arg(value_parser = EcosystemParser)]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct EcosystemParser;

impl EcosystemParser {
    fn values() -> impl Iterator<Item = PossibleValue> {
        Ecosystem::ALL
            .into_iter()
            .map(|eco| PossibleValue::new(eco.as_str()).help(eco.contract().summary))
    }
}

impl TypedValueParser for EcosystemParser {
    type Value = Ecosystem;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Ecosystem, clap::Error> {
        // clap's own parser gives clap's own error (with the possible values and a
        // "did you mean") for a name that is not one.
        let name = PossibleValuesParser::new(Self::values()).parse_ref(cmd, arg, value)?;
        Ecosystem::parse(&name).ok_or_else(|| {
            let mut err = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
            err.insert(ContextKind::InvalidValue, ContextValue::String(name));
            err
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ecosystem_parses_from_its_name_and_nothing_else_does() {
        let cmd = clap::Command::new("opp");
        for eco in Ecosystem::ALL {
            let parsed = EcosystemParser.parse_ref(&cmd, None, OsStr::new(eco.as_str()));
            assert_eq!(parsed.ok(), Some(eco), "{eco}");
        }
        let err = EcosystemParser
            .parse_ref(&cmd, None, OsStr::new("pypy"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue);
    }
}
