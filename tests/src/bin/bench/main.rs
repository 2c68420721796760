//! `wysiwys-bench`: complete two-channel flows against a real server, and
//! the crypto-only loop they are bounded by, in one run.
//!
//! Build everything in release first: `cargo build --release --workspace --bins`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: failures abort the run

use clap::Parser;
use p256::ecdsa::SigningKey;
use p256::elliptic_curve::Generate;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wysiwys_confirm::store::Account;
use wysiwys_proto::api::{AckOutcome, PairDeviceRequest, PairDeviceResponse, RequestState};
use wysiwys_proto::device_auth::{PairingClaims, pairing_proof};
use wysiwys_proto::sad::{self, Decision};
use wysiwys_proto::{Jwk, jws};
use wysiwys_tests::{Browser, Db, ScriptedDevice, TestServer};

#[derive(Parser, Debug)]
#[command(about = "Two-channel flows per second, latency, and the crypto-only bound")]
struct Args {
    /// Complete flows to run in total.
    #[arg(long, default_value_t = 2000)]
    flows: usize,
    /// Concurrent browser + device pairs (one user each).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// sqlite, postgres, or both (one after the other, then side by side).
    #[arg(long, value_enum, default_value_t = DbChoice::Sqlite)]
    db: DbChoice,
    /// Iterations of the crypto-only loop (per thread).
    #[arg(long, default_value_t = 3000)]
    crypto_iterations: usize,
    /// Instead of flows: CSC `signHash` throughput for 1-hash and 100-hash
    /// authorizations, against the raw HSM rate.
    #[arg(long)]
    csc: bool,
    /// CSC mode: authorizations per size.
    #[arg(long, default_value_t = 20)]
    csc_rounds: usize,
    #[command(subcommand)]
    internal: Option<Internal>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DbChoice {
    Sqlite,
    Postgres,
    Both,
}

impl DbChoice {
    fn backends(self) -> &'static [Db] {
        match self {
            DbChoice::Sqlite => &[Db::Sqlite],
            DbChoice::Postgres => &[Db::Postgres],
            DbChoice::Both => &[Db::Sqlite, Db::Postgres],
        }
    }
}

#[derive(clap::Subcommand, Debug)]
enum Internal {
    /// Runs the crypto loop against a server's token (started by the bench
    /// itself, with SOFTHSM2_CONF set for this process only).
    #[command(hide = true)]
    CryptoLoop { data_dir: std::path::PathBuf, iterations: usize, threads: usize },
}

mod csc;

const LETTER: &str = "Benchmark letter\n\nDear citizen, this letter is signed many times over.\n";

fn main() {
    let args = Args::parse();
    if let Some(Internal::CryptoLoop { data_dir, iterations, threads }) = &args.internal {
        let rate = crypto_loop(data_dir, *iterations, *threads);
        let device = device_loop(*iterations, *threads);
        let raw_one = raw_hsm_rate(data_dir, *iterations, 1);
        let raw_all = raw_hsm_rate(data_dir, *iterations, *threads);
        println!("{rate} {device} {raw_one} {raw_all}");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run(args));
}

struct Pair {
    browser: Browser,
    device: ScriptedDevice,
}

async fn set_up_pair(server: &TestServer, index: usize, extra: &[&str]) -> Pair {
    let creds = server.create_user_with(&format!("bench{index}"), extra);
    let mut browser = Browser::new(server);
    browser.login(server, &creds).await.unwrap();
    let pairing = browser.pairing_code().await.unwrap();
    let uri: wysiwys_proto::pairing::PairingUri = pairing.uri.parse().unwrap();
    let key = SigningKey::try_generate().unwrap();
    let claims = PairingClaims {
        aud: server.origin.clone(),
        code: uri.code.clone(),
        jwk: Jwk::from_verifying_key(key.verifying_key()),
        name: format!("bench device {index}"),
        iat: wysiwys_tests::system_now_s(),
        activation: creds.activation_code.clone(),
    };
    let proof = pairing_proof(&key, &claims).unwrap();
    let paired: PairDeviceResponse = reqwest::Client::new()
        .post(format!("{}/api/devices/pair", server.origin))
        .json(&PairDeviceRequest { proof })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account = Account {
        server_origin: paired.server_origin,
        device_id: paired.device_id,
        device_name: claims.name,
        user_id: paired.user_id,
        username: paired.username,
        channel_key: paired.channel_key,
        counter: 0,
    };
    let device = ScriptedDevice::connect(account, key).await.unwrap();
    Pair { browser, device }
}

