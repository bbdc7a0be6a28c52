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

/// No transparent huge pages for this process. mimalloc commits its arenas eagerly; with
/// the kernel's THP set to `always`, each touched 2 MiB region became resident whole, and a
/// served default catalogue held 157 MB instead of about 100 MB. Set before the runtime's
/// threads start touching memory; later faults follow it.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument and changes nothing but how
    // this process's pages are backed; failure (an old kernel) is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    no_huge_pages();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let code = runtime.block_on(run());
    // A storage call stuck in a failing disk cannot be cancelled; it must not keep the
    // process from ending.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    if !matches!(cli.command, Command::Serve(_)) {
        end_quietly_on_a_closed_pipe();
    }
    let result = match &cli.command {
        Command::Serve(args) => serve(Config::from(args.as_ref())).await,
        Command::Validate { paths, catalogue } => commands::validate(paths, &catalogue.source()),
        Command::Schema { out } => commands::write_schemas(out),
        Command::Import {
            path,
            data,
            catalogue,
        } => commands::import(path, &data.location(64 << 20), &catalogue.source()).await,
        Command::Route(args) => commands::route(args),
        Command::Export(args) => commands::export(args).await,
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

/// A command's output piped into `head` ends it as it ends any Unix tool, instead of a
/// panic in `println!`. The server keeps Rust's default (writes to a closed socket fail).
fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before other threads print.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
