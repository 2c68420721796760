//! What the attack lab sets up before it attacks: its own users, devices and
//! relying party, made through the public interfaces of the target server
//! (the operator API with a bootstrap token, the log-in, pairing and sign
//! APIs). Nothing here reads the target's files or database.

use crate::browser::{ApiError, ApiResult, Browser, totp_code};
use crate::csc::CscClient;
use crate::device::{PASSPHRASE, ScriptedDevice, Tls};
use crate::relying_party::Bank;
use crate::server::{Credentials, RpCredentials};
use anyhow::{Context, Result, anyhow, bail};
use p256::ecdsa::SigningKey;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wysiwys_confirm::pairing::PairingTarget;
use wysiwys_confirm::store::{Account, Home};
use wysiwys_proto::api::{LoginResponse, PairDeviceRequest, PairDeviceResponse, PairingCodeResponse};
use wysiwys_proto::api::{PairingOutcome, PairingStatus};
use wysiwys_proto::api::{RequestState, SignRequestView};
use wysiwys_proto::device_auth::{PairingClaims, pairing_proof};
use wysiwys_proto::hashes::MEDIA_TYPE_HASHES;
use wysiwys_proto::pairing::PairingUri;
use wysiwys_proto::summary::{MEDIA_TYPE_PAYMENT, MEDIA_TYPE_PDF, MEDIA_TYPE_TEXT};
use wysiwys_proto::{ErrorBody, ErrorCode, Jwk, admin};

/// The letter most scenarios ask the victim to sign.
pub const LETTER: &str = "Municipal Office of Example Town\n\nDecision\n\nYour application for a parking permit \
                          (reference 2026-4411) is approved.\n";

/// How long set-up waits for a per-address limit that an earlier guessing
/// scenario emptied (a token comes back every few seconds).
/// The most sign requests one person may be sent in a burst (PROTOCOL.md
/// §14, the default of `--request-rate-per-minute`): a deployment that
/// allows more fails the push-bombing scenario on purpose.
pub const PUSH_CEILING: usize = 10;
/// The refill of that bucket: one more request every this many seconds.
pub const PUSH_REFILL_S: u64 = 6;
/// Sockets one device may hold at once (PROTOCOL.md §14).
pub const SOCKETS_PER_DEVICE: usize = 4;

pub const RATE_LIMIT_PATIENCE: Duration = Duration::from_secs(90);

/// A target server and the operator token that lets the lab make accounts.
#[derive(Debug)]
pub struct Lab {
    pub origin: String,
    admin_token: SecretString,
    http: reqwest::Client,
    /// A private CA the target's TLS certificate chains to, when not the web PKI's.
    ca_pem: Option<Vec<u8>>,
    tls: Tls,
    /// Keeps names unique across runs against the same server.
    run: String,
    serial: AtomicU64,
}

/// A person with an account, logged in in their browser.
#[derive(Debug)]
pub struct User {
    pub credentials: Credentials,
    pub browser: Browser,
}

/// A paired confirmation device: its key and account, as the app stores them.
#[derive(Debug)]
pub struct Device {
    _home: tempfile::TempDir,
    pub account: Account,
    pub key: SigningKey,
    /// SAD counters must rise across all connections of this device.
    counter: AtomicU64,
    tls: Tls,
}

/// A relying party with its CSC client.
#[derive(Debug)]
pub struct CscPlatform {
    pub credentials: RpCredentials,
    pub csc: CscClient,
}

/// A user with one paired device: whom most attacks are aimed at.
#[derive(Debug)]
pub struct Victim {
    pub user: User,
    pub device: Device,
}

/// The answer of an API call as the attacker saw it: accepted, or refused
/// with a code.
pub fn code_of<T>(result: &ApiResult<T>) -> Option<ErrorCode> {
    result.as_ref().err().map(ApiError::code)
}

/// A relying party's create body: the letter `text` for `username` to sign.
pub fn rp_letter(username: &str, text: &str) -> serde_json::Value {
    rp_document(username, MEDIA_TYPE_TEXT, text.as_bytes())
}

/// A relying party's create body: `document` of `media_type` for `username` to sign.
pub fn rp_document(username: &str, media_type: &str, document: &[u8]) -> serde_json::Value {
    use base64::Engine;
    serde_json::json!({
        "signer": { "username": username },
        "media_type": media_type,
        "document_b64": base64::engine::general_purpose::STANDARD.encode(document),
    })
}

