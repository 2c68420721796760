-- Where a PDF signature's visible stamp goes (JSON: page and rectangle);
-- NULL: the signature is invisible. The stamp's text is the server's.
ALTER TABLE sign_requests ADD COLUMN visible_signature TEXT;
