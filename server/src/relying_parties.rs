//! Relying parties: banks and agencies whose systems create sign requests
//! for their customers over `/api/v1/rp/` and hear how each one ended
//! through a webhook (see `webhooks`).
//!
//! A relying party's request goes through exactly the same two channels and
//! the same SAM as an upload from our own page; the only differences are who
//! is named as the requester on both screens and who may read the result.

use crate::app::App;
use crate::clock::Clock;
use crate::entropy::{Entropy, random_bytes, random_id};
use crate::error::{Error, Result};
use crate::requests::{self, Requester};
use crate::store::{BatchDocumentRow, Members, RelyingPartyRow, RequestRow, Store};
use secrecy::SecretString;
use wysiwys_proto::batch::{BatchEntry, BatchManifest, MAX_BATCH_DOCUMENTS, MEDIA_TYPE_BATCH};
use wysiwys_proto::hashes::MEDIA_TYPE_HASHES;
use wysiwys_proto::rp::{
    API_KEY_PREFIX, BatchDocumentView, CreateRpBatch, CreateRpRequest, MAX_EXTERNAL_ID_CHARS,
    MAX_IDEMPOTENCY_KEY_CHARS, MAX_REFERENCE_CHARS, MIN_EXPIRES_IN_S, RpRequestView, Signer,
};
use wysiwys_proto::signature_level::SignatureLevel;
use wysiwys_proto::summary::{self, DisplayFields, MEDIA_TYPE_PAYMENT, MEDIA_TYPE_PDF, MEDIA_TYPE_TEXT, Summary};
use wysiwys_proto::{ErrorCode, b64, display, jcs};

/// Media types a relying party may be allowed to send.
/// Hash-only signing (the CSC API's `signHash`) is a media type too: a
/// party may use it only when the operator allowed it, because the person
/// then sees hashes, not the document.
pub const SUPPORTED_MEDIA_TYPES: &[&str] = &[MEDIA_TYPE_TEXT, MEDIA_TYPE_PAYMENT, MEDIA_TYPE_PDF, MEDIA_TYPE_HASHES];
const MAX_NAME_CHARS: usize = 80;

/// Shown once to the operator who created the party; never stored in the clear
/// (the API key) or never logged (the webhook secret).
#[derive(Debug)]
pub struct CreatedRelyingParty {
    pub id: String,
    pub name: String,
    pub api_key: SecretString,
    pub webhook_secret: Option<SecretString>,
}

/// What an operator says about a new relying party.
#[derive(Debug)]
pub struct NewRelyingParty<'a> {
    pub name: &'a str,
    pub media_types: &'a [String],
    pub webhook_url: Option<&'a str>,
    /// Made at random when a webhook URL is given without one.
    pub webhook_secret: Option<SecretString>,
    /// Exact redirect URIs for the CSC API's `oauth2/authorize`.
    pub redirect_uris: &'a [String],
    /// The level of its requests that name none.
    pub signature_level: Option<SignatureLevel>,
}

fn api_key_hash(key: &str) -> Vec<u8> {
    jcs::sha256(key.as_bytes()).to_vec()
}

/// Webhooks go to https, or to plain http on this machine only (tests, a
/// receiver beside the server): an event must not cross a network unencrypted.
/// The host is what a URL parser finds (so `http://127.0.0.1@evil.example/`
/// goes to evil.example, and `127.evil.example` is a name, not loopback).
pub fn check_webhook_url(url: &str) -> Result<()> {
    let bad = |why: &str| Error::refused(ErrorCode::BadRequest, format!("webhook URL {url:?}: {why}"));
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("malformed"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("malformed"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("malformed")),
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(bad("plain http is allowed only to loopback; use https")),
        _ => Err(bad("must start with https://")),
    }
}

