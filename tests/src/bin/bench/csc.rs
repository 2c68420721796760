//! `--csc`: how close `signatures/signHash` comes to the HSM. Each round
//! authorizes N hashes through both channels (not timed: that is the
//! person), collects the SAD, then signs all N in one `signHash` (timed):
//! one call at a time (the latency a client sees), and then, for the
//! largest size, as many clients at once as there are cores (the
//! throughput a service has). Both are set against the raw HSM rate, on
//! one thread and on every core, in the same run.

use super::{Pair, RawRates, cpu_seconds, crypto_loop_subprocess, set_up_pair};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wysiwys_proto::csc::{OID_ECDSA_WITH_SHA256, OID_SHA256};
use wysiwys_proto::hashes::MEDIA_TYPE_HASHES;
use wysiwys_proto::sad::Decision;
use wysiwys_tests::csc::CscClient;
use wysiwys_tests::{Db, TestServer};

/// The sizes the issue names: one hash, and the most one authorization takes.
const SIZES: [usize; 2] = [1, 100];

pub async fn run(server: &TestServer, db: Db, rounds: usize, crypto_iterations: usize) {
    let rp = server.create_rp("Bench Platform", MEDIA_TYPE_HASHES, None);
    let mut pair = set_up_pair(server, 0, &["--relying-party", &rp.rp_id]).await;
    let csc = CscClient::new(&server.origin, "v2", Some(&rp.api_key));
    let credential = csc.credential_of("bench0").await;
    // Warm-up: connections, the first HSM session.
    let warm_up = authorize_round(&mut pair, &csc, &credential, 1, usize::MAX).await;
    sign(&csc, &warm_up).await;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let RawRates { hsm_one_thread, hsm_all_threads, .. } = crypto_loop_subprocess(server, crypto_iterations, cores);
    // The HSM's best rate is the honest yardstick: a token that signs in
    // parallel must not make the server look better than it is.
    let raw_hsm = hsm_one_thread.max(hsm_all_threads);
    println!("wysiwys-bench --csc ({db:?}, {rounds} authorizations per size, {cores} cores)");
    println!(
        "  raw HSM ECDSA P-256 signatures: {hsm_one_thread:.0}/s on one thread, {hsm_all_threads:.0}/s on {cores} threads"
    );
    for size in SIZES {
        let mut in_sign_hash = Duration::ZERO;
        for round in 0..rounds {
            let body = authorize_round(&mut pair, &csc, &credential, size, round).await;
            in_sign_hash += sign(&csc, &body).await;
        }
        let rate = (rounds * size) as f64 / in_sign_hash.as_secs_f64();
        println!(
            "  signHash, {size}-hash authorizations, one call at a time: {rate:.0} signatures/s, {:.2} ms per call; ratio to raw HSM {:.2}",
            in_sign_hash.as_secs_f64() * 1000.0 / rounds as f64,
            rate / raw_hsm
        );
    }
    let size = SIZES[SIZES.len() - 1];
    let mut bodies = Vec::with_capacity(rounds);
    for round in 0..rounds {
        bodies.push(authorize_round(&mut pair, &csc, &credential, size, rounds + round).await);
    }
    let server_cpu_before = cpu_seconds(server.pid());
    let started = Instant::now();
    futures_util::stream::iter(bodies.iter().map(|body| sign(&csc, body)))
        .buffer_unordered(cores)
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let server_cpu_ms = (cpu_seconds(server.pid()) - server_cpu_before) * 1000.0 / rounds as f64;
    let rate = (rounds * size) as f64 / elapsed;
    println!(
        "  signHash throughput, {size}-hash authorizations, {cores} clients at once: {rate:.0} signatures/s; ratio to raw HSM {:.2}",
        rate / raw_hsm
    );
    // What bounds the throughput: the server's CPU per call against what
    // the HSM alone needs for it (its CPU per signature on every core).
    let hsm_cpu_ms = size as f64 * cores as f64 * 1000.0 / hsm_all_threads;
    println!(
        "  server CPU per {size}-hash call: {server_cpu_ms:.2} ms, of which the HSM at its raw rate needs {hsm_cpu_ms:.2} ms; cores unused by the server {:.0} %",
        (1.0 - (server_cpu_ms * rounds as f64 / 1000.0) / (elapsed * cores as f64)).max(0.0) * 100.0
    );
}

/// One authorization of `size` hashes through both channels; returns the
/// `signHash` body that signs them.
async fn authorize_round(pair: &mut Pair, csc: &CscClient, credential: &str, size: usize, round: usize) -> Value {
    let hashes: Vec<String> = (0..size)
        .map(|i| {
            wysiwys_proto::b64::encode_standard(wysiwys_proto::jcs::sha256(format!("bench {round} {i}").as_bytes()))
        })
        .collect();
    let started = csc
        .post("credentials/authorize", &json!({"credentialID": credential, "numSignatures": size, "hashes": hashes}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let handle = started.body["handle"].as_str().unwrap().to_owned();
    let Pair { browser, device } = pair;
    let push = device.next_push().await;
    assert_eq!(push.claims.req, handle);
    let token = device.sad(&push, Decision::Approve);
    device.submit(&handle, &token).await;
    browser.confirm_as_displayed(&handle).await.unwrap();
    let sad = csc.post("credentials/authorizeCheck", &json!({"handle": handle})).await.ok();
    json!({"credentialID": credential, "SAD": sad["SAD"], "hashes": hashes,
           "hashAlgorithmOID": OID_SHA256, "signAlgo": OID_ECDSA_WITH_SHA256})
}

/// One `signHash`; returns how long it took, having checked it signed all.
async fn sign(csc: &CscClient, body: &Value) -> Duration {
    let timed = Instant::now();
    let signed = csc.post("signatures/signHash", body).await.ok();
    let took = timed.elapsed();
    assert_eq!(signed["signatures"].as_array().map(Vec::len), body["hashes"].as_array().map(Vec::len));
    took
}
