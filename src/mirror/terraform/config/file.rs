//! One `.tf` file read with an HCL parser (hcl-edit, which keeps every node's position, so a
//! message can say `main.tf:12`): the blocks that bring in a provider or a module, as written,
//! before a module's local provider names are resolved (that needs all of its files).
//! The blocks read are the ones hashicorp/terraform's `configs` package draws provider
//! requirements from (`Config.addProviderRequirements`): `terraform { required_providers }`,
//! `provider` blocks (and their legacy `version`), `resource`, `data`, `ephemeral` and
//! `action` blocks (and `data` blocks inside `check`), and `module` calls. Pure: text in.

use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Attribute, Block, Body};

use super::{ConfigError, Origin};

/// What a module's files say, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub required: Vec<Required>,
    pub used: Vec<Used>,
    pub calls: Vec<Call>,
}

/// One `required_providers` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Required {
    pub local_name: String,
    /// `source`, when the entry is an object that has one.
    pub source: Option<String>,
    /// `version`, or the legacy string form's value.
    pub constraint: Option<String>,
    pub origin: Origin,
}

/// A provider local name something uses: a resource type's prefix, a `provider = NAME.ALIAS`
/// meta-argument, a `provider "NAME"` block (with its legacy `version`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Used {
    pub local_name: String,
    pub constraint: Option<String>,
    pub origin: Origin,
}

/// A `module` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub name: String,
    pub source: String,
    pub version: Option<String>,
    pub origin: Origin,
}

/// Adds what `text` (the file shown as `file`) says to `facts`.
pub fn read(file: &str, text: &str, facts: &mut Facts) -> Result<(), ConfigError> {
    let body = hcl_edit::parser::parse_body(text).map_err(|e| ConfigError::Parse {
        origin: Origin {
            file: file.to_owned(),
            line: e.location().line(),
        },
        reason: e.message().to_owned(),
    })?;
    let reader = Reader { file, text };
    reader.body(&body, facts)
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
}

