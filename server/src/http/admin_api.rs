//! `/api/v1/admin/`: the operator's API, registered only when the server
//! was started with `--admin-token-file`. Every handler calls one function
//! of `admin`.

use crate::admin;
use crate::app::App;
use crate::error::{Error, Result};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use std::future::{Ready, ready};
use std::sync::Arc;
use wysiwys_proto::admin::{CredentialChange, NewRelyingParty, NewUser};
#[allow(unused_imports)] // named in the OpenAPI attributes
use wysiwys_proto::{
    ErrorBody, admin::CreatedRelyingParty, admin::CreatedUser, admin::CredentialState, admin::RecoveredUser,
};

type AppData = web::Data<Arc<App>>;

/// Proof that the request carries the operator's token.
#[derive(Debug)]
pub struct Operator;

impl FromRequest for Operator {
    type Error = Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(app) = req.app_data::<AppData>() else {
            return ready(Err(Error::Internal("app state missing".into())));
        };
        ready(admin::check_token(app, super::auth::bearer_token(req)).map(|()| Operator))
    }
}

fn created<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header(("cache-control", "no-store")).json(body)
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "operator", security(("operator_token" = [])),
    request_body = NewUser,
    responses((status = 201, description = "The account; its password and TOTP secret are shown only now", body = CreatedUser),
        (status = 400, description = "BAD_REQUEST (a taken or malformed username or external id)", body = ErrorBody),
        (status = 401, description = "ADMIN_TOKEN_INVALID", body = ErrorBody),
        (status = 404, description = "NOT_FOUND: the server runs without --admin-token-file", body = ErrorBody)))]
pub async fn create_user(app: AppData, _: Operator, body: web::Json<NewUser>) -> Result<HttpResponse> {
    Ok(created(&admin::create_user(&app, &body).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{username}/recovery", tag = "operator", security(("operator_token" = [])),
    params(("username" = String, Path, description = "The account that lost its devices")),
    responses((status = 200, description = "Every device revoked; the new activation code is shown only now", body = RecoveredUser),
        (status = 401, description = "ADMIN_TOKEN_INVALID", body = ErrorBody),
        (status = 404, description = "USER_UNKNOWN, or NOT_FOUND without --admin-token-file", body = ErrorBody)))]
pub async fn recover_user(app: AppData, _: Operator, username: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(admin::recover(&app, &username).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/relying-parties", tag = "operator", security(("operator_token" = [])),
    request_body = NewRelyingParty,
    responses((status = 201, description = "The party; its API key is shown only now", body = CreatedRelyingParty),
        (status = 400, description = "BAD_REQUEST (a taken name, an unknown media type, a webhook URL that is not https)", body = ErrorBody),
        (status = 401, description = "ADMIN_TOKEN_INVALID", body = ErrorBody),
        (status = 404, description = "NOT_FOUND: the server runs without --admin-token-file", body = ErrorBody)))]
pub async fn create_relying_party(app: AppData, _: Operator, body: web::Json<NewRelyingParty>) -> Result<HttpResponse> {
    Ok(created(&admin::create_relying_party(&app, &body).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{username}/credential", tag = "operator", security(("operator_token" = [])),
    params(("username" = String, Path, description = "Whose signing certificate")),
    request_body = CredentialChange,
    responses((status = 200, description = "The certificate's status now; the person's open requests ended, the CRL and OCSP say so", body = CredentialState),
        (status = 400, description = "BAD_REQUEST (a change the certificate's status does not allow, a reason without revoke)", body = ErrorBody),
        (status = 401, description = "ADMIN_TOKEN_INVALID", body = ErrorBody),
        (status = 404, description = "USER_UNKNOWN, or NOT_FOUND without --admin-token-file", body = ErrorBody)))]
pub async fn change_credential(
    app: AppData,
    _: Operator,
    username: web::Path<String>,
    body: web::Json<CredentialChange>,
) -> Result<HttpResponse> {
    let state = match body.action {
        wysiwys_proto::admin::CredentialAction::Renew => {
            crate::credentials::renew(&app.store, &app.hsm, app.clock.as_ref(), app.entropy.as_ref(), &username).await?
        }
        _ => crate::credentials::change(&app.store, app.clock.as_ref(), &username, &body).await?,
    };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(state))
}
