//! Rows as stored. Conversion to wire types happens in the flows.

use wysiwys_proto::ErrorCode;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub totp_secret: Vec<u8>,
    pub totp_last_step: i64,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub signing_locked_at: Option<i64>,
    pub credential_id: String,
    pub certificate: Vec<u8>,
    pub created_at: i64,
    /// None until the person entered one valid code (web sign-up).
    pub totp_enabled_at: Option<i64>,
    /// How relying parties may name this user (their customer number).
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct SessionUserRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub token_hash: Vec<u8>,
    pub csrf_token: String,
    pub session_created_at: i64,
    pub session_expires_at: i64,
    pub stage: String,
    pub elevated_until: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// `full`, or a step of logging in: `totp` (password checked) or
    /// `enrol` (new account, TOTP not yet confirmed).
    pub stage: String,
    /// Until when (Unix ms) one change of the user's devices is allowed;
    /// `None` once used or never granted.
    pub elevated_until: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub public_jwk: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_ctr: i64,
    /// Set once the device may be used (at once, or when another device approved it).
    pub approved_at: Option<i64>,
    /// The enrolment evidence, JSON (`crate::enrolment::Evidence`).
    pub enrolment: String,
    /// While awaiting approval: the challenge the approving device signs.
    pub pairing_challenge: Option<Vec<u8>>,
    pub pairing_expires_at: Option<i64>,
    /// The client address the pairing came from, shown to the approving device.
    pub pairing_address: Option<String>,
}

impl DeviceRow {
    /// Approved and not revoked: may authenticate, answer and approve.
    pub fn is_active(&self) -> bool {
        self.approved_at.is_some() && self.revoked_at.is_none()
    }

