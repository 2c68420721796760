//! A relying party's back end: the `/api/v1/rp/` client of a bank, and the
//! webhook receiver it runs.

use crate::browser::{ApiResult, decode};
use crate::server::{RpCredentials, TestServer};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wysiwys_proto::rp::{IDEMPOTENCY_KEY_HEADER, RpRequestView, WEBHOOK_SIGNATURE_HEADER};

#[derive(Debug)]
pub struct Bank {
    pub client: reqwest::Client,
    pub origin: String,
    pub credentials: RpCredentials,
}

impl Bank {
    pub fn new(server: &TestServer, credentials: RpCredentials) -> Bank {
        Bank::at(&server.origin, credentials)
    }

    /// A client of any server, by its origin.
    pub fn at(origin: &str, credentials: RpCredentials) -> Bank {
        Bank::with_client(origin, credentials, reqwest::Client::new())
    }

    /// With a client of the caller's (one that trusts a private CA, say).
    pub fn with_client(origin: &str, credentials: RpCredentials, client: reqwest::Client) -> Bank {
        Bank { client, origin: origin.to_owned(), credentials }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}/api/v1/rp{path}", self.origin)).bearer_auth(&self.credentials.api_key)
    }

    /// Creates a request with a JSON body (the document in base64).
    pub async fn create(&self, body: &serde_json::Value, idempotency_key: Option<&str>) -> ApiResult<RpRequestView> {
        let mut request = self.request(reqwest::Method::POST, "/requests").json(body);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        decode(request.send().await.expect("create")).await
    }

    /// Creates a request with the document itself as the body.
    pub async fn create_raw(&self, query: &str, media_type: &str, document: &[u8]) -> ApiResult<RpRequestView> {
        let response = self
            .request(reqwest::Method::POST, &format!("/requests?{query}"))
            .header("content-type", media_type)
            .body(document.to_vec())
            .send()
            .await
            .expect("create");
        decode(response).await
    }

    pub async fn get(&self, id: &str) -> ApiResult<RpRequestView> {
        decode(self.request(reqwest::Method::GET, &format!("/requests/{id}")).send().await.expect("get")).await
    }

    pub async fn cancel(&self, id: &str) -> ApiResult<RpRequestView> {
        decode(self.request(reqwest::Method::POST, &format!("/requests/{id}/cancel")).send().await.expect("cancel"))
            .await
    }

    pub async fn signature(&self, id: &str) -> ApiResult<Vec<u8>> {
        self.bytes(&format!("/requests/{id}/signature")).await
    }

    async fn bytes(&self, path: &str) -> ApiResult<Vec<u8>> {
        let response = self.request(reqwest::Method::GET, path).send().await.expect("get");
        if response.status().is_success() {
            Ok(response.bytes().await.expect("body").to_vec())
        } else {
            decode(response).await
        }
    }
}

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub signature_header: String,
    pub body: Vec<u8>,
}

/// A webhook endpoint on a fixed loopback port, so it can go down and come
/// back where the server's configuration points.
#[derive(Debug)]
pub struct WebhookReceiver {
    pub port: u16,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (tx, deliveries) = mpsc::unbounded_channel();
        let task = Some(tokio::spawn(serve(listener, tx)));
        WebhookReceiver { port, deliveries, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/wysiwys", self.port)
    }

    /// Stops listening: the port refuses connections until `resume`.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    pub async fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("bind the same port again");
        let (tx, deliveries) = mpsc::unbounded_channel();
        self.deliveries = deliveries;
        self.task = Some(tokio::spawn(serve(listener, tx)));
    }

    pub async fn next(&mut self, within: Duration) -> Option<Delivery> {
        tokio::time::timeout(within, self.deliveries.recv()).await.ok().flatten()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: TcpListener, tx: mpsc::UnboundedSender<Delivery>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Some(delivery) = read_post(&mut socket).await {
                let _ = tx.send(delivery);
                let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
            }
        });
    }
}

/// Just enough HTTP/1.1 for one POST with a Content-Length.
async fn read_post(socket: &mut tokio::net::TcpStream) -> Option<Delivery> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    while buffer.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(Delivery {
        signature_header: header(WEBHOOK_SIGNATURE_HEADER).unwrap_or_default(),
        body: buffer[header_end..header_end + length].to_vec(),
    })
}

impl Bank {
    /// Creates a batch: one confirmation for all its documents.
    pub async fn create_batch(
        &self,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> ApiResult<RpRequestView> {
        let mut request = self.request(reqwest::Method::POST, "/batches").json(body);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        decode(request.send().await.expect("create batch")).await
    }

    pub async fn document_signature(&self, id: &str, index: u32) -> ApiResult<Vec<u8>> {
        self.bytes(&format!("/requests/{id}/documents/{index}/signature")).await
    }
}
