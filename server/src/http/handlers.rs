//! Route handlers. Each parses, calls one function of a flow module, and
//! returns; errors map to HTTP in `errors`.

use super::{Session, SessionWrite};
use crate::app::App;
use crate::error::{Error, Result};
use crate::{accounts, devices, enrolment, requests, step_up};
use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
#[allow(unused_imports)] // named in the OpenAPI attributes
use wysiwys_proto::ErrorBody;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{
    AuditEntry, DeviceView, LoginResponse, PairDeviceResponse, PairingCodeResponse, SignRequestView,
};
use wysiwys_proto::api::{LoginRequest, PairDeviceRequest, RequestState, SESSION_COOKIE, StatusEvent, WebConfirmation};
use wysiwys_proto::api::{StepUpRequest, StepUpResponse};
use wysiwys_proto::summary::{MEDIA_TYPE_PAYMENT, MEDIA_TYPE_TEXT};

pub(super) type AppData = web::Data<Arc<App>>;

/// The real client, as the per-address limits key it (its IPv4 address or
/// its IPv6 /64): the peer, or behind a trusted proxy what that proxy saw.
pub(super) fn client_ip(req: &HttpRequest) -> IpAddr {
    let peer = req.peer_addr().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let client = match req.app_data::<AppData>() {
        Some(app) => app.settings.trusted_proxies.client(peer, header("forwarded"), header("x-forwarded-for")),
        None => peer,
    };
    crate::client_address::rate_limit_key(client)
}

fn no_store() -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::Ok();
    b.insert_header(("cache-control", "no-store"));
    b
}

pub async fn static_file(name: web::Path<String>) -> Result<HttpResponse> {
    let file = wysiwys_web::static_file(&name).ok_or_else(|| Error::refused(ErrorCode::NotFound, "no such file"))?;
    Ok(HttpResponse::Ok().content_type(file.content_type).insert_header(("cache-control", "no-cache")).body(file.body))
}

#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "The server is up", body = String, content_type = "text/plain")))]
pub async fn health() -> HttpResponse {
    // A cached "ok" would hide a node that is down from its load balancer.
    no_store().content_type("text/plain").body("ok\n")
}

#[utoipa::path(get, path = "/readyz", tag = "service", responses(
    (status = 200, description = "Database, migrations and HSM answer: this node can sign", body = wysiwys_proto::readiness::Readiness),
    (status = 503, description = "A part this node needs does not answer; each part is named", body = wysiwys_proto::readiness::Readiness),
    (status = 429, description = "RATE_LIMITED: too many probes from this address", body = wysiwys_proto::error::ErrorBody)))]
pub async fn ready(app: AppData, req: HttpRequest) -> Result<HttpResponse> {
    let readiness = crate::readiness::check(&app, client_ip(&req)).await?;
    let mut response = if readiness.ready { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() };
    Ok(response.insert_header(("cache-control", "no-store")).json(readiness))
}

pub async fn metrics(handle: web::Data<Option<metrics_exporter_prometheus::PrometheusHandle>>) -> HttpResponse {
    match handle.as_ref() {
        Some(h) => no_store().content_type("text/plain; version=0.0.4").body(h.render()),
        None => HttpResponse::NotFound().finish(),
    }
}

pub async fn not_found() -> Result<HttpResponse> {
    Err(Error::refused(ErrorCode::NotFound, "no such endpoint"))
}

#[utoipa::path(get, path = "/api/ca.pem", tag = "service",
    responses((status = 200, description = "The CA certificate that issues every signing certificate", body = String, content_type = "application/x-pem-file")))]
pub async fn ca_pem(app: AppData) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .body(crate::pki::to_pem("CERTIFICATE", &app.ca_certificate))
}

#[utoipa::path(post, path = "/api/session", tag = "browser", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = LoginResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "LOGIN_FAILED, TOTP_INVALID or TOTP_REPLAYED", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (address or account lock)", body = ErrorBody)))]
pub async fn login(app: AppData, req: HttpRequest, body: web::Json<LoginRequest>) -> Result<HttpResponse> {
    let session = accounts::login(&app, &body, client_ip(&req)).await?;
    Ok(no_store().cookie(super::pages::session_cookie(&app, &session)).json(session.response))
}

