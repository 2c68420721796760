//! CSC API v2.0.0.2: `/csc/v2/`. `credentials/authorize` answers 202 with
//! a handle at once; the client polls `credentials/authorizeCheck`.

use super::{
    AppData, CscCaller, CscError, SCAL, SERVICE_DESCRIPTION, SERVICE_NAME, auth_types, authorize_input, body,
    certificates, json, logo,
};
use crate::csc::authorization::{self, Progress};
use crate::csc::credentials::{self, CredentialView};
use crate::csc::documents;
use crate::error::Error;
use actix_web::{HttpResponse, web};
use wysiwys_proto::ErrorCode;
#[allow(unused_imports)] // CscErrorBody and SadResponse are named in the OpenAPI attributes
use wysiwys_proto::csc::{
    AuthorizeRequest, CscErrorBody, Handle, InfoRequest, ListRequest, OID_ECDSA_WITH_SHA256, SadResponse,
    SignHashRequest, SignHashResponse, v2,
};

/// The methods `/csc/v2/` implements.
pub const METHODS: &[&str] = &[
    "auth/revoke",
    "oauth2/authorize",
    "oauth2/token",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "credentials/authorizeCheck",
    "signatures/signHash",
    "signatures/signDoc",
    "signatures/timestamp",
];

#[utoipa::path(post, path = "/csc/v2/info", tag = "csc",
    responses((status = 200, description = "What this service implements", body = v2::InfoResponse)))]
pub async fn info(app: AppData) -> HttpResponse {
    json(&v2::InfoResponse {
        specs: v2::SPECS.to_owned(),
        name: SERVICE_NAME.to_owned(),
        logo: logo(&app),
        region: app.settings.service_region.clone(),
        lang: "en-US".to_owned(),
        description: SERVICE_DESCRIPTION.to_owned(),
        auth_type: auth_types("v2"),
        oauth2: Some(super::oauth2_base(&app, "v2")),
        asynchronous_operation_mode: false,
        methods: METHODS.iter().map(|m| (*m).to_owned()).collect(),
        validation_info: false,
        sign_algorithms: v2::SignAlgorithms { algos: vec![OID_ECDSA_WITH_SHA256.to_owned()] },
        signature_formats: v2::SignatureFormats {
            formats: documents::FORMATS.iter().map(|(f, _)| (*f).to_owned()).collect(),
            envelope_properties: documents::FORMATS.iter().map(|(_, p)| vec![(*p).to_owned()]).collect(),
        },
        conformance_levels: documents::CONFORMANCE_LEVELS.iter().map(|l| (*l).to_owned()).collect(),
    })
}

/// How a credential is authorized: both channels, out of band.
fn auth() -> v2::Auth {
    v2::Auth {
        mode: "explicit".to_owned(),
        expression: Some("web AND device".to_owned()),
        objects: vec![
            v2::AuthObject {
                kind: "PasswordOOB".to_owned(),
                id: "web".to_owned(),
                generator: None,
                label: "Sign page".to_owned(),
                description:
                    "The person logs in with password and authenticator code and confirms the hashes on the Sign page"
                        .to_owned(),
            },
            v2::AuthObject {
                kind: "ChallengeResponseOOB".to_owned(),
                id: "device".to_owned(),
                generator: Some("wysiwys-confirm".to_owned()),
                label: "Paired device".to_owned(),
                description: "The person's paired device shows the same hashes and answers the challenge with its key"
                    .to_owned(),
            },
        ],
    }
}

fn credential_info_of(view: CredentialView) -> v2::CredentialInfo {
    v2::CredentialInfo {
        description: None,
        key: view.key,
        cert: view.cert,
        auth: auth(),
        scal: SCAL.to_owned(),
        multisign: view.multisign,
        lang: Some("en-US".to_owned()),
    }
}

