//! quota: watch how much of its quota every Claude API key or workspace has used.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use log::LevelFilter;

fn main() -> ExitCode {
    // `COMPLETE=bash quota …`: the shell asks for completions (see packaging/completions).
    clap_complete::CompleteEnv::with_factory(quota::Cli::command).complete();
    let matches = quota::Cli::command().get_matches();
    let cli = match quota::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging(cli.verbose, cli.quiet);
    match quota::run(cli, &matches) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, whatever the chain holds. The only place quota prints an error.
            let msg = format!("{err:#}").replace('\n', " ");
            #[allow(clippy::print_stderr)]
            {
                eprintln!("quota: error: {msg}");
            }
            ExitCode::from(quota::exit_code(&err))
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Warn,
        (false, 1) => LevelFilter::Info,
        (false, 2) => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    let mut b = env_logger::Builder::new();
    b.filter_level(level);
    if let Ok(filters) = std::env::var("RUST_LOG") {
        b.parse_filters(&filters);
    }
    // ureq logs requests and responses at debug and trace, headers included; capped here,
    // after RUST_LOG, so no setting can make it print the admin key.
    b.filter_module("ureq", LevelFilter::Info);
    b.filter_module("ureq_proto", LevelFilter::Info);
    b.filter_module("rustls", LevelFilter::Info);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        // journald stamps every line itself.
        b.format_timestamp(None);
    } else if level >= LevelFilter::Debug || std::env::var_os("RUST_LOG").is_some() {
        // Milliseconds when debugging: the gaps between lines are where a sync spends its
        // time. Seconds otherwise, 4 columns fewer on an 80-column terminal.
        b.format_timestamp_millis();
    }
    b.write_style(if std::io::stderr().is_terminal() {
        env_logger::WriteStyle::Auto
    } else {
        env_logger::WriteStyle::Never
    });
    b.init();
}
