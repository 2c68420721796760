-- Step-up: a fresh password + authenticator code (at log-in or re-entered)
-- allows one change of the user's devices before this time (Unix ms).
-- NULL: none left; the next pairing code or revocation needs a step-up.
ALTER TABLE sessions ADD COLUMN elevated_until BIGINT;