pub async fn create_relying_party(
    store: &Store,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    new: NewRelyingParty<'_>,
) -> Result<CreatedRelyingParty> {
    let name = new.name;
    summary::check_name("name", name)?;
    if name.trim().is_empty() || name.trim() != name || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("a relying party's name is 1 to {MAX_NAME_CHARS} characters without outer spaces"),
        ));
    }
    if new.media_types.is_empty() {
        return Err(Error::refused(ErrorCode::BadRequest, "allow at least one media type"));
    }
    for media_type in new.media_types {
        if !SUPPORTED_MEDIA_TYPES.contains(&media_type.as_str()) {
            return Err(Error::refused(
                ErrorCode::UnsupportedMediaType,
                format!("{media_type:?} is not one of {}", SUPPORTED_MEDIA_TYPES.join(", ")),
            ));
        }
    }
    let webhook_secret = match new.webhook_url {
        Some(url) => {
            check_webhook_url(url)?;
            Some(match new.webhook_secret {
                Some(secret) => secret,
                None => SecretString::from(b64::encode(random_bytes::<32>(entropy)?)),
            })
        }
        None => None,
    };
    for uri in new.redirect_uris {
        crate::csc::oauth::check_redirect_uri(uri)?;
    }
    if new.signature_level == Some(SignatureLevel::Unknown) {
        return Err(Error::refused(ErrorCode::BadRequest, "signature_level is one of B-B, B-T, B-LT, B-LTA"));
    }
    let api_key = format!("{API_KEY_PREFIX}{}", b64::encode(random_bytes::<32>(entropy)?));
    let row = RelyingPartyRow {
        id: random_id(entropy)?,
        name: name.to_owned(),
        name_skeleton: Some(display::confusable_skeleton(name)),
        api_key_hash: api_key_hash(&api_key),
        media_types: new.media_types.join(" "),
        webhook_url: new.webhook_url.map(str::to_owned),
        webhook_secret: webhook_secret.as_ref().map(|s| secrecy::ExposeSecret::expose_secret(s).to_owned()),
        created_at: clock.now_ms(),
        oauth_redirect_uris: (!new.redirect_uris.is_empty()).then(|| new.redirect_uris.join(" ")),
        signature_level: new.signature_level.map(|level| level.as_str().to_owned()),
    };
    if !store.insert_relying_party(&row).await? {
        return Err(Error::refused(
            ErrorCode::RpNameConfusable,
            format!("{name:?} is, or looks like, the name of an existing relying party"),
        ));
    }
    tracing::info!(rp = %row.id, name, "relying party created");
    Ok(CreatedRelyingParty { id: row.id, name: row.name, api_key: SecretString::from(api_key), webhook_secret })
}

/// Lets a relying party use a person's credential through the CSC API (an
/// operator's decision, like creating the account: a party cannot claim
/// people itself).
pub async fn link_user(store: &Store, clock: &dyn Clock, rp_id: &str, username: &str) -> Result<()> {
    if !store.relying_party_exists(rp_id).await? {
        return Err(Error::refused(ErrorCode::BadRequest, format!("no relying party {rp_id:?}")));
    }
    let Some(user) = store.user_by_username(username).await? else {
        return Err(Error::refused(ErrorCode::UserUnknown, format!("no user {username:?}")));
    };
    let now = clock.now_ms();
    store.link_rp_user(rp_id, &user.id, now).await?;
    store
        .audit(&crate::store::AuditEvent {
            at: now,
            event: "rp_user_linked",
            user_id: Some(&user.id),
            detail: Some(rp_id),
            ..Default::default()
        })
        .await?;
    tracing::info!(rp = %rp_id, user = %user.id, "relying party linked to user");
    Ok(())
}

/// The party behind an API key. The key is looked up by its SHA-256: a
/// 256-bit random key needs no slow hash, and the database never holds it.
pub async fn authenticate(app: &App, api_key: &str) -> Result<RelyingPartyRow> {
    let refused = || Error::refused(ErrorCode::ApiKeyInvalid, "unknown or malformed API key");
    if !api_key.starts_with(API_KEY_PREFIX) || api_key.len() > 128 {
        return Err(refused());
    }
    app.store.relying_party_by_key_hash(&api_key_hash(api_key)).await?.ok_or_else(refused)
}

/// The view, with a batch's documents read from the store.
pub async fn full_view(app: &App, row: RequestRow) -> Result<RpRequestView> {
    let batch = if row.media_type == MEDIA_TYPE_BATCH { app.store.batch_documents(&row.id).await? } else { Vec::new() };
    Ok(view(&row, &batch))
}

pub fn view(row: &RequestRow, batch: &[BatchDocumentRow]) -> RpRequestView {
    let lines = serde_json::from_str::<Summary>(&row.summary_json).map(|s| s.lines).unwrap_or_default();
    let user_view = requests::view(row);
    RpRequestView {
        id: row.id.clone(),
        state: user_view.state,
        media_type: row.media_type.clone(),
        title: row.title.clone(),
        reference: row.rp_reference.clone(),
        doc_hash: user_view.doc_hash,
        summary_hash: user_view.summary_hash,
        summary_lines: lines,
        created_at: row.created_at,
        expires_at: row.expires_at,
        web_confirmed_at: row.web_confirmed_at,
        device_confirmed_at: row.device_confirmed_at,
        signed_at: row.signed_at,
        finished_at: row.finished_at,
        error: user_view.error,
        documents: (row.media_type == MEDIA_TYPE_BATCH).then(|| {
            batch
                .iter()
                .map(|d| BatchDocumentView {
                    index: u32::try_from(d.position).unwrap_or(u32::MAX),
                    title: d.title.clone(),
                    media_type: d.media_type.clone(),
                    doc_hash: b64::encode(&d.doc_hash),
                    reference: d.rp_reference.clone(),
                    signed: d.signature.is_some(),
                })
                .collect()
        }),
    }
}