    /// Waiting for an approval that can still come.
    pub fn is_awaiting_approval(&self, now: i64) -> bool {
        self.approved_at.is_none() && self.revoked_at.is_none() && self.pairing_expires_at.is_some_and(|t| now < t)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivationCodeRow {
    pub user_id: String,
    /// argon2id PHC string.
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub failures: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoticeRow {
    pub id: String,
    pub user_id: String,
    pub device_id: String,
    pub kind: String,
    pub subject_device_id: String,
    pub subject_name: String,
    pub at: i64,
    pub receipted_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RequestRow {
    pub id: String,
    pub user_id: String,
    pub credential_id: String,
    pub requester: String,
    pub media_type: String,
    pub title: String,
    pub document: Vec<u8>,
    pub doc_hash: Vec<u8>,
    pub summary_json: String,
    pub summary_hash: Vec<u8>,
    pub challenge: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: String,
    pub error_code: Option<String>,
    pub error_detail: Option<String>,
    pub web_confirmed_at: Option<i64>,
    pub device_id: Option<String>,
    pub sad: Option<String>,
    pub sad_sha256: Option<Vec<u8>>,
    pub device_confirmed_at: Option<i64>,
    pub signing_started_at: Option<i64>,
    pub signed_at: Option<i64>,
    pub signature: Option<Vec<u8>>,
    /// When it failed (signed requests have `signed_at`).
    pub finished_at: Option<i64>,
    /// The relying party that asked, if not the user's own upload.
    pub rp_id: Option<String>,
    pub rp_reference: Option<String>,
    /// The AdES level reached (`B-T`, …), once signed.
    pub signature_level: Option<String>,
    /// The level asked for; the server's default when `None`.
    pub level_requested: Option<String>,
    /// A PDF signature's visible stamp (JSON `VisibleSignature`), if asked for.
    pub visible_signature: Option<String>,
}

/// What a new request is made of; everything else starts empty.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: String,
    pub user_id: String,
    pub credential_id: String,
    pub requester: String,
    pub media_type: String,
    pub title: String,
    pub document: Vec<u8>,
    pub doc_hash: Vec<u8>,
    pub summary_json: String,
    pub summary_hash: Vec<u8>,
    pub challenge: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub rp_id: Option<String>,
    pub rp_reference: Option<String>,
}

impl From<NewRequest> for RequestRow {
    fn from(n: NewRequest) -> Self {
        RequestRow {
            id: n.id,
            user_id: n.user_id,
            credential_id: n.credential_id,
            requester: n.requester,
            media_type: n.media_type,
            title: n.title,
            document: n.document,
            doc_hash: n.doc_hash,
            summary_json: n.summary_json,
            summary_hash: n.summary_hash,
            challenge: n.challenge,
            created_at: n.created_at,
            expires_at: n.expires_at,
            state: "pending".into(),
            error_code: None,
            error_detail: None,
            web_confirmed_at: None,
            device_id: None,
            sad: None,
            sad_sha256: None,
            device_confirmed_at: None,
            signing_started_at: None,
            signed_at: None,
            signature: None,
            finished_at: None,
            rp_id: n.rp_id,
            rp_reference: n.rp_reference,
            signature_level: None,
            level_requested: None,
            visible_signature: None,
        }
    }
}

#[derive(Debug)]
pub struct AdmittedSadRow<'a> {
    pub request_id: &'a str,
    pub device_id: &'a str,
    pub token: &'a str,
    pub token_sha256: &'a [u8],
    pub replay_key: &'a [u8],
    pub counter: i64,
    pub now: i64,
}

#[derive(Debug, Default)]
pub struct AuditEvent<'a> {
    pub at: i64,
    pub event: &'a str,
    pub user_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub code: Option<ErrorCode>,
    pub detail: Option<&'a str>,
}

#[derive(Clone, sqlx::FromRow)]
pub struct RelyingPartyRow {
    pub id: String,
    pub name: String,
    /// `display::confusable_skeleton(name)`, unique among relying parties.
    pub name_skeleton: Option<String>,
    pub api_key_hash: Vec<u8>,
    /// Space-separated.
    pub media_types: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub created_at: i64,
    /// Exact OAuth redirect URIs, space-separated (CSC `oauth2/authorize`).
    pub oauth_redirect_uris: Option<String>,
    /// The level of its requests that name none; the server's when `None`.
    pub signature_level: Option<String>,
}

impl std::fmt::Debug for RelyingPartyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingPartyRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("media_types", &self.media_types)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// An event waiting in the outbox, with where and how to send it.
#[derive(Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub rp_id: String,
    pub request_id: String,
    pub kind: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("request_id", &self.request_id)
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// One document of a batch request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchDocumentRow {
    pub request_id: String,
    pub position: i64,
    pub title: String,
    pub media_type: String,
    pub document: Vec<u8>,
    pub doc_hash: Vec<u8>,
    pub rp_reference: Option<String>,
    pub signature: Option<Vec<u8>>,
}

/// One hash of a hash-only (CSC) request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CscHashRow {
    pub request_id: String,
    pub position: i64,
    pub digest: Vec<u8>,
    pub used_at: Option<i64>,
    pub signature: Option<Vec<u8>>,
}

/// The CSC SAD issued for an authorized hash-only request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CscSadRow {
    pub request_id: String,
    pub sad_sha256: Vec<u8>,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// One CSC `oauth2/authorize`, from the client's redirect to its code's use.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthGrantRow {
    pub id: String,
    pub rp_id: String,
    /// `service` or `credential`.
    pub scope: String,
    pub redirect_uri: String,
    pub client_state: Option<String>,
    /// Base64url SHA-256 of the client's code verifier (PKCE S256).
    pub code_challenge: String,
    /// The credential authorization asked for (JSON), scope `credential`.
    pub details: Option<String>,
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    pub code_sha256: Option<Vec<u8>>,
    pub code_expires_at: Option<i64>,
    pub code_used_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A service-scope CSC access token (kept as its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CscAccessTokenRow {
    pub token_sha256: Vec<u8>,
    pub rp_id: String,
    pub user_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// One certificate the CA issued, with its revocation status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    pub serial: Vec<u8>,
    pub user_id: Option<String>,
    pub credential_id: Option<String>,
    pub der: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    /// `valid`, `revoked` or `suspended`; read through [`CertificateRow::standing`].
    pub status: String,
    pub revoked_at: Option<i64>,
    pub reason: Option<i64>,
    pub created_at: i64,
}
