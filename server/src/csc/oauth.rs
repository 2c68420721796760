//! CSC OAuth 2.0: the authorization code flow with PKCE (S256), in which
//! our own log-in (password and authenticator code) and Sign page are the
//! authorization server's pages, and v1 `auth/login` for relying parties.
//!
//! A grant is made from the client's `oauth2/authorize` without a person;
//! the person binds it to themselves by consenting while logged in. With
//! scope `service` the code is issued at once; with scope `credential` the
//! consent makes the hash-only request that both channels confirm, and
//! the code is issued only once the request is authorized. The
//! credential-scope access token is that request's SAD: bound to the
//! confirmed hashes, single-use per hash, expiring (`signing`).

use super::Caller;
use super::authorization::{self, AuthorizeInput, decode_hash};
use crate::app::App;
use crate::entropy::{random_bytes, random_id};
use crate::error::{Error, Result};
use crate::requests;
use crate::store::{AuditEvent, CscAccessTokenRow, FailFrom, OAuthGrantRow, UserRow};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use wysiwys_proto::csc::oauth::{
    ACCESS_TOKEN_PREFIX, AuthorizationDetail, AuthorizeQuery, DETAILS_TYPE_CREDENTIAL, SCOPE_CREDENTIAL, SCOPE_SERVICE,
    TokenRequest, TokenResponse,
};
use wysiwys_proto::csc::{OID_SHA256, SAD_PREFIX};
use wysiwys_proto::hashes::MAX_HASHES;
use wysiwys_proto::{ErrorCode, b64, jcs};

/// Time to log in and consent after the client's redirect.
const GRANT_TTL_MS: i64 = 15 * 60 * 1000;
/// An authorization code "SHALL expire shortly".
const CODE_TTL_MS: i64 = 60 * 1000;
/// A service token's life, as the spec's default.
pub const SERVICE_TOKEN_TTL_MS: i64 = 3600 * 1000;
const MAX_STATE_BYTES: usize = 255;
const MAX_DESCRIPTION_CHARS: usize = 500;
const CODE_PREFIX: &str = "wysiwys_code_";

/// The API version a client speaks: v1 and v2 name the credential token
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The credential authorization a grant asks for, kept with the grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Standard base64 SHA-256 digests, in the client's order.
    pub hashes: Vec<String>,
    pub labels: Vec<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Why `oauth2/authorize` did not make a grant.
#[derive(Debug)]
pub enum AuthorizeRefusal {
    /// The client or its redirect URI is not known: told to the person
    /// only, never sent anywhere (RFC 6749 §4.1.2.1).
    Shown(Error),
    /// Told to the client at its registered redirect URI.
    Redirected(String),
}

impl From<Error> for AuthorizeRefusal {
    fn from(e: Error) -> Self {
        AuthorizeRefusal::Shown(e)
    }
}