fn check_text(name: &str, value: &str, max_chars: usize) -> Result<()> {
    summary::check_field(name, value)?;
    if value.is_empty() || value.chars().count() > max_chars {
        return Err(Error::refused(ErrorCode::BadRequest, format!("{name} is 1 to {max_chars} characters")));
    }
    Ok(())
}

pub fn check_external_id(id: &str) -> Result<()> {
    check_text("external_id", id, MAX_EXTERNAL_ID_CHARS)
}

/// One document as the API received it.
#[derive(Debug)]
pub struct DocumentInput {
    pub media_type: String,
    pub document: Vec<u8>,
    pub reference: Option<String>,
    pub display: Option<DisplayFields>,
}

impl DocumentInput {
    fn decode(
        media_type: String,
        document_b64: &str,
        reference: Option<String>,
        display: Option<DisplayFields>,
    ) -> Result<Self> {
        let document = b64::decode_standard(document_b64)
            .ok_or_else(|| Error::refused(ErrorCode::BadRequest, "document_b64 is not base64"))?;
        Ok(DocumentInput { media_type, document, reference, display })
    }

    fn fingerprint(&self) -> serde_json::Value {
        serde_json::json!({
            "media_type": self.media_type,
            "doc": b64::encode(jcs::sha256(&self.document)),
            "reference": self.reference,
            "display": self.display,
        })
    }
}

/// What a relying party asks to have signed: one document, or a batch of
/// documents under one confirmation.
#[derive(Debug)]
pub enum Documents {
    One(DocumentInput),
    Batch { title: String, documents: Vec<DocumentInput> },
}

/// A create as the API received it, from a JSON body or a raw document body.
#[derive(Debug)]
pub struct CreateInput {
    pub signer: Signer,
    pub reference: Option<String>,
    pub documents: Documents,
    pub expires_in_s: Option<u32>,
    pub signature_level: Option<SignatureLevel>,
}

impl CreateInput {
    pub fn from_json(body: CreateRpRequest) -> Result<CreateInput> {
        let document = DocumentInput::decode(body.media_type, &body.document_b64, None, body.display)?;
        Ok(CreateInput {
            signer: body.signer,
            reference: body.reference,
            documents: Documents::One(document),
            expires_in_s: body.expires_in_s,
            signature_level: body.signature_level,
        })
    }

    pub fn from_batch(body: CreateRpBatch) -> Result<CreateInput> {
        if !(1..=MAX_BATCH_DOCUMENTS).contains(&body.documents.len()) {
            return Err(Error::refused(
                ErrorCode::BadRequest,
                format!("a batch has 1 to {MAX_BATCH_DOCUMENTS} documents"),
            ));
        }
        if body.documents.iter().any(|d| d.display.as_ref().is_some_and(|d| d.visible_signature.is_some())) {
            return Err(Error::refused(ErrorCode::BadRequest, "visible_signature is for a single PDF, not a batch"));
        }
        let documents = body
            .documents
            .into_iter()
            .map(|d| DocumentInput::decode(d.media_type, &d.document_b64, d.reference, d.display))
            .collect::<Result<Vec<_>>>()?;
        Ok(CreateInput {
            signer: body.signer,
            reference: body.reference,
            documents: Documents::Batch { title: body.title, documents },
            expires_in_s: None,
            signature_level: body.signature_level,
        })
    }

    /// What identifies this create for its idempotency key: a retry with
    /// another body under the same key is a mistake, not a retry.
    fn fingerprint(&self) -> Result<Vec<u8>> {
        let documents = match &self.documents {
            Documents::One(d) => d.fingerprint(),
            Documents::Batch { title, documents } => serde_json::json!({
                "title": title,
                "documents": documents.iter().map(DocumentInput::fingerprint).collect::<Vec<_>>(),
            }),
        };
        let value = serde_json::json!({
            "signer": self.signer,
            "reference": self.reference,
            "documents": documents,
            "expires_in_s": self.expires_in_s,
            "signature_level": self.signature_level,
        });
        Ok(jcs::sha256(&jcs::to_vec(&value).map_err(|e| Error::Internal(e.to_string()))?).to_vec())
    }

