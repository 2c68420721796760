//! CSC OAuth 2.0 as a way in: whoever reads the code from the browser's
//! address bar, controls the page, or names its own redirect URI must get
//! no token, and above all no SAD without the device.

use crate::attack::lab::{CscPlatform, Victim, rand_bytes};
use crate::attack::{Lab, Observation, Played};
use serde_json::json;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::csc::oauth::DETAILS_TYPE_CREDENTIAL;

/// Where the genuine signing application is sent back to; nothing
/// listens there, because every redirect is read, not followed.
const CALLBACK: &str = "https://signing-app.invalid/callback";

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    wysiwys_proto::b64::encode(bytes)
}

/// The refusal a page names (pages carry the stable code in their text).
fn page_code(status: u16, page: &str) -> Option<ErrorCode> {
    if status < 400 {
        return None;
    }
    Some(ErrorCode::ALL.iter().copied().find(|c| page.contains(c.as_str())).unwrap_or(ErrorCode::Unknown))
}

/// One person, logged in with a paired device, and a signing application
/// that sends them through `oauth2/authorize`.
struct Flow {
    app: CscPlatform,
    victim: Victim,
    pages: reqwest::Client,
    verifier: String,
}

impl Flow {
    async fn new(lab: &Lab) -> anyhow::Result<Flow> {
        let app = lab.csc_oauth_client(CALLBACK).await?;
        let victim = lab.victim().await?;
        let pages = victim.user.browser.stepwise();
        Ok(Flow { app, victim, pages, verifier: b64url(rand_bytes::<32>()) })
    }

    fn origin(&self) -> &str {
        &self.victim.user.browser.origin
    }

    /// `GET oauth2/authorize`; the status and where it sends the browser.
    async fn authorize(&self, redirect_uri: &str, extra: &[(&str, &str)]) -> anyhow::Result<(u16, String, String)> {
        let challenge = b64url(wysiwys_proto::jcs::sha256(self.verifier.as_bytes()));
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", self.app.credentials.rp_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        query.extend_from_slice(extra);
        let mut url = reqwest::Url::parse(&format!("{}/csc/v2/oauth2/authorize", self.origin()))?;
        url.query_pairs_mut().extend_pairs(&query);
        let response = self.pages.get(url).send().await?;
        let status = response.status().as_u16();
        let location = location(&response);
        Ok((status, location, response.text().await?))
    }

    /// Opens the grant page and answers it; where the answer leads.
    async fn consent(&self, grant_path: &str, csrf: &str) -> anyhow::Result<(u16, String, String)> {
        let shown = self.pages.get(format!("{}{grant_path}", self.origin())).send().await?;
        anyhow::ensure!(shown.status() == 200, "the consent page answered {}", shown.status());
        let response = self
            .pages
            .post(format!("{}{grant_path}", self.origin()))
            .form(&[("csrf", csrf), ("decision", "allow")])
            .send()
            .await?;
        let status = response.status().as_u16();
        let location = location(&response);
        Ok((status, location, response.text().await?))
    }

    fn csrf(&self) -> String {
        self.victim.user.browser.csrf.clone().unwrap_or_default()
    }

    async fn redeem(&self, code: &str, verifier: &str) -> Option<ErrorCode> {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", self.app.credentials.rp_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ];
        self.app.csc.form("oauth2/token", &pairs, None).await.code()
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn query_value(location: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(location).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The code travels in the address bar: a script in the page, an
/// extension or a proxy log can read it. Without the client's PKCE
/// verifier it is worth nothing, and a guess uses it up.
pub fn stolen_code(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let flow = Flow::new(lab).await?;
        let (_, grant, _) = flow.authorize(CALLBACK, &[("scope", "service")]).await?;
        anyhow::ensure!(grant.starts_with("/csc/oauth2/grants/"), "authorize sent the browser to {grant:?}");
        let (_, back, _) = flow.consent(&grant, &flow.csrf()).await?;
        let code = query_value(&back, "code").ok_or_else(|| anyhow::anyhow!("no code in {back:?}"))?;
        let guess = b64url(rand_bytes::<32>());
        let mut o = Observation::new(flow.redeem(&code, &guess).await);
        o.expect(
            "the genuine client, after the thief's guess",
            flow.redeem(&code, &flow.verifier).await,
            ErrorCode::OAuthGrantInvalid,
        );
        Ok(o)
    })
}

/// Script in the page consents to a credential authorization of its own
/// hash and confirms it on the Sign page; the device never approves. No
/// code comes back, so no SAD exists; a consent without the page's CSRF
/// token does nothing.
pub fn page_alone(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let flow = Flow::new(lab).await?;
        let hash = wysiwys_proto::b64::encode_standard(wysiwys_proto::jcs::sha256(b"a loan the person never saw"));
        let details =
            json!([{"type": DETAILS_TYPE_CREDENTIAL, "documentDigests": [{"hash": hash, "label": "Contract"}]}])
                .to_string();
        let asked = [("scope", "credential"), ("authorization_details", details.as_str())];
        let (_, grant, _) = flow.authorize(CALLBACK, &asked).await?;
        anyhow::ensure!(grant.starts_with("/csc/oauth2/grants/"), "authorize sent the browser to {grant:?}");
        let mut o = Observation::default();
        let (status, _, page) = flow.consent(&grant, "guessed").await?;
        o.expect("a consent without the page's CSRF token", page_code(status, &page), ErrorCode::CsrfInvalid);
        let (_, sign_page, _) = flow.consent(&grant, &flow.csrf()).await?;
        let request = sign_page.strip_prefix("/requests/").unwrap_or_default().to_owned();
        anyhow::ensure!(!request.is_empty(), "the consent did not lead to the Sign page: {sign_page:?}");
        let confirmed = flow.victim.user.browser.confirm_as_displayed(&request).await;
        o.require("the page's confirmation is accepted as the web channel's", confirmed.is_ok());
        let back = flow.pages.get(format!("{}{grant}/return", flow.origin())).send().await?;
        let back = location(&back);
        o.require("the way back leads to the Sign page again, not to the client", back == sign_page);
        o.require("no code reaches the client", query_value(&back, "code").is_none());
        let forged = format!("wysiwys_code_{}", b64url(rand_bytes::<32>()));
        o.observed = flow.redeem(&forged, &flow.verifier).await;
        o.signature_produced = flow.victim.user.browser.signature(&request).await.is_ok();
        Ok(o)
    })
}

/// The attacker sends the person to our authorization page with its own
/// redirect URI, to collect the code there. It is shown an error and
/// nothing is sent anywhere.
pub fn redirect_hijack(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let flow = Flow::new(lab).await?;
        let evil = "https://attacker.invalid/collect";
        let (status, to, page) = flow.authorize(evil, &[("scope", "service")]).await?;
        let mut o = Observation::new(page_code(status, &page));
        o.require("nothing is redirected", to.is_empty());
        let lookalike = format!("{CALLBACK}/../../attacker");
        let (status, to, page) = flow.authorize(&lookalike, &[("scope", "service")]).await?;
        o.expect(
            "a path that only starts like the registered URI",
            page_code(status, &page),
            ErrorCode::OAuthClientInvalid,
        );
        o.require("nothing is redirected for it either", to.is_empty());
        Ok(o)
    })
}
