-- Relying parties (banks, agencies) create sign requests over an API and
-- learn the outcome through webhooks, delivered from an outbox.

CREATE TABLE relying_parties (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- SHA-256 of the whole API key; the key itself is shown once.
    api_key_hash BYTEA NOT NULL UNIQUE,
    -- Space-separated media types this party may ask to sign.
    media_types TEXT NOT NULL,
    webhook_url TEXT,
    webhook_secret TEXT,
    created_at BIGINT NOT NULL
);

ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users(external_id);

ALTER TABLE sign_requests ADD COLUMN rp_id TEXT REFERENCES relying_parties(id);
ALTER TABLE sign_requests ADD COLUMN rp_reference TEXT;

-- A retried create with the same key returns the first request.
CREATE TABLE rp_idempotency (
    rp_id TEXT NOT NULL REFERENCES relying_parties(id),
    idempotency_key TEXT NOT NULL,
    body_hash BYTEA NOT NULL,
    request_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (rp_id, idempotency_key)
);

-- Written by the same statement that ends a relying party's request, so no
-- final state can be committed without its event.
CREATE TABLE webhook_outbox (
    id BIGSERIAL PRIMARY KEY,
    rp_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(delivered_at, next_attempt_at);

CREATE FUNCTION webhook_on_final_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.rp_id IS NOT NULL AND OLD.state <> NEW.state AND NEW.state IN ('signed', 'failed') THEN
        INSERT INTO webhook_outbox (rp_id, request_id, kind, created_at, next_attempt_at)
        VALUES (
            NEW.rp_id, NEW.id, 'sign_request.' || NEW.state,
            COALESCE(NEW.signed_at, NEW.finished_at, NEW.created_at),
            COALESCE(NEW.signed_at, NEW.finished_at, NEW.created_at)
        );
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER webhook_on_final_state AFTER UPDATE OF state ON sign_requests
    FOR EACH ROW EXECUTE FUNCTION webhook_on_final_state();
