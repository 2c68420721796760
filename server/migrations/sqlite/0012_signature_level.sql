-- The AdES level a signature reached (B-B, B-T, ...), set when it is
-- stored; NULL before, and for requests signed before levels existed (B-B).
ALTER TABLE sign_requests ADD COLUMN signature_level TEXT;
