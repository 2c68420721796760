//! The browser channel's pages: askama templates with typed view structs,
//! and the static files they use (no inline script or style, no CDN).

#![forbid(unsafe_code)]

pub use askama::Template;
use wysiwys_proto::api::{RequestState, SignRequestView};

mod time;
pub use time::format_ms;

/// Logged-in navigation: who is there, and the token the log-out form needs.
#[derive(Debug, Clone)]
pub struct Nav {
    pub username: String,
    pub csrf: String,
}

/// The landing page: what this is, and where to go.
#[derive(Template, Debug)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub nav: Option<Nav>,
    pub origin: &'a str,
    pub version: &'a str,
}

#[derive(Template, Debug)]
#[template(path = "signup.html")]
pub struct SignUpPage<'a> {
    pub nav: Option<Nav>,
    pub form_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template, Debug)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub nav: Option<Nav>,
    pub form_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// Step two of logging in.
#[derive(Template, Debug)]
#[template(path = "login_code.html")]
pub struct CodePage<'a> {
    pub nav: Option<Nav>,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// Enrolment of the authenticator app of a new account.
#[derive(Template, Debug)]
#[template(path = "enrol.html")]
pub struct EnrolPage<'a> {
    pub nav: Option<Nav>,
    pub csrf: &'a str,
    pub username: &'a str,
    /// An SVG made by the server from the otpauth URI.
    pub qr_svg: &'a str,
    pub secret: &'a str,
    pub otpauth_uri: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct DeviceItem {
    pub id: String,
    pub name: String,
    pub paired: String,
    pub last_seen: String,
    pub revoked: bool,
    /// Paired, but not usable until another device approves it.
    pub awaiting_approval: bool,
}

#[derive(Template, Debug)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub nav: Option<Nav>,
    pub devices: Vec<DeviceItem>,
    /// Whether the session may change a device now (a fresh password and
    /// code); otherwise the page asks for them first.
    pub elevated: bool,
}

/// A fresh pairing code as QR code and text; the page notices the new device.
#[derive(Template, Debug)]
#[template(path = "pairing.html")]
pub struct PairingPage<'a> {
    pub nav: Option<Nav>,
    pub qr_svg: &'a str,
    pub uri: &'a str,
    pub code: &'a str,
    /// For pairing by hand: the device prints it, the person compares.
    pub fingerprint: &'a str,
    pub expires: String,
    pub known_devices: usize,
    /// Whether the account has an active device that will be asked to
    /// approve; without one the device needs the activation code.
    pub has_active_device: bool,
}

/// A letter offered for trying the service without a file at hand.
#[derive(Debug, Clone, Copy)]
pub struct DemoLetter {
    pub title: &'static str,
    pub text: &'static str,
}

pub const DEMO_LETTERS: [DemoLetter; 2] = [
    DemoLetter {
        title: "Building permit (Municipality of Lund)",
        text: "Municipality of Lund — Building permit 2026-1142\n\nDear Ms Åsa Öberg,\n\nyour application for a garden shed at Storgatan 12 is approved under the\nconditions in section 3. Sign this letter to accept them.\n\n3. Conditions\n3.1 The shed may not exceed 15 m².\n3.2 Work must be finished by 30 June 2027.\n\nKind regards,\nBuilding Committee\n",
    },
    DemoLetter {
        title: "Tax return confirmation (Tax Agency)",
        text: "Tax Agency — Income tax return 2025\n\nI confirm that the income tax return filed on 14 March 2026 for\npersonal identity number 19800101-1234 is complete and correct.\n\nTaxable income: 412 300 SEK\nTax to pay: 3 215 SEK, due 12 November 2026\n",
    },
];

#[derive(Template, Debug)]
#[template(path = "sign.html")]
pub struct SignPage<'a> {
    pub nav: Option<Nav>,
    pub csrf: &'a str,
    pub demos: &'a [DemoLetter],
    pub max_bytes: usize,
}

