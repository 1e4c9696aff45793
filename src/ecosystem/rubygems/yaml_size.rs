//! How large a YAML document becomes once loaded, measured before it is loaded. yaml-rust2's
//! loader copies the node an alias names at each use, so a few KiB of nested aliases ("billion
//! laughs") load into gigabytes; and dropping a loaded tree recurses once per level, so very
//! deep nesting overflows the stack. [`check`] walks the parser's events without building
//! anything, counting every node (an alias as the size of what it names) and the nesting
//! depth, and stops at the first bound crossed. Gem specifications legitimately hold a few
//! small aliases (Psych writes `&1`/`*1` when one requirement object appears twice), so
//! aliases are counted, not refused. Pure: text in, a verdict out.

use std::collections::HashMap;

use yaml_rust2::Event;
use yaml_rust2::parser::Parser;

/// Why a document is refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TooLarge {
    /// More than `max` nodes with aliases expanded.
    Nodes { max: u64 },
    /// Collections nested deeper than `max`.
    Depth { max: usize },
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooLarge::Nodes { max } => write!(
                f,
                "larger than opp reads: with its aliases expanded it holds more than {max} YAML \
                 nodes (a YAML alias bomb, not a gem)"
            ),
            TooLarge::Depth { max } => write!(
                f,
                "nested more than {max} levels deep, deeper than opp reads"
            ),
        }
    }
}

/// An open collection: its anchor (0 for none) and the node count when it started.
struct Open {
    anchor: usize,
    start: u64,
}

/// Checks `yaml` against `max_nodes` and `max_depth`. Text the parser cannot read passes:
/// loading it reports the syntax error.
pub(super) fn check(yaml: &str, max_nodes: u64, max_depth: usize) -> Result<(), TooLarge> {
    let mut parser = Parser::new_from_str(yaml);
    // Node count of each anchored node, aliases inside it expanded.
    let mut anchored: HashMap<usize, u64> = HashMap::new();
    let mut open: Vec<Open> = Vec::new();
    let mut nodes: u64 = 0;
    loop {
        let Ok((event, _)) = parser.next_token() else {
            return Ok(());
        };
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(_, _, anchor, _) => {
                nodes = nodes.saturating_add(1);
                if anchor > 0 {
                    anchored.insert(anchor, 1);
                }
            }
            Event::Alias(anchor) => {
                let size = anchored.get(&anchor).copied().unwrap_or(1);
                nodes = nodes.saturating_add(size);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if open.len() >= max_depth {
                    return Err(TooLarge::Depth { max: max_depth });
                }
                open.push(Open {
                    anchor,
                    start: nodes,
                });
                nodes = nodes.saturating_add(1);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(done) = open.pop()
                    && done.anchor > 0
                {
                    anchored.insert(done.anchor, nodes - done.start);
                }
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
        if nodes > max_nodes {
            return Err(TooLarge::Nodes { max: max_nodes });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `levels` levels of anchors, each a list of ten aliases to the one before: 10^levels
    /// nodes once expanded, from a few hundred bytes.
    fn alias_bomb(levels: usize) -> String {
        let mut yaml = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..=levels {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            yaml.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        yaml
    }

    #[test]
    fn an_alias_bomb_is_refused_before_it_is_loaded() {
        assert_eq!(
            check(&alias_bomb(9), 250_000, 64),
            Err(TooLarge::Nodes { max: 250_000 })
        );
    }

    #[test]
    fn aliases_count_as_what_they_name() {
        // 1 mapping + 2 keys + a list of 3 (4 nodes) + an alias to it (4 nodes) = 11.
        let yaml = "a: &x [1, 2, 3]\nb: *x\n";
        assert_eq!(check(yaml, 11, 64), Ok(()));
        assert_eq!(check(yaml, 10, 64), Err(TooLarge::Nodes { max: 10 }));
    }

    #[test]
    fn a_gem_specification_with_a_shared_requirement_passes() {
        // As Psych writes a dependency whose requirement object appears twice.
        let yaml = "--- !ruby/object:Gem::Specification\nname: a\ndependencies:\n\
                    - !ruby/object:Gem::Dependency\n  name: rake\n  requirement: &1 \
                    !ruby/object:Gem::Requirement\n    requirements:\n    - - \">=\"\n      - \
                    !ruby/object:Gem::Version\n        version: '0'\n  type: :runtime\n  \
                    version_requirements: *1\n";
        assert_eq!(check(yaml, 100, 64), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(check(&deep, 250_000, 64), Err(TooLarge::Depth { max: 64 }));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(check(&ok, 250_000, 64), Ok(()));
    }

    #[test]
    fn broken_yaml_is_left_to_the_loader() {
        assert_eq!(check("a: [1, 2", 10, 64), Ok(()));
    }
}