impl Reader<'_> {
    fn origin(&self, span: Option<Range<usize>>) -> Origin {
        let offset = span.map_or(0, |s| s.start).min(self.text.len());
        let line = self.text.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Origin {
            file: self.file.to_owned(),
            line,
        }
    }

    fn invalid(&self, span: Option<Range<usize>>, what: String) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin(span),
            what,
        }
    }

    fn body(&self, body: &Body, facts: &mut Facts) -> Result<(), ConfigError> {
        for block in body.blocks() {
            match block.ident.as_str() {
                "terraform" => {
                    for inner in block.body.blocks() {
                        if inner.ident.as_str() == "required_providers" {
                            for attr in inner.body.attributes() {
                                facts.required.push(self.required(attr)?);
                            }
                        }
                    }
                }
                "provider" => {
                    let name = self.label(block, "provider")?;
                    let constraint = match block.body.get_attribute("version") {
                        Some(a) => Some(self.string(a, "provider")?),
                        None => None,
                    };
                    facts.used.push(Used {
                        local_name: name,
                        constraint,
                        origin: self.origin(block.span()),
                    });
                }
                "resource" | "data" | "ephemeral" | "action" => {
                    facts.used.push(self.resource(block)?);
                }
                "check" => {
                    for inner in block.body.blocks() {
                        if inner.ident.as_str() == "data" {
                            facts.used.push(self.resource(inner)?);
                        }
                    }
                }
                "module" => {
                    let name = self.label(block, "module")?;
                    let what = format!("module \"{name}\"");
                    let source = block
                        .body
                        .get_attribute("source")
                        .ok_or_else(|| {
                            self.invalid(block.span(), format!("{what} has no `source`"))
                        })
                        .and_then(|a| self.string(a, &what))?;
                    let version = match block.body.get_attribute("version") {
                        Some(a) => Some(self.string(a, &what)?),
                        None => None,
                    };
                    facts.calls.push(Call {
                        name,
                        source,
                        version,
                        origin: self.origin(block.span()),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The first label of a block (a provider's local name, a resource's type, a module's
    /// name).
    fn label(&self, block: &Block, kind: &str) -> Result<String, ConfigError> {
        block
            .labels
            .first()
            .map(|l| l.as_str().to_owned())
            .ok_or_else(|| self.invalid(block.span(), format!("a `{kind}` block has no label")))
    }

    /// A resource-like block: its provider is its `provider` meta-argument's local name
    /// (`aws` of `aws.west`), else its type's prefix before the first `_`
    /// (`addrs.Resource.ImpliedProvider`).
    fn resource(&self, block: &Block) -> Result<Used, ConfigError> {
        let kind = block.ident.as_str();
        let resource_type = self.label(block, kind)?;
        let local_name = match block.body.get_attribute("provider") {
            Some(attr) => self.provider_reference(attr, &format!("{kind} \"{resource_type}\""))?,
            None => resource_type
                .split_once('_')
                .map_or(resource_type.as_str(), |(prefix, _)| prefix)
                .to_owned(),
        };
        Ok(Used {
            local_name,
            constraint: None,
            origin: self.origin(block.span()),
        })
    }

    /// `provider = NAME` or `provider = NAME.ALIAS` (or the pre-0.12 string `"NAME.ALIAS"`):
    /// the local name.
    fn provider_reference(&self, attr: &Attribute, what: &str) -> Result<String, ConfigError> {
        let name = match &attr.value {
            Expression::Variable(v) => Some(v.as_str().to_owned()),
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [op])
                    if matches!(**op, TraversalOperator::GetAttr(_)) =>
                {
                    Some(v.as_str().to_owned())
                }
                _ => None,
            },
            Expression::String(s) => s.split('.').next().map(str::to_owned),
            _ => None,
        };
        name.filter(|n| !n.is_empty()).ok_or_else(|| {
            self.invalid(
                attr.span(),
                format!("{what}: `provider` is not a provider reference (NAME or NAME.ALIAS)"),
            )
        })
    }

    /// One `required_providers` entry: `NAME = "CONSTRAINT"` (the legacy form) or
    /// `NAME = { source = "...", version = "..." }`.
    fn required(&self, attr: &Attribute) -> Result<Required, ConfigError> {
        let local_name = attr.key.as_str().to_owned();
        let what = format!("required_providers entry `{local_name}`");
        let mut required = Required {
            local_name,
            source: None,
            constraint: None,
            origin: self.origin(attr.span()),
        };
        match &attr.value {
            Expression::String(s) => required.constraint = Some(s.as_str().to_owned()),
            Expression::Object(object) => {
                for (key, value) in object.iter() {
                    let key = match key {
                        ObjectKey::Ident(i) => i.as_str().to_owned(),
                        ObjectKey::Expression(Expression::String(s)) => s.as_str().to_owned(),
                        ObjectKey::Expression(_) => continue,
                    };
                    let text =
                        || match value.expr() {
                            Expression::String(s) => Ok(s.as_str().to_owned()),
                            _ => Err(self
                                .invalid(attr.span(), format!("{what}: `{key}` is not a string"))),
                        };
                    match key.as_str() {
                        "source" => required.source = Some(text()?),
                        "version" => required.constraint = Some(text()?),
                        _ => {}
                    }
                }
            }
            _ => {
                return Err(self.invalid(
                    attr.span(),
                    format!("{what} is neither a version string nor an object"),
                ));
            }
        }
        Ok(required)
    }

    /// An attribute whose value must be a literal string (Terraform evaluates these without
    /// variables).
    fn string(&self, attr: &Attribute, what: &str) -> Result<String, ConfigError> {
        match &attr.value {
            Expression::String(s) => Ok(s.as_str().to_owned()),
            _ => Err(self.invalid(
                attr.span(),
                format!("{what}: `{}` is not a literal string", attr.key.as_str()),
            )),
        }
    }
}