/// A relying party's create body: `pdf` for `username` to sign, with the
/// title and line both channels show.
pub fn rp_pdf(username: &str, pdf: &[u8]) -> serde_json::Value {
    let mut body = rp_document(username, MEDIA_TYPE_PDF, pdf);
    body["display"] =
        serde_json::json!({"title": "Decision 2026-4411", "lines": [{"label": "Case", "value": "2026-4411"}]});
    body
}

/// The per-address limit, as opposed to an account's lock.
pub fn is_address_limit(e: &ApiError) -> bool {
    e.code() == ErrorCode::RateLimited && e.body.error_description.contains("address")
}

/// Logs in with the password and `code()` (asked again for each try). The
/// per-address limit, which an earlier guessing scenario may have emptied,
/// is waited out: what the lab judges is the account, not the address.
pub async fn log_in_patiently(
    browser: &mut Browser,
    credentials: &Credentials,
    code: impl Fn() -> String,
) -> ApiResult<LoginResponse> {
    let patience = tokio::time::Instant::now() + RATE_LIMIT_PATIENCE;
    loop {
        let answer = browser.login_with(&credentials.username, &credentials.password, &code()).await;
        match &answer {
            Err(e) if is_address_limit(e) && tokio::time::Instant::now() < patience => {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            _ => return answer,
        }
    }
}

/// An API error as a set-up failure.
pub fn api(e: ApiError) -> anyhow::Error {
    anyhow!("HTTP {}: {} ({})", e.status, e.body.error, e.body.error_description)
}

impl Lab {
    pub fn new(origin: &str, admin_token: SecretString) -> Lab {
        let run = wysiwys_proto::b64::encode(rand_bytes::<6>()).to_ascii_lowercase().replace(['-', '_'], "x");
        Lab {
            origin: origin.trim_end_matches('/').to_owned(),
            admin_token,
            http: reqwest::Client::new(),
            ca_pem: None,
            tls: None,
            run,
            serial: AtomicU64::new(0),
        }
    }

    /// Trusts `ca_pem` (PEM certificates) for the target's TLS, everywhere
    /// the lab connects: browser, relying party, pairing, device socket.
    pub fn trusting(mut self, ca_pem: &[u8]) -> Result<Lab> {
        self.tls = Some(wysiwys_confirm::channel::tls_config(Some(ca_pem)).context("the CA file")?);
        self.ca_pem = Some(ca_pem.to_vec());
        self.http = self.client_builder().build()?;
        Ok(self)
    }

    /// A new browser (its own cookies) for the target.
    pub fn browser(&self) -> Browser {
        Browser::trusting(&self.origin, self.tls())
    }

    /// An HTTP client without cookies, as a script on another machine has.
    pub fn client(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// For clients that need more (cookies, no redirects), with the same trust.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        crate::browser::trusting(reqwest::Client::builder(), &self.tls)
    }

    /// Trust for device sockets.
    pub fn tls(&self) -> Tls {
        self.tls.clone()
    }

    /// A fresh name for the lab's own accounts and parties.
    pub fn name(&self, role: &str) -> String {
        format!("lab-{}-{role}-{}", self.run, self.serial.fetch_add(1, Ordering::SeqCst))
    }

    async fn operator<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let response = self
            .http
            .post(format!("{}/api/v1/admin{path}", self.origin))
            .bearer_auth(self.admin_token.expose_secret())
            .json(body)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.origin))?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            bail!(
                "the operator API answered {status}: {} (is the server started with --admin-token-file, and is the token right?)",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// A new account, not logged in anywhere.
    pub async fn account(&self) -> Result<Credentials> {
        self.account_served_by(Vec::new()).await
    }

    /// A new account whose credential these relying parties (ids) may use
    /// through the CSC API.
    pub async fn account_served_by(&self, relying_parties: Vec<String>) -> Result<Credentials> {
        self.operator("/users", &admin::NewUser { username: self.name("user"), external_id: None, relying_parties })
            .await
    }

    /// Logs in with password and the current TOTP code. Waits out a
    /// per-address limit that a guessing scenario may have emptied.
    pub async fn log_in(&self, credentials: &Credentials) -> Result<Browser> {
        let mut browser = self.browser();
        let code = || totp_code(&credentials.totp_secret, crate::system_now_s());
        log_in_patiently(&mut browser, credentials, code).await.map_err(api)?;
        Ok(browser)
    }

    /// A new account, logged in.
    pub async fn user(&self) -> Result<User> {
        let credentials = self.account().await?;
        let browser = self.log_in(&credentials).await?;
        Ok(User { credentials, browser })
    }

    /// Re-enters password and a code the account has not used: the next time
    /// step's, else the previous one's (the server accepts one step of clock
    /// skew, each step once). If both were used, waits for the step after;
    /// waits out the address limit.
    pub async fn step_up(&self, user: &User) -> Result<()> {
        let patience = tokio::time::Instant::now() + RATE_LIMIT_PATIENCE;
        let mut offsets = [30, -30].into_iter().cycle();
        let mut replays = 0;
        // A code computed just before a step boundary can arrive just
        // after it: then the -30 s code is two steps old. One such miss is
        // the clock, not a wrong code.
        let mut missed_boundary = false;
        loop {
            let offset = offsets.next().unwrap_or(30);
            let code = totp_code(&user.credentials.totp_secret, crate::system_now_s() + offset);
            let answer = user.browser.step_up_with(&user.credentials.password, &code).await;
            match answer {
                Ok(_) => return Ok(()),
                Err(e) if tokio::time::Instant::now() >= patience => return Err(api(e)),
                Err(e) if is_address_limit(&e) => tokio::time::sleep(Duration::from_secs(3)).await,
                Err(e) if e.code() == ErrorCode::TotpReplayed && replays == 0 => replays += 1,
                Err(e) if e.code() == ErrorCode::TotpInvalid && !missed_boundary => missed_boundary = true,
                Err(e) if e.code() == ErrorCode::TotpReplayed => {
                    replays = 0;
                    // Each wrong try counts towards the account lock: wait for
                    // the next step instead of polling.
                    let into_step = u64::try_from(crate::system_now_s().rem_euclid(30)).unwrap_or(0);
                    tokio::time::sleep(Duration::from_secs(31 - into_step)).await;
                }
                Err(e) => return Err(api(e)),
            }
        }
    }

    /// A pairing code for the user, after a step-up if the session has none left.
    pub async fn pairing_code(&self, user: &User) -> Result<PairingCodeResponse> {
        match user.browser.pairing_code().await {
            Err(e) if e.code() == ErrorCode::StepUpRequired => {
                self.step_up(user).await?;
                user.browser.pairing_code().await.map_err(api)
            }
            answer => answer.map_err(api),
        }
    }

    /// Pairs the account's first device with its activation code, as
    /// `wysiwys-confirm pair --activation-code` does.
    pub async fn pair(&self, user: &User) -> Result<Device> {
        let activation = user.credentials.activation_code.clone().map(SecretString::from);
        self.pair_expecting(user, activation.as_ref(), PairingStatus::Active).await
    }

    /// Pairs another device and leaves it awaiting approval.
    pub async fn pair_pending(&self, user: &User) -> Result<Device> {
        self.pair_expecting(user, None, PairingStatus::AwaitingApproval).await
    }

    /// Pairs another device, approved on `approver` (connected for this).
    pub async fn pair_approved(&self, user: &User, approver: &Device) -> Result<Device> {
        let mut socket = approver.connect().await?;
        let device = self.pair_pending(user).await?;
        let shown = socket.next_pairing_request().await;
        let answer = socket.pairing_answer(&shown, wysiwys_proto::sad::Decision::Approve);
        match socket.submit_pairing(&shown.claims.pairing, &answer).await {
            PairingOutcome::Approved => Ok(device),
            other => bail!("the approval was answered {other:?}"),
        }
    }

    /// Pairs a device; a status other than `expected` is a set-up failure.
    async fn pair_expecting(
        &self,
        user: &User,
        activation: Option<&SecretString>,
        expected: PairingStatus,
    ) -> Result<Device> {
        let (device, status) = self.pair_device(user, activation).await?;
        if status != expected {
            bail!("the new device is {status:?}, not {expected:?}");
        }
        Ok(device)
    }

    /// Pairs a new device with the user's account, as `wysiwys-confirm pair` does.
    async fn pair_device(&self, user: &User, activation: Option<&SecretString>) -> Result<(Device, PairingStatus)> {
        let home_dir = tempfile::Builder::new().prefix("wysiwys-lab-device-").tempdir()?;
        let home = Home::locate(Some(home_dir.path().to_owned()))?;
        let passphrase = SecretString::from(PASSPHRASE.to_owned());
        let mut last = None;
        let deadline = tokio::time::Instant::now() + RATE_LIMIT_PATIENCE;
        let paired = loop {
            let code = self.pairing_code(user).await?;
            let uri: PairingUri = code.uri.parse().map_err(|e| anyhow!("pairing URI: {e}"))?;
            match wysiwys_confirm::pairing::pair(
                &home,
                &PairingTarget::from(uri),
                "lab device",
                &passphrase,
                activation,
                self.ca_pem.as_deref(),
            )
            .await
            {
                Ok(paired) => break paired,
                Err(e) if e.to_string().contains("RATE_LIMITED") && tokio::time::Instant::now() < deadline => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                Err(e) => return Err(e.context(format!("pairing (earlier: {last:?})"))),
            }
        };
        let key = home.load_key(&paired.account, &passphrase)?;
        let device =
            Device { _home: home_dir, account: paired.account, key, counter: AtomicU64::new(0), tls: self.tls() };
        Ok((device, paired.status))
    }

    /// Pairs a key of the attacker's with whatever account `code` belongs to.
    pub async fn pair_with_code(&self, code: String) -> ApiResult<PairDeviceResponse> {
        self.pair_key(&self.attacker_key(), code, None).await
    }

    /// A fresh P-256 key.
    pub fn attacker_key(&self) -> SigningKey {
        SigningKey::from_bytes(&rand_bytes::<32>().into()).expect("a P-256 key")
    }

    /// Pairs `key` with the account of `code`, with an activation code if given.
    pub async fn pair_key(
        &self,
        key: &SigningKey,
        code: String,
        activation: Option<String>,
    ) -> ApiResult<PairDeviceResponse> {
        let claims = PairingClaims {
            aud: self.origin.clone(),
            code,
            jwk: Jwk::from_verifying_key(key.verifying_key()),
            name: "attacker".into(),
            iat: crate::system_now_s(),
            activation,
        };
        let proof = pairing_proof(key, &claims).expect("pairing proof");
        let response = self
            .http
            .post(format!("{}/api/devices/pair", self.origin))
            .json(&PairDeviceRequest { proof })
            .send()
            .await
            .expect("pair");
        crate::browser::decode(response).await
    }

    /// A logged-in user with one paired device.
    pub async fn victim(&self) -> Result<Victim> {
        let user = self.user().await?;
        let device = self.pair(&user).await?;
        Ok(Victim { user, device })
    }

    /// A logged-in user with one paired device, whose credential `platform`
    /// may use through the CSC API.
    pub async fn victim_of(&self, platform: &CscPlatform) -> Result<Victim> {
        let credentials = self.account_served_by(vec![platform.credentials.rp_id.clone()]).await?;
        let browser = self.log_in(&credentials).await?;
        let user = User { credentials, browser };
        let device = self.pair(&user).await?;
        Ok(Victim { user, device })
    }

    /// A signing platform that speaks the CSC API (v2), allowed hash-only requests.
    pub async fn csc_platform(&self) -> Result<CscPlatform> {
        let credentials =
            self.register_relying_party_for(&self.name("platform"), &[MEDIA_TYPE_HASHES]).await.map_err(api)?;
        let csc = CscClient::with_client(&self.origin, "v2", Some(&credentials.api_key), self.client());
        Ok(CscPlatform { credentials, csc })
    }

    /// A signing application with one OAuth redirect URI (nothing listens
    /// there: each redirect is read, not followed), allowed hash-only requests.
    pub async fn csc_oauth_client(&self, redirect_uri: &str) -> Result<CscPlatform> {
        let party = admin::NewRelyingParty {
            name: self.name("signing app"),
            media_types: vec![MEDIA_TYPE_HASHES.to_owned()],
            webhook_url: None,
            redirect_uris: vec![redirect_uri.to_owned()],
            signature_level: None,
        };
        let credentials = self.register(&party).await.map_err(api)?;
        let csc = CscClient::with_client(&self.origin, "v2", None, self.client());
        Ok(CscPlatform { credentials, csc })
    }

    /// A relying party allowed letters and payments.
    pub async fn relying_party(&self) -> Result<Bank> {
        let credentials = self.register_relying_party(&self.name("bank")).await.map_err(api)?;
        Ok(Bank::with_client(&self.origin, credentials, self.client()))
    }

    /// A relying party allowed PDFs only, as an agency that sends decisions.
    pub async fn pdf_agency(&self) -> Result<Bank> {
        let credentials =
            self.register_relying_party_for(&self.name("agency"), &[MEDIA_TYPE_PDF]).await.map_err(api)?;
        Ok(Bank::with_client(&self.origin, credentials, self.client()))
    }

    /// Asks the operator API for a relying party named `name`, allowed
    /// letters and payments; a refusal comes back as the server sent it.
    pub async fn register_relying_party(&self, name: &str) -> ApiResult<RpCredentials> {
        self.register_relying_party_for(name, &[MEDIA_TYPE_TEXT, MEDIA_TYPE_PAYMENT]).await
    }

    /// Asks the operator API for a relying party named `name`, allowed `media_types`.
    pub async fn register_relying_party_for(&self, name: &str, media_types: &[&str]) -> ApiResult<RpCredentials> {
        let party = admin::NewRelyingParty {
            name: name.to_owned(),
            media_types: media_types.iter().map(|&m| m.to_owned()).collect(),
            webhook_url: None,
            redirect_uris: Vec::new(),
            signature_level: None,
        };
        self.register(&party).await
    }

    /// The operator API makes the relying party.
    async fn register(&self, party: &admin::NewRelyingParty) -> ApiResult<RpCredentials> {
        let response = self
            .http
            .post(format!("{}/api/v1/admin/relying-parties", self.origin))
            .bearer_auth(self.admin_token.expose_secret())
            .json(party)
            .send()
            .await
            .expect("the operator API answers");
        crate::browser::decode(response).await
    }
}

