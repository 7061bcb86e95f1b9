//! The `cordon` command: run providers, replay recorded streams, inspect components.

mod cli;

/// mimalloc rather than glibc's malloc: a gateway turn allocates and frees
/// many small blocks (hyper, reqwest, the lifted events), and glibc's malloc
/// and free took about a tenth of a short turn's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // First, so that every page faulted from here on is a small one. A kernel
    // that refuses keeps its default, which costs memory and nothing else.
    let _ = cordon::pages::disable_transparent_huge_pages();
    cli::main()
}
