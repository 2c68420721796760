//! The PKI endpoints: the certificates of the CA and the time-stamping
//! authority, and the authority itself (RFC 3161 over HTTP).

use super::handlers::{AppData, client_ip};
use crate::error::Error;
use crate::timestamping::{MAX_QUERY_BYTES, serve_query};
use actix_web::{HttpRequest, HttpResponse, web};
use wysiwys_proto::ErrorCode;

fn pem(label: &str, der: &[u8]) -> HttpResponse {
    HttpResponse::Ok().content_type("application/x-pem-file").body(crate::pki::to_pem(label, der))
}

#[utoipa::path(get, path = "/api/pki/tsa.pem", tag = "service",
    responses((status = 200, description = "The built-in time-stamping authority's certificate (issued by the CA)", body = String, content_type = "application/x-pem-file")))]
pub async fn tsa_pem(app: AppData) -> HttpResponse {
    pem("CERTIFICATE", &app.timestamping.tsa_certificate)
}

#[utoipa::path(post, path = "/api/pki/tsa", tag = "service",
    request_body(content = Vec<u8>, content_type = "application/timestamp-query", description = "A DER TimeStampReq (RFC 3161)"),
    responses(
        (status = 200, description = "A DER TimeStampResp: granted with a token, or rejected with the RFC's failure bit", body = Vec<u8>, content_type = "application/timestamp-reply"),
        (status = 413, description = "Query too large", body = wysiwys_proto::ErrorBody),
        (status = 415, description = "Not application/timestamp-query", body = wysiwys_proto::ErrorBody),
        (status = 429, description = "RATE_LIMITED", body = wysiwys_proto::ErrorBody)))]
pub async fn tsa_query(app: AppData, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, Error> {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some("application/timestamp-query") {
        return Err(Error::refused(
            ErrorCode::UnsupportedContentType,
            "expected Content-Type: application/timestamp-query",
        ));
    }
    if body.len() > MAX_QUERY_BYTES {
        return Err(Error::refused(ErrorCode::PayloadTooLarge, "time-stamp query too large"));
    }
    let reply = serve_query(&app, client_ip(&req), &body)?;
    Ok(HttpResponse::Ok()
        .content_type("application/timestamp-reply")
        .insert_header(("cache-control", "no-store"))
        .body(reply))
}