/// One complete flow: upload, both channels confirm concurrently, signed.
/// Whichever channel's answer reached the request second made the
/// signature, and its own reply says so: the flow ends on that reply,
/// never on a poll.
async fn flow(pair: &mut Pair) -> Duration {
    let start = Instant::now();
    let created = pair.browser.upload_letter(LETTER).await.unwrap();
    let Pair { browser, device } = pair;
    let web = browser.confirm_as_displayed(&created.id);
    let dev = async {
        let push = device.next_push().await;
        let token = device.sad(&push, Decision::Approve);
        device.submit(&push.claims.req, &token).await
    };
    let (web, ack) = tokio::join!(web, dev);
    let web = web.map(|v| v.state);
    let device = match ack {
        AckOutcome::Accepted { state } => Ok(state),
        refused => Err(refused),
    };
    assert!(
        web == Ok(RequestState::Signed) || device == Ok(RequestState::Signed),
        "neither channel's reply says signed: web {web:?}, device {device:?}"
    );
    start.elapsed()
}

async fn run(args: Args) {
    let mut reports = Vec::new();
    for &db in args.db.backends() {
        if let Some(report) = run_on(&args, db).await {
            reports.push(report);
        }
    }
    if reports.len() > 1 {
        println!("side by side:");
        println!("  {:<10} {:>8} {:>12} {:>9} {:>14}", "database", "flows/s", "ratio/bound", "p99 ms", "server CPU ms");
        for r in &reports {
            println!(
                "  {:<10} {:>8.0} {:>12.2} {:>9.1} {:>14.2}",
                format!("{:?}", r.db),
                r.flows_per_s,
                r.ratio_to_bound,
                r.p99_ms,
                r.server_cpu_ms
            );
        }
    }
}

/// The headline numbers of one database's run of flows.
struct FlowReport {
    db: Db,
    flows_per_s: f64,
    ratio_to_bound: f64,
    p99_ms: f64,
    server_cpu_ms: f64,
}

