//! `/csc/v1/` and `/csc/v2/`: the Cloud Signature Consortium API. Two thin
//! wire mappings (`v1`, `v2`) over one implementation (`crate::csc`);
//! errors take the spec's form here, once (`errors`).

mod errors;
pub mod oauth;
pub mod v1;
pub mod v2;

pub use errors::CscError;

use super::handlers::read_limited;
use crate::app::App;
use crate::csc::authorization::AuthorizeInput;
use crate::csc::signing::SignHashInput;
use crate::csc::{Caller, invalid};
use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::csc::{AuthorizeRequest, SignHashRequest, SignHashResponse};

type AppData = web::Data<Arc<App>>;

/// The caller behind `Authorization: Bearer …`: a relying party's API key
/// or `auth/login` token, a signer's OAuth service token, or a
/// credential token (a SAD).
#[derive(Debug)]
pub struct CscCaller(pub Caller);

impl FromRequest for CscCaller {
    type Error = CscError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let app = req.app_data::<AppData>().ok_or_else(|| Error::Internal("app state missing".into()))?.clone();
            let token = super::auth::bearer_token(&req)
                .ok_or_else(|| Error::refused(ErrorCode::BadRequest, "Malformed authorization header"))?;
            Ok(CscCaller(crate::csc::oauth::caller_of_token(&app, token.trim()).await?))
        })
    }
}

/// A JSON body of at most the server's JSON limit; an empty body is `{}`
/// (the spec's samples send `info` without one).
async fn body<T: serde::de::DeserializeOwned + Default>(app: &App, payload: web::Payload) -> Result<T, CscError> {
    body_of_size(payload, app.settings.max_json_bytes).await
}

/// `body` with another limit (`signDoc` carries whole documents, base64).
async fn body_of_size<T: serde::de::DeserializeOwned + Default>(
    payload: web::Payload,
    limit: usize,
) -> Result<T, CscError> {
    let bytes = read_limited(payload, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::refused(ErrorCode::BadRequest, format!("malformed JSON body: {e}")).into())
}

fn json<T: serde::Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(value)
}

/// Where the service's logo is, for `info`.
fn logo(app: &App) -> String {
    format!("{}/static/logo.png", app.settings.origin)
}

const SERVICE_NAME: &str = "wysiwys";
const SERVICE_DESCRIPTION: &str =
    "Two-channel remote signing: every signature is confirmed by the person in the browser and on a paired device";
/// Service authorization: a relying party's API key, issued by the operator
/// ("external"), its `auth/login` ("basic", v1), or a signer's OAuth
/// authorization code flow ("oauth2code").
const AUTH_TYPES: &[&str] = &["external", "basic", "oauth2code"];

fn auth_types(version: &str) -> Vec<String> {
    AUTH_TYPES.iter().filter(|t| version == "v1" || **t != "basic").map(|t| (*t).to_owned()).collect()
}

/// The base URI `oauth2/authorize` and `oauth2/token` are appended to.
fn oauth2_base(app: &App, version: &str) -> String {
    format!("{}/csc/{version}/", app.settings.origin)
}

