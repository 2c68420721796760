//! Test kit: real server processes on port 0 with a temp data dir and a
//! temp SoftHSM2 token, a fresh PostgreSQL database when asked, a browser
//! stand-in over HTTP, and the real `wysiwys-confirm` as the device.

#![forbid(unsafe_code)]
// The test kit exists to fail loudly: a failed set-up step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod attack;
pub mod browser;
pub mod chrome;
pub mod csc;
pub mod device;
pub mod events;
pub mod nginx;
pub mod openapi;
pub mod pdf;
pub mod postgres;
pub mod relying_party;
pub mod server;
pub mod signature;
pub mod tls;

pub use browser::{ApiError, Browser};
pub use device::{ConfirmApp, ScriptedDevice};
pub use relying_party::{Bank, WebhookReceiver};
pub use server::{Db, TestServer};

use std::path::PathBuf;

/// Where a test saves the screenshot (or terminal capture) `file`: into
/// `docs/screenshots/` only when `WYSIWYS_UPDATE_SCREENSHOTS=1` asks for it,
/// else into a directory under the system's temp dir, so that a test run
/// never changes the checkout.
pub fn screenshot_path(file: &str) -> PathBuf {
    let dir = if std::env::var_os("WYSIWYS_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        std::env::temp_dir().join(format!("wysiwys-screenshots-{}", std::process::id()))
    };
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir.join(file)
}

/// A binary of this workspace. Built by `cargo build --workspace --bins`
/// (the test script does it); `WYSIWYS_BIN_DIR` overrides the location.
pub fn workspace_bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("WYSIWYS_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
        if dir.ends_with("deps") {
            dir.pop();
        }
        dir
    });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (or set WYSIWYS_BIN_DIR)",
        path.display()
    );
    path
}

/// Seconds since the Unix epoch, as the test machine sees it.
#[allow(clippy::disallowed_methods)]
pub fn system_now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

pub fn sha256_b64(bytes: &[u8]) -> String {
    wysiwys_proto::b64::encode(wysiwys_proto::jcs::sha256(bytes))
}
