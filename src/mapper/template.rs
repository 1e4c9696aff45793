//! Repository templates such as `acme/providers/${namespace}/${type}`: checking one, filling
//! it in, and reading the values back out of a repository path. The symbols are the ones
//! OpenTofu's `oci_mirror` `repository_template` uses (plus `${name}` and `${system}`); which
//! ecosystem allows which symbol, and what its values look like, is a [`Vocabulary`] the
//! mapper passes in.

use std::fmt;

use super::{Problem, oci};

/// A placeholder in a repository template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Symbol {
    Hostname,
    Namespace,
    Type,
    Name,
    System,
}

impl Symbol {
    const ALL: [Symbol; 5] = [
        Symbol::Hostname,
        Symbol::Namespace,
        Symbol::Type,
        Symbol::Name,
        Symbol::System,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Symbol::Hostname => "hostname",
            Symbol::Namespace => "namespace",
            Symbol::Type => "type",
            Symbol::Name => "name",
            Symbol::System => "system",
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{{}}}", self.as_str())
    }
}

/// What a template needs to know about one ecosystem's package paths.
pub struct Vocabulary {
    /// The symbols a template may use.
    pub allowed: &'static [Symbol],
    /// The symbols a template must use, or different packages would share a repository.
    pub required: &'static [Symbol],
    /// Whether a value of the symbol can contain the character, as written in a repository.
    pub value_char: fn(Symbol, char) -> bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Symbol(Symbol),
}

/// A checked repository template: literal text and symbols, never two symbols that could
/// not be told apart again when reading a repository path back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses and checks `source`; the problem names the offending character or symbol.
    pub fn parse(source: &str, vocabulary: &Vocabulary) -> Result<Template, Problem> {
        let pieces = split_pieces(source, vocabulary)?;
        let template = Template { pieces };
        template.check_symbols(vocabulary)?;
        // The literal parts must make a valid repository path around any value.
        oci::check_repository(&template.render(|_| "x"))?;
        Ok(template)
    }

    fn check_symbols(&self, vocabulary: &Vocabulary) -> Result<(), Problem> {
        let missing: Vec<String> = vocabulary
            .required
            .iter()
            .filter(|s| !self.uses(**s))
            .map(Symbol::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(Problem::invalid(format!(
                "the template must use {}, or different packages would share one repository",
                missing.join(" and ")
            )));
        }
        for window in self.pieces.windows(3) {
            if let [
                Piece::Symbol(before),
                Piece::Literal(between),
                Piece::Symbol(after),
            ] = window
                && between.chars().all(|c| (vocabulary.value_char)(*before, c))
            {
                return Err(Problem::advised(
                    format!(
                        "`{between}` between {before} and {after} can also occur inside \
                         {before}, so two packages could share one repository"
                    ),
                    "separate them with `/`",
                ));
            }
        }
        Ok(())
    }

    /// Whether the template uses `symbol`.
    pub fn uses(&self, symbol: Symbol) -> bool {
        self.pieces.contains(&Piece::Symbol(symbol))
    }

    /// The literal text before the first symbol: every repository of the template starts with it.
    pub fn literal_prefix(&self) -> &str {
        match self.pieces.first() {
            Some(Piece::Literal(text)) => text,
            _ => "",
        }
    }

    /// Fills in the template.
    pub fn render<'a>(&self, value: impl Fn(Symbol) -> &'a str) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Symbol(symbol) => out.push_str(value(*symbol)),
            }
        }
        out
    }

    /// Reads the symbol values back out of `path`, or `None` when `path` does not have the
    /// template's shape. The caller still checks that the values map back to `path`.
    pub fn values(&self, path: &str, vocabulary: &Vocabulary) -> Option<Vec<(Symbol, String)>> {
        let mut rest = path;
        let mut values = Vec::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
                Piece::Symbol(symbol) => {
                    let len = match (self.pieces.get(i + 1), self.pieces.get(i + 2)) {
                        (None, _) => rest.len(),
                        (Some(Piece::Literal(suffix)), None) => {
                            rest.strip_suffix(suffix.as_str())?.len()
                        }
                        (Some(Piece::Literal(between)), Some(_)) => {
                            // `check_symbols` made sure `between` holds a character the value
                            // cannot: its first occurrence in `rest` ends the value.
                            let (offset, stop) = between
                                .char_indices()
                                .find(|(_, c)| !(vocabulary.value_char)(*symbol, *c))?;
                            rest.find(stop)?.checked_sub(offset)?
                        }
                        (Some(Piece::Symbol(_)), _) => return None,
                    };
                    let value = rest.get(..len)?;
                    if value.is_empty()
                        || !value.chars().all(|c| (vocabulary.value_char)(*symbol, c))
                    {
                        return None;
                    }
                    values.push((*symbol, value.to_owned()));
                    rest = rest.get(len..)?;
                }
            }
        }
        rest.is_empty().then_some(values)
    }
}

