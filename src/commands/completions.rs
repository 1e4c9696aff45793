//! `opp completions SHELL` and the hidden `opp man DIR`: generated from the clap command tree.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

pub fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "opp",
        &mut std::io::stdout(),
    );
    Ok(())
}

pub fn man(args: ManArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    clap_mangen::generate_to(Cli::command(), &args.dir)?;
    Ok(())
}