/// One database: the CSC measurement, or the flows (whose headline it returns).
async fn run_on(args: &Args, db: Db) -> Option<FlowReport> {
    // The HSM gets as many signing threads as there are cores, as an
    // operator would set for a token that signs in parallel: the yardstick
    // is the HSM's best rate, on one thread or on all.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).to_string();
    let server =
        TestServer::start_with(db, &["--request-rate-per-minute", "100000000", "--hsm-signing-threads", &cores]).await;
    if args.csc {
        csc::run(&server, db, args.csc_rounds, args.crypto_iterations).await;
        return None;
    }
    eprintln!("server at {} ({:?}); setting up {} pairs", server.origin, db, args.concurrency);
    let mut pairs = Vec::new();
    for i in 0..args.concurrency {
        pairs.push(set_up_pair(&server, i, &[]).await);
    }
    // Warm-up: connections, caches, the first HSM sessions.
    for pair in &mut pairs {
        flow(pair).await;
    }
    let per_pair = args.flows.div_ceil(args.concurrency);
    let server_cpu_before = cpu_seconds(server.pid());
    let client_cpu_before = cpu_seconds(std::process::id());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut pair in pairs {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_pair);
            for _ in 0..per_pair {
                latencies.push(flow(&mut pair).await);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    let server_cpu = cpu_seconds(server.pid()) - server_cpu_before;
    let client_cpu = cpu_seconds(std::process::id()) - client_cpu_before;
    latencies.sort();
    let flows_per_s = latencies.len() as f64 / wall.as_secs_f64();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];

    // The crypto-only loop, on the same token, with as many threads as cores.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let RawRates { crypto: crypto_rate, device: device_rate, .. } =
        crypto_loop_subprocess(&server, args.crypto_iterations, threads);
    // The flows also pay the device's crypto (on the same cores here): the
    // best a flow can do is both loops back to back.
    let crypto_bound = 1.0 / (1.0 / crypto_rate + 1.0 / device_rate);
    let n = latencies.len() as f64;
    let signatures = server.hsm_user_signatures().await;

    println!(
        "wysiwys-bench ({:?}, {} flows, {} concurrent pairs, {} cores)",
        db,
        latencies.len(),
        args.concurrency,
        threads
    );
    println!("  complete two-channel flows: {flows_per_s:.0} flows/s");
    println!("  latency p50 {:.1} ms, p99 {:.1} ms", ms(pct(0.50)), ms(pct(0.99)));
    println!("  crypto-only loop (HSM sign + SAD verify + challenge signature): {crypto_rate:.0} loops/s");
    println!("  ratio flows / crypto loop: {:.2}", flows_per_s / crypto_rate);
    println!("  device-side crypto loop (push verify + SAD signature): {device_rate:.0} loops/s");
    println!(
        "  crypto bound for a whole flow (server + device crypto, same cores): {crypto_bound:.0} flows/s; ratio to it {:.2}",
        flows_per_s / crypto_bound
    );
    println!(
        "  CPU per flow: server {:.2} ms, benchmark client (browser + device) {:.2} ms",
        server_cpu * 1000.0 / n,
        client_cpu * 1000.0 / n
    );
    println!("  user-key HSM signatures during the run: {signatures}");
    Some(FlowReport {
        db,
        flows_per_s,
        ratio_to_bound: flows_per_s / crypto_bound,
        p99_ms: ms(pct(0.99)),
        server_cpu_ms: server_cpu * 1000.0 / n,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// CPU time (user + system) of a process so far, from /proc (Linux). A
/// process whose figures cannot be read ends the run: never a zero.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process's /proc/<pid>/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).expect("a /proc stat line");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).expect("utime and stime in /proc stat");
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here; USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// What the crypto loops measured, each in operations per second.
struct RawRates {
    crypto: f64,
    device: f64,
    /// HSM signatures, one after another on one thread.
    hsm_one_thread: f64,
    /// HSM signatures on as many threads as the loop was given.
    hsm_all_threads: f64,
}

fn crypto_loop_subprocess(server: &TestServer, iterations: usize, threads: usize) -> RawRates {
    let conf = server.data_dir().join("softhsm2.conf");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("crypto-loop")
        .arg(server.data_dir())
        .arg(iterations.to_string())
        .arg(threads.to_string())
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let rates: Vec<f64> = text.split_whitespace().map(|r| r.parse::<f64>().unwrap()).collect();
    assert_eq!(rates.len(), 4, "the crypto loop printed {text}");
    RawRates { crypto: rates[0], device: rates[1], hsm_one_thread: rates[2], hsm_all_threads: rates[3] }
}

fn open_hsm(data_dir: &std::path::Path) -> wysiwys_server::hsm::Hsm {
    use wysiwys_server::hsm::{Hsm, Pins};
    let pin = wysiwys_server::hsm::softhsm::pin_file(&data_dir.join("hsm-user.pin"), false).unwrap().unwrap();
    let module = std::path::Path::new(wysiwys_server::config::DEFAULT_SOFTHSM_MODULE);
    Hsm::open(module, "wysiwys", &Pins { user: pin, so: None }).unwrap()
}

/// HSM ECDSA signatures, one after another on each of `threads` threads:
/// what `signHash` does per hash, without anything around it.
fn raw_hsm_rate(data_dir: &std::path::Path, iterations: usize, threads: usize) -> f64 {
    let hsm = open_hsm(data_dir);
    rate_on_threads(iterations, threads, || {
        hsm.sign_as_channel(&[7u8; 32]).unwrap();
    })
}

/// One HSM signature (the user's signature stands in as a channel-key
/// signature: same mechanism, same token), one SAD verification, one
/// challenge signature; `threads` threads in parallel.
fn crypto_loop(data_dir: &std::path::Path, iterations: usize, threads: usize) -> f64 {
    let hsm = Arc::new(open_hsm(data_dir));
    let device = SigningKey::try_generate().unwrap();
    let claims = bench_sad_claims();
    let token = sad::build(&device, &claims).unwrap();
    let verifying = *device.verifying_key();
    let challenge_input = jws::signing_input("wysiwys-challenge+jwt", "k", &claims).unwrap();
    let one = || {
        hsm.sign_as_channel(b"signed attributes stand-in").unwrap();
        sad::verify(&token, &verifying, claims.iat + 1).unwrap();
        hsm.sign_as_channel(challenge_input.as_bytes()).unwrap();
    };
    rate_on_threads(iterations, threads, one)
}

/// Runs `one` `iterations` times on each of `threads` threads (after a
/// short warm-up) and returns calls per second.
fn rate_on_threads(iterations: usize, threads: usize, one: impl Fn() + Sync) -> f64 {
    for _ in 0..100 {
        one();
    }
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..iterations {
                    one();
                }
            });
        }
    });
    (iterations * threads) as f64 / started.elapsed().as_secs_f64()
}

