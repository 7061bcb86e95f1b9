//! `xtask-lang DIR NAME`: build the guest in `DIR`, written in Python,
//! JavaScript, C or Go, into the component `target/guests/NAME.wasm`. `cargo xtask` runs it when it
//! meets such a guest; it lives apart from xtask so that the bindings
//! generators and the component encoder it needs are compiled only then, never
//! for the demo.
//!
//! `xtask-lang --tools` installs the pinned Python and JavaScript tools alone
//! (they include the official API clients the gateway's tests drive);
//! `cargo xtask test` runs it before the tests.
//!
//! A guest folder's language is told by what is in it (see [`lang::Lang`]);
//! toolchains are installed on first use into the repository's ignored
//! `.tools/` (see [`toolchain`]).

mod c;
mod go;
mod js;
mod lang;
mod python;
mod stamp;
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        // The pinned tools the tests use besides the guests' builds: the
        // official OpenAI and Anthropic clients the gateway's tests drive.
        [flag] if flag == "--tools" => toolchain::python(&root()).and_then(|_| toolchain::node(&root())).map(drop),
        [dir, name] => lang::build(&root(), Path::new(dir), name).map(drop),
        _ => {
            eprintln!("usage: xtask-lang DIR NAME | --tools (run by `cargo xtask build` and `cargo xtask test`)");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // xtask/lang/ sits two levels below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
}
