//! A child process that reports progress as JSON lines on stdout (the
//! device app's `--json` events, the pyHanko CSC client's), read as they
//! come so a test can synchronise on them.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug)]
pub struct EventProcess {
    name: &'static str,
    child: Option<Child>,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl EventProcess {
    /// Starts `command` with stdout piped; stderr goes to the test's.
    pub fn spawn(mut command: Command, name: &'static str) -> EventProcess {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        EventProcess { name, child: Some(child), events, seen: Vec::new() }
    }

    /// Blocks (off the async runtime) until an event of this kind arrives.
    pub async fn wait_for(&mut self, kind: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(e) = self.seen.iter().find(|e| e["event"] == kind) {
                return e.clone();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "no {kind:?} event from {}; saw {:?}", self.name, self.seen);
            match self.events.recv_timeout(Duration::from_millis(20)) {
                Ok(e) => self.seen.push(e),
                Err(mpsc::RecvTimeoutError::Timeout) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("{} exited without a {kind:?} event; saw {:?}", self.name, self.seen)
                }
            }
        }
    }

    /// Waits for the process to exit; returns its exit code and every event.
    pub async fn finish(mut self) -> (i32, Vec<Value>) {
        let mut child = self.child.take().expect("running");
        let (_, empty) = mpsc::channel();
        let events = std::mem::replace(&mut self.events, empty);
        let mut seen = std::mem::take(&mut self.seen);
        tokio::task::spawn_blocking(move || {
            let code = child.wait().expect("wait").code().unwrap_or(-1);
            // The reader thread ends when stdout closes: every line is in.
            seen.extend(events.iter());
            (code, seen)
        })
        .await
        .expect("join")
    }
}

impl Drop for EventProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
