//! A real headless Chromium, driven through chromedriver (WebDriver).

use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser with a fresh profile; closed and killed on drop.
#[derive(Debug)]
pub struct Chrome {
    pub client: Client,
    driver: Child,
    profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Chrome {
    pub async fn start() -> Chrome {
        assert!(
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
            "browser tests need Debian's chromium and chromium-driver (scripts/install-deps.sh --test installs them)"
        );
        let profile = tempfile::Builder::new().prefix("wysiwys-chrome-").tempdir().expect("profile dir");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--window-size=1200,1400".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert("goog:chromeOptions".into(), serde_json::json!({ "binary": CHROMIUM, "args": args }));
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::rustls().expect("connector").capabilities(caps.clone()).connect(&url).await {
                Ok(client) => return Chrome { client, driver, profile },
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a browser: {last_error}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.client.wait().for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        let button = self.client.wait().for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        button.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.client.wait().for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        el.text().await.expect("text")
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.client.wait().for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        el.attr(name).await.expect("attribute")
    }

    /// Waits until the element's text contains `needle`, across page loads
    /// (an element of the page being replaced reads as stale, and is read again).
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..300 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = el.text().await
                && text.contains(needle)
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {needle:?}; page:\n{}", self.client.source().await.unwrap_or_default());
    }

    /// Waits until the element's attribute has one of `values`; returns it.
    pub async fn wait_for_attr(&self, css: &str, name: &str, values: &[&str]) -> String {
        for _ in 0..300 {
            if let Some(v) = self.attr(css, name).await.filter(|v| values.contains(&v.as_str())) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never had {name} in {values:?}; page:\n{}", self.client.source().await.unwrap_or_default());
    }

    /// Waits until the browser is on a page whose path starts with `prefix`.
    pub async fn wait_for_path(&self, prefix: &str) -> String {
        for _ in 0..100 {
            let path = self.path().await;
            if path.starts_with(prefix) {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "never reached {prefix}; at {} with:\n{}",
            self.path().await,
            self.client.source().await.unwrap_or_default()
        );
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.expect("url").path().to_owned()
    }

    pub async fn run(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Fetches a URL inside the page (with its cookies); returns the bytes.
    pub async fn fetch_bytes(&self, url: &str) -> Vec<u8> {
        let script = r#"
            const [url, done] = arguments;
            fetch(url, { credentials: "same-origin" })
              .then((r) => r.arrayBuffer())
              .then((b) => done(Array.from(new Uint8Array(b))))
              .catch((e) => done(String(e)));
        "#;
        let value = self.client.execute_async(script, vec![url.into()]).await.expect("fetch in page");
        serde_json::from_value(value.clone()).unwrap_or_else(|_| panic!("fetch {url} failed: {value}"))
    }

    /// Saves a PNG of the viewport (for docs/screenshots).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Chromium outlives a killed chromedriver; its profile dir names it.
        let _ = Command::new("pkill").arg("-f").arg(self.profile.path()).status();
    }
}
