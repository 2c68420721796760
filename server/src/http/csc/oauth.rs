//! CSC OAuth 2.0 over HTTP: the client's `oauth2/authorize` redirect, our
//! consent page (a page of the web channel: only a logged-in person sees
//! it), the way back from the Sign page, `oauth2/token`, and v1
//! `auth/login` / `auth/revoke`.

use super::{AppData, CscCaller, CscError, body, json};
use crate::csc::oauth::{self, AuthorizeRefusal, ClientCredentials, Next, Version};
use crate::error::Error;
use crate::http::auth::{Session, check_csrf};
use crate::http::errors::PageError;
use crate::http::handlers::read_limited;
use crate::http::pages::{nav, render};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use wysiwys_proto::ErrorCode;
#[allow(unused_imports)] // named in the OpenAPI attributes
use wysiwys_proto::csc::CscErrorBody;
use wysiwys_proto::csc::oauth::{AuthorizeQuery, LoginRequest, RevokeRequest, TokenRequest, TokenResponse};

type Page = Result<HttpResponse, PageError>;

/// Where the log-in pages send the person afterwards: set by a consent
/// page that was opened without a session. Only a grant page path is
/// ever followed (`after_login`), so it cannot redirect anywhere else.
pub const NEXT_COOKIE: &str = "wysiwys_next";
const GRANTS: &str = "/csc/oauth2/grants/";

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("location", location)).insert_header(("cache-control", "no-store")).finish()
}

/// The page a log-in continues to: a grant page the person was sent to,
/// or the Sign page.
pub fn after_login(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    let Some(next) = req.cookie(NEXT_COOKIE) else { return ("/sign".to_owned(), None) };
    let mut gone = Cookie::build(NEXT_COOKIE, "").path("/").finish();
    gone.make_removal();
    let value = next.value();
    let grant = value.strip_prefix(GRANTS).unwrap_or("");
    let safe = !grant.is_empty()
        && grant.len() <= 64
        && grant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (if safe { value.to_owned() } else { "/sign".to_owned() }, Some(gone))
}

fn version(req: &HttpRequest) -> Version {
    if req.path().starts_with("/csc/v1/") { Version::V1 } else { Version::V2 }
}

/// `GET …/oauth2/authorize`: the client sends the person's browser here.
pub async fn authorize(app: AppData, query: web::Query<AuthorizeQuery>) -> Page {
    match oauth::begin(&app, &query).await {
        Ok(grant) => Ok(see_other(&format!("{GRANTS}{grant}"))),
        Err(AuthorizeRefusal::Redirected(to)) => Ok(HttpResponse::Found().insert_header(("location", to)).finish()),
        Err(AuthorizeRefusal::Shown(e)) => Err(e.into()),
    }
}

/// The consent page allows its form to go on to the client's redirect
/// URI (the answer of "Continue" or "Decline" may be a redirect there).
fn consent_csp(redirect_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self' {redirect_origin}; object-src 'none'"
    )
}

