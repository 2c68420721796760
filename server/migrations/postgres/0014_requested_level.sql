-- The AdES level a relying party (or a CSC signDoc call) asked for; NULL:
-- the server's --signature-level.
ALTER TABLE sign_requests ADD COLUMN level_requested TEXT;
