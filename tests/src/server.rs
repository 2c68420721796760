//! A real `wysiwys-server` process per test.

use crate::postgres::FreshDatabase;
use crate::workspace_bin;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

#[derive(Debug)]
pub struct TestServer {
    /// What the server calls itself (its public origin).
    pub origin: String,
    /// Where it listens, `127.0.0.1:<port>` (the origin's address unless a
    /// public origin in front of it was given).
    pub address: String,
    pub dir: tempfile::TempDir,
    child: Child,
    database: Option<FreshDatabase>,
    command: &'static str,
    extra_args: Vec<String>,
    clock_offset_s: AtomicI64,
}

/// Starts the binary and waits for the line that gives its address.
fn spawn(
    command: &str,
    dir: &tempfile::TempDir,
    database: Option<&FreshDatabase>,
    listen: &str,
    extra_args: &[String],
) -> (Child, (String, String)) {
    let mut cmd = Command::new(workspace_bin("wysiwys-server"));
    cmd.arg(command).arg("--data-dir").arg(dir.path()).args(["--listen", listen, "--test-clock"]);
    if let Some(d) = database {
        cmd.arg("--database-url").arg(&d.url);
    }
    cmd.args(extra_args);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.path().join("server.log")).expect("log");
    cmd.env_remove("SOFTHSM2_CONF").env("RUST_LOG", "info,sqlx=warn").stdout(Stdio::piped()).stderr(log);
    let mut child = cmd.spawn().expect("start wysiwys-server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("wysiwys-server listening on ") {
                let origin = rest.split_whitespace().next().unwrap_or_default().to_owned();
                let bound = rest.split("(bound to ").nth(1).unwrap_or_default().trim_end_matches(')').to_owned();
                let _ = tx.send((origin, bound));
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(found) => (child, found),
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            panic!("server did not start; its log:\n{log}");
        }
    }
}

/// What `create-rp --json` and `POST /api/v1/admin/relying-parties` answer.
pub use wysiwys_proto::admin::CreatedRelyingParty as RpCredentials;
/// What `create-user --json` and `POST /api/v1/admin/users` answer.
pub use wysiwys_proto::admin::CreatedUser as Credentials;

impl TestServer {
    /// Starts a server with a test clock (so expiry is tested without sleeping).
    pub async fn start(db: Db) -> TestServer {
        Self::start_with(db, &[]).await
    }

    pub async fn start_with(db: Db, extra_args: &[&str]) -> TestServer {
        Self::start_command(db, "serve", extra_args).await
    }

    /// Starts `wysiwys-server <command>` (`serve` or `demo`).
    pub async fn start_command(db: Db, command: &'static str, extra_args: &[&str]) -> TestServer {
        let dir = tempfile::Builder::new().prefix("wysiwys-test-").tempdir().expect("temp dir");
        let database = match db {
            Db::Sqlite => None,
            Db::Postgres => Some(FreshDatabase::create().await.expect("fresh PostgreSQL database")),
        };
        let extra_args: Vec<String> = extra_args.iter().map(|a| a.to_string()).collect();
        let (child, (origin, address)) = spawn(command, &dir, database.as_ref(), "127.0.0.1:0", &extra_args);
        TestServer { origin, address, dir, child, database, command, extra_args, clock_offset_s: AtomicI64::new(0) }
    }

    /// Kills the server without warning, as a crash or power loss would.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same address, data dir and database.
    /// Its test clock starts from the real time again.
    pub fn restart(&mut self) {
        self.crash();
        let (child, (origin, _)) =
            spawn(self.command, &self.dir, self.database.as_ref(), &self.address, &self.extra_args);
        assert_eq!(origin, self.origin);
        self.child = child;
        self.clock_offset_s.store(0, Ordering::SeqCst);
    }

