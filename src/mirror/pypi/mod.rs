//! The PyPI half of `opp mirror`: read a simple index (PEP 503/691, `index`), the dependencies
//! of each chosen version (PEP 658 metadata or the wheel's METADATA, `metadata`), close over
//! them for every target environment (`environment`, `resolve`), and hand the files to the
//! shared pipeline.

pub mod environment;
pub mod index;
pub mod metadata;
pub mod resolve;
