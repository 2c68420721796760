//! The browser session as extractors: `Session` for reads, `SessionWrite`
//! for state changes (which also require the CSRF token header); and the
//! bearer token of the relying-party and operator APIs.

use crate::app::App;
use crate::error::Error;
use crate::store::{SessionRow, UserRow};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{CSRF_HEADER, SESSION_COOKIE};

/// The token of `Authorization: Bearer <token>`, if the request has one.
pub(super) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

#[derive(Debug)]
pub struct Session {
    pub user: UserRow,
    pub session: SessionRow,
    pub cookie: String,
}

#[derive(Debug)]
pub struct SessionWrite(pub Session);

async fn load(req: HttpRequest) -> Result<Session, Error> {
    let app = req.app_data::<web::Data<Arc<App>>>().ok_or_else(|| Error::Internal("app state missing".into()))?.clone();
    let cookie = req
        .cookie(SESSION_COOKIE)
        .ok_or_else(|| Error::refused(ErrorCode::Unauthenticated, "log in first"))?
        .value()
        .to_owned();
    let (session, user) = crate::accounts::session(&app, &cookie)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::Unauthenticated, "session expired or unknown; log in again"))?;
    Ok(Session { user, session, cookie })
}

async fn load_full(req: HttpRequest) -> Result<Session, Error> {
    let session = load(req).await?;
    if session.session.stage != crate::accounts::STAGE_FULL {
        return Err(Error::refused(ErrorCode::Unauthenticated, "finish logging in first"));
    }
    Ok(session)
}

/// A session between the password and the authenticator code.
#[derive(Debug)]
pub struct PendingLogin(pub Session);

impl FromRequest for PendingLogin {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = load(req).await?;
            if session.session.stage == crate::accounts::STAGE_FULL {
                return Err(Error::refused(ErrorCode::BadRequest, "already logged in"));
            }
            Ok(PendingLogin(session))
        })
    }
}

/// Compares a submitted CSRF token with the session's, in constant time.
pub fn check_csrf(session: &Session, sent: &str) -> Result<(), Error> {
    let expected = session.session.csrf_token.as_bytes();
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(expected)) {
        return Err(Error::refused(ErrorCode::CsrfInvalid, "missing or wrong CSRF token; reload the page"));
    }
    Ok(())
}

impl FromRequest for Session {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load_full(req.clone()))
    }
}

impl FromRequest for SessionWrite {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = load_full(req.clone()).await?;
            let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            check_csrf(&session, sent)?;
            Ok(SessionWrite(session))
        })
    }
}
