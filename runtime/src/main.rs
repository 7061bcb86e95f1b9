//! The `cordon` command: run providers, replay recorded streams, inspect components.

mod cli;

/// mimalloc rather than glibc's malloc: a gateway turn allocates and frees
/// many small blocks (hyper, reqwest, the lifted events), and glibc's malloc
/// and free took about a tenth of a short turn's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
