//! What the CA publishes, answered from the register: the CRL and OCSP.

use super::ocsp::{self, CertStatus, Failure, Questions};
use crate::app::App;
use crate::error::Result;
use crate::store::CertificateRow;

/// Largest OCSP request accepted (a request for 16 certificates is ~1 KiB).
pub const MAX_OCSP_REQUEST_BYTES: usize = 8 * 1024;

/// The current CRL (DER).
pub async fn crl(app: &App) -> Result<Vec<u8>> {
    let revoked = app.store.revoked_certificates().await?;
    let now = app.clock.now_ms();
    app.crl_cache.current(&app.hsm, &revoked, now)
}

fn status_of(row: Option<&CertificateRow>, now_ms: i64) -> CertStatus {
    match row.map(|r| r.standing(now_ms)) {
        None => CertStatus::Unknown,
        // An expired certificate is still "good" in OCSP: revocation is
        // about what happened before expiry (RFC 6960 §2.2).
        Some(
            super::standing::Standing::Valid
            | super::standing::Standing::Expired
            | super::standing::Standing::NotYetValid,
        ) => CertStatus::Good,
        Some(super::standing::Standing::Suspended { at_ms }) => {
            CertStatus::Revoked { at_ms, reason: Some(super::standing::REASON_CERTIFICATE_HOLD as u8) }
        }
        Some(super::standing::Standing::Revoked { at_ms, reason }) => {
            CertStatus::Revoked { at_ms, reason: reason.and_then(|r| u8::try_from(r).ok()) }
        }
    }
}

/// An `OCSPResponse` for the request: a validator always gets an answer it
/// can read; only a client over the per-address limit gets an error (each
/// answer is a CA signature).
pub async fn ocsp(app: &App, client: std::net::IpAddr, request: &[u8]) -> Result<Vec<u8>> {
    if !app.ocsp_limiter.allow(client, app.clock.now_ms()) {
        return Err(crate::error::Error::refused(
            wysiwys_proto::ErrorCode::RateLimited,
            "too many OCSP requests from this address",
        ));
    }
    Ok(answer_request(app, request).await)
}

async fn answer_request(app: &App, request: &[u8]) -> Vec<u8> {
    let questions = match Questions::parse(request, &app.ocsp_issuer) {
        Ok(q) => q,
        Err(failure) => {
            tracing::info!(?failure, "OCSP request refused");
            return ocsp::failed(failure);
        }
    };
    match answer(app, &questions).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "OCSP answer could not be made");
            ocsp::failed(Failure::TryLater)
        }
    }
}

async fn answer(app: &App, questions: &Questions) -> Result<Vec<u8>> {
    let now = app.clock.now_ms();
    let mut answers = Vec::with_capacity(questions.questions.len());
    for question in &questions.questions {
        let row = if question.ours { app.store.certificate(&question.serial).await? } else { None };
        answers.push(status_of(row.as_ref(), now));
    }
    ocsp::respond(questions, &answers, &app.ocsp_issuer, now, |tbs| Ok(app.hsm.sign_as_ca(tbs)?))
}

/// Signed OCSP answers about our own certificates, as now (for a PDF's DSS).
pub async fn ocsp_about(app: &App, certificates: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
    let mut answers = Vec::with_capacity(certificates.len());
    for der in certificates {
        let questions = Questions::about(der, &app.ocsp_issuer)?;
        answers.push(answer(app, &questions).await?);
    }
    Ok(answers)
}
