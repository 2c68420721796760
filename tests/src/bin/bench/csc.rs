//! `--csc`: how close `signatures/signHash` comes to the HSM. Each round
//! authorizes N hashes through both channels (not timed: that is the
//! person), collects the SAD, then signs all N in one `signHash` (timed).

use super::{Pair, crypto_loop_subprocess, set_up_pair};
use serde_json::json;
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
    sign_round(&mut pair, &csc, &credential, 1, usize::MAX).await;
    let (_, _, raw_hsm) = crypto_loop_subprocess(server, crypto_iterations, 1);
    println!("wysiwys-bench --csc ({db:?}, {rounds} authorizations per size)");
    println!("  raw HSM ECDSA P-256 signatures, one thread: {raw_hsm:.0}/s");
    for size in SIZES {
        let mut in_sign_hash = Duration::ZERO;
        for round in 0..rounds {
            in_sign_hash += sign_round(&mut pair, &csc, &credential, size, round).await;
        }
        let rate = (rounds * size) as f64 / in_sign_hash.as_secs_f64();
        println!(
            "  signHash, {size}-hash authorizations: {rate:.0} signatures/s, {:.2} ms per call; ratio to raw HSM {:.2}",
            in_sign_hash.as_secs_f64() * 1000.0 / rounds as f64,
            rate / raw_hsm
        );
    }
}

/// One authorization of `size` hashes through both channels, then one
/// `signHash` for all of them; returns the time `signHash` took.
async fn sign_round(pair: &mut Pair, csc: &CscClient, credential: &str, size: usize, round: usize) -> Duration {
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
    let body = json!({"credentialID": credential, "SAD": sad["SAD"], "hashes": hashes,
                      "hashAlgorithmOID": OID_SHA256, "signAlgo": OID_ECDSA_WITH_SHA256});
    let timed = Instant::now();
    let signed = csc.post("signatures/signHash", &body).await.ok();
    let took = timed.elapsed();
    assert_eq!(signed["signatures"].as_array().map(Vec::len), Some(size));
    took
}