/// The sign page. Everything shown of the document is put there by
/// `sign.js` from the exact bytes it fetched, and hashed from what is shown.
#[derive(Template, Debug)]
#[template(path = "request.html")]
pub struct RequestPage<'a> {
    pub nav: Option<Nav>,
    pub csrf: &'a str,
    pub request: &'a SignRequestView,
    pub server_time: i64,
    /// Where the page goes once the request ended, for a request a signing
    /// application asked for through OAuth (back to it, with the code).
    pub continue_to: Option<String>,
}

/// A signing application's OAuth authorization, for the person to allow
/// or decline (CSC `oauth2/authorize`).
#[derive(Template, Debug)]
#[template(path = "oauth_consent.html")]
pub struct ConsentPage<'a> {
    pub nav: Option<Nav>,
    pub csrf: &'a str,
    pub grant_id: &'a str,
    /// The relying party's name (display-checked when it was made).
    pub client: &'a str,
    pub scope: &'a str,
    pub credential: Option<&'a ConsentHashes>,
}

/// The hashes a credential authorization asks for, with their labels.
#[derive(Debug, Clone)]
pub struct ConsentHashes {
    pub hashes: Vec<String>,
    pub labels: Vec<Option<String>>,
    pub description: Option<String>,
}

#[derive(Template, Debug)]
#[template(path = "history.html")]
pub struct HistoryPage<'a> {
    pub nav: Option<Nav>,
    pub requests: &'a [SignRequestView],
}

#[derive(Template, Debug)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub nav: Option<Nav>,
    pub status: u16,
    pub code: &'a str,
    pub message: &'a str,
}

/// The state of a request in plain words (shown live on the sign page).
pub fn status_message(view: &SignRequestView) -> String {
    match view.state {
        RequestState::Signed => "Signed. Both your browser and your device confirmed this letter.".into(),
        RequestState::Signing => "Both channels agree; signing…".into(),
        RequestState::Authorized => {
            "Both channels confirmed. The signing application may now sign exactly the hashes you saw, each once."
                .into()
        }
        RequestState::Failed => view.error.as_ref().map_or("Not signed.".into(), |e| e.error.plain_words().to_owned()),
        RequestState::Pending => match (view.web_confirmed_at.is_some(), view.device_confirmed_at.is_some()) {
            (false, false) => "Check the letter and press Sign; then confirm on your device.".into(),
            (true, false) => "Waiting for your device: compare the code and approve there.".into(),
            (false, true) => "Your device confirmed. Press Sign to finish.".into(),
            (true, true) => "Both channels confirmed; signing…".into(),
        },
    }
}

/// A time for a table cell (askama passes arguments by reference).
pub fn when(ms: &i64) -> String {
    format_ms(*ms)
}

/// An optional time for a table cell; a dash when absent.
pub fn when_opt(ms: &Option<i64>) -> String {
    ms.map_or_else(|| "–".to_owned(), format_ms)
}

/// CSS class of a state cell.
pub fn state_class(state: &RequestState) -> &'static str {
    match state {
        RequestState::Signed => "state-signed",
        RequestState::Failed => "state-failed",
        _ => "state-open",
    }
}

pub fn state_label(state: &RequestState) -> &'static str {
    match state {
        RequestState::Pending => "waiting",
        RequestState::Signing => "signing",
        RequestState::Authorized => "authorized",
        RequestState::Signed => "signed",
        RequestState::Failed => "not signed",
    }
}

/// A static file served under `/static/`.
#[derive(Debug, Clone, Copy)]
pub struct StaticFile {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

pub const STATIC_FILES: &[StaticFile] = &[
    StaticFile {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/style.css"),
    },
    StaticFile { name: "common.js", content_type: JS, body: include_bytes!("../static/common.js") },
    StaticFile { name: "sign.js", content_type: JS, body: include_bytes!("../static/sign.js") },
    StaticFile { name: "upload.js", content_type: JS, body: include_bytes!("../static/upload.js") },
    StaticFile { name: "pairing.js", content_type: JS, body: include_bytes!("../static/pairing.js") },
    // The service's logo, as CSC `info` names it (PNG, at most 256 × 256).
    StaticFile { name: "logo.png", content_type: "image/png", body: include_bytes!("../static/logo.png") },
];

pub fn static_file(name: &str) -> Option<&'static StaticFile> {
    STATIC_FILES.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests;
