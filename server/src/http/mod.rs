//! HTTP: routes, limits, security headers. Handlers are thin: parse, call
//! one flow function, map the error (in `errors`, once).

mod admin_api;
mod auth;
pub(crate) mod csc;
mod device_socket;
pub mod errors;
mod handlers;
pub mod openapi;
mod pages;
mod pki;
mod rp_api;

use crate::app::App;
use crate::error::Error;
use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use std::sync::Arc;
use wysiwys_proto::ErrorCode;

pub use auth::{Session, SessionWrite};

/// Security headers on every answer. No inline script anywhere, so the
/// policy can forbid it; we are never framed, and frame only the blobs our
/// own script makes (the PDF viewer on the sign page).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
        ))
        .add(("x-frame-options", "DENY"))
        .add(("x-content-type-options", "nosniff"))
        .add(("referrer-policy", "no-referrer"))
        .add(("cross-origin-opener-policy", "same-origin"))
}

fn json_error(err: JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::ContentType => {
            Error::refused(ErrorCode::UnsupportedContentType, "expected Content-Type: application/json")
        }
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            Error::refused(ErrorCode::PayloadTooLarge, "JSON body too large")
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            Error::refused(ErrorCode::PayloadTooLarge, "body too large")
        }
        other => Error::refused(ErrorCode::BadRequest, format!("malformed JSON: {other}")),
    };
    e.into()
}

fn form_error(err: actix_web::error::UrlencodedError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    let e = match err {
        actix_web::error::UrlencodedError::Overflow { .. } => {
            Error::refused(ErrorCode::PayloadTooLarge, "form too large")
        }
        other => Error::refused(ErrorCode::BadRequest, format!("malformed form: {other}")),
    };
    errors::PageError::Failed(e).into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    Error::refused(ErrorCode::BadRequest, format!("bad query: {err}")).into()
}

fn path_error(err: actix_web::error::PathError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    Error::refused(ErrorCode::BadRequest, format!("bad path: {err}")).into()
}

pub fn configure(
    app: Arc<App>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        let json = web::JsonConfig::default().limit(app.settings.max_json_bytes).error_handler(json_error);
        // Before the `/api` scope: a scope answers everything under its prefix.
        if app.admin_token_sha256.is_some() {
            cfg.service(
                web::scope("/api/v1/admin")
                    .route("/users", web::post().to(admin_api::create_user))
                    .route("/users/{username}/recovery", web::post().to(admin_api::recover_user))
                    .route("/users/{username}/credential", web::post().to(admin_api::change_credential))
                    .route("/relying-parties", web::post().to(admin_api::create_relying_party)),
            );
        }
        cfg.app_data(web::Data::new(app.clone()))
            .app_data(json)
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::Data::new(metrics.clone()))
            .app_data(web::FormConfig::default().limit(16 * 1024).error_handler(form_error))
            .route("/", web::get().to(pages::index))
            .route("/signup", web::get().to(pages::signup_form))
            .route("/signup", web::post().to(pages::signup))
            .route("/enrol", web::get().to(pages::enrol_form))
            .route("/enrol", web::post().to(pages::enrol))
            .route("/login", web::get().to(pages::login_form))
            .route("/login", web::post().to(pages::login))
            .route("/login/code", web::get().to(pages::code_form))
            .route("/login/code", web::post().to(pages::code))
            .route("/logout", web::post().to(pages::logout))
            .route("/devices", web::get().to(pages::devices_page))
            .route("/devices/step-up", web::post().to(pages::step_up))
            .route("/devices/pair", web::post().to(pages::pair))
            .route("/devices/{id}/revoke", web::post().to(pages::revoke))
            .route("/sign", web::get().to(pages::sign_page))
            .route("/sign/demo/{index}", web::post().to(pages::sign_demo))
            .route("/requests/{id}", web::get().to(pages::request_page))
            .route("/history", web::get().to(pages::history_page))
            .route("/static/{name}", web::get().to(handlers::static_file))
            .route("/healthz", web::get().to(handlers::health))
            .route("/readyz", web::get().to(handlers::ready))
            .route("/metrics", web::get().to(handlers::metrics))
            .service(
                utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}")
                    .url("/api/openapi.json", <openapi::ApiDoc as utoipa::OpenApi>::openapi()),
            )
            .service(
                web::scope("/api")
                    .route("/ca.pem", web::get().to(handlers::ca_pem))
                    .route("/pki/ca.pem", web::get().to(handlers::ca_pem))
                    .route("/pki/tsa.pem", web::get().to(pki::tsa_pem))
                    .route("/pki/crl", web::get().to(pki::crl))
                    .route("/pki/ocsp/{request:.*}", web::get().to(pki::ocsp_get))
                    .service(
                        web::resource("/pki/ocsp")
                            .app_data(web::PayloadConfig::new(crate::pki::publish::MAX_OCSP_REQUEST_BYTES))
                            .route(web::post().to(pki::ocsp_post)),
                    )
                    .service(
                        web::resource("/pki/tsa")
                            .app_data(web::PayloadConfig::new(crate::timestamping::MAX_QUERY_BYTES))
                            .route(web::post().to(pki::tsa_query)),
                    )
                    .route("/session", web::post().to(handlers::login))
                    .route("/session", web::delete().to(handlers::logout))
                    .route("/session/step-up", web::post().to(handlers::step_up))
                    .route("/me", web::get().to(handlers::me))
                    .route("/devices", web::get().to(handlers::list_devices))
                    .route("/devices/pairing-codes", web::post().to(handlers::create_pairing_code))
                    .route("/devices/pair", web::post().to(handlers::pair_device))
                    .route("/devices/{id}/revoke", web::post().to(handlers::revoke_device))
                    .route("/device/ws", web::get().to(device_socket::connect))
                    .route("/requests", web::post().to(handlers::create_request))
                    .route("/requests", web::get().to(handlers::list_requests))
                    .route("/requests/{id}", web::get().to(handlers::get_request))
                    .route("/requests/{id}/events", web::get().to(handlers::request_events))
                    .route("/requests/{id}/stream", web::get().to(handlers::request_stream))
                    .route("/requests/{id}/document", web::get().to(handlers::request_document))
                    .route("/requests/{id}/summary", web::get().to(handlers::request_summary))
                    .route("/requests/{id}/confirm", web::post().to(handlers::confirm_request))
                    .route("/requests/{id}/signature", web::get().to(handlers::request_signature))
                    .route("/requests/{id}/documents/{index}/signature", web::get().to(handlers::member_signature))
                    .service(
                        web::scope("/v1/rp")
                            .app_data(web::QueryConfig::default().error_handler(query_error))
                            .route("/requests", web::post().to(rp_api::create))
                            .route("/requests/{id}", web::get().to(rp_api::get))
                            .route("/requests/{id}/cancel", web::post().to(rp_api::cancel))
                            .route("/requests/{id}/signature", web::get().to(rp_api::signature))
                            .route(
                                "/requests/{id}/documents/{index}/signature",
                                web::get().to(rp_api::member_signature),
                            )
                            .route("/batches", web::post().to(rp_api::create_batch)),
                    ),
            );
        cfg.configure(csc::configure);
        if app.test_clock.is_some() {
            cfg.route("/test/clock", web::post().to(handlers::advance_test_clock));
        }
        cfg.default_service(web::to(handlers::not_found));
    }
}