/// `redirect_uri` with `pairs` appended to its query.
fn location(redirect_uri: &str, pairs: &[(&str, &str)]) -> Result<String> {
    let mut url = reqwest::Url::parse(redirect_uri).map_err(|e| Error::Internal(format!("registered URI: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    Ok(url.into())
}

fn error_location(redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> Result<String> {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    location(redirect_uri, &pairs)
}

/// A redirect URI a relying party may register: https, or http to
/// loopback (a native client, as RFC 8252 allows), without a fragment.
pub fn check_redirect_uri(uri: &str) -> Result<()> {
    crate::relying_parties::check_webhook_url(uri).map_err(|_| {
        Error::refused(ErrorCode::BadRequest, format!("redirect URI {uri:?}: https, or http to loopback"))
    })?;
    if uri.contains('#') {
        return Err(Error::refused(ErrorCode::BadRequest, format!("redirect URI {uri:?}: no fragment")));
    }
    Ok(())
}

/// The PKCE S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    b64::encode(jcs::sha256(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn well_formed_pkce(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A CSC hash in base64url (the query's `hash`/`hashes`) or standard
/// base64 (`documentDigests`), as standard base64.
fn normalise_hash(hash: &str) -> Result<String> {
    let digest = match b64::decode(hash.trim_end_matches('=')) {
        Some(bytes) => <[u8; 32]>::try_from(bytes)
            .map_err(|_| Error::refused(ErrorCode::BadRequest, "Invalid digest value length"))?,
        None => decode_hash(hash)?,
    };
    Ok(b64::encode_standard(digest))
}

fn bad(description: impl Into<String>) -> Error {
    Error::refused(ErrorCode::BadRequest, description)
}

/// What a `credential` grant asks for: the query's CSC parameters or one
/// RFC 9396 `authorization_details` entry of type `credential`.
fn credential_request(query: &AuthorizeQuery) -> Result<CredentialRequest> {
    let (credential_id, digests, oid) = match &query.authorization_details {
        Some(json) => {
            let details: Vec<AuthorizationDetail> =
                serde_json::from_str(json).map_err(|_| bad("Invalid parameter authorization_details"))?;
            let [detail] = details.as_slice() else {
                return Err(bad("authorization_details: exactly one entry of type credential"));
            };
            if detail.kind != DETAILS_TYPE_CREDENTIAL {
                return Err(bad("authorization_details: exactly one entry of type credential"));
            }
            let digests = detail.document_digests.iter().map(|d| (d.hash.clone(), d.label.clone())).collect::<Vec<_>>();
            (detail.credential_id.clone(), digests, detail.hash_algorithm_oid.clone())
        }
        None => {
            let hashes = query.hashes.as_deref().ok_or_else(|| bad("Missing parameter hash"))?;
            let digests = hashes.split(',').map(|h| (h.to_owned(), None)).collect::<Vec<_>>();
            (query.credential_id.clone(), digests, query.hash_algorithm_oid.clone())
        }
    };
    if oid.is_some_and(|oid| oid != OID_SHA256) {
        return Err(bad("Invalid parameter hashAlgorithmOID"));
    }
    if digests.is_empty() || digests.len() > MAX_HASHES {
        return Err(bad(format!("1 to {MAX_HASHES} hashes")));
    }
    if query.num_signatures.as_ref().is_some_and(|n| n.parse::<usize>().ok() != Some(digests.len())) {
        return Err(bad("SCAL 2: numSignatures must equal the number of hashes"));
    }
    if query.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(bad("Invalid parameter description"));
    }
    let hashes = digests.iter().map(|(hash, _)| normalise_hash(hash)).collect::<Result<Vec<_>>>()?;
    Ok(CredentialRequest {
        credential_id,
        hashes,
        labels: digests.into_iter().map(|(_, label)| label).collect(),
        description: query.description.clone(),
    })
}

/// `oauth2/authorize`: checks the client and what it asks for and keeps
/// it as a grant for the person to consent to. The grant's id.
pub async fn begin(app: &App, query: &AuthorizeQuery) -> std::result::Result<String, AuthorizeRefusal> {
    let client_id = query.client_id.as_deref().ok_or_else(|| bad("Missing parameter client_id"))?;
    let unknown = || Error::refused(ErrorCode::OAuthClientInvalid, "Invalid parameter client_id");
    if client_id.len() > 64 {
        return Err(unknown().into());
    }
    let rp = app.store.relying_party(client_id).await?.ok_or_else(unknown)?;
    let registered: Vec<&str> = rp.oauth_redirect_uris.as_deref().unwrap_or("").split_whitespace().collect();
    let redirect_uri = match query.redirect_uri.as_deref() {
        Some(uri) if registered.contains(&uri) => uri.to_owned(),
        Some(_) => {
            tracing::warn!(rp = %rp.id, "OAuth authorize with a redirect URI the client did not register");
            return Err(Error::refused(ErrorCode::OAuthClientInvalid, "redirect_uri is not registered").into());
        }
        None => match registered.as_slice() {
            [only] => (*only).to_owned(),
            _ => return Err(bad("Missing parameter redirect_uri").into()),
        },
    };
    let refuse = |error: &str, description: &str, state: Option<&str>| {
        tracing::info!(rp = %rp.id, error, description, "OAuth authorize refused");
        match error_location(&redirect_uri, state, error, description) {
            Ok(to) => AuthorizeRefusal::Redirected(to),
            Err(e) => AuthorizeRefusal::Shown(e),
        }
    };
    let state = query.state.as_deref();
    if state.is_some_and(|s| s.len() > MAX_STATE_BYTES) {
        return Err(refuse("invalid_request", "Invalid parameter state", None));
    }
    if query.response_type.as_deref() != Some("code") {
        return Err(refuse("unsupported_response_type", "response_type must be code", state));
    }
    let scope = query.scope.as_deref().unwrap_or(SCOPE_SERVICE);
    if scope != SCOPE_SERVICE && scope != SCOPE_CREDENTIAL {
        return Err(refuse("invalid_scope", "Invalid parameter scope", state));
    }
    let Some(challenge) = query.code_challenge.as_deref().filter(|c| well_formed_pkce(c)) else {
        return Err(refuse("invalid_request", "PKCE is required: code_challenge", state));
    };
    if query.code_challenge_method.as_deref() != Some("S256") {
        return Err(refuse("invalid_request", "PKCE is required: code_challenge_method S256", state));
    }
    let details = if scope == SCOPE_CREDENTIAL {
        let request =
            credential_request(query).map_err(|e| refuse("invalid_request", &e.public_description(), state))?;
        if crate::relying_parties::check_allowed(&rp, wysiwys_proto::hashes::MEDIA_TYPE_HASHES).is_err() {
            return Err(refuse("access_denied", "this client may not ask for hash signatures", state));
        }
        Some(serde_json::to_string(&request).map_err(|e| Error::Internal(format!("grant details: {e}")))?)
    } else {
        None
    };
    let now = app.clock.now_ms();
    let grant = OAuthGrantRow {
        id: random_id(app.entropy.as_ref())?,
        rp_id: rp.id.clone(),
        scope: scope.to_owned(),
        redirect_uri,
        client_state: state.map(str::to_owned),
        code_challenge: challenge.to_owned(),
        details,
        user_id: None,
        request_id: None,
        code_sha256: None,
        code_expires_at: None,
        code_used_at: None,
        created_at: now,
        expires_at: now + GRANT_TTL_MS,
    };
    app.store.insert_oauth_grant(&grant).await?;
    tracing::info!(grant = %grant.id, rp = %rp.id, scope, "OAuth authorization begun");
    Ok(grant.id)
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub grant_id: String,
    pub client: String,
    /// Where "Continue" or "Decline" may lead: the client's redirect URI's origin.
    pub redirect_origin: String,
    pub scope: String,
    pub credential: Option<CredentialRequest>,
}

fn grant_unknown() -> Error {
    Error::refused(ErrorCode::RequestNotFound, "no such authorization, or it expired")
}

/// A grant this person may act on: unexpired, and not bound to another.
async fn grant_for(app: &App, user: &UserRow, id: &str) -> Result<OAuthGrantRow> {
    let grant = app.store.oauth_grant(id).await?.ok_or_else(grant_unknown)?;
    if grant.expires_at <= app.clock.now_ms() || grant.user_id.as_deref().is_some_and(|u| u != user.id) {
        return Err(grant_unknown());
    }
    Ok(grant)
}

fn details_of(grant: &OAuthGrantRow) -> Result<Option<CredentialRequest>> {
    grant
        .details
        .as_deref()
        .map(|json| serde_json::from_str(json).map_err(|e| Error::Internal(format!("grant details: {e}"))))
        .transpose()
}

pub async fn view(app: &App, user: &UserRow, id: &str) -> Result<ConsentView> {
    let grant = grant_for(app, user, id).await?;
    let rp = app.store.relying_party(&grant.rp_id).await?.ok_or_else(grant_unknown)?;
    let redirect_origin = reqwest::Url::parse(&grant.redirect_uri)
        .map_err(|e| Error::Internal(format!("registered URI: {e}")))?
        .origin()
        .ascii_serialization();
    Ok(ConsentView {
        grant_id: grant.id.clone(),
        client: rp.name,
        redirect_origin,
        scope: grant.scope.clone(),
        credential: details_of(&grant)?,
    })
}

/// Where the person's browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Back to the client, with a code or an error.
    Client(String),
    /// To the Sign page of the request both channels confirm.
    SignPage(String),
}

/// The person's answer, in the audit trail (of the request, if any).
async fn audit(
    app: &App,
    event: &'static str,
    user: &UserRow,
    grant: &OAuthGrantRow,
    request: Option<&str>,
) -> Result<()> {
    app.store
        .audit(&AuditEvent {
            at: app.clock.now_ms(),
            event,
            user_id: Some(&user.id),
            request_id: request.or(grant.request_id.as_deref()),
            detail: Some(&grant.rp_id),
            ..Default::default()
        })
        .await
}

/// The person said yes on the consent page.
pub async fn consent(app: &App, user: &UserRow, id: &str) -> Result<Next> {
    let grant = grant_for(app, user, id).await?;
    if grant.user_id.is_none() && !app.store.consent_oauth_grant(id, &user.id, app.clock.now_ms()).await? {
        return Err(grant_unknown());
    }
    if grant.scope == SCOPE_SERVICE {
        audit(app, "csc_oauth_consented", user, &grant, None).await?;
        return issue_code(app, user, &grant).await.map(Next::Client);
    }
    if let Some(request_id) = grant.request_id {
        return Ok(Next::SignPage(request_id));
    }
    let details = details_of(&grant)?.ok_or_else(|| Error::Internal("credential grant without details".into()))?;
    if details.credential_id.as_deref().is_some_and(|c| c != user.credential_id) {
        tracing::warn!(grant = %grant.id, user = %user.id, "OAuth: a credential authorization for someone else's credential");
        return Err(Error::refused(
            ErrorCode::CredentialUnknown,
            "this authorization is for another person's credential",
        ));
    }
    let rp = app.store.relying_party(&grant.rp_id).await?.ok_or_else(grant_unknown)?;
    let caller = Caller::Signer { rp, user_id: user.id.clone() };
    let row = authorization::start(
        app,
        &caller,
        AuthorizeInput {
            credential_id: Some(&user.credential_id),
            num_signatures: Some(details.hashes.len() as u64),
            hashes: Some(&details.hashes),
            labels: Some(&details.labels),
            hash_algorithm_oid: None,
            description: details.description.as_deref(),
            typed_secret: false,
        },
    )
    .await?;
    if !app.store.attach_oauth_request(id, &user.id, &row.id).await? {
        // Another tab consented first: its request is the one.
        let detail = "another consent to the same authorization came first";
        app.store
            .fail_request(&row.id, FailFrom::Pending, ErrorCode::RequestCancelled, detail, app.clock.now_ms())
            .await?;
        let winner = app.store.oauth_grant(id).await?.and_then(|g| g.request_id).ok_or_else(grant_unknown)?;
        return Ok(Next::SignPage(winner));
    }
    audit(app, "csc_oauth_consented", user, &grant, Some(&row.id)).await?;
    tracing::info!(grant = %grant.id, request = %row.id, "OAuth credential authorization sent to both channels");
    Ok(Next::SignPage(row.id))
}

/// The person said no: the client hears `access_denied`.
pub async fn deny(app: &App, user: &UserRow, id: &str) -> Result<String> {
    let grant = grant_for(app, user, id).await?;
    app.store.end_oauth_grant(id, app.clock.now_ms()).await?;
    audit(app, "csc_oauth_denied", user, &grant, None).await?;
    error_location(&grant.redirect_uri, grant.client_state.as_deref(), "access_denied", "The person declined")
}

/// The grant of a request the Sign page shows, for its way back.
pub async fn grant_of_request(app: &App, user: &UserRow, request_id: &str) -> Result<Option<String>> {
    Ok(app
        .store
        .oauth_grant_of_request(request_id)
        .await?
        .filter(|g| g.user_id.as_deref() == Some(&user.id))
        .map(|g| g.id))
}

/// Back from the Sign page: the code once both channels confirmed, the
/// reason if the request ended otherwise, the Sign page while it is open.
pub async fn finish(app: &App, user: &UserRow, id: &str) -> Result<Next> {
    let grant = app.store.oauth_grant(id).await?.ok_or_else(grant_unknown)?;
    if grant.user_id.as_deref() != Some(user.id.as_str()) {
        return Err(grant_unknown());
    }
    let request_id = grant.request_id.clone().ok_or_else(grant_unknown)?;
    let row = app.store.request(&request_id).await?.ok_or_else(grant_unknown)?;
    let row = requests::expire_if_due(app, row).await?;
    match row.state.as_str() {
        "authorized" => issue_code(app, user, &grant).await.map(Next::Client),
        "pending" | "signing" => Ok(Next::SignPage(request_id)),
        _ => {
            let code = row.error_code.as_deref().and_then(ErrorCode::parse).unwrap_or(ErrorCode::RequestCancelled);
            let to = error_location(
                &grant.redirect_uri,
                grant.client_state.as_deref(),
                "access_denied",
                code.plain_words(),
            )?;
            Ok(Next::Client(to))
        }
    }
}

async fn issue_code(app: &App, user: &UserRow, grant: &OAuthGrantRow) -> Result<String> {
    let code = format!("{CODE_PREFIX}{}", b64::encode(random_bytes::<32>(app.entropy.as_ref())?));
    let now = app.clock.now_ms();
    if !app.store.issue_oauth_code(&grant.id, &user.id, &jcs::sha256(code.as_bytes()), now + CODE_TTL_MS, now).await? {
        return Err(Error::refused(ErrorCode::OAuthGrantInvalid, "the code of this authorization was issued already"));
    }
    tracing::info!(grant = %grant.id, "OAuth code issued");
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = grant.client_state.as_deref() {
        pairs.push(("state", state));
    }
    location(&grant.redirect_uri, &pairs)
}

fn invalid_grant(description: &str) -> Error {
    Error::refused(ErrorCode::OAuthGrantInvalid, description.to_owned())
}

/// The client's id and secret, from the body or HTTP Basic.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientCredentials<'a> {
    pub id: Option<&'a str>,
    pub secret: Option<&'a str>,
}

/// Authenticates a relying party by its id and API key.
async fn authenticate_client(app: &App, id: &str, secret: &str) -> Result<crate::store::RelyingPartyRow> {
    let refused = || Error::refused(ErrorCode::OAuthClientInvalid, "Invalid parameter client_secret");
    let rp = crate::relying_parties::authenticate(app, secret).await.map_err(|_| refused())?;
    if !bool::from(rp.id.as_bytes().ct_eq(id.as_bytes())) {
        return Err(refused());
    }
    Ok(rp)
}

/// `oauth2/token`: redeems a code, once, for a service token or (scope
/// `credential`) the SAD of the hashes both channels confirmed.
pub async fn exchange(
    app: &App,
    version: Version,
    request: &TokenRequest,
    client: ClientCredentials<'_>,
) -> Result<TokenResponse> {
    let grant_type = request.grant_type.as_deref().ok_or_else(|| bad("Missing parameter grant_type"))?;
    if grant_type != "authorization_code" {
        return Err(Error::refused(ErrorCode::OAuthGrantTypeUnsupported, "Invalid parameter grant_type"));
    }
    let client_id = client.id.or(request.client_id.as_deref()).ok_or_else(|| bad("Missing parameter client_id"))?;
    let code = request.code.as_deref().ok_or_else(|| bad("Missing parameter code"))?;
    let rp = app
        .store
        .relying_party(client_id)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::OAuthClientInvalid, "Invalid parameter client_id"))?;
    if let Some(secret) = client.secret.or(request.client_secret.as_deref()) {
        authenticate_client(app, client_id, secret).await?;
    }
    if !code.starts_with(CODE_PREFIX) || code.len() > 128 {
        return Err(invalid_grant("Invalid parameter code"));
    }
    let now = app.clock.now_ms();
    let grant = app
        .store
        .redeem_oauth_code(&jcs::sha256(code.as_bytes()), now)
        .await?
        .ok_or_else(|| invalid_grant("Authorization code is invalid or expired"))?;
    if grant.rp_id != rp.id {
        tracing::warn!(grant = %grant.id, client = %rp.id, "OAuth code sent by another client");
        return Err(invalid_grant("Invalid parameter code"));
    }
    if request.redirect_uri.as_deref().is_some_and(|uri| uri != grant.redirect_uri) {
        return Err(invalid_grant(
            "redirect_uri parameter does not match redirect_uri parameter of authorization request",
        ));
    }
    let verifier = request.code_verifier.as_deref().unwrap_or("");
    if !well_formed_pkce(verifier) || !bool::from(s256(verifier).as_bytes().ct_eq(grant.code_challenge.as_bytes())) {
        tracing::warn!(grant = %grant.id, "OAuth code sent with a wrong PKCE verifier; the code is used up");
        return Err(invalid_grant("PKCE verification failed"));
    }
    let user_id = grant.user_id.clone().ok_or_else(|| invalid_grant("Invalid parameter code"))?;
    if grant.scope == SCOPE_SERVICE {
        tracing::info!(grant = %grant.id, "OAuth service token issued");
        return service_token(app, &rp.id, Some(user_id)).await;
    }
    let request_id = grant.request_id.as_deref().ok_or_else(|| invalid_grant("Invalid parameter code"))?;
    let row = app.store.request(request_id).await?.ok_or_else(|| invalid_grant("Invalid parameter code"))?;
    let sad = authorization::issue(app, &row).await?;
    Ok(TokenResponse {
        access_token: sad.sad,
        token_type: if version == Version::V1 { "SAD" } else { "Bearer" }.to_owned(),
        expires_in: sad.expires_in,
        credential_id: (version == Version::V2).then(|| row.credential_id.clone()),
    })
}

