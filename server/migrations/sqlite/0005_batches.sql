-- The documents of a batch: one confirmation (the batch request, whose
-- document is the manifest), one signature per document.

CREATE TABLE batch_documents (
    request_id TEXT NOT NULL REFERENCES sign_requests(id),
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    media_type TEXT NOT NULL,
    document BLOB NOT NULL,
    doc_hash BLOB NOT NULL,
    rp_reference TEXT,
    signature BLOB,
    PRIMARY KEY (request_id, position)
);