    fn each(&self) -> &[DocumentInput] {
        match &self.documents {
            Documents::One(d) => std::slice::from_ref(d),
            Documents::Batch { documents, .. } => documents,
        }
    }
}

pub(crate) fn check_allowed(rp: &RelyingPartyRow, media_type: &str) -> Result<()> {
    if rp.media_types.split(' ').any(|m| m == media_type) {
        return Ok(());
    }
    let code = if SUPPORTED_MEDIA_TYPES.contains(&media_type) {
        ErrorCode::MediaTypeNotAllowed
    } else {
        ErrorCode::UnsupportedMediaType
    };
    Err(Error::refused(code, format!("{} may not request {media_type:?}", rp.name)))
}

/// A batch's manifest (the document both channels confirm) and its documents.
fn batch_of(app: &App, title: &str, documents: &[DocumentInput]) -> Result<(Vec<u8>, Vec<BatchDocumentRow>)> {
    let total: usize = documents.iter().map(|d| d.document.len()).sum();
    if total > app.settings.max_pdf_bytes {
        return Err(Error::refused(
            ErrorCode::PayloadTooLarge,
            format!("a batch holds at most {} bytes", app.settings.max_pdf_bytes),
        ));
    }
    let mut entries = Vec::with_capacity(documents.len());
    let mut rows = Vec::with_capacity(documents.len());
    for (position, d) in documents.iter().enumerate() {
        let rendered = requests::render(app, &d.media_type, &d.document, d.display.as_ref())?;
        let doc_hash = jcs::sha256(&d.document);
        entries.push(BatchEntry {
            title: rendered.title.clone(),
            media_type: d.media_type.clone(),
            size: d.document.len() as u64,
            sha256: b64::encode(doc_hash),
        });
        rows.push(BatchDocumentRow {
            request_id: String::new(),
            position: i64::try_from(position).unwrap_or(i64::MAX),
            title: rendered.title,
            media_type: d.media_type.clone(),
            document: d.document.clone(),
            doc_hash: doc_hash.to_vec(),
            rp_reference: d.reference.clone(),
            signature: None,
        });
    }
    let manifest = BatchManifest::new(title, entries)?;
    Ok((manifest.canonical_bytes()?, rows))
}

pub async fn create_request(
    app: &App,
    rp: &RelyingPartyRow,
    idempotency_key: Option<&str>,
    input: CreateInput,
) -> Result<RpRequestView> {
    for d in input.each() {
        check_allowed(rp, &d.media_type)?;
        if let Some(reference) = &d.reference {
            check_text("reference", reference, MAX_REFERENCE_CHARS)?;
        }
    }
    if let Some(key) = idempotency_key {
        check_text("Idempotency-Key", key, MAX_IDEMPOTENCY_KEY_CHARS)?;
    }
    if let Some(reference) = &input.reference {
        check_text("reference", reference, MAX_REFERENCE_CHARS)?;
    }
    if input.signature_level == Some(SignatureLevel::Unknown) {
        return Err(Error::refused(ErrorCode::BadRequest, "signature_level is one of B-B, B-T, B-LT, B-LTA"));
    }
    let ttl_ms = input.expires_in_s.map(|s| i64::from(s) * 1000);
    if ttl_ms.is_some_and(|ttl| ttl < i64::from(MIN_EXPIRES_IN_S) * 1000 || ttl > app.settings.challenge_ttl_ms) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("expires_in_s is {MIN_EXPIRES_IN_S} to {} seconds", app.settings.challenge_ttl_ms / 1000),
        ));
    }
    let idempotency = match idempotency_key {
        Some(key) => Some((key, input.fingerprint()?)),
        None => None,
    };
    if let Some((key, fingerprint)) = &idempotency
        && let Some(existing) = replayed_create(app, rp, key, fingerprint).await?
    {
        return Ok(existing);
    }
    let user = match &input.signer {
        Signer::Username(name) => app.store.user_by_username(name).await?,
        Signer::ExternalId(id) => {
            check_external_id(id)?;
            app.store.user_by_external_id(id).await?
        }
    }
    .ok_or_else(|| Error::refused(ErrorCode::UserUnknown, "no such user"))?;
    let mut requester = Requester {
        name: &rp.name,
        rp_id: Some(&rp.id),
        reference: input.reference.as_deref(),
        idempotency: idempotency.as_ref().map(|(key, fingerprint)| (*key, fingerprint.as_slice())),
        display: None,
        ttl_ms,
        // The request's own level, else the party's default, else the server's.
        signature_level: input.signature_level.or_else(|| rp.signature_level.as_deref().and_then(|l| l.parse().ok())),
    };
    let created = match &input.documents {
        Documents::One(d) => {
            requester.display = d.display.as_ref();
            requests::create(app, &user, &requester, &d.media_type, &d.document, Members::None).await
        }
        Documents::Batch { title, documents } => {
            let (manifest, rows) = batch_of(app, title, documents)?;
            requests::create(app, &user, &requester, MEDIA_TYPE_BATCH, &manifest, Members::Batch(&rows)).await
        }
    };
    match created {
        Ok(row) => full_view(app, row).await,
        // Two retries raced: the other one made the request.
        Err(Error::Refused { code: ErrorCode::IdempotencyKeyReused, .. }) if idempotency.is_some() => {
            let (key, fingerprint) =
                idempotency.as_ref().ok_or_else(|| Error::Internal("conflict without key".into()))?;
            replayed_create(app, rp, key, fingerprint)
                .await?
                .ok_or_else(|| Error::Internal("idempotency row vanished".into()))
        }
        Err(e) => Err(e),
    }
}