    /// The PostgreSQL database this server uses, if it uses one.
    pub fn database_name(&self) -> Option<&str> {
        self.database.as_ref().map(|d| d.name.as_str())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Runs an admin command of the server binary against the same data dir
    /// and database; returns its standard output.
    pub fn admin(&self, args: &[&str]) -> Vec<u8> {
        let out = self.admin_output(args);
        assert!(out.status.success(), "{} failed: {}", args[0], String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// Runs an admin command and returns how it ended, success or not.
    pub fn admin_output(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(workspace_bin("wysiwys-server"));
        cmd.arg(args[0]).arg("--data-dir").arg(self.dir.path()).args(&args[1..]);
        if let Some(d) = &self.database {
            cmd.arg("--database-url").arg(&d.url);
        }
        cmd.env_remove("SOFTHSM2_CONF").env("RUST_LOG", "warn").output().expect("run an admin command")
    }

    /// Creates a user with the admin command.
    pub fn create_user(&self, username: &str) -> Credentials {
        self.create_user_with(username, &[])
    }

    pub fn create_user_with(&self, username: &str, extra: &[&str]) -> Credentials {
        let args: Vec<&str> = ["create-user", username, "--json"].iter().chain(extra).copied().collect();
        serde_json::from_slice(&self.admin(&args)).expect("create-user JSON")
    }

    /// Creates a relying party with the admin command.
    pub fn create_rp(&self, name: &str, media_types: &str, webhook_url: Option<&str>) -> RpCredentials {
        match webhook_url {
            Some(url) => self.create_rp_with(name, media_types, &["--webhook-url", url]),
            None => self.create_rp_with(name, media_types, &[]),
        }
    }

    /// Creates a relying party with more `create-rp` options (`--redirect-uri …`).
    pub fn create_rp_with(&self, name: &str, media_types: &str, extra: &[&str]) -> RpCredentials {
        let args: Vec<&str> =
            ["create-rp", name, "--media-types", media_types, "--json"].iter().chain(extra).copied().collect();
        serde_json::from_slice(&self.admin(&args)).expect("create-rp JSON")
    }

    /// Lets a relying party use this person's credential through the CSC API.
    pub fn link_user(&self, username: &str, rp_id: &str) {
        self.admin(&["link-user", username, "--relying-party", rp_id]);
    }

    /// The server's clock, in seconds (system time plus what tests advanced).
    pub fn now_s(&self) -> i64 {
        crate::system_now_s() + self.clock_offset_s.load(Ordering::SeqCst)
    }

    /// Moves the server's clock forward; nothing sleeps.
    pub async fn advance_clock(&self, seconds: i64) {
        let response = reqwest::Client::new()
            .post(format!("{}/test/clock", self.origin))
            .json(&serde_json::json!({ "advance_ms": seconds * 1000 }))
            .send()
            .await
            .expect("advance clock");
        assert!(response.status().is_success(), "advance clock: {}", response.status());
        self.clock_offset_s.fetch_add(seconds, Ordering::SeqCst);
    }

    /// How many times the HSM signed with a user key (from /metrics).
    pub async fn hsm_user_signatures(&self) -> u64 {
        self.metric("wysiwys_hsm_signatures_total{key=\"user\"}").await
    }

    /// One series of /metrics; a series the server does not report is an error.
    pub async fn metric(&self, series: &str) -> u64 {
        self.metric_if_reported(series).await.unwrap_or_else(|| panic!("the server reports no {series}"))
    }

    /// One series of /metrics, if the server reports it (yet).
    pub async fn metric_if_reported(&self, series: &str) -> Option<u64> {
        let text = reqwest::get(format!("{}/metrics", self.origin)).await.expect("metrics").text().await.expect("text");
        metric_value(&text, series)
    }

    pub async fn hsm_channel_signatures(&self) -> u64 {
        self.metric("wysiwys_hsm_signatures_total{key=\"channel\"}").await
    }

    pub async fn get_ca_pem(&self) -> String {
        reqwest::get(format!("{}/api/ca.pem", self.origin)).await.expect("ca").text().await.expect("text")
    }
}

/// The value of `series` in a Prometheus text exposition; None if absent
/// or not a number.
pub fn metric_value(text: &str, series: &str) -> Option<u64> {
    let value = text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse::<f64>().ok()))?;
    // Counters are whole numbers; the exposition format may still write "3.0".
    (value.is_finite() && value >= 0.0).then_some(value as u64)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(db) = self.database.take() {
            // Best effort: a leftover database is harmless and has a unique name.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(db.drop_database()))
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_metric_lines() {
        let text = "# TYPE x counter\nwysiwys_hsm_signatures_total{key=\"ca\"} 3\nwysiwys_hsm_signatures_total{key=\"user\"} 2\n";
        assert_eq!(metric_value(text, "wysiwys_hsm_signatures_total{key=\"user\"}"), Some(2));
        assert_eq!(metric_value(text, "absent"), None);
    }
}