/// The routes of both versions, and the OAuth pages they share.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/csc/v1")
            .route("/info", web::get().to(v1::info))
            .route("/info", web::post().to(v1::info))
            .route("/auth/login", web::post().to(oauth::login))
            .route("/auth/revoke", web::post().to(oauth::revoke))
            .route("/oauth2/authorize", web::get().to(oauth::authorize))
            .route("/oauth2/token", web::post().to(oauth::token))
            .route("/credentials/list", web::post().to(v1::list))
            .route("/credentials/info", web::post().to(v1::credential_info))
            .route("/credentials/authorize", web::post().to(v1::authorize))
            .route("/signatures/signHash", web::post().to(v1::sign_hash))
            .route("/signatures/timestamp", web::post().to(v1::timestamp))
            .default_service(web::to(not_implemented)),
    )
    .service(
        web::scope("/csc/v2")
            .route("/info", web::post().to(v2::info))
            .route("/auth/revoke", web::post().to(oauth::revoke))
            .route("/oauth2/authorize", web::get().to(oauth::authorize))
            .route("/oauth2/token", web::post().to(oauth::token))
            .route("/credentials/list", web::post().to(v2::list))
            .route("/credentials/info", web::post().to(v2::credential_info))
            .route("/credentials/authorize", web::post().to(v2::authorize))
            .route("/credentials/authorizeCheck", web::post().to(v2::authorize_check))
            .route("/signatures/signHash", web::post().to(v2::sign_hash))
            .route("/signatures/signDoc", web::post().to(v2::sign_doc))
            .route("/signatures/timestamp", web::post().to(v2::timestamp))
            .default_service(web::to(not_implemented)),
    )
    .service(
        web::scope("/csc/oauth2/grants")
            .route("/{id}", web::get().to(oauth::consent_page))
            .route("/{id}", web::post().to(oauth::consent))
            .route("/{id}/return", web::get().to(oauth::finish)),
    );
}

/// A method this service does not offer: 501, as the spec says.
async fn not_implemented(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&CscError::not_implemented(req.path()))
}

/// The SCAL both versions report: the SAD is bound to the hashes.
const SCAL: &str = "2";

fn certificates(requested: Option<wysiwys_proto::csc::Certificates>) -> wysiwys_proto::csc::Certificates {
    requested.unwrap_or_default()
}

/// `credentials/info` of either version: what the credential is; the
/// versions differ only in how they describe its authorization.
async fn credential_view(
    app: &App,
    caller: &CscCaller,
    request: &wysiwys_proto::csc::InfoRequest,
) -> Result<crate::csc::credentials::CredentialView, CscError> {
    Ok(crate::csc::credentials::info(
        app,
        &caller.0,
        request.credential_id.as_deref(),
        certificates(request.certificates),
        request.cert_info.unwrap_or(false),
    )
    .await?)
}

/// `signatures/signHash`: the same in both versions (v2 names, or the v1
/// names pyHanko sends to either).
async fn sign_hash(app: AppData, caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: SignHashRequest = body(&app, payload).await?;
    let input = SignHashInput {
        credential_id: request.credential_id.as_deref(),
        sad: request.sad.as_deref(),
        hashes: request.hashes.as_deref(),
        hash_algorithm_oid: request.hash_algorithm_oid.as_deref(),
        sign_algo: request.sign_algo.as_deref(),
        sign_algo_params: request.sign_algo_params.as_deref(),
        operation_mode: request.operation_mode.as_deref(),
    };
    let signatures = crate::csc::signing::sign_hashes(&app, &caller.0, input).await?;
    Ok(json(&SignHashResponse { signatures: signatures.iter().map(wysiwys_proto::b64::encode_standard).collect() }))
}

/// `signatures/timestamp`: the same in both versions.
async fn timestamp(app: AppData, _caller: CscCaller, payload: web::Payload) -> Result<HttpResponse, CscError> {
    let request: wysiwys_proto::csc::TimestampRequest = body(&app, payload).await?;
    let token = crate::csc::timestamp::timestamp(
        &app,
        request.hash.as_deref(),
        request.hash_algo.as_deref(),
        request.nonce.as_deref(),
    )
    .await?;
    Ok(json(&wysiwys_proto::csc::TimestampResponse { timestamp: wysiwys_proto::b64::encode_standard(token) }))
}

/// The input of `credentials/authorize`, from either version's body.
fn authorize_input(request: &AuthorizeRequest) -> AuthorizeInput<'_> {
    let typed = request.pin.is_some()
        || request.otp.is_some()
        || request.auth_data.iter().flatten().any(|data| data.value.is_some());
    AuthorizeInput {
        credential_id: request.credential_id.as_deref(),
        num_signatures: request.num_signatures,
        hashes: request.hashes.as_deref(),
        labels: None,
        hash_algorithm_oid: request.hash_algorithm_oid.as_deref(),
        description: request.description.as_deref(),
        typed_secret: typed,
    }
}
