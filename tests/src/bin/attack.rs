//! `wysiwys-attack`: plays the catalogue of channel attacks against a
//! wysiwys server and reports, for each, the refusal expected, the answer
//! observed, whether a signature was produced, and PASS or FAIL.

use clap::{Parser, Subcommand};
use secrecy::SecretString;
use std::io::Write;
use std::path::PathBuf;
use wysiwys_tests::attack::{self, Lab, Report, Verdict};

#[derive(Parser, Debug)]
#[command(name = "wysiwys-attack", version, about = "Simulate channel attacks against a wysiwys server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every scenario, with what it does and the refusal the server must answer.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Plays the scenarios against a server; exits 1 if any fails.
    Run {
        /// The server's origin, e.g. https://sign.example or http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// File whose first line is the server's operator token (its --admin-token-file).
        #[arg(long, env = "WYSIWYS_ADMIN_TOKEN_FILE")]
        admin_token_file: PathBuf,
        /// PEM file of a private CA the server's TLS certificate chains to.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Play only these scenarios (repeat the flag); all of them when absent.
        #[arg(long = "scenario")]
        scenarios: Vec<String>,
        /// One JSON document with every report, instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List { json } => {
            list(json);
            std::process::ExitCode::SUCCESS
        }
        Command::Run { server, admin_token_file, ca_file, scenarios, json } => {
            match run(&server, &admin_token_file, ca_file.as_deref(), &scenarios, json) {
                Ok(true) => std::process::ExitCode::SUCCESS,
                Ok(false) => std::process::ExitCode::from(1),
                Err(e) => {
                    eprintln!("wysiwys-attack: {e:#}");
                    std::process::ExitCode::from(2)
                }
            }
        }
    }
}

fn list(json: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = attack::catalogue()
            .iter()
            .map(|s| {
                serde_json::json!({
                    "scenario": s.name,
                    "attacker": s.attacker,
                    "description": s.description,
                    "expected": s.expected_names(),
                })
            })
            .collect();
        let _ = writeln!(out, "{}", serde_json::Value::Array(rows));
        return;
    }
    let _ = writeln!(out, "{:<28} {:<18} {:<32} DESCRIPTION", "SCENARIO", "ATTACKER", "EXPECTED");
    for s in attack::catalogue() {
        let _ = writeln!(
            out,
            "{:<28} {:<18} {:<32} {}",
            s.name,
            s.attacker.as_str(),
            s.expected_names().join("|"),
            s.description
        );
    }
}

fn run(
    server: &str,
    token_file: &std::path::Path,
    ca_file: Option<&std::path::Path>,
    names: &[String],
    json: bool,
) -> anyhow::Result<bool> {
    let chosen: Vec<&attack::Scenario> = if names.is_empty() {
        attack::catalogue().iter().collect()
    } else {
        names
            .iter()
            .map(|n| attack::find(n).ok_or_else(|| anyhow::anyhow!("no scenario {n:?}; see `wysiwys-attack list`")))
            .collect::<anyhow::Result<_>>()?
    };
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| anyhow::anyhow!("admin token file {}: {e}", token_file.display()))?;
    let token = SecretString::from(token.lines().next().unwrap_or_default().trim().to_owned());
    let mut lab = Lab::new(server, token);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("CA file {}: {e}", path.display()))?;
        lab = lab.trusting(&pem)?;
    }
    // A scenario that panics is reported as FAIL; its message is in the report.
    std::panic::set_hook(Box::new(|_| {}));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let reports = runtime.block_on(async {
        let mut reports = Vec::with_capacity(chosen.len());
        for scenario in chosen {
            let report = attack::run(&lab, scenario).await;
            if !json {
                print_row(&report);
            }
            reports.push(report);
        }
        reports
    });
    let passed = reports.iter().filter(|r| r.verdict == Verdict::Pass).count();
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({ "server": server, "passed": passed, "failed": reports.len() - passed, "scenarios": reports })
        );
    } else {
        let _ = writeln!(out, "\n{passed} passed, {} failed", reports.len() - passed);
    }
    Ok(passed == reports.len())
}

fn print_row(r: &Report) {
    let mut out = std::io::stdout().lock();
    let verdict = match r.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    };
    let _ = writeln!(
        out,
        "{verdict:<5} {:<28} expected {:<32} observed {:<24} signature {:<4} {:>6} ms",
        r.scenario,
        r.expected.join("|"),
        r.observed,
        if r.signature_produced { "YES" } else { "no" },
        r.millis
    );
    if !r.detail.is_empty() {
        let _ = writeln!(out, "      {}", r.detail);
    }
}
