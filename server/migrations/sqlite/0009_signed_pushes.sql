-- Every push the server signs with its channel key (a sign request or a
-- pairing request), kept per subject and device until it expires: a device
-- that reconnects, or reconnects in a loop, is sent the same token again
-- instead of costing another HSM signature each time.
CREATE TABLE signed_pushes (
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, subject_id, device_id)
);
CREATE INDEX signed_pushes_expires_at ON signed_pushes (expires_at);