impl Device {
    /// Opens the device socket and authenticates with this device's key.
    pub async fn connect(&self) -> Result<ScriptedDevice> {
        self.connect_as(self.key.clone()).await
    }

    /// Authenticates this device's id with `key` (a clone, or another
    /// device's key); the server's refusal comes back as it was sent.
    pub async fn open(&self, key: SigningKey) -> std::result::Result<ScriptedDevice, ErrorBody> {
        let mut account = self.account.clone();
        // Each connection starts its counters above every earlier one.
        account.counter = self.counter.fetch_add(1_000, Ordering::SeqCst);
        ScriptedDevice::connect_with(account, key, self.tls.clone()).await
    }

    pub async fn connect_as(&self, key: SigningKey) -> Result<ScriptedDevice> {
        self.open(key).await.map_err(|e| anyhow!("device socket refused: {} ({})", e.error, e.error_description))
    }
}

impl User {
    pub async fn letter(&self, text: &str) -> Result<SignRequestView> {
        self.browser.upload_letter(text).await.map_err(api)
    }

    /// Whether the request is still pending and not confirmed in the browser.
    pub async fn untouched(&self, request_id: &str) -> Result<bool> {
        let view = self.browser.request(request_id).await.map_err(api)?;
        Ok(view.state == RequestState::Pending && view.web_confirmed_at.is_none())
    }