#[utoipa::path(delete, path = "/api/session", tag = "browser", security(("session" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody), (status = 403, description = "CSRF_INVALID", body = ErrorBody)))]
pub async fn logout(app: AppData, session: SessionWrite) -> Result<HttpResponse> {
    accounts::logout(&app, &session.0.cookie).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

#[utoipa::path(get, path = "/api/me", tag = "browser", security(("session" = [])),
    responses((status = 200, description = "The logged-in user and the CSRF token", body = Object), (status = 401, body = ErrorBody)))]
pub async fn me(session: Session) -> HttpResponse {
    no_store().json(serde_json::json!({
        "user_id": session.user.id,
        "username": session.user.username,
        "csrf_token": session.session.csrf_token,
        "signing_locked": session.user.signing_locked_at.is_some(),
    }))
}

#[utoipa::path(get, path = "/api/devices", tag = "browser", security(("session" = [])),
    responses((status = 200, description = "The user's paired devices", body = [DeviceView]), (status = 401, body = ErrorBody)))]
pub async fn list_devices(app: AppData, session: Session) -> Result<HttpResponse> {
    Ok(no_store().json(devices::list(&app, &session.user).await?))
}

#[utoipa::path(post, path = "/api/devices/pairing-codes", tag = "browser", security(("session" = [])),
    responses((status = 200, description = "A one-time pairing code (10 minutes); uses up the session's step-up", body = PairingCodeResponse),
        (status = 401, body = ErrorBody), (status = 403, description = "CSRF_INVALID or STEP_UP_REQUIRED", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_pairing_code(app: AppData, session: SessionWrite) -> Result<HttpResponse> {
    Ok(no_store().json(enrolment::create_pairing_code(&app, &session.0.session, &session.0.user).await?))
}

#[utoipa::path(post, path = "/api/session/step-up", tag = "browser", security(("session" = [])), request_body = StepUpRequest,
    responses((status = 200, description = "One change of the user's devices is allowed until `elevated_until`", body = StepUpResponse),
        (status = 400, body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED, LOGIN_FAILED, TOTP_INVALID or TOTP_REPLAYED", body = ErrorBody),
        (status = 403, description = "CSRF_INVALID", body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (address or account lock)", body = ErrorBody)))]
pub async fn step_up(
    app: AppData,
    req: HttpRequest,
    session: SessionWrite,
    body: web::Json<StepUpRequest>,
) -> Result<HttpResponse> {
    let granted = step_up::step_up(&app, &session.0.session, &session.0.user, &body, client_ip(&req)).await?;
    Ok(no_store().json(granted))
}

#[utoipa::path(post, path = "/api/devices/pair", tag = "device", request_body = PairDeviceRequest,
    responses((status = 200, description = "The device is paired", body = PairDeviceResponse),
        (status = 400, body = ErrorBody), (status = 409, description = "PAIRING_CODE_INVALID", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, description = "Bad proof", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn pair_device(app: AppData, req: HttpRequest, body: web::Json<PairDeviceRequest>) -> Result<HttpResponse> {
    Ok(no_store().json(enrolment::pair(&app, &body, client_ip(&req)).await?))
}

#[utoipa::path(post, path = "/api/devices/{id}/revoke", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses((status = 204, description = "Revoked; uses up the session's step-up"), (status = 401, body = ErrorBody),
        (status = 403, description = "CSRF_INVALID or STEP_UP_REQUIRED", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn revoke_device(app: AppData, session: SessionWrite, id: web::Path<String>) -> Result<HttpResponse> {
    devices::revoke(&app, &session.0.session, &session.0.user, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `text/plain` (UTF-8) or the payment type; anything else is refused
/// before a byte of the body is read.
pub(super) fn document_media_type(req: &HttpRequest) -> Result<&'static str> {
    let header = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut parts = header.split(';').map(|p| p.trim().to_ascii_lowercase());
    let essence = parts.next().unwrap_or_default();
    for param in parts {
        if param.starts_with("charset=") && param != "charset=utf-8" && param != "charset=\"utf-8\"" {
            return Err(Error::refused(ErrorCode::UnsupportedContentType, "letters must be UTF-8"));
        }
    }
    match essence.as_str() {
        MEDIA_TYPE_TEXT => Ok(MEDIA_TYPE_TEXT),
        MEDIA_TYPE_PAYMENT => Ok(MEDIA_TYPE_PAYMENT),
        _ => Err(Error::refused(
            ErrorCode::UnsupportedContentType,
            format!("upload a document as {MEDIA_TYPE_TEXT} or {MEDIA_TYPE_PAYMENT}"),
        )),
    }
}

/// Reads a body up to `limit` bytes; more is PAYLOAD_TOO_LARGE, and
/// nothing is stored.
pub(super) async fn read_limited(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::refused(ErrorCode::BadRequest, format!("reading body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::refused(ErrorCode::PayloadTooLarge, format!("document larger than {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[utoipa::path(post, path = "/api/requests", tag = "browser", security(("session" = [])),
    request_body(content = String, description = "The letter (text/plain; charset=utf-8) or a payment order",
        content_type = "text/plain"),
    responses((status = 201, description = "Created and pushed to the user's devices", body = SignRequestView),
        (status = 400, description = "DOCUMENT_INVALID", body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "CSRF_INVALID or ACCOUNT_LOCKED_NOT_ME", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "UNSAFE_DOCUMENT", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_request(
    app: AppData,
    session: SessionWrite,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let media_type = document_media_type(&req)?;
    let declared = req.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > app.settings.max_document_bytes) {
        return Err(Error::refused(ErrorCode::PayloadTooLarge, "document too large"));
    }
    let document = read_limited(payload, app.settings.max_document_bytes).await?;
    let view = requests::upload(&app, &session.0.user, media_type, &document).await?;
    Ok(HttpResponse::Created().insert_header(("cache-control", "no-store")).json(view))
}

#[utoipa::path(get, path = "/api/requests", tag = "browser", security(("session" = [])),
    responses((status = 200, description = "The user's requests, newest first", body = [SignRequestView]), (status = 401, body = ErrorBody)))]
pub async fn list_requests(app: AppData, session: Session) -> Result<HttpResponse> {
    Ok(no_store().json(requests::history(&app, &session.user).await?))
}

#[utoipa::path(get, path = "/api/requests/{id}", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = SignRequestView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_request(app: AppData, session: Session, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(no_store().json(requests::get(&app, &session.user, &id).await?))
}

/// Server-Sent Events: the request's state whenever it changes, until it
/// is signed or has failed. Reads the database, so it works across nodes.
#[utoipa::path(get, path = "/api/requests/{id}/stream", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "Server-Sent Events `status`, each a StatusEvent", body = String, content_type = "text/event-stream"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn request_stream(app: AppData, session: Session, id: web::Path<String>) -> Result<HttpResponse> {
    requests::get(&app, &session.user, &id).await?;
    let Some(open) = app.status_streams.open(session.session.token_hash.clone()) else {
        let limit = app.status_streams.limit();
        tracing::info!(user = %session.user.id, limit, "a session asked for one live-status stream too many");
        return Err(Error::refused(ErrorCode::RateLimited, format!("at most {limit} live-status streams per session")));
    };
    let watch = StreamState {
        app: app.get_ref().clone(),
        user: session.user,
        id: id.into_inner(),
        last: None,
        done: false,
        _open: open,
    };
    let stream = futures_util::stream::unfold(watch, |mut st| async move {
        if st.done {
            return None;
        }
        let started = tokio::time::Instant::now();
        loop {
            let view = requests::get(&st.app, &st.user, &st.id).await.ok()?;
            if st.last.as_ref() != Some(&view) {
                st.done = matches!(view.state, RequestState::Signed | RequestState::Failed);
                let event = StatusEvent {
                    message: wysiwys_web::status_message(&view),
                    request: view.clone(),
                    server_time: st.app.clock.now_ms(),
                };
                st.last = Some(view);
                let data = serde_json::to_string(&event).ok()?;
                return Some((
                    Ok::<_, actix_web::Error>(web::Bytes::from(format!("event: status\ndata: {data}\n\n"))),
                    st,
                ));
            }
            if started.elapsed() > STREAM_KEEPALIVE {
                return Some((Ok(web::Bytes::from_static(b": still waiting\n\n")), st));
            }
            tokio::time::sleep(STREAM_POLL).await;
        }
    });
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .content_type("text/event-stream")
        .streaming(stream))
}

const STREAM_POLL: std::time::Duration = std::time::Duration::from_millis(250);
const STREAM_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(15);

struct StreamState {
    /// Held while the stream is open (its place under the session's cap).
    _open: crate::connection_caps::OpenConnection<Vec<u8>>,
    app: Arc<App>,
    user: crate::store::UserRow,
    id: String,
    last: Option<wysiwys_proto::api::SignRequestView>,
    done: bool,
}

#[utoipa::path(get, path = "/api/requests/{id}/events", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The audit trail", body = [AuditEntry]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn request_events(app: AppData, session: Session, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(no_store().json(requests::events(&app, &session.user, &id).await?))
}

#[utoipa::path(get, path = "/api/requests/{id}/document", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The exact document bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn request_document(app: AppData, session: Session, id: web::Path<String>) -> Result<HttpResponse> {
    let (media_type, bytes) = requests::document(&app, &session.user, &id).await?;
    let content_type = if media_type == MEDIA_TYPE_TEXT { "text/plain; charset=utf-8".to_owned() } else { media_type };
    Ok(no_store().content_type(content_type).body(bytes))
}

#[utoipa::path(get, path = "/api/requests/{id}/summary", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The summary/1 in RFC 8785 form; its SHA-256 is the summary hash", body = Object),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn request_summary(app: AppData, session: Session, id: web::Path<String>) -> Result<HttpResponse> {
    let bytes = requests::summary_bytes(&app, &session.user, &id).await?;
    Ok(no_store().content_type("application/json").body(bytes))
}

#[utoipa::path(post, path = "/api/requests/{id}/confirm", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id")), request_body = WebConfirmation,
    responses((status = 200, description = "Confirmed (and signed, if the device had approved)", body = SignRequestView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "REQUEST_NOT_PENDING", body = ErrorBody),
        (status = 410, description = "CHALLENGE_EXPIRED", body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, description = "HASH_MISMATCH or SUMMARY_MISMATCH", body = ErrorBody)))]
pub async fn confirm_request(
    app: AppData,
    session: SessionWrite,
    id: web::Path<String>,
    body: web::Json<WebConfirmation>,
) -> Result<HttpResponse> {
    Ok(no_store().json(requests::confirm_web(&app, &session.0.user, &id, &body).await?))
}

#[utoipa::path(get, path = "/api/requests/{id}/signature", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The .p7s, or the signed PDF", body = Vec<u8>, content_type = "application/pkcs7-signature"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Not signed", body = ErrorBody)))]
pub async fn request_signature(app: AppData, session: Session, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(signature_response(requests::signature(&app, &session.user, &id).await?))
}

#[utoipa::path(get, path = "/api/requests/{id}/documents/{index}/signature", tag = "browser", security(("session" = [])),
    params(("id" = String, Path, description = "Request id of the batch"), ("index" = u32, Path, description = "Position in the batch, from 0")),
    responses((status = 200, description = "That document's .p7s, or its signed PDF", body = Vec<u8>, content_type = "application/pkcs7-signature"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not signed", body = ErrorBody)))]
pub async fn member_signature(app: AppData, session: Session, path: web::Path<(String, u32)>) -> Result<HttpResponse> {
    let (id, index) = path.into_inner();
    Ok(signature_response(requests::member_signature(&app, &session.user, &id, index).await?))
}

pub(super) fn signature_response(file: requests::SignatureFile) -> HttpResponse {
    no_store()
        .content_type(file.content_type)
        .insert_header(("content-disposition", format!("attachment; filename=\"{}\"", file.file_name)))
        .body(file.bytes)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    advance_ms: i64,
}

/// Testing only (`--test-clock`, loopback only): moves the clock forward.
pub async fn advance_test_clock(app: AppData, body: web::Json<AdvanceClock>) -> Result<HttpResponse> {
    let clock = app.test_clock.as_ref().ok_or_else(|| Error::refused(ErrorCode::NotFound, "no test clock"))?;
    if body.advance_ms < 0 {
        return Err(Error::refused(ErrorCode::BadRequest, "the clock only moves forward"));
    }
    let offset = clock.advance(body.advance_ms);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "offset_ms": offset })))
}
