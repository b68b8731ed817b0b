//! The `distml` command-line tool: a thin binary over the `distml` library.

mod cli;

/// mimalloc reuses freed memory instead of returning every large buffer to the kernel, which
/// otherwise costs a page fault and a page clear per 4 KiB of each partition-sized array.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}
