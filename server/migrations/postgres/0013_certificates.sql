-- Every certificate the CA issued (users' and the TSA's), with its
-- revocation status: what the OCSP responder and the CRL say, and what
-- the SAM checks before a user key signs.
CREATE TABLE certificates (
    -- The serial's INTEGER content bytes, exactly as in the certificate.
    serial BYTEA PRIMARY KEY,
    -- NULL for the time-stamping authority's certificate.
    user_id TEXT REFERENCES users(id),
    credential_id TEXT,
    der BYTEA NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    -- valid | revoked | suspended (certificateHold, may be resumed)
    status TEXT NOT NULL DEFAULT 'valid',
    revoked_at BIGINT,
    -- RFC 5280 CRLReason code.
    reason INTEGER,
    created_at BIGINT NOT NULL
);
CREATE INDEX certificates_credential ON certificates(credential_id);
CREATE INDEX certificates_status ON certificates(status);