/// Splits `source` into literal text and symbols, refusing unknown, repeated or adjacent symbols.
fn split_pieces(source: &str, vocabulary: &Vocabulary) -> Result<Vec<Piece>, Problem> {
    let mut pieces = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            pieces.push(Piece::Literal(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| Problem::invalid("a `${` is not closed by `}`"))?;
        let name = &after[..end];
        let symbol = Symbol::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .filter(|s| vocabulary.allowed.contains(s))
            .ok_or_else(|| {
                let allowed: Vec<String> =
                    vocabulary.allowed.iter().map(Symbol::to_string).collect();
                Problem::advised(
                    format!("`${{{name}}}` is not a symbol of this template"),
                    format!("use {}", allowed.join(", ")),
                )
            })?;
        if pieces.contains(&Piece::Symbol(symbol)) {
            return Err(Problem::invalid(format!("{symbol} is used twice")));
        }
        if let Some(Piece::Symbol(before)) = pieces.last() {
            return Err(Problem::advised(
                format!(
                    "{before} and {symbol} follow each other with nothing between them, so two \
                     packages could share one repository"
                ),
                "separate them with `/`",
            ));
        }
        pieces.push(Piece::Symbol(symbol));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.to_owned()));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: Vocabulary = Vocabulary {
        allowed: &[Symbol::Hostname, Symbol::Namespace, Symbol::Type],
        required: &[Symbol::Namespace, Symbol::Type],
        value_char: |symbol, c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || c == '-'
                || (symbol == Symbol::Hostname && c == '.')
        },
    };

    fn parse(source: &str) -> Result<Template, Problem> {
        Template::parse(source, &PROVIDER)
    }

    #[test]
    fn a_template_renders_and_reads_back() {
        let t = parse("acme/p-${namespace}_${type}-mirror").unwrap();
        let path = t.render(|s| {
            if s == Symbol::Namespace {
                "hash-corp"
            } else {
                "a-ws"
            }
        });
        assert_eq!(path, "acme/p-hash-corp_a-ws-mirror");
        assert_eq!(
            t.values(&path, &PROVIDER).unwrap(),
            vec![
                (Symbol::Namespace, "hash-corp".into()),
                (Symbol::Type, "a-ws".into())
            ]
        );
        assert_eq!(t.literal_prefix(), "acme/p-");
        assert!(t.values("acme/p-x_y", &PROVIDER).is_none());
        assert!(t.values("other/p-x_y-mirror", &PROVIDER).is_none());
    }

    #[test]
    fn ambiguous_templates_are_refused() {
        assert!(parse("${namespace}-${type}").is_err());
        assert!(parse("${namespace}${type}").is_err());
        assert!(parse("${namespace}/${namespace}/${type}").is_err());
        assert!(parse("acme/${type}").is_err());
        assert!(parse("acme/${name}/${namespace}/${type}").is_err());
        assert!(parse("acme/${namespace/${type}").is_err());
    }

    #[test]
    fn template_literals_must_be_repository_text() {
        let problem = parse("Acme/${namespace}/${type}").unwrap_err();
        assert_eq!(problem.offending_char(), Some('A'));
        let problem = parse("acme/$x/${namespace}/${type}").unwrap_err();
        assert_eq!(problem.offending_char(), Some('$'));
        assert!(parse("/acme/${namespace}/${type}").is_err());
    }
}
