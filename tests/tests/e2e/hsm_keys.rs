//! The service keys in the token are checked before a node serves: one
//! key pair per id, and a pair that matches (a test signature verifies).
//! The token is changed behind the server's back with OpenSC's
//! `pkcs11-tool`, as a careless operator or a second node racing would.

use std::process::Command;
use wysiwys_tests::{Db, TestServer};

/// `wysiwys-channel` as a CKA_ID in hex.
const CHANNEL_ID_HEX: &str = "777973697779732d6368616e6e656c";

fn pkcs11_tool(server: &TestServer, args: &[&str]) {
    let dir = server.data_dir();
    let pin = std::fs::read_to_string(dir.join("hsm-user.pin")).unwrap();
    let out = Command::new("pkcs11-tool")
        .args(["--module", wysiwys_server::config::DEFAULT_SOFTHSM_MODULE, "--token-label", "wysiwys", "--login"])
        .args(["--pin", pin.trim()])
        .args(args)
        .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
        .output()
        .unwrap();
    assert!(out.status.success(), "pkcs11-tool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn refused_to_start(server: &TestServer) -> String {
    let out = server.admin_output(&["create-user", "late-comer", "--json"]);
    assert!(!out.status.success(), "a node started on a broken token");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_second_key_pair_under_a_service_key_id_stops_every_node() {
    let mut server = TestServer::start(Db::Sqlite).await;
    server.crash();
    pkcs11_tool(&server, &["--keypairgen", "--key-type", "EC:prime256v1", "--id", CHANNEL_ID_HEX, "--label", "rogue"]);
    let error = refused_to_start(&server);
    assert!(error.contains("wysiwys-channel") && error.contains("more than one object"), "{error}");
}

#[tokio::test]
async fn a_public_key_that_does_not_match_its_private_key_stops_every_node() {
    let mut server = TestServer::start(Db::Sqlite).await;
    server.crash();
    // The channel's public key replaced by the public half of another pair.
    pkcs11_tool(&server, &["--delete-object", "--type", "pubkey", "--id", CHANNEL_ID_HEX]);
    pkcs11_tool(&server, &["--keypairgen", "--key-type", "EC:prime256v1", "--id", "0badc0de", "--label", "other"]);
    pkcs11_tool(&server, &["--set-id", CHANNEL_ID_HEX, "--type", "pubkey", "--id", "0badc0de"]);
    let error = refused_to_start(&server);
    assert!(error.contains("wysiwys-channel") && error.contains("does not match"), "{error}");
}
