//! `cordon new provider|tool --lang LANG NAME`: write a ready-to-build guest
//! from a template compiled into the binary: its code, its manifest, a README,
//! and a test (`test/`) that `cargo xtask test-guest` runs through the host.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cordon::Error;

/// What a template makes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A provider (an adapter for a model API).
    Provider,
    /// A tool (actions a model can call).
    Tool,
}

/// The language a template is written in.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, with the guest SDK.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// C, built with clang and wasi-libc.
    C,
    /// Go, built with mainline Go for wasip1.
    Go,
    /// JavaScript, built with jco (componentize-js, SpiderMonkey).
    Js,
}

#[derive(clap::Args)]
pub struct Args {
    /// A provider or a tool.
    kind: Kind,
    /// Its name: 1-64 characters of a-z, 0-9 and `-`, starting with a letter.
    name: String,
    /// The language.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Lang,
    /// The folder the guest's folder is made in.
    #[arg(long, default_value = "guests")]
    dir: PathBuf,
}

/// A template: its files, by path, with `{{name}}`, `{{env}}`, `{{dir}}` and
/// `{{sdk}}` to fill in.
type Template = &'static [(&'static str, &'static str)];

const RUST_PROVIDER: Template = &[
    ("Cargo.toml", include_str!("../../templates/rust-provider/Cargo.toml.tmpl")),
    ("cordon.toml", include_str!("../../templates/rust-provider/cordon.toml")),
    ("README.md", include_str!("../../templates/rust-provider/README.md")),
    ("src/lib.rs", include_str!("../../templates/rust-provider/src/lib.rs")),
    ("test/sample.sse", include_str!("../../templates/rust-provider/test/sample.sse")),
    ("test/expected.jsonl", include_str!("../../templates/rust-provider/test/expected.jsonl")),
];

const RUST_TOOL: Template = &[
    ("Cargo.toml", include_str!("../../templates/rust-tool/Cargo.toml.tmpl")),
    ("cordon.toml", include_str!("../../templates/rust-tool/cordon.toml")),
    ("README.md", include_str!("../../templates/rust-tool/README.md")),
    ("src/lib.rs", include_str!("../../templates/rust-tool/src/lib.rs")),
    ("test/calls.jsonl", include_str!("../../templates/rust-tool/test/calls.jsonl")),
];

const PYTHON_PROVIDER: Template = &[
    ("app.py", include_str!("../../templates/python-provider/app.py")),
    ("provider.py", include_str!("../../templates/python-provider/provider.py")),
    ("chat.py", include_str!("../../templates/python-provider/chat.py")),
    ("cordon.toml", include_str!("../../templates/python-provider/cordon.toml")),
    ("README.md", include_str!("../../templates/python-provider/README.md")),
    ("test/sample.sse", include_str!("../../templates/python-provider/test/sample.sse")),
    ("test/expected.jsonl", include_str!("../../templates/python-provider/test/expected.jsonl")),
];

const PYTHON_TOOL: Template = &[
    ("app.py", include_str!("../../templates/python-tool/app.py")),
    ("cordon.toml", include_str!("../../templates/python-tool/cordon.toml")),
    ("README.md", include_str!("../../templates/python-tool/README.md")),
    ("test/calls.jsonl", include_str!("../../templates/python-tool/test/calls.jsonl")),
];

const C_PROVIDER: Template = &[
    ("provider.c", include_str!("../../templates/c-provider/provider.c")),
    ("turn.c", include_str!("../../templates/c-provider/turn.c")),
    ("chat.c", include_str!("../../templates/c-provider/chat.c")),
    ("provider.h", include_str!("../../templates/c-provider/provider.h")),
    ("json.c", include_str!("../../templates/c-common/json.c")),
    ("json.h", include_str!("../../templates/c-common/json.h")),
    ("cordon.toml", include_str!("../../templates/c-provider/cordon.toml")),
    ("README.md", include_str!("../../templates/c-provider/README.md")),
    ("test/sample.sse", include_str!("../../templates/c-provider/test/sample.sse")),
    ("test/expected.jsonl", include_str!("../../templates/c-provider/test/expected.jsonl")),
];

const C_TOOL: Template = &[
    ("tool.c", include_str!("../../templates/c-tool/tool.c")),
    ("json.c", include_str!("../../templates/c-common/json.c")),
    ("json.h", include_str!("../../templates/c-common/json.h")),
    ("cordon.toml", include_str!("../../templates/c-tool/cordon.toml")),
    ("README.md", include_str!("../../templates/c-tool/README.md")),
    ("test/calls.jsonl", include_str!("../../templates/c-tool/test/calls.jsonl")),
];

