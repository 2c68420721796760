//! From one permitted HSM signature to the file the person gets, at the
//! AdES level the operator set: B-B, B-T (a signature timestamp), and for
//! PDFs B-LT (the DSS with certificates, OCSP answers and the CRL) and
//! B-LTA (a document timestamp over all of it). CAdES stops at B-T.
//!
//! Invariant: everything here happens after the SAM's permit and before
//! anything is stored, so under the `required` timestamp policy a missing
//! token means that no signature leaves the server.

use crate::app::App;
use crate::error::Result;
use crate::pdf::ltv::{self, ValidationData};
use crate::pdf::pades;
use crate::sam;
use crate::store::{AuditEvent, RequestRow, UserRow};
use crate::timestamping::{Source, Stamped};
use sha2::{Digest, Sha256};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::batch::MEDIA_TYPE_BATCH;
use wysiwys_proto::signature_level::SignatureLevel;
use wysiwys_proto::summary::MEDIA_TYPE_PDF;

/// A token over `digest`, or `None` (recorded in the request's trail) when
/// the best-effort policy lets the signature go without one.
async fn stamp(app: &App, row: &RequestRow, digest: &[u8; 32]) -> Result<Option<Vec<u8>>> {
    match app
        .timestamping
        .stamp(&app.hsm, &app.ca_certificate, app.entropy.as_ref(), app.clock.now_ms(), digest)
        .await?
    {
        Stamped::Token(facts) => Ok(Some(facts.token)),
        Stamped::Unavailable(detail) => {
            app.store
                .audit(&AuditEvent {
                    at: app.clock.now_ms(),
                    event: "timestamp_unavailable",
                    user_id: Some(&row.user_id),
                    request_id: Some(&row.id),
                    code: Some(ErrorCode::TimestampUnavailable),
                    detail: Some(&detail),
                    ..Default::default()
                })
                .await?;
            Ok(None)
        }
    }
}

/// The level a request is to reach: what it asked for, else the server's.
pub fn wanted(app: &App, row: &RequestRow) -> SignatureLevel {
    match row.level_requested.as_deref() {
        // Stored by us from a known level; anything else fails closed to the default.
        Some(asked) => asked.parse().unwrap_or(app.settings.signature_level),
        None => app.settings.signature_level,
    }
}

/// What a PDF signature's CMS holds besides what the SAM builds itself:
/// the CA's certificate and, when the level asks for it, the token. Only
/// PDFs (alone or in a batch) have a hole to size.
pub async fn cms_extra_bytes(app: &App, row: &RequestRow) -> usize {
    if row.media_type != MEDIA_TYPE_PDF && row.media_type != MEDIA_TYPE_BATCH {
        return 0;
    }
    let token = if wanted(app, row).has_timestamp() {
        app.timestamping.token_room(&app.hsm, &app.ca_certificate, app.entropy.as_ref(), app.clock.now_ms()).await
    } else {
        0
    };
    app.ca_certificate.len() + token
}

/// One permitted signature, stamped and completed as the level asks.
/// Returns the level reached: lower than asked only under best effort, or
/// B-T for CAdES when more is asked.
pub async fn sign_document(
    app: &App,
    row: &RequestRow,
    user: &UserRow,
    signing: sam::Signing,
) -> Result<(Vec<u8>, SignatureLevel)> {
    // On this thread, like the channel signature: about 0.05 ms with SoftHSM2.
    let raw = sam::sign(&app.hsm, signing.permit)?;
    let signature = crate::signed_data::ecdsa_signature_der(&raw)?;
    let wanted = wanted(app, row);
    let token = if wanted.has_timestamp() { stamp(app, row, &Sha256::digest(&signature).into()).await? } else { None };
    let cms = crate::cades::assemble(
        &signing.attributes,
        &signature,
        &user.certificate,
        &app.ca_certificate,
        token.as_deref(),
    )?;
    let level = if token.is_some() { SignatureLevel::BaselineT } else { SignatureLevel::BaselineB };
    match signing.pdf {
        None => Ok((cms, level)),
        Some(pdf) => {
            let signed = pdf.finish(&cms)?;
            if level < SignatureLevel::BaselineT || wanted < SignatureLevel::BaselineLt {
                return Ok((signed, level));
            }
            long_term(app, row, user, signed, wanted).await
        }
    }
}

/// B-LT, then B-LTA if asked: the DSS, then the document timestamp.
async fn long_term(
    app: &App,
    row: &RequestRow,
    user: &UserRow,
    signed: Vec<u8>,
    wanted: SignatureLevel,
) -> Result<(Vec<u8>, SignatureLevel)> {
    let mut certificates = vec![user.certificate.clone(), app.ca_certificate.clone()];
    let mut ours: Vec<&[u8]> = vec![&user.certificate];
    // The built-in TSA's certificate is ours to answer for; an external
    // authority's token carries its own chain.
    if matches!(app.timestamping.source, Source::BuiltIn) {
        certificates.push(app.timestamping.tsa_certificate.clone());
        ours.push(&app.timestamping.tsa_certificate);
    }
    let data = ValidationData {
        certificates,
        ocsp_responses: crate::pki::publish::ocsp_about(app, &ours).await?,
        crls: vec![crate::pki::publish::crl(app).await?],
    };
    let with_dss = ltv::add_dss(&signed, &data)?;
    if wanted < SignatureLevel::BaselineLta {
        return Ok((with_dss, SignatureLevel::BaselineLt));
    }
    let room =
        app.timestamping.token_room(&app.hsm, &app.ca_certificate, app.entropy.as_ref(), app.clock.now_ms()).await;
    let prepared = pades::prepare_doc_timestamp(&with_dss, &format!("wysiwys-{}-timestamp", row.id), room)?;
    match stamp(app, row, &prepared.byte_range_digest()).await? {
        Some(token) => Ok((prepared.finish(&token)?, SignatureLevel::BaselineLta)),
        None => Ok((with_dss, SignatureLevel::BaselineLt)),
    }
}
