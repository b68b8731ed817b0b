//! The `distml` command-line tool: a thin binary over the `distml` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