const GO_PROVIDER: Template = &[
    ("go.mod", include_str!("../../templates/go-provider/go.mod")),
    ("export_cordon_provider_provider/provider.go", include_str!("../../templates/go-provider/export_cordon_provider_provider/provider.go")),
    ("export_cordon_provider_provider/turn.go", include_str!("../../templates/go-provider/export_cordon_provider_provider/turn.go")),
    ("export_cordon_provider_provider/sse.go", include_str!("../../templates/go-provider/export_cordon_provider_provider/sse.go")),
    ("export_cordon_provider_provider/chat.go", include_str!("../../templates/go-provider/export_cordon_provider_provider/chat.go")),
    ("cordon.toml", include_str!("../../templates/go-provider/cordon.toml")),
    ("README.md", include_str!("../../templates/go-provider/README.md")),
    ("test/sample.sse", include_str!("../../templates/go-provider/test/sample.sse")),
    ("test/expected.jsonl", include_str!("../../templates/go-provider/test/expected.jsonl")),
];

const GO_TOOL: Template = &[
    ("go.mod", include_str!("../../templates/go-tool/go.mod")),
    ("export_cordon_provider_tool/tool.go", include_str!("../../templates/go-tool/export_cordon_provider_tool/tool.go")),
    ("cordon.toml", include_str!("../../templates/go-tool/cordon.toml")),
    ("README.md", include_str!("../../templates/go-tool/README.md")),
    ("test/calls.jsonl", include_str!("../../templates/go-tool/test/calls.jsonl")),
];

const JS_PROVIDER: Template = &[
    ("app.js", include_str!("../../templates/js-provider/app.js")),
    ("turn.js", include_str!("../../templates/js-provider/turn.js")),
    ("chat.js", include_str!("../../templates/js-provider/chat.js")),
    ("errors.js", include_str!("../../templates/js-provider/errors.js")),
    ("rolldown.config.mjs", include_str!("../../templates/js-provider/rolldown.config.mjs")),
    ("cordon.toml", include_str!("../../templates/js-provider/cordon.toml")),
    ("README.md", include_str!("../../templates/js-provider/README.md")),
    ("test/sample.sse", include_str!("../../templates/js-provider/test/sample.sse")),
    ("test/expected.jsonl", include_str!("../../templates/js-provider/test/expected.jsonl")),
];

const JS_TOOL: Template = &[
    ("app.js", include_str!("../../templates/js-tool/app.js")),
    ("cordon.toml", include_str!("../../templates/js-tool/cordon.toml")),
    ("README.md", include_str!("../../templates/js-tool/README.md")),
    ("test/calls.jsonl", include_str!("../../templates/js-tool/test/calls.jsonl")),
];

/// The Rust guest SDK, where this binary was built (Rust templates depend on it by path).
const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/sdk");

pub fn run(args: Args) -> cordon::Result<ExitCode> {
    let valid = args.name.len() <= 64
        && args.name.starts_with(|c: char| c.is_ascii_lowercase())
        && args.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !args.name.contains("--");
    if !valid {
        return Err(Error::Config(format!(
            "`{}` cannot name a guest: use 1-64 characters of a-z, 0-9 and `-`, starting with a letter",
            args.name
        )));
    }
    let template = match (args.kind, args.lang) {
        (Kind::Provider, Lang::Rust) => RUST_PROVIDER,
        (Kind::Tool, Lang::Rust) => RUST_TOOL,
        (Kind::Provider, Lang::Python) => PYTHON_PROVIDER,
        (Kind::Tool, Lang::Python) => PYTHON_TOOL,
        (Kind::Provider, Lang::C) => C_PROVIDER,
        (Kind::Tool, Lang::C) => C_TOOL,
        (Kind::Provider, Lang::Go) => GO_PROVIDER,
        (Kind::Tool, Lang::Go) => GO_TOOL,
        (Kind::Provider, Lang::Js) => JS_PROVIDER,
        (Kind::Tool, Lang::Js) => JS_TOOL,
    };
    let target = args.dir.join(&args.name);
    if target.exists() {
        return Err(Error::Config(format!("{} already exists; pick another name or folder", target.display())));
    }
    let sdk = std::fs::canonicalize(SDK_DIR).unwrap_or_else(|_| PathBuf::from(SDK_DIR));
    let fill = |text: &str| {
        text.replace("{{name}}", &args.name)
            .replace("{{env}}", &args.name.to_uppercase().replace('-', "_"))
            .replace("{{dir}}", &target.display().to_string())
            .replace("{{sdk}}", &sdk.display().to_string())
    };
    for (path, text) in template {
        write(&target.join(path), &fill(text))?;
    }
    println!("created {}", target.display());
    println!("next: cargo xtask test-guest {}   (build it, then run its test in the host)", target.display());
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> cordon::Result<()> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}
