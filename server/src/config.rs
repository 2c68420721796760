//! Configuration from flags, environment and files. Secrets are wrapped at
//! the moment they are read and are never printed.

use secrecy::SecretString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub const DEFAULT_SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A PIN given on the command line or in the environment.
#[derive(Clone)]
pub struct Pin(pub SecretString);

impl FromStr for Pin {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Pin(SecretString::from(s.to_owned())))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct HsmConfig {
    /// PKCS#11 module. The default is SoftHSM2; any module works by path.
    #[arg(long = "pkcs11-module", env = "WYSIWYS_PKCS11_MODULE", default_value = DEFAULT_SOFTHSM_MODULE)]
    pub module: PathBuf,
    /// Label of the token holding wysiwys keys.
    #[arg(long = "hsm-token-label", env = "WYSIWYS_HSM_TOKEN_LABEL", default_value = "wysiwys")]
    pub token_label: String,
    /// User PIN of the token. Prefer --hsm-pin-file.
    #[arg(long = "hsm-pin", env = "WYSIWYS_HSM_PIN", hide_env_values = true)]
    pub pin: Option<Pin>,
    /// File whose first line is the user PIN.
    #[arg(long = "hsm-pin-file", env = "WYSIWYS_HSM_PIN_FILE")]
    pub pin_file: Option<PathBuf>,
    /// Security-officer PIN, needed only when the server creates the token.
    #[arg(long = "hsm-so-pin", env = "WYSIWYS_HSM_SO_PIN", hide_env_values = true)]
    pub so_pin: Option<Pin>,
    #[arg(long = "hsm-so-pin-file", env = "WYSIWYS_HSM_SO_PIN_FILE")]
    pub so_pin_file: Option<PathBuf>,
    /// Sessions a CSC signHash of many hashes signs over at once. SoftHSM2
    /// signs no faster on several (wysiwys-bench --csc measures it), so the
    /// default is one; a network HSM with parallel engines wants more.
    #[arg(long = "hsm-signing-threads", env = "WYSIWYS_HSM_SIGNING_THREADS", default_value_t = 1)]
    pub signing_threads: usize,
}

