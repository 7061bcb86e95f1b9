//! `cargo xtask fuzz [TARGET...] [--seconds N]`: build the fuzz targets in
//! `fuzz/` with libFuzzer's sanitizer-coverage instrumentation (the flags
//! cargo-fuzz passes, all of them stable) and run each for N seconds (default
//! 600), starting from the small seed corpus in `fuzz/seeds/<target>` and
//! growing `fuzz/corpus/<target>` (ignored). Prints each target's executions;
//! a crash stops with the input that caused it in `fuzz/artifacts/<target>/`.
//! A benchmark-style command: not part of `cargo xtask test`.

use std::path::Path;
use std::process::Command;

/// Every fuzz target, as `fuzz/Cargo.toml` names its binaries.
const TARGETS: [&str; 4] = ["sse", "ndjson", "grammar", "manifest"];

/// What cargo-fuzz adds to RUSTFLAGS (without a sanitizer, which needs nightly).
const INSTRUMENTATION: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
     -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
     -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// Run the fuzz command with its arguments (after `fuzz`).
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut seconds: u64 = 600;
    let mut targets: Vec<&str> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args.next().and_then(|s| s.parse().ok()).ok_or("--seconds takes a number of seconds")?;
            }
            name => match TARGETS.iter().find(|t| **t == name) {
                Some(target) => targets.push(target),
                None => return Err(format!("unknown fuzz target `{name}`; the targets are {}", TARGETS.join(", "))),
            },
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let fuzz = root.join("fuzz");
    let host = host_triple()?;
    eprintln!("xtask: building the fuzz targets for {host} with coverage instrumentation (a first build compiles the host library, several minutes)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--bins", "--target", &host])
        .current_dir(&fuzz)
        .env("RUSTFLAGS", INSTRUMENTATION)
        .env("CARGO_TARGET_DIR", fuzz.join("target"))
        .status()
        .map_err(|err| format!("cannot run {cargo}: {err}"))?;
    if !status.success() {
        return Err("building the fuzz targets failed".into());
    }
    let mut report = Vec::new();
    for target in targets {
        let corpus = fuzz.join("corpus").join(target);
        let artifacts = fuzz.join("artifacts").join(target);
        for dir in [&corpus, &artifacts] {
            std::fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        }
        eprintln!("xtask: fuzzing `{target}` for {seconds} s");
        let output = Command::new(fuzz.join(format!("target/{host}/release/{target}")))
            .arg(&corpus)
            .arg(fuzz.join("seeds").join(target))
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg("-print_final_stats=1")
            .output()
            .map_err(|err| format!("cannot run the `{target}` fuzzer: {err}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let stat = |name: &str| {
            log.lines()
                .find_map(|line| line.strip_prefix(&format!("stat::{name}:")).map(|v| v.trim().to_owned()))
                .unwrap_or_else(|| "?".into())
        };
        let corpus_size = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
        let line = format!(
            "{target}: {} executions in {seconds} s (~{}/s), {corpus_size} corpus entries, peak RSS {} MB",
            stat("number_of_executed_units"),
            stat("average_exec_per_sec"),
            stat("peak_rss_mb")
        );
        eprintln!("xtask: {line}");
        report.push(line);
        if !output.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(format!(
                "the `{target}` fuzzer found a failure (input saved in {}):\n{}",
                artifacts.display(),
                tail.join("\n")
            ));
        }
    }
    println!("{}", report.join("\n"));
    Ok(())
}

/// The host's target triple (so the instrumentation flags skip build scripts
/// and proc macros, as cargo-fuzz does).
fn host_triple() -> Result<String, String> {
    let output = Command::new("rustc").arg("-vV").output().map_err(|err| format!("cannot run rustc: {err}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| "rustc -vV did not say the host triple".into())
}