    /// Posts `body` as the web confirmation, byte for byte, with the session's CSRF token.
    pub async fn confirm_raw(&self, request_id: &str, body: String) -> Result<ApiResult<serde_json::Value>> {
        let response = self
            .browser
            .client
            .post(self.browser.url(&format!("/api/requests/{request_id}/confirm")))
            .header(wysiwys_proto::api::CSRF_HEADER, self.browser.csrf.clone().unwrap_or_default())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        Ok(crate::browser::decode(response).await)
    }

    /// Whether the request ended signed, or a signature can be fetched: asked
    /// through the API, as the owner.
    pub async fn signed(&self, request_id: &str) -> Result<bool> {
        let view = self.browser.request(request_id).await.map_err(api)?;
        let signature = self.browser.signature(request_id).await;
        Ok(view.state == RequestState::Signed || view.signed_at.is_some() || signature.is_ok())
    }

    /// How many times the request's audit trail says it was signed.
    pub async fn signatures_made(&self, request_id: &str) -> Result<usize> {
        let events = self.browser.events(request_id).await.map_err(api)?;
        Ok(events.iter().filter(|e| e.event == "signed").count())
    }

    /// Whether any of the user's requests is signed.
    pub async fn anything_signed(&self) -> Result<bool> {
        let history = self.browser.history().await.map_err(api)?;
        Ok(history.iter().any(|r| r.state == RequestState::Signed))
    }
}

pub fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("operating system randomness");
    bytes
}
