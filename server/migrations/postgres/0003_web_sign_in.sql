-- Self-service sign-up: an account's TOTP is active only after the person
-- entered one valid code; sessions pass through password and TOTP stages.

ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
UPDATE users SET totp_enabled_at = created_at;

-- 'full' sessions may use everything; 'totp' and 'enrol' only finish log-in.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';
