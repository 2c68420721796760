//! The PKI endpoints: the certificates of the CA and the time-stamping
//! authority, the CRL, the OCSP responder (RFC 6960) and the authority
//! itself (RFC 3161 over HTTP).

use super::handlers::{AppData, client_ip};
use crate::error::Error;
use crate::pki::publish::MAX_OCSP_REQUEST_BYTES;
use crate::timestamping::{MAX_QUERY_BYTES, serve_query};
use actix_web::{HttpRequest, HttpResponse, web};
use wysiwys_proto::ErrorCode;

fn pem(label: &str, der: &[u8]) -> HttpResponse {
    HttpResponse::Ok().content_type("application/x-pem-file").body(crate::pki::to_pem(label, der))
}

#[utoipa::path(get, path = "/api/pki/crl", tag = "service",
    responses((status = 200, description = "The CA's current CRL (DER): revoked certificates with their reason, suspended ones as certificateHold", body = Vec<u8>, content_type = "application/pkix-crl")))]
pub async fn crl(app: AppData) -> Result<HttpResponse, Error> {
    let der = crate::pki::publish::crl(&app).await?;
    Ok(der_reply("application/pkix-crl", der))
}

/// A DER answer; never cached on the way (a CRL or OCSP answer may change).
fn der_reply(content_type: &str, der: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok().content_type(content_type).insert_header(("cache-control", "no-store")).body(der)
}

fn ocsp_response(der: Vec<u8>) -> HttpResponse {
    der_reply("application/ocsp-response", der)
}

#[utoipa::path(post, path = "/api/pki/ocsp", tag = "service",
    request_body(content = Vec<u8>, content_type = "application/ocsp-request", description = "A DER OCSPRequest (RFC 6960)"),
    responses(
        (status = 200, description = "A DER OCSPResponse signed by the CA: good, revoked (with reason; certificateHold for a suspension) or unknown", body = Vec<u8>, content_type = "application/ocsp-response"),
        (status = 413, description = "Request too large", body = wysiwys_proto::ErrorBody),
        (status = 415, description = "Not application/ocsp-request", body = wysiwys_proto::ErrorBody),
        (status = 429, description = "RATE_LIMITED", body = wysiwys_proto::ErrorBody)))]
pub async fn ocsp_post(app: AppData, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, Error> {
    require_content_type(&req, "application/ocsp-request")?;
    if body.len() > MAX_OCSP_REQUEST_BYTES {
        return Err(Error::refused(ErrorCode::PayloadTooLarge, "OCSP request too large"));
    }
    Ok(ocsp_response(crate::pki::publish::ocsp(&app, client_ip(&req), &body).await?))
}

/// RFC 6960 appendix A.1: the request, base64 and URL-encoded, in the path.
#[utoipa::path(get, path = "/api/pki/ocsp/{request}", tag = "service",
    params(("request" = String, Path, description = "base64 (URL-encoded) DER OCSPRequest")),
    responses(
        (status = 200, description = "A DER OCSPResponse (malformedRequest when the path is not base64)", body = Vec<u8>, content_type = "application/ocsp-response"),
        (status = 429, description = "RATE_LIMITED", body = wysiwys_proto::ErrorBody)))]
pub async fn ocsp_get(app: AppData, req: HttpRequest, request: web::Path<String>) -> Result<HttpResponse, Error> {
    use base64::Engine;
    let text = request.into_inner();
    let decoded = if text.len() > MAX_OCSP_REQUEST_BYTES * 2 {
        None
    } else {
        base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()
    };
    Ok(match decoded {
        Some(der) => ocsp_response(crate::pki::publish::ocsp(&app, client_ip(&req), &der).await?),
        None => ocsp_response(crate::pki::ocsp::failed(crate::pki::ocsp::Failure::MalformedRequest)),
    })
}

fn require_content_type(req: &HttpRequest, wanted: &str) -> Result<(), Error> {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) == Some(wanted) {
        Ok(())
    } else {
        Err(Error::refused(ErrorCode::UnsupportedContentType, format!("expected Content-Type: {wanted}")))
    }
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
    require_content_type(&req, "application/timestamp-query")?;
    if body.len() > MAX_QUERY_BYTES {
        return Err(Error::refused(ErrorCode::PayloadTooLarge, "time-stamp query too large"));
    }
    Ok(der_reply("application/timestamp-reply", serve_query(&app, client_ip(&req), &body)?))
}
