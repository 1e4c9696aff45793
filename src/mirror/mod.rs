//! `opp mirror`: bring packages from an ecosystem's public index into the store, in the layout
//! `opp push` writes. The pipeline every ecosystem shares is here: a plan of files (each with
//! the digest the upstream states), then its execution (skip what is stored with the same
//! digest, download concurrently into temporary files, verify, push through the ecosystem's
//! push path, report per file). What to mirror (the closure, the upstream's protocol) is each
//! ecosystem's own: `pypi/`.

pub mod pypi;