/// v1 `auth/login`: a relying party logs in with its id and API key (HTTP
/// Basic) and gets a service token. A signer's own password is never
/// typed into a client: signers authorize through `oauth2/authorize`.
pub async fn login(app: &App, client_id: &str, secret: &str) -> Result<TokenResponse> {
    let rp = authenticate_client(app, client_id, secret).await?;
    tracing::info!(rp = %rp.id, "CSC auth/login");
    service_token(app, &rp.id, None).await
}

/// A new service token of `rp_id`, for the signer `user_id` (OAuth) or for
/// the party itself (`auth/login`); kept as its SHA-256.
async fn service_token(app: &App, rp_id: &str, user_id: Option<String>) -> Result<TokenResponse> {
    let token = format!("{ACCESS_TOKEN_PREFIX}{}", b64::encode(random_bytes::<32>(app.entropy.as_ref())?));
    let now = app.clock.now_ms();
    app.store
        .insert_csc_access_token(&CscAccessTokenRow {
            token_sha256: jcs::sha256(token.as_bytes()).to_vec(),
            rp_id: rp_id.to_owned(),
            user_id,
            created_at: now,
            expires_at: now + SERVICE_TOKEN_TTL_MS,
        })
        .await?;
    Ok(TokenResponse {
        access_token: token,
        token_type: "Bearer".to_owned(),
        expires_in: (SERVICE_TOKEN_TTL_MS / 1000) as u64,
        credential_id: None,
    })
}

