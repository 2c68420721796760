-- Every change of a sign request writes its audit entry in the same
-- statement, so a crash can never leave a change without its entry.

ALTER TABLE sign_requests ADD COLUMN finished_at BIGINT;

CREATE FUNCTION audit_sign_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_events (at, event, user_id, request_id)
        VALUES (NEW.created_at, 'created', NEW.user_id, NEW.id);
        RETURN NEW;
    END IF;
    IF OLD.web_confirmed_at IS NULL AND NEW.web_confirmed_at IS NOT NULL THEN
        INSERT INTO audit_events (at, event, user_id, request_id)
        VALUES (NEW.web_confirmed_at, 'web_confirmed', NEW.user_id, NEW.id);
    END IF;
    IF OLD.sad IS NULL AND NEW.sad IS NOT NULL THEN
        INSERT INTO audit_events (at, event, user_id, request_id, device_id)
        VALUES (NEW.device_confirmed_at, 'device_answered', NEW.user_id, NEW.id, NEW.device_id);
    END IF;
    IF OLD.state <> NEW.state THEN
        INSERT INTO audit_events (at, event, user_id, request_id, device_id, code, detail)
        VALUES (
            COALESCE(NEW.finished_at, NEW.signed_at, NEW.signing_started_at, NEW.created_at),
            CASE NEW.state WHEN 'failed' THEN 'refused' ELSE NEW.state END,
            NEW.user_id, NEW.id, NEW.device_id, NEW.error_code, NEW.error_detail
        );
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_sign_request AFTER INSERT OR UPDATE ON sign_requests
    FOR EACH ROW EXECUTE FUNCTION audit_sign_request();
