//! The browser pages (HTML). Like the API handlers: parse, call one flow
//! function, render; errors become pages in `errors::PageError`.

use super::auth::{PendingLogin, Session, check_csrf};
use super::errors::PageError;
use crate::accounts::{self, NewSession, STAGE_ENROL};
use crate::app::App;
use crate::error::Error;
use crate::{devices, enrolment, requests, step_up};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use wysiwys_proto::api::{SESSION_COOKIE, StepUpRequest};
use wysiwys_proto::{ErrorCode, b64};
use wysiwys_web::{DEMO_LETTERS, Nav, Template};

type AppData = web::Data<Arc<App>>;
type Page = Result<HttpResponse, PageError>;

/// Double-submit token for the forms used before a session exists (sign-up,
/// log-in): a SameSite=Strict cookie that a cross-site form cannot send.
const FORM_COOKIE: &str = "wysiwys_form";

pub fn render(status: StatusCode, page: &impl Template) -> Page {
    let html = page.render().map_err(|e| Error::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .insert_header(("cache-control", "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(html))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("location", location)).finish()
}

pub fn nav(session: &Session) -> Option<Nav> {
    Some(Nav { username: session.user.username.clone(), csrf: session.session.csrf_token.clone() })
}

fn require(session: Option<Session>) -> Result<Session, PageError> {
    session.ok_or(PageError::LogInFirst)
}

pub fn session_cookie(app: &App, session: &NewSession) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, session.cookie_value.expose_secret().to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(app.settings.secure_cookies)
        .finish()
}

fn client_ip(req: &HttpRequest) -> std::net::IpAddr {
    super::handlers::client_ip(req)
}

/// The form token of this browser, making one (and its cookie) if needed.
fn form_token(app: &App, req: &HttpRequest) -> Result<(String, Option<Cookie<'static>>), PageError> {
    if let Some(existing) = req.cookie(FORM_COOKIE).filter(|c| c.value().len() == 43) {
        return Ok((existing.value().to_owned(), None));
    }
    let token = b64::encode(crate::entropy::random_bytes::<32>(app.entropy.as_ref())?);
    let cookie = Cookie::build(FORM_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(app.settings.secure_cookies)
        .finish();
    Ok((token, Some(cookie)))
}

fn check_form_token(req: &HttpRequest, sent: &str) -> Result<(), PageError> {
    let cookie = req.cookie(FORM_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if cookie.is_empty() || !bool::from(cookie.as_bytes().ct_eq(sent.as_bytes())) {
        return Err(Error::refused(ErrorCode::CsrfInvalid, "form token missing or wrong").into());
    }
    Ok(())
}

fn with_cookie(mut response: HttpResponse, cookie: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(c) = cookie {
        let _ = response.add_cookie(&c);
    }
    response
}

/// The status a refused form is shown again with.
fn status_of(e: &Error) -> StatusCode {
    super::errors::status_for(e.code())
}

/// A refusal becomes a message on the form; anything else an error page.
/// A lock-out says which lock it is (too many tries from here, or on the
/// account); other refusals speak in the code's plain words.
fn form_message(e: Error) -> Result<(StatusCode, String), PageError> {
    match &e {
        Error::Refused { code: ErrorCode::RateLimited, detail } => {
            Ok((status_of(&e), format!("Locked for now: {detail}.")))
        }
        Error::Refused { code, .. } if *code != ErrorCode::CsrfInvalid => {
            Ok((status_of(&e), code.plain_words().to_owned()))
        }
        _ => Err(e.into()),
    }
}

pub fn qr_svg(text: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| Error::Internal(format!("QR code: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build();
    // Drop the XML declaration: the SVG is embedded in HTML.
    Ok(svg.find("<svg").map_or(svg.clone(), |at| svg[at..].to_owned()))
}

// ---- landing, sign-up, log-in ------------------------------------------------

pub async fn index(app: AppData, session: Option<Session>) -> Page {
    if session.is_some() {
        return Ok(see_other("/sign"));
    }
    let page = wysiwys_web::IndexPage { nav: None, origin: &app.settings.origin, version: env!("CARGO_PKG_VERSION") };
    render(StatusCode::OK, &page)
}

pub async fn signup_form(app: AppData, req: HttpRequest) -> Page {
    let (token, cookie) = form_token(&app, &req)?;
    let page = wysiwys_web::SignUpPage { nav: None, form_token: &token, username: "", error: None };
    Ok(with_cookie(render(StatusCode::OK, &page)?, cookie))
}

#[derive(Debug, Deserialize)]
pub struct SignUpForm {
    form_token: String,
    username: String,
    password: SecretString,
    password2: SecretString,
}

pub async fn signup(app: AppData, req: HttpRequest, form: web::Form<SignUpForm>) -> Page {
    check_form_token(&req, &form.form_token)?;
    let again = |status, error: &str| {
        let page = wysiwys_web::SignUpPage {
            nav: None,
            form_token: &form.form_token,
            username: &form.username,
            error: Some(error),
        };
        render(status, &page)
    };
    if form.password.expose_secret() != form.password2.expose_secret() {
        return again(StatusCode::BAD_REQUEST, "The two passwords differ.");
    }
    match accounts::sign_up(&app, &form.username, form.password.clone(), client_ip(&req)).await {
        Ok((session, _)) => Ok(with_cookie(see_other("/enrol"), Some(session_cookie(&app, &session)))),
        Err(Error::Refused { detail, .. }) if detail.contains("exists already") => {
            again(StatusCode::CONFLICT, "That user name is taken.")
        }
        Err(Error::Refused { code: ErrorCode::BadRequest, detail }) => again(StatusCode::BAD_REQUEST, &detail),
        Err(e) => {
            let (status, message) = form_message(e)?;
            again(status, &message)
        }
    }
}

pub async fn enrol_form(pending: Option<PendingLogin>) -> Page {
    let pending = pending.ok_or(PageError::LogInFirst)?;
    enrol_page(&pending.0, StatusCode::OK, None)
}

fn enrol_page(session: &Session, status: StatusCode, error: Option<&str>) -> Page {
    if session.session.stage != STAGE_ENROL {
        return Ok(see_other("/login/code"));
    }
    let (uri, secret) = accounts::enrolment(&session.user)?;
    let svg = qr_svg(uri.expose_secret())?;
    let page = wysiwys_web::EnrolPage {
        nav: None,
        csrf: &session.session.csrf_token,
        username: &session.user.username,
        qr_svg: &svg,
        secret: secret.expose_secret(),
        otpauth_uri: uri.expose_secret(),
        error,
    };
    render(status, &page)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
}

/// Step two of logging in (and the first code of a new account).
async fn finish(app: &App, req: &HttpRequest, pending: &Session, form: &CodeForm) -> Result<HttpResponse, Error> {
    let session = accounts::finish_login(app, &pending.session, &pending.user, &form.code, client_ip(req)).await?;
    let (next, used_up) = super::csc::oauth::after_login(req);
    Ok(with_cookie(with_cookie(see_other(&next), Some(session_cookie(app, &session))), used_up))
}

pub async fn enrol(app: AppData, req: HttpRequest, pending: Option<PendingLogin>, form: web::Form<CodeForm>) -> Page {
    let pending = pending.ok_or(PageError::LogInFirst)?.0;
    check_csrf(&pending, &form.csrf)?;
    match finish(&app, &req, &pending, &form).await {
        Ok(done) => Ok(done),
        Err(e) => {
            let (status, message) = form_message(e)?;
            enrol_page(&pending, status, Some(&message))
        }
    }
}

pub async fn login_form(app: AppData, req: HttpRequest) -> Page {
    let (token, cookie) = form_token(&app, &req)?;
    let page = wysiwys_web::LoginPage { nav: None, form_token: &token, username: "", error: None };
    Ok(with_cookie(render(StatusCode::OK, &page)?, cookie))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    form_token: String,
    username: String,
    password: SecretString,
}

pub async fn login(app: AppData, req: HttpRequest, form: web::Form<LoginForm>) -> Page {
    check_form_token(&req, &form.form_token)?;
    match accounts::begin_login(&app, &form.username, form.password.expose_secret(), client_ip(&req)).await {
        Ok(session) => {
            let next = if session.stage == STAGE_ENROL { "/enrol" } else { "/login/code" };
            Ok(with_cookie(see_other(next), Some(session_cookie(&app, &session))))
        }
        Err(e) => {
            let (status, message) = form_message(e)?;
            let page = wysiwys_web::LoginPage {
                nav: None,
                form_token: &form.form_token,
                username: &form.username,
                error: Some(&message),
            };
            render(status, &page)
        }
    }
}

pub async fn code_form(pending: Option<PendingLogin>) -> Page {
    let pending = pending.ok_or(PageError::LogInFirst)?.0;
    code_page(&pending, StatusCode::OK, None)
}

fn code_page(session: &Session, status: StatusCode, error: Option<&str>) -> Page {
    if session.session.stage == STAGE_ENROL {
        return Ok(see_other("/enrol"));
    }
    let page =
        wysiwys_web::CodePage { nav: None, csrf: &session.session.csrf_token, username: &session.user.username, error };
    render(status, &page)
}

pub async fn code(app: AppData, req: HttpRequest, pending: Option<PendingLogin>, form: web::Form<CodeForm>) -> Page {
    let pending = pending.ok_or(PageError::LogInFirst)?.0;
    check_csrf(&pending, &form.csrf)?;
    match finish(&app, &req, &pending, &form).await {
        Ok(done) => Ok(done),
        Err(e) => {
            let (status, message) = form_message(e)?;
            code_page(&pending, status, Some(&message))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(app: AppData, session: Option<Session>, form: web::Form<CsrfForm>) -> Page {
    let session = require(session)?;
    check_csrf(&session, &form.csrf)?;
    accounts::logout(&app, &session.cookie).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(with_cookie(see_other("/login"), Some(gone)))
}

// ---- devices -------------------------------------------------------------------

pub async fn devices_page(app: AppData, session: Option<Session>) -> Page {
    let session = require(session)?;
    let items = devices::list(&app, &session.user)
        .await?
        .into_iter()
        .map(|d| wysiwys_web::DeviceItem {
            id: d.device_id,
            name: d.name,
            paired: wysiwys_web::format_ms(d.created_at),
            last_seen: d.last_seen_at.map_or_else(|| "never".to_owned(), wysiwys_web::format_ms),
            revoked: d.revoked,
            awaiting_approval: d.awaiting_approval,
        })
        .collect();
    let elevated = step_up::is_elevated(&session.session, app.clock.now_ms());
    render(StatusCode::OK, &wysiwys_web::DevicesPage { nav: nav(&session), devices: items, elevated })
}

#[derive(Deserialize)]
pub struct StepUpForm {
    csrf: String,
    password: String,
    code: String,
}

impl std::fmt::Debug for StepUpForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpForm").field("password", &"***").field("code", &"***").finish()
    }
}

pub async fn step_up(app: AppData, req: HttpRequest, session: Option<Session>, form: web::Form<StepUpForm>) -> Page {
    let session = require(session)?;
    let StepUpForm { csrf, password, code } = form.into_inner();
    check_csrf(&session, &csrf)?;
    let entry = StepUpRequest { password, totp: code };
    step_up::step_up(&app, &session.session, &session.user, &entry, client_ip(&req)).await?;
    Ok(see_other("/devices"))
}

pub async fn pair(app: AppData, session: Option<Session>, form: web::Form<CsrfForm>) -> Page {
    let session = require(session)?;
    check_csrf(&session, &form.csrf)?;
    let code = enrolment::create_pairing_code(&app, &session.session, &session.user).await?;
    let listed = devices::list(&app, &session.user).await?;
    let known = listed.len();
    let has_active_device = listed.iter().any(|d| !d.revoked && !d.awaiting_approval);
    let svg = qr_svg(&code.uri)?;
    let fingerprint = app.channel_key.thumbprint();
    let page = wysiwys_web::PairingPage {
        nav: nav(&session),
        qr_svg: &svg,
        uri: &code.uri,
        code: &code.code,
        fingerprint: &fingerprint,
        expires: wysiwys_web::format_ms(code.expires_at),
        known_devices: known,
        has_active_device,
    };
    render(StatusCode::OK, &page)
}

pub async fn revoke(app: AppData, session: Option<Session>, id: web::Path<String>, form: web::Form<CsrfForm>) -> Page {
    let session = require(session)?;
    check_csrf(&session, &form.csrf)?;
    devices::revoke(&app, &session.session, &session.user, &id).await?;
    Ok(see_other("/devices"))
}

// ---- signing -------------------------------------------------------------------

pub async fn sign_page(app: AppData, session: Option<Session>) -> Page {
    let session = require(session)?;
    let page = wysiwys_web::SignPage {
        nav: nav(&session),
        csrf: &session.session.csrf_token,
        demos: &DEMO_LETTERS,
        max_bytes: app.settings.max_document_bytes,
    };
    render(StatusCode::OK, &page)
}

pub async fn sign_demo(
    app: AppData,
    session: Option<Session>,
    index: web::Path<usize>,
    form: web::Form<CsrfForm>,
) -> Page {
    let session = require(session)?;
    check_csrf(&session, &form.csrf)?;
    let demo = DEMO_LETTERS.get(*index).ok_or_else(|| Error::refused(ErrorCode::NotFound, "no such demo letter"))?;
    let created = requests::upload(&app, &session.user, "text/plain", demo.text.as_bytes()).await?;
    Ok(see_other(&format!("/requests/{}", created.id)))
}

pub async fn request_page(app: AppData, session: Option<Session>, id: web::Path<String>) -> Page {
    let session = require(session)?;
    let view = requests::get(&app, &session.user, &id).await?;
    let grant = crate::csc::oauth::grant_of_request(&app, &session.user, &id).await?;
    let page = wysiwys_web::RequestPage {
        nav: nav(&session),
        csrf: &session.session.csrf_token,
        request: &view,
        server_time: app.clock.now_ms(),
        continue_to: grant.map(|grant| format!("/csc/oauth2/grants/{grant}/return")),
    };
    render(StatusCode::OK, &page)
}

pub async fn history_page(app: AppData, session: Option<Session>) -> Page {
    let session = require(session)?;
    let list = requests::history(&app, &session.user).await?;
    render(StatusCode::OK, &wysiwys_web::HistoryPage { nav: nav(&session), requests: &list })
}
