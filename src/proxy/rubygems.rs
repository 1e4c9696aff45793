//! The RubyGems frontend of `opp proxy` (work in progress).

pub mod marshal;
