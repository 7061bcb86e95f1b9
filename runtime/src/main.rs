//! The `cordon` command: run providers, replay recorded streams, inspect components.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
