//! CSC API v1.0.4.0: `/csc/v1/`. `credentials/authorize` blocks until the
//! person confirmed on both channels (v1 has no asynchronous answer).

use super::{
    AppData, CscCaller, CscError, SCAL, SERVICE_DESCRIPTION, SERVICE_NAME, auth_types, authorize_input, body, invalid,
    json, logo,
};
use crate::csc::{authorization, credentials};
use actix_web::{HttpResponse, web};
#[allow(unused_imports)] // CscErrorBody is named in the OpenAPI attributes
use wysiwys_proto::csc::{
    AuthorizeRequest, CscErrorBody, InfoRequest, ListRequest, SadResponse, SignHashRequest, SignHashResponse, v1,
};

/// The methods `/csc/v1/` implements.
pub const METHODS: &[&str] = &[
    "auth/login",
    "auth/revoke",
    "oauth2/authorize",
    "oauth2/token",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "signatures/signHash",
    "signatures/timestamp",
];

#[utoipa::path(post, path = "/csc/v1/info", tag = "csc",
    responses((status = 200, description = "What this service implements", body = v1::InfoResponse)))]
pub async fn info(app: AppData) -> HttpResponse {
    json(&v1::InfoResponse {
        specs: v1::SPECS.to_owned(),
        name: SERVICE_NAME.to_owned(),
        logo: logo(&app),
        region: app.settings.service_region.clone(),
        lang: "en-US".to_owned(),
        description: SERVICE_DESCRIPTION.to_owned(),
        auth_type: auth_types("v1"),
        oauth2: Some(super::oauth2_base(&app, "v1")),
        methods: METHODS.iter().map(|m| (*m).to_owned()).collect(),
    })
}

#[utoipa::path(post, path = "/csc/v1/credentials/list", tag = "csc", security(("api_key" = [])),
    request_body = ListRequest,
    responses((status = 200, body = v1::ListResponse), (status = 400, description = "invalid_request", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn list(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: ListRequest = body(&app, payload).await?;
    // One credential per signer: there is never a second page.
    if request.page_token.is_some() {
        return Err(invalid("pageToken").into());
    }
    let credential_ids = credentials::list(&app, &caller.0, request.user_id.as_deref()).await?;
    Ok(json(&v1::ListResponse { credential_ids }))
}

#[utoipa::path(post, path = "/csc/v1/credentials/info", tag = "csc", security(("api_key" = [])),
    request_body = InfoRequest,
    responses((status = 200, body = v1::CredentialInfo), (status = 400, description = "invalid_request", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn credential_info(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: InfoRequest = body(&app, payload).await?;
    let view = super::credential_view(&app, &caller, &request).await?;
    Ok(json(&v1::CredentialInfo {
        description: None,
        key: view.key,
        cert: view.cert,
        auth_mode: "implicit".to_owned(),
        scal: SCAL.to_owned(),
        multisign: view.multisign,
        lang: Some("en-US".to_owned()),
    }))
}

#[utoipa::path(post, path = "/csc/v1/credentials/authorize", tag = "csc", security(("api_key" = [])),
    request_body = AuthorizeRequest,
    responses((status = 200, description = "Both channels confirmed exactly these hashes: the SAD", body = SadResponse),
        (status = 400, description = "invalid_request, or access_denied (declined, \"not me\", not in time)", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn authorize(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: AuthorizeRequest = body(&app, payload).await?;
    let row = authorization::start(&app, &caller.0, authorize_input(&request)).await?;
    Ok(json(&authorization::wait(&app, &caller.0, &row).await?))
}

#[utoipa::path(post, path = "/csc/v1/signatures/signHash", tag = "csc", security(("api_key" = [])),
    request_body = SignHashRequest,
    responses((status = 200, description = "DER ECDSA-Sig-Values, standard base64, in the order of the hashes", body = SignHashResponse),
        (status = 400, description = "invalid_request (\"Hash is not authorized by the SAD.\", \"SAD expired\", \"Invalid parameter SAD\")", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn sign_hash(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    super::sign_hash(app, caller, payload).await
}

#[utoipa::path(post, path = "/csc/v1/signatures/timestamp", tag = "csc", security(("api_key" = [])),
    request_body = wysiwys_proto::csc::TimestampRequest,
    responses((status = 200, description = "An RFC 3161 token over the hash, from the service's time-stamping authority", body = wysiwys_proto::csc::TimestampResponse),
        (status = 400, description = "invalid_request (hash, hashAlgo, nonce)", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody),
        (status = 503, description = "temporarily_unavailable: the authority did not answer", body = CscErrorBody)))]
pub async fn timestamp(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    super::timestamp(app, caller, payload).await
}
