//! `signatures/signDoc`: full WYSIWYS through the CSC API. The client sends
//! the documents; they become a sign request exactly like a relying
//! party's (the same rendering, PDF policy and display checks), the person
//! confirms what they see on the Sign page and the device during the call,
//! and the call answers with PAdES (`P`, B-B to B-LTA) or detached CAdES
//! (`C`, B-B or B-T). No SAD is taken: the authorization happens in the call
//! itself.

use super::{Caller, credential_owner, invalid, missing};
use crate::app::App;
use crate::error::{Error, Result};
use crate::relying_parties::{self, CreateInput, DocumentInput, Documents};
use crate::requests;
use crate::store::FailFrom;
use std::time::Duration;
use wysiwys_proto::batch::MAX_BATCH_DOCUMENTS;
use wysiwys_proto::csc::OID_ECDSA_WITH_SHA256;
use wysiwys_proto::csc::v2::{SignDocDocument, SignDocRequest, SignDocResponse};
use wysiwys_proto::rp::Signer;
use wysiwys_proto::signature_level::SignatureLevel;
use wysiwys_proto::summary::{MEDIA_TYPE_PDF, MEDIA_TYPE_TEXT};
use wysiwys_proto::{ErrorCode, b64};

/// The conformance levels offered, with ours; CAdES stops at B-T.
pub const CONFORMANCE_LEVELS: &[&str] = &["Ades-B-B", "Ades-B-T", "Ades-B-LT", "Ades-B-LTA"];
const LEVELS: [SignatureLevel; 4] =
    [SignatureLevel::BaselineB, SignatureLevel::BaselineT, SignatureLevel::BaselineLt, SignatureLevel::BaselineLta];
/// The formats offered, with the one envelope property each.
pub const FORMATS: &[(&str, &str)] = &[("C", "Detached"), ("P", "Revision")];

/// How a document is to be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// CAdES, detached, over a UTF-8 letter.
    Cades,
    /// PAdES, an approval signature (a new revision) of the PDF.
    Pades,
}

/// The level a document asks for; `None`: the server's default.
fn level_of(document: &SignDocDocument, format: Format) -> Result<Option<SignatureLevel>> {
    let Some(asked) = document.conformance_level.as_deref() else { return Ok(None) };
    let at = CONFORMANCE_LEVELS.iter().position(|l| l.eq_ignore_ascii_case(asked));
    match at.map(|i| LEVELS[i]) {
        Some(level) if format == Format::Pades || level <= SignatureLevel::BaselineT => Ok(Some(level)),
        Some(_) => Err(Error::refused(
            ErrorCode::BadRequest,
            "Invalid parameter conformance_level: CAdES (C) is offered at Ades-B-B and Ades-B-T",
        )),
        None => Err(Error::refused(
            ErrorCode::BadRequest,
            format!("Invalid parameter conformance_level: one of {}", CONFORMANCE_LEVELS.join(", ")),
        )),
    }
}

fn checked(document: &SignDocDocument) -> Result<(Format, DocumentInput)> {
    let format = match document.signature_format.as_deref() {
        Some("C") => Format::Cades,
        Some("P") => Format::Pades,
        Some(_) => return Err(invalid("signature_format")),
        None => return Err(missing("string", "signature_format")),
    };
    match document.sign_algo.as_deref() {
        Some(OID_ECDSA_WITH_SHA256) => {}
        Some(_) => return Err(invalid("signAlgo")),
        None => return Err(missing("string", "signAlgo")),
    }
    if document.sign_algo_params.is_some() {
        return Err(invalid("signAlgoParams"));
    }
    let envelope = match format {
        Format::Cades => "Detached",
        Format::Pades => "Revision",
    };
    if document.signed_envelope_property.as_deref().is_some_and(|p| p != envelope) {
        return Err(invalid("signed_envelope_property"));
    }
    let text = document.document.as_deref().ok_or_else(|| missing("string", "document"))?;
    let bytes = b64::decode_standard(text).ok_or_else(|| invalid("document"))?;
    let media_type = match format {
        Format::Pades if bytes.starts_with(b"%PDF-") => MEDIA_TYPE_PDF,
        Format::Pades => {
            return Err(Error::refused(ErrorCode::DocumentInvalid, "signature_format P needs a PDF document"));
        }
        Format::Cades => MEDIA_TYPE_TEXT,
    };
    let display = document.display.clone();
    Ok((format, DocumentInput { media_type: media_type.to_owned(), document: bytes, reference: None, display }))
}

