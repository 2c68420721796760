-- CSC OAuth 2.0 (issue 12): authorization code with PKCE, where our own
-- log-in and Sign page are the authorization server's pages.

-- Exact redirect URIs a relying party registered (space-separated); a party
-- without any cannot use oauth2/authorize.
ALTER TABLE relying_parties ADD COLUMN oauth_redirect_uris TEXT;

-- One oauth2/authorize, from the client's redirect to the code's use.
-- It is bound to the person when they consent (user_id), to the hash-only
-- request both channels confirm (request_id, scope 'credential'), and
-- its code is kept as a SHA-256, redeemed once (code_used_at).
CREATE TABLE csc_oauth_grants (
    id TEXT PRIMARY KEY,
    rp_id TEXT NOT NULL REFERENCES relying_parties(id),
    scope TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    client_state TEXT,
    code_challenge TEXT NOT NULL,
    -- The credential authorization asked for (JSON), scope 'credential' only.
    details TEXT,
    user_id TEXT REFERENCES users(id),
    request_id TEXT REFERENCES sign_requests(id),
    code_sha256 BYTEA UNIQUE,
    code_expires_at BIGINT,
    code_used_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX csc_oauth_grants_request ON csc_oauth_grants (request_id);

-- Service-scope access tokens (oauth2/token, auth/login), kept as SHA-256.
CREATE TABLE csc_access_tokens (
    token_sha256 BYTEA PRIMARY KEY,
    rp_id TEXT NOT NULL REFERENCES relying_parties(id),
    -- The signer who consented; NULL for a relying party's own log-in.
    user_id TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