#[utoipa::path(post, path = "/csc/v2/credentials/list", tag = "csc", security(("api_key" = [])),
    request_body = ListRequest,
    responses((status = 200, body = v2::ListResponse), (status = 400, description = "invalid_request", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn list(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: ListRequest = body(&app, payload).await?;
    let credential_ids = credentials::list(&app, &caller.0, request.user_id.as_deref()).await?;
    let mut infos = Vec::new();
    for id in &credential_ids {
        let view = credentials::info(
            &app,
            &caller.0,
            Some(id),
            certificates(request.certificates),
            request.cert_info.unwrap_or(false),
        )
        .await?;
        infos.push((id.clone(), view));
    }
    let only_valid = request.only_valid.unwrap_or(false);
    let usable = |view: &CredentialView| !only_valid || view.key.status == "enabled";
    let credential_infos = request.credential_info.unwrap_or(false).then(|| {
        infos
            .iter()
            .filter(|(_, view)| usable(view))
            .map(|(id, view)| v2::ListedCredential {
                credential_id: id.clone(),
                info: credential_info_of(view.clone()),
            })
            .collect()
    });
    Ok(json(&v2::ListResponse {
        credential_ids: infos.iter().filter(|(_, view)| usable(view)).map(|(id, _)| id.clone()).collect(),
        credential_infos,
        only_valid: request.only_valid.map(|_| true),
    }))
}

#[utoipa::path(post, path = "/csc/v2/credentials/info", tag = "csc", security(("api_key" = [])),
    request_body = InfoRequest,
    responses((status = 200, body = v2::CredentialInfo), (status = 400, description = "invalid_request", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn credential_info(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: InfoRequest = body(&app, payload).await?;
    let view = super::credential_view(&app, &caller, &request).await?;
    Ok(json(&credential_info_of(view)))
}

fn waiting(handle: String) -> HttpResponse {
    HttpResponse::Accepted().insert_header(("cache-control", "no-store")).json(Handle { handle })
}

#[utoipa::path(post, path = "/csc/v2/credentials/authorize", tag = "csc", security(("api_key" = [])),
    request_body = AuthorizeRequest,
    responses((status = 202, description = "The request is on the person's Sign page and device; poll authorizeCheck with the handle", body = Handle),
        (status = 400, description = "invalid_request", body = CscErrorBody), (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn authorize(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: AuthorizeRequest = body(&app, payload).await?;
    let row = authorization::start(&app, &caller.0, authorize_input(&request)).await?;
    Ok(waiting(row.id))
}

#[utoipa::path(post, path = "/csc/v2/credentials/authorizeCheck", tag = "csc", security(("api_key" = [])),
    request_body = v2::AuthorizeCheckRequest,
    responses((status = 200, description = "Both channels confirmed: the SAD (issued once)", body = SadResponse),
        (status = 202, description = "Not yet confirmed on both channels", body = Handle),
        (status = 400, description = "invalid_request, or access_denied (declined, \"not me\", expired)", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn authorize_check(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: v2::AuthorizeCheckRequest = body(&app, payload).await?;
    let handle = request
        .handle
        .ok_or_else(|| Error::refused(ErrorCode::BadRequest, "Missing (or invalid type) string parameter handle"))?;
    match authorization::check(&app, &caller.0, &handle).await? {
        Progress::Waiting => Ok(waiting(handle)),
        Progress::Authorized(sad) => Ok(json(&sad)),
    }
}

#[utoipa::path(post, path = "/csc/v2/signatures/signHash", tag = "csc", security(("api_key" = [])),
    request_body = SignHashRequest,
    responses((status = 200, description = "DER ECDSA-Sig-Values, standard base64, in the order of the hashes", body = SignHashResponse),
        (status = 400, description = "invalid_request (\"Hash is not authorized by the SAD.\", \"SAD expired\", \"Invalid parameter SAD\")", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn sign_hash(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    super::sign_hash(app, caller, payload).await
}

#[utoipa::path(post, path = "/csc/v2/signatures/signDoc", tag = "csc", security(("api_key" = [])),
    request_body = v2::SignDocRequest,
    responses((status = 200, description = "Both channels showed and confirmed the documents: PAdES in DocumentWithSignature, detached CAdES in SignatureObject", body = v2::SignDocResponse),
        (status = 400, description = "invalid_request (a SAD, documentDigests, another format or level), or access_denied (declined, \"not me\", not in time)", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody)))]
pub async fn sign_doc(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: v2::SignDocRequest =
        super::body_of_size(payload, app.settings.max_pdf_bytes.saturating_mul(2)).await?;
    Ok(json(&documents::sign_documents(&app, &caller.0, &request).await?))
}

#[utoipa::path(post, path = "/csc/v2/signatures/timestamp", tag = "csc", security(("api_key" = [])),
    request_body = wysiwys_proto::csc::TimestampRequest,
    responses((status = 200, description = "An RFC 3161 token over the hash, from the service's time-stamping authority", body = wysiwys_proto::csc::TimestampResponse),
        (status = 400, description = "invalid_request (hash, hashAlgo, nonce)", body = CscErrorBody),
        (status = 401, description = "invalid_token", body = CscErrorBody),
        (status = 503, description = "temporarily_unavailable: the authority did not answer", body = CscErrorBody)))]
pub async fn timestamp(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    super::timestamp(app, caller, payload).await
}
