//! Command-line parsing and dispatch; each subcommand lives in its own file.

mod describe;
mod evaluate;
mod exit;
mod generate;
mod predict;
mod progress;
mod ps;
mod runs;
mod serve;
mod train;
mod tune;
mod worker;

use clap::{Parser, Subcommand};

/// distml: distributed machine-learning training. Progress goes to stderr, results to stdout.
#[derive(Debug, Parser)]
#[command(name = "distml", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a synthetic dataset (TLC taxi trip records) for offline runs.
    #[command(subcommand)]
    Generate(generate::GenerateCommand),
    /// Print a per-column summary (count, nulls, mean, std, min, max) as JSON.
    Describe(describe::DescribeArgs),
    /// Train a model (default: the taxi duration job on a generated month); summary JSON last.
    Train(Box<train::TrainCommand>),
    /// Sweep hyperparameters (grid/random, k-fold CV, ASHA), trials as nested MLflow runs.
    Tune(Box<tune::TuneArgs>),
    /// Score files with a saved model; writes the key columns plus `prediction` (Parquet/CSV).
    Predict(predict::PredictArgs),
    /// Print a saved model's metrics on new files as JSON.
    Evaluate(evaluate::EvaluateArgs),
    /// The local run store: list, show, and sync runs into an MLflow server.
    Runs(runs::RunsCommand),
    /// Serve a saved model over HTTP in MLflow's scoring protocol (one or several replicas).
    Serve(serve::ServeArgs),
    /// A worker process of a distributed job (reads DISTML_COORDINATOR, DISTML_CLUSTER_TOKEN…).
    Worker(worker::WorkerArgs),
    /// A parameter-server shard process of a distributed job.
    Ps(ps::PsArgs),
}

/// Parses arguments, runs the command and maps errors to exit codes (2: bad input, 1: other).
pub(crate) fn run() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(cmd) => generate::run(cmd),
        Command::Describe(args) => describe::run(args),
        Command::Train(args) => train::run(*args),
        Command::Tune(args) => tune::run(*args),
        Command::Predict(args) => predict::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Runs(cmd) => runs::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Ps(args) => ps::run(args),
    };
    exit::report(result)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
