-- Every change of a sign request writes its audit entry in the same
-- statement, so a crash can never leave a change without its entry.

ALTER TABLE sign_requests ADD COLUMN finished_at BIGINT;

CREATE TRIGGER audit_request_created AFTER INSERT ON sign_requests
BEGIN
    INSERT INTO audit_events (at, event, user_id, request_id)
    VALUES (NEW.created_at, 'created', NEW.user_id, NEW.id);
END;

CREATE TRIGGER audit_web_confirmed AFTER UPDATE OF web_confirmed_at ON sign_requests
WHEN OLD.web_confirmed_at IS NULL AND NEW.web_confirmed_at IS NOT NULL
BEGIN
    INSERT INTO audit_events (at, event, user_id, request_id)
    VALUES (NEW.web_confirmed_at, 'web_confirmed', NEW.user_id, NEW.id);
END;

CREATE TRIGGER audit_device_answered AFTER UPDATE OF sad ON sign_requests
WHEN OLD.sad IS NULL AND NEW.sad IS NOT NULL
BEGIN
    INSERT INTO audit_events (at, event, user_id, request_id, device_id)
    VALUES (NEW.device_confirmed_at, 'device_answered', NEW.user_id, NEW.id, NEW.device_id);
END;

CREATE TRIGGER audit_state_changed AFTER UPDATE OF state ON sign_requests
WHEN OLD.state <> NEW.state
BEGIN
    INSERT INTO audit_events (at, event, user_id, request_id, device_id, code, detail)
    VALUES (
        COALESCE(NEW.finished_at, NEW.signed_at, NEW.signing_started_at, NEW.created_at),
        CASE NEW.state WHEN 'failed' THEN 'refused' ELSE NEW.state END,
        NEW.user_id, NEW.id, NEW.device_id, NEW.error_code, NEW.error_detail
    );
END;