/// `GET /csc/oauth2/grants/{id}`: what the client asks for. Without a
/// session the person logs in first and comes back here.
pub async fn consent_page(app: AppData, session: Option<Session>, id: web::Path<String>) -> Page {
    let Some(session) = session else {
        let next = Cookie::build(NEXT_COOKIE, format!("{GRANTS}{id}"))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(app.settings.secure_cookies)
            .finish();
        let mut to_login = see_other("/login");
        to_login.add_cookie(&next).map_err(|e| Error::Internal(format!("cookie: {e}")))?;
        return Ok(to_login);
    };
    let view = oauth::view(&app, &session.user, &id).await?;
    let hashes = view.credential.as_ref().map(|c| wysiwys_web::ConsentHashes {
        hashes: c.hashes.clone(),
        labels: c.labels.clone(),
        description: c.description.clone(),
    });
    let page = wysiwys_web::ConsentPage {
        nav: nav(&session),
        csrf: &session.session.csrf_token,
        grant_id: &view.grant_id,
        client: &view.client,
        scope: &view.scope,
        credential: hashes.as_ref(),
    };
    let mut response = render(StatusCode::OK, &page)?;
    if let Ok(csp) = actix_web::http::header::HeaderValue::from_str(&consent_csp(&view.redirect_origin)) {
        response.headers_mut().insert(actix_web::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    csrf: String,
    decision: String,
}

fn go(next: Next) -> HttpResponse {
    match next {
        Next::Client(to) => see_other(&to),
        Next::SignPage(request) => see_other(&format!("/requests/{request}")),
    }
}

/// `POST /csc/oauth2/grants/{id}`: "Continue" or "Decline".
pub async fn consent(
    app: AppData,
    session: Option<Session>,
    id: web::Path<String>,
    form: web::Form<ConsentForm>,
) -> Page {
    let session = session.ok_or(PageError::LogInFirst)?;
    check_csrf(&session, &form.csrf)?;
    match form.decision.as_str() {
        "allow" => Ok(go(oauth::consent(&app, &session.user, &id).await?)),
        "deny" => Ok(see_other(&oauth::deny(&app, &session.user, &id).await?)),
        _ => Err(Error::refused(ErrorCode::BadRequest, "decision is allow or deny").into()),
    }
}

/// `GET /csc/oauth2/grants/{id}/return`: from the Sign page back to the client.
pub async fn finish(app: AppData, session: Option<Session>, id: web::Path<String>) -> Page {
    let session = session.ok_or(PageError::LogInFirst)?;
    Ok(go(oauth::finish(&app, &session.user, &id).await?))
}

/// `Authorization: Basic base64(id:secret)`, if sent.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, Error> {
    let Some(header) = req.headers().get("authorization") else { return Ok(None) };
    let malformed = || Error::refused(ErrorCode::BadRequest, "Malformed authentication parameter.");
    let text = header.to_str().map_err(|_| malformed())?;
    let Some(encoded) = text.strip_prefix("Basic ") else { return Ok(None) };
    let decoded = wysiwys_proto::b64::decode_standard(encoded.trim()).ok_or_else(malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) =
        decoded.split_once(':').ok_or_else(|| Error::refused(ErrorCode::BadRequest, "Malformed username-password."))?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}

#[utoipa::path(post, path = "/csc/v2/oauth2/token", tag = "csc",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "A service token, or (scope credential) the SAD of the confirmed hashes", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant (unknown, used or expired code, wrong PKCE verifier), unsupported_grant_type", body = CscErrorBody),
        (status = 401, description = "invalid_client", body = CscErrorBody)))]
pub async fn token(app: AppData, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let bytes = read_limited(payload, app.settings.max_json_bytes).await?;
    let is_json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request: TokenRequest = if is_json {
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::refused(ErrorCode::BadRequest, format!("malformed JSON: {e}")))?
    } else {
        serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| Error::refused(ErrorCode::BadRequest, format!("malformed form: {e}")))?
    };
    let basic = basic_credentials(&req)?;
    let client = ClientCredentials {
        id: basic.as_ref().map(|(id, _)| id.as_str()),
        secret: basic.as_ref().map(|(_, secret)| secret.as_str()),
    };
    Ok(json(&oauth::exchange(&app, version(&req), &request, client).await?))
}

#[utoipa::path(post, path = "/csc/v1/auth/login", tag = "csc",
    request_body = LoginRequest,
    responses((status = 200, description = "A service token for the relying party (HTTP Basic: its id and API key)", body = TokenResponse),
        (status = 400, description = "invalid_request", body = CscErrorBody), (status = 401, description = "invalid_client", body = CscErrorBody)))]
pub async fn login(app: AppData, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: LoginRequest = body(&app, payload).await?;
    if request.refresh_token.is_some() {
        return Err(Error::refused(ErrorCode::BadRequest, "Invalid refresh_token").into());
    }
    let (id, secret) = basic_credentials(&req)?
        .ok_or_else(|| Error::refused(ErrorCode::OAuthClientInvalid, "Malformed authentication parameter."))?;
    let issued = oauth::login(&app, &id, &secret).await?;
    // v1 `auth/login` has no token_type.
    Ok(json(&serde_json::json!({"access_token": issued.access_token, "expires_in": issued.expires_in})))
}

#[utoipa::path(post, path = "/csc/v1/auth/revoke", tag = "csc", security(("api_key" = [])),
    request_body = RevokeRequest,
    responses((status = 204, description = "The token no longer works"), (status = 400, description = "invalid_request", body = CscErrorBody)))]
pub async fn revoke(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: RevokeRequest = body(&app, payload).await?;
    let token = request
        .token
        .ok_or_else(|| Error::refused(ErrorCode::BadRequest, "Missing (or invalid type) string parameter token"))?;
    oauth::revoke(&app, &caller.0, &token).await?;
    Ok(HttpResponse::NoContent().insert_header(("cache-control", "no-store")).finish())
}
