-- Enrolment: a device is usable once approved_at is set. Until then it is a
-- pairing waiting for one of the account's devices (pairing_challenge,
-- pairing_expires_at, pairing_address are what that device is shown and
-- signs). enrolment is the evidence, JSON tagged by "kind", kept so that the
-- chain from the first device to the one that signs can be re-checked.
ALTER TABLE devices ADD COLUMN approved_at BIGINT;
ALTER TABLE devices ADD COLUMN enrolment TEXT NOT NULL DEFAULT '{"kind":"before_evidence"}';
ALTER TABLE devices ADD COLUMN pairing_challenge BLOB;
ALTER TABLE devices ADD COLUMN pairing_expires_at BIGINT;
ALTER TABLE devices ADD COLUMN pairing_address TEXT;
UPDATE devices SET approved_at = created_at;

-- One activation code per account at a time (a new one replaces the old);
-- only its argon2id hash is kept.
CREATE TABLE activation_codes (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    failures BIGINT NOT NULL DEFAULT 0
);

-- What every other device of the account is told, until it receipts it.
CREATE TABLE device_notices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    device_id TEXT NOT NULL REFERENCES devices(id),
    kind TEXT NOT NULL,
    subject_device_id TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    at BIGINT NOT NULL,
    receipted_at BIGINT
);
CREATE INDEX device_notices_open ON device_notices(device_id, receipted_at);
CREATE INDEX pairing_codes_user ON pairing_codes(user_id, created_at);