/// `auth/revoke`: ends a service token this caller holds.
pub async fn revoke(app: &App, caller: &Caller, token: &str) -> Result<()> {
    let hash = jcs::sha256(token.as_bytes());
    let Some(row) = app.store.csc_access_token(&hash).await? else {
        return Err(bad("Invalid string parameter token"));
    };
    if row.rp_id != caller.rp().id {
        return Err(bad("Invalid string parameter token"));
    }
    app.store.revoke_csc_access_token(&hash).await?;
    Ok(())
}

/// Who a bearer token is: a credential token (a SAD), a service token,
/// or a relying party's API key.
pub async fn caller_of_token(app: &App, token: &str) -> Result<Caller> {
    let invalid = || Error::refused(ErrorCode::ApiKeyInvalid, "The access token is not valid");
    if token.len() > 256 {
        return Err(invalid());
    }
    if token.starts_with(SAD_PREFIX) {
        let issued = app.store.csc_sad(&jcs::sha256(token.as_bytes())).await?.ok_or_else(invalid)?;
        let row = app.store.request(&issued.request_id).await?.ok_or_else(invalid)?;
        let rp = match row.rp_id.as_deref() {
            Some(rp_id) => app.store.relying_party(rp_id).await?.ok_or_else(invalid)?,
            None => return Err(invalid()),
        };
        return Ok(Caller::Credential { rp, user_id: row.user_id, sad: token.to_owned() });
    }
    if token.starts_with(ACCESS_TOKEN_PREFIX) {
        let row = app.store.csc_access_token(&jcs::sha256(token.as_bytes())).await?.ok_or_else(invalid)?;
        if row.expires_at <= app.clock.now_ms() {
            return Err(Error::refused(ErrorCode::CscTokenExpired, "The access token is expired"));
        }
        let rp = app.store.relying_party(&row.rp_id).await?.ok_or_else(invalid)?;
        return Ok(match row.user_id {
            Some(user_id) => Caller::Signer { rp, user_id },
            None => Caller::RelyingParty(rp),
        });
    }
    let rp = crate::relying_parties::authenticate(app, token).await.map_err(|_| invalid())?;
    Ok(Caller::RelyingParty(rp))
}
