-- Times are milliseconds since the Unix epoch (BIGINT) and booleans are
-- nullable timestamps, so the same queries run on SQLite and PostgreSQL.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    totp_secret BYTEA NOT NULL,
    totp_last_step BIGINT NOT NULL DEFAULT -1,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    signing_locked_at BIGINT,
    credential_id TEXT NOT NULL UNIQUE,
    certificate BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at BIGINT,
    last_ctr BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_user ON devices(user_id);

CREATE TABLE pairing_codes (
    code_hash BYTEA PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE sign_requests (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    credential_id TEXT NOT NULL,
    requester TEXT NOT NULL,
    media_type TEXT NOT NULL,
    title TEXT NOT NULL,
    document BYTEA NOT NULL,
    doc_hash BYTEA NOT NULL,
    summary_json TEXT NOT NULL,
    summary_hash BYTEA NOT NULL,
    challenge BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    error_code TEXT,
    error_detail TEXT,
    web_confirmed_at BIGINT,
    device_id TEXT,
    sad TEXT,
    sad_sha256 BYTEA,
    device_confirmed_at BIGINT,
    signing_started_at BIGINT,
    signed_at BIGINT,
    signature BYTEA
);
CREATE INDEX sign_requests_user_state ON sign_requests(user_id, state);

-- One row per SAD ever admitted: the replay guard.
CREATE TABLE sad_uses (
    replay_key BYTEA PRIMARY KEY,
    request_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    used_at BIGINT NOT NULL
);

CREATE TABLE pki (
    name TEXT PRIMARY KEY,
    der BYTEA NOT NULL
);

CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    user_id TEXT,
    request_id TEXT,
    device_id TEXT,
    code TEXT,
    detail TEXT
);