impl HsmConfig {
    pub fn is_softhsm(&self) -> bool {
        self.module.file_name().is_some_and(|n| n.to_string_lossy().contains("softhsm"))
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct CommonConfig {
    /// Directory for the SQLite database, the SoftHSM2 token and generated PINs.
    #[arg(long, env = "WYSIWYS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (postgres://…); SQLite in the data directory when absent.
    #[arg(long, env = "WYSIWYS_DATABASE_URL")]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub hsm: HsmConfig,
}

pub fn parse_level(s: &str) -> Result<wysiwys_proto::signature_level::SignatureLevel, String> {
    s.parse()
}

/// `10.0.0.0/8`, or one address (`127.0.0.1`, `::1`) as a /32 or /128.
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is neither a CIDR block nor an address"))
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeConfig {
    #[command(flatten)]
    pub common: CommonConfig,
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, env = "WYSIWYS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Origin users and devices reach the server at, e.g. https://sign.example.
    /// Defaults to http://<listen address>.
    #[arg(long, env = "WYSIWYS_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// How long both channels have to confirm a request.
    #[arg(long, env = "WYSIWYS_CHALLENGE_TTL_SECS", default_value_t = 300)]
    pub challenge_ttl_secs: i64,
    #[arg(long, env = "WYSIWYS_SESSION_TTL_SECS", default_value_t = 8 * 3600)]
    pub session_ttl_secs: i64,
    /// Largest JSON body accepted.
    #[arg(long, env = "WYSIWYS_MAX_JSON_BYTES", default_value_t = 16 * 1024)]
    pub max_json_bytes: usize,
    /// Largest uploaded document accepted.
    #[arg(long, env = "WYSIWYS_MAX_DOCUMENT_BYTES", default_value_t = 256 * 1024)]
    pub max_document_bytes: usize,
    /// Largest PDF a relying party may send.
    #[arg(long, env = "WYSIWYS_MAX_PDF_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_pdf_bytes: usize,
    /// A reverse proxy (CIDR or address; repeatable, or comma-separated in the
    /// environment) whose `X-Forwarded-For` / `Forwarded` names the client.
    /// Without one, those headers are ignored and the peer is the client.
    #[arg(long = "trusted-proxy", env = "WYSIWYS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Log-in attempts per client address per minute.
    #[arg(long, env = "WYSIWYS_LOGIN_RATE_PER_MINUTE", default_value_t = 20)]
    pub login_rate_per_minute: u32,
    /// Sign requests per user per minute, whoever creates them (the user's
    /// session or a relying party): each is a prompt on the person's
    /// devices, so this is the push-bombing ceiling. Bulk signing is a batch
    /// (one request, one prompt).
    #[arg(long, env = "WYSIWYS_REQUEST_RATE_PER_MINUTE", default_value_t = 10)]
    pub request_rate_per_minute: u32,
    /// What an account's first device needs besides the browser's pairing
    /// code: the operator's activation code (delivered out of band), or, for
    /// open sign-up, also the 10 minutes after TOTP enrolment.
    #[arg(long, env = "WYSIWYS_FIRST_DEVICE", value_enum, default_value = "activation-code")]
    pub first_device: crate::enrolment::FirstDevice,
    /// File whose first line is the operator's bootstrap token (32+ characters).
    /// Enables /api/v1/admin/ (create users and relying parties); absent, that API does not exist.
    #[arg(long, env = "WYSIWYS_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// How long a CSC v1 `credentials/authorize` waits for the person to
    /// confirm on both channels before it withdraws the request (v2 clients
    /// poll `authorizeCheck` instead). A proxy in front must allow it.
    #[arg(long, env = "WYSIWYS_CSC_WAIT_SECS", default_value_t = 120)]
    pub csc_wait_secs: u64,
    /// Lifetime of a CSC SAD once issued (`expiresIn`).
    #[arg(long, env = "WYSIWYS_CSC_SAD_TTL_SECS", default_value_t = 300)]
    pub csc_sad_ttl_secs: i64,
    /// ISO 3166-1 alpha-2 code of the country the service is established in (CSC `info`).
    #[arg(long, env = "WYSIWYS_SERVICE_REGION", default_value = "EU")]
    pub service_region: String,
    /// An external RFC 3161 time-stamping authority (http or https URL).
    /// Absent, the built-in authority (key in the HSM) stamps.
    #[arg(long, env = "WYSIWYS_TSA_URL")]
    pub tsa_url: Option<url::Url>,
    /// File whose first line is `user:password` for the external authority
    /// (HTTP Basic).
    #[arg(long, env = "WYSIWYS_TSA_BASIC_AUTH_FILE")]
    pub tsa_basic_auth_file: Option<PathBuf>,
    /// Queries per client address per minute to each public endpoint that
    /// costs an HSM signature: the time-stamping authority, and OCSP.
    #[arg(long, env = "WYSIWYS_PKI_RATE_PER_MINUTE", default_value_t = 60)]
    pub pki_rate_per_minute: u32,
    /// When the timestamp cannot be had: `required` releases nothing and
    /// ends the request with TIMESTAMP_UNAVAILABLE; `best-effort` releases
    /// the signature at B-B and the request says so.
    #[arg(long, env = "WYSIWYS_TIMESTAMP_POLICY", value_enum, default_value = "required")]
    pub timestamp_policy: crate::timestamping::TimestampPolicy,
    /// Level of every new signature: B-B (no timestamp), B-T (a signature
    /// timestamp), B-LT (PDFs: and the validation data in a DSS) or B-LTA
    /// (PDFs: and a document timestamp over it). CAdES stops at B-T.
    #[arg(long, env = "WYSIWYS_SIGNATURE_LEVEL", default_value = "B-T", value_parser = parse_level)]
    pub signature_level: wysiwys_proto::signature_level::SignatureLevel,
    /// Testing only: lets POST /test/clock move the server's clock forward.
    /// Refused unless listening on loopback.
    #[arg(long, hide = true)]
    pub test_clock: bool,
}
