//! The `veiviser` binary: parse the command line, set up logging, run the subcommand.
//! Everything else lives in the library so tests, examples and benches share it.

use std::process::ExitCode;

use clap::Parser;
use veiviser::config::{Cli, Command, Config, LexiconCommand};
use veiviser::startup::{Application, shutdown_signal};
use veiviser::{commands, telemetry};

// glibc's malloc spent a fifth of the router's time under load (arena locks, consolidation);
// mimalloc's per-thread heaps suit many small short-lived allocations per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let result = match &cli.command {
        Command::Serve(args) => serve(Config::from(args)).await,
        Command::Validate { paths, catalogue } => commands::validate(paths, &catalogue.source()),
        Command::Schema { out } => commands::write_schemas(out),
        Command::Import {
            path,
            data,
            catalogue,
        } => commands::import(path, &data.data_dir, &catalogue.source()).await,
        Command::Route(args) => commands::route(args),
        Command::Export(args) => commands::export(args),
        Command::Lexicon(LexiconCommand::Build(args)) => commands::build_lexicon(args),
        Command::Lexicon(LexiconCommand::Eval(args)) => commands::evaluate(args),
    };
    result.unwrap_or_else(|e| {
        tracing::error!("{e:#}");
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let app = Application::build(config).await?;
    app.run_until(shutdown_signal()).await;
    Ok(ExitCode::SUCCESS)
}