/// What the device does per flow: verify the server's push, sign a SAD.
fn device_loop(iterations: usize, threads: usize) -> f64 {
    use wysiwys_proto::challenge::{self, CHALLENGE_TYP, ChallengeClaims, Expectation};
    let channel = SigningKey::try_generate().unwrap();
    let device = SigningKey::try_generate().unwrap();
    let summary = wysiwys_proto::summary::render("text/plain", LETTER.as_bytes()).unwrap();
    let claims = ChallengeClaims {
        iss: "http://127.0.0.1".into(),
        aud: "device".into(),
        sub: "user".into(),
        req: "request".into(),
        cred: "credential".into(),
        rp: "bench".into(),
        doc: summary.doc.sha256.clone(),
        sum: wysiwys_proto::b64::encode(summary.hash()),
        summary,
        rv: wysiwys_proto::RENDER_VERSION.into(),
        chal: wysiwys_proto::b64::encode([3u8; 32]),
        iat: 1_800_000_000,
        exp: 1_800_000_300,
    };
    let token = jws::sign(&channel, CHALLENGE_TYP, "k", &claims).unwrap();
    let one = || {
        let expect = Expectation {
            server_origin: "http://127.0.0.1",
            device_id: "device",
            channel_key: channel.verifying_key(),
            now: 1_800_000_001,
        };
        let shown = challenge::verify(&token, expect).unwrap();
        sad::build(&device, &shown.sad_claims(Decision::Approve, 1, 1_800_000_001)).unwrap();
    };
    rate_on_threads(iterations, threads, one)
}

fn bench_sad_claims() -> wysiwys_proto::sad::SadClaims {
    let b = |n: u8| wysiwys_proto::b64::encode([n; 32]);
    wysiwys_proto::sad::SadClaims {
        iss: "device".into(),
        sub: "user".into(),
        aud: "http://127.0.0.1".into(),
        req: "request".into(),
        cred: "credential".into(),
        doc: b(1),
        sum: b(2),
        rv: wysiwys_proto::RENDER_VERSION.into(),
        chal: b(3),
        vc: "1234".into(),
        dec: Decision::Approve,
        iat: 1_800_000_000,
        exp: 1_800_000_300,
        ctr: 1,
    }
}
