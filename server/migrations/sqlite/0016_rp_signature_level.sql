-- A relying party's default AdES level for its requests; NULL: the server's
-- --signature-level. A request's own signature_level wins over both.
ALTER TABLE relying_parties ADD COLUMN signature_level TEXT;
