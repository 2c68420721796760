//! `/api/v1/rp/`: the relying-party API. Authenticated by an API key in
//! `Authorization: Bearer …`; every handler calls one function of
//! `relying_parties`.

use super::handlers::{document_media_type, read_limited};
use crate::app::App;
use crate::error::{Error, Result};
use crate::relying_parties::{self, CreateInput, DocumentInput, Documents};
use crate::store::RelyingPartyRow;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::rp::{CreateRpBatch, CreateRpRequest, IDEMPOTENCY_KEY_HEADER, Signer};
#[allow(unused_imports)] // named in the OpenAPI attributes
use wysiwys_proto::{ErrorBody, rp::RpRequestView};

type AppData = web::Data<Arc<App>>;

/// The relying party whose API key came with the request.
#[derive(Debug)]
pub struct RelyingParty(pub RelyingPartyRow);

impl FromRequest for RelyingParty {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let app = req.app_data::<AppData>().ok_or_else(|| Error::Internal("app state missing".into()))?.clone();
            let key = super::auth::bearer_token(&req)
                .ok_or_else(|| Error::refused(ErrorCode::ApiKeyInvalid, "send the API key as Authorization: Bearer"))?;
            Ok(RelyingParty(relying_parties::authenticate(&app, key.trim()).await?))
        })
    }
}

/// Who signs and the caller's reference, for a create with a raw document body.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RawCreateQuery {
    username: Option<String>,
    external_id: Option<String>,
    reference: Option<String>,
}

/// A JSON body carrying documents of up to `documents_bytes` in base64
/// (4/3 of their size), plus room for the other members.
async fn read_json<T: serde::de::DeserializeOwned>(payload: web::Payload, documents_bytes: usize) -> Result<T> {
    let body = read_limited(payload, documents_bytes / 3 * 4 + 64 * 1024).await?;
    serde_json::from_slice(&body).map_err(|e| Error::refused(ErrorCode::BadRequest, format!("malformed JSON: {e}")))
}

fn is_json(req: &HttpRequest) -> bool {
    let header = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    header.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json")
}

/// How a create (single or batch) is refused, for the OpenAPI description.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // describes answers; never built
pub enum CreateRefusals {
    #[response(status = 400, description = "BAD_REQUEST or DOCUMENT_INVALID")]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "API_KEY_INVALID")]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "MEDIA_TYPE_NOT_ALLOWED or ACCOUNT_LOCKED_NOT_ME")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "USER_UNKNOWN")]
    NotFound(ErrorBody),
    #[response(status = 413, description = "PAYLOAD_TOO_LARGE")]
    TooLarge(ErrorBody),
    #[response(status = 415, description = "UNSUPPORTED_CONTENT_TYPE or UNSUPPORTED_MEDIA_TYPE")]
    UnsupportedType(ErrorBody),
    #[response(status = 422, description = "UNSAFE_DOCUMENT or IDEMPOTENCY_KEY_REUSED")]
    Unprocessable(ErrorBody),
    #[response(status = 429, description = "RATE_LIMITED")]
    RateLimited(ErrorBody),
}

/// `POST /api/v1/rp/requests`: JSON with the document in base64, or the
/// document itself as the body with its media type as Content-Type.
#[utoipa::path(post, path = "/api/v1/rp/requests", tag = "relying party", security(("api_key" = [])),
    params(RawCreateQuery, ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body returns the same request")),
    request_body(content((CreateRpRequest = "application/json"), (String = "text/plain"), (String = "application/vnd.wysiwys.payment+json")),
        description = "JSON with the document in base64, or the document itself (then name the signer in the query)"),
    responses((status = 201, description = "Created and pushed to the signer's devices", body = RpRequestView),
        CreateRefusals))]