async fn replayed_create(
    app: &App,
    rp: &RelyingPartyRow,
    key: &str,
    fingerprint: &[u8],
) -> Result<Option<RpRequestView>> {
    let Some((stored_fingerprint, request_id)) = app.store.idempotent_create(&rp.id, key).await? else {
        return Ok(None);
    };
    if stored_fingerprint != fingerprint {
        return Err(Error::refused(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request",
        ));
    }
    Ok(Some(full_view(app, own_request(app, rp, &request_id).await?).await?))
}

async fn own_request(app: &App, rp: &RelyingPartyRow, id: &str) -> Result<RequestRow> {
    match app.store.request(id).await? {
        Some(row) if row.rp_id.as_deref() == Some(rp.id.as_str()) => Ok(row),
        _ => Err(Error::refused(ErrorCode::RequestNotFound, "no such request")),
    }
}

pub async fn get(app: &App, rp: &RelyingPartyRow, id: &str) -> Result<RpRequestView> {
    let row = own_request(app, rp, id).await?;
    full_view(app, requests::expire_if_due(app, row).await?).await
}

/// The party withdraws a request nobody has confirmed on both channels yet.
pub async fn cancel(app: &App, rp: &RelyingPartyRow, id: &str) -> Result<RpRequestView> {
    let row = own_request(app, rp, id).await?;
    if !requests::cancel(app, &row).await? {
        let row = own_request(app, rp, id).await?;
        return Err(Error::refused(ErrorCode::RequestNotPending, format!("request is {}", row.state)));
    }
    full_view(app, own_request(app, rp, id).await?).await
}

pub async fn signature(app: &App, rp: &RelyingPartyRow, id: &str) -> Result<requests::SignatureFile> {
    requests::signature_file(own_request(app, rp, id).await?)
}

/// The signature of one document of a signed batch.
pub async fn member_signature(
    app: &App,
    rp: &RelyingPartyRow,
    id: &str,
    index: u32,
) -> Result<requests::SignatureFile> {
    requests::member_signature_file(app, &own_request(app, rp, id).await?, index).await
}

#[cfg(test)]
mod tests {
    use super::check_webhook_url;

    #[test]
    fn webhooks_go_to_https_or_to_loopback_only() {
        for good in [
            "https://bank.example/hooks",
            "https://bank.example:8443/h?x=1",
            "http://127.0.0.1:9000/hooks",
            "http://127.8.9.10/h",
            "http://localhost:80/h",
            "http://[::1]:9000/h",
        ] {
            assert!(check_webhook_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://127.evil.example/h",
            "http://127.0.0.1.evil.example/h",
            "http://127.0.0.1@evil.example/h",
            "http://user:pw@127.0.0.1/h",
            "https://user@bank.example/h",
            "http://localhost.evil.example/h",
            "http://10.0.0.1/h",
            "http://[::ffff:7f00:1]/h",
            "ftp://127.0.0.1/h",
            "https://",
            "https://bank.example/a b",
            "bank.example/h",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
        assert!(check_webhook_url(&format!("https://bank.example/{}", "a".repeat(2048))).is_err());
    }
}
