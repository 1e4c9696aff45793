//! The `opp` binary: parse arguments, run the command, render errors, exit with a status
//! that says what happened (see `opp --help`).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use opp::cli::Cli;
use opp::error::{self, exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                error::Kind::Usage.exit_code()
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // -v: opp's and oci-client's debug lines; below them (reqwest, hyper) only on OPP_LOG.
    let filter = match std::env::var("OPP_LOG") {
        Ok(directives) if !directives.is_empty() => tracing_subscriber::EnvFilter::new(directives),
        _ if cli.global.verbose => {
            tracing_subscriber::EnvFilter::new("warn,opp=debug,oci_client=debug")
        }
        _ => tracing_subscriber::EnvFilter::from_env("OPP_LOG"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(opp::commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The kind (exit status) and hints come from the typed errors in the chain.
            let report = error::report(&err);
            let color = std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            eprintln!("{}", error::render_with_hints(&err, &report.hints, color));
            ExitCode::from(report.kind.exit_code())
        }
    }
}