pub async fn create(
    app: AppData,
    rp: RelyingParty,
    req: HttpRequest,
    query: web::Query<RawCreateQuery>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let input = if is_json(&req) {
        let max = app.settings.max_document_bytes.max(app.settings.max_pdf_bytes);
        CreateInput::from_json(read_json::<CreateRpRequest>(payload, max).await?)?
    } else {
        let query = query.into_inner();
        let signer = match (query.username, query.external_id) {
            (Some(name), None) => Signer::Username(name),
            (None, Some(id)) => Signer::ExternalId(id),
            _ => return Err(Error::refused(ErrorCode::BadRequest, "give exactly one of username and external_id")),
        };
        let media_type = document_media_type(&req)?;
        let document = DocumentInput {
            media_type: media_type.to_owned(),
            document: read_limited(payload, app.settings.max_document_bytes).await?,
            reference: None,
            display: None,
        };
        CreateInput {
            signer,
            reference: query.reference,
            documents: Documents::One(document),
            expires_in_s: None,
            signature_level: None,
        }
    };
    created(&app, &rp, &req, input).await
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<&str>> {
    let key = req.headers().get(IDEMPOTENCY_KEY_HEADER).map(|v| {
        v.to_str().map_err(|_| Error::refused(ErrorCode::BadRequest, "Idempotency-Key must be visible ASCII"))
    });
    key.transpose()
}

async fn created(app: &App, rp: &RelyingParty, req: &HttpRequest, input: CreateInput) -> Result<HttpResponse> {
    let view = relying_parties::create_request(app, &rp.0, idempotency_key(req)?, input).await?;
    Ok(HttpResponse::Created().insert_header(("cache-control", "no-store")).json(view))
}

#[utoipa::path(post, path = "/api/v1/rp/batches", tag = "relying party", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body returns the same batch")),
    request_body = CreateRpBatch,
    responses((status = 201, description = "One request for the whole batch; its `documents` list each document", body = RpRequestView),
        CreateRefusals))]
pub async fn create_batch(
    app: AppData,
    rp: RelyingParty,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    if !is_json(&req) {
        return Err(Error::refused(ErrorCode::UnsupportedContentType, "expected Content-Type: application/json"));
    }
    let batch = read_json::<CreateRpBatch>(payload, app.settings.max_pdf_bytes).await?;
    created(&app, &rp, &req, CreateInput::from_batch(batch)?).await
}

#[utoipa::path(get, path = "/api/v1/rp/requests/{id}", tag = "relying party", security(("api_key" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RpRequestView), (status = 401, description = "API_KEY_INVALID", body = ErrorBody), (status = 404, description = "REQUEST_NOT_FOUND", body = ErrorBody)))]
pub async fn get(app: AppData, rp: RelyingParty, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(relying_parties::get(&app, &rp.0, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/rp/requests/{id}/cancel", tag = "relying party", security(("api_key" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "Cancelled (failed, REQUEST_CANCELLED)", body = RpRequestView), (status = 401, description = "API_KEY_INVALID", body = ErrorBody), (status = 404, description = "REQUEST_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "REQUEST_NOT_PENDING", body = ErrorBody)))]
pub async fn cancel(app: AppData, rp: RelyingParty, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(relying_parties::cancel(&app, &rp.0, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/rp/requests/{id}/signature", tag = "relying party", security(("api_key" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The .p7s (CAdES-B-B), or the signed PDF (PAdES-B-B)", body = Vec<u8>, content_type = "application/pkcs7-signature"),
        (status = 401, description = "API_KEY_INVALID", body = ErrorBody), (status = 404, description = "REQUEST_NOT_FOUND", body = ErrorBody), (status = 409, description = "Not signed", body = ErrorBody)))]
pub async fn signature(app: AppData, rp: RelyingParty, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(super::handlers::signature_response(relying_parties::signature(&app, &rp.0, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/rp/requests/{id}/documents/{index}/signature", tag = "relying party", security(("api_key" = [])),
    params(("id" = String, Path, description = "Request id of the batch"), ("index" = u32, Path, description = "Position in the batch, from 0")),
    responses((status = 200, description = "That document's .p7s, or its signed PDF", body = Vec<u8>, content_type = "application/pkcs7-signature"),
        (status = 400, body = ErrorBody), (status = 401, description = "API_KEY_INVALID", body = ErrorBody),
        (status = 404, description = "REQUEST_NOT_FOUND or NOT_FOUND", body = ErrorBody),
        (status = 409, description = "Not signed", body = ErrorBody)))]
pub async fn member_signature(app: AppData, rp: RelyingParty, path: web::Path<(String, u32)>) -> Result<HttpResponse> {
    let (id, index) = path.into_inner();
    Ok(super::handlers::signature_response(relying_parties::member_signature(&app, &rp.0, &id, index).await?))
}
