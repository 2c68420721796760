-- The CSC API (issue 12).

-- Which relying party may use whose credential through the CSC API: its
-- service token lists and authorizes only the credentials of its own
-- signers (the operator links them: create-user --relying-party).
CREATE TABLE relying_party_users (
    rp_id TEXT NOT NULL REFERENCES relying_parties(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (rp_id, user_id)
);
CREATE INDEX relying_party_users_user ON relying_party_users (user_id);

-- The hashes of a hash-only request (its document is the manifest both
-- channels confirmed). Each is signed at most once: used_at is set by one
-- conditional update before the HSM is called, the signature after.
CREATE TABLE csc_hashes (
    request_id TEXT NOT NULL REFERENCES sign_requests(id),
    position BIGINT NOT NULL,
    digest BYTEA NOT NULL,
    used_at BIGINT,
    signature BYTEA,
    PRIMARY KEY (request_id, position)
);

-- The SAD of a hash-only request whose channels both confirmed (state
-- 'authorized', since signing_started_at). Issued once, kept as its SHA-256.
CREATE TABLE csc_sads (
    request_id TEXT PRIMARY KEY REFERENCES sign_requests(id),
    sad_sha256 BYTEA NOT NULL UNIQUE,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