/// How often a waiting call looks at the request (as `authorization::wait`).
const POLL: Duration = Duration::from_millis(250);

/// Makes the request, waits for both channels and the signature (at most
/// the configured time; a request still open then is withdrawn), and
/// returns the signed documents.
pub async fn sign_documents(app: &App, caller: &Caller, request: &SignDocRequest) -> Result<SignDocResponse> {
    let credential_id = request.credential_id.as_deref().ok_or_else(|| missing("string", "credentialID"))?;
    if request.sad.is_some() || caller.bearer_sad().is_some() {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "signDoc takes no SAD: the person confirms these documents on both channels during the call",
        ));
    }
    if request.document_digests.is_some() {
        return Err(Error::refused(ErrorCode::BadRequest, "documentDigests: sign digests with signatures/signHash"));
    }
    if request.operation_mode.as_deref().is_some_and(|mode| mode != "S") {
        return Err(invalid("operationMode"));
    }
    if request.return_validation_info == Some(true) {
        return Err(Error::refused(ErrorCode::BadRequest, "returnValidationInfo is not offered yet"));
    }
    let documents = request.documents.as_deref().ok_or_else(|| missing("array", "documents"))?;
    if !(1..=MAX_BATCH_DOCUMENTS).contains(&documents.len()) {
        return Err(Error::refused(ErrorCode::BadRequest, format!("1 to {MAX_BATCH_DOCUMENTS} documents")));
    }
    let user = credential_owner(app, caller, credential_id).await?;
    let (formats, mut inputs): (Vec<Format>, Vec<DocumentInput>) =
        documents.iter().map(checked).collect::<Result<Vec<_>>>()?.into_iter().unzip();
    // One request signs every document: they ask for one level.
    let mut levels = documents.iter().zip(&formats).map(|(d, f)| level_of(d, *f)).collect::<Result<Vec<_>>>()?;
    levels.dedup();
    let [signature_level] = levels[..] else {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "Invalid parameter conformance_level: one level for all documents",
        ));
    };
    let documents = match inputs.len() {
        1 => Documents::One(inputs.remove(0)),
        n => Documents::Batch { title: format!("{n} documents from {}", caller.rp().name), documents: inputs },
    };
    let input = CreateInput {
        signer: Signer::Username(user.username.clone()),
        reference: None,
        documents,
        expires_in_s: None,
        signature_level,
    };
    let created = relying_parties::create_request(app, caller.rp(), None, input).await?;
    tracing::info!(request = %created.id, documents = formats.len(), "CSC signDoc waiting for both channels");
    let row = wait_signed(app, &created.id).await?;
    let mut response = SignDocResponse::default();
    for (index, format) in formats.iter().enumerate() {
        let file = if formats.len() == 1 {
            requests::signature_file(row.clone())?
        } else {
            let index = u32::try_from(index).map_err(|_| Error::Internal("document index".into()))?;
            requests::member_signature_file(app, &row, index).await?
        };
        let encoded = b64::encode_standard(&file.bytes);
        match format {
            Format::Pades => response.document_with_signature.push(encoded),
            Format::Cades => response.signature_object.push(encoded),
        }
    }
    Ok(response)
}

async fn wait_signed(app: &App, id: &str) -> Result<crate::store::RequestRow> {
    let deadline = tokio::time::Instant::now() + app.settings.csc_wait;
    loop {
        let row = app.store.request(id).await?.ok_or_else(|| Error::Internal("request vanished".into()))?;
        let row = requests::expire_if_due(app, row).await?;
        match row.state.as_str() {
            "signed" => return Ok(row),
            "failed" => {
                let code = row.error_code.as_deref().and_then(ErrorCode::parse).unwrap_or(ErrorCode::InternalError);
                let detail = row.error_detail.unwrap_or_default();
                return Err(Error::refused(code, crate::error::public_detail(code, &detail).to_owned()));
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            let detail = "the signing application stopped waiting for the person";
            app.store
                .fail_request(id, FailFrom::Pending, ErrorCode::RequestCancelled, detail, app.clock.now_ms())
                .await?;
            // Both channels may have confirmed in the very last moment.
            if let Some(row) = app.store.request(id).await?.filter(|r| r.state == "signing" || r.state == "signed") {
                if row.state == "signed" {
                    return Ok(row);
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
            return Err(Error::refused(
                ErrorCode::ChallengeExpired,
                "the person did not confirm on both channels in time",
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}
