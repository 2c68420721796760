//! The OpenAPI 3.1 description of the public API, built from the handlers'
//! own attributes and the wire types of `proto`, served at
//! `/api/openapi.json` with a Swagger UI at `/api/docs/` (vendored: no CDN).

use super::{admin_api, csc, handlers, pki, rp_api};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "wysiwys",
        description = "Two-channel What-You-See-Is-What-You-Sign signing. The browser channel uses a session \
            cookie (password + TOTP) and an `X-CSRF-Token` header on every state change; relying parties use \
            an API key. The device channel is a WebSocket at `/api/device/ws` (see docs/PROTOCOL.md). Every \
            error is `{\"error\": CODE, \"error_description\": text}` with a stable code."
    ),
    paths(
        handlers::health,
        handlers::ready,
        handlers::ca_pem,
        pki::tsa_pem,
        pki::crl,
        pki::ocsp_post,
        pki::ocsp_get,
        pki::tsa_query,
        handlers::login,
        handlers::logout,
        handlers::step_up,
        handlers::me,
        handlers::list_devices,
        handlers::create_pairing_code,
        handlers::pair_device,
        handlers::revoke_device,
        handlers::create_request,
        handlers::list_requests,
        handlers::get_request,
        handlers::request_stream,
        handlers::request_events,
        handlers::request_document,
        handlers::request_summary,
        handlers::confirm_request,
        handlers::request_signature,
        handlers::member_signature,
        rp_api::create,
        rp_api::get,
        rp_api::cancel,
        rp_api::signature,
        rp_api::create_batch,
        rp_api::member_signature,
        admin_api::create_user,
        admin_api::recover_user,
        admin_api::change_credential,
        admin_api::create_relying_party,
        csc::v1::info,
        csc::v1::list,
        csc::v1::credential_info,
        csc::v1::authorize,
        csc::v1::sign_hash,
        csc::v1::timestamp,
        csc::v2::info,
        csc::v2::list,
        csc::v2::credential_info,
        csc::v2::authorize,
        csc::v2::authorize_check,
        csc::v2::sign_hash,
        csc::v2::sign_doc,
        csc::v2::timestamp,
        csc::oauth::token,
        csc::oauth::login,
        csc::oauth::revoke,
    ),
    components(schemas(wysiwys_proto::rp::WebhookEvent, wysiwys_proto::api::StatusEvent)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "browser", description = "The web channel: what the sign page does"),
        (name = "device", description = "Pairing a second device"),
        (name = "relying party", description = "Banks and agencies: requests for their customers, webhooks"),
        (name = "service", description = "Health and the CA certificate"),
        (name = "csc", description = "The Cloud Signature Consortium API, v1.0.4.0 under /csc/v1/ and v2.0.0.2 under /csc/v2/; \
            errors there are the spec's {\"error\", \"error_description\"} (docs/PROTOCOL.md §CSC)"),
        (name = "operator", description = "Accounts and relying parties for scripts; only with --admin-token-file"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                wysiwys_proto::api::SESSION_COOKIE,
                "Set by POST /api/session; state changes also need the X-CSRF-Token header",
            ))),
        );
        components.add_security_scheme("api_key", bearer("A relying party's API key, from `wysiwys-server create-rp`"));
        components
            .add_security_scheme("operator_token", bearer("The operator token from the server's --admin-token-file"));
    }
}

fn bearer(description: &str) -> SecurityScheme {
    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description)).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_every_public_operation_and_its_errors() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/session",
            "/api/requests/{id}/confirm",
            "/api/v1/rp/requests",
            "/api/v1/rp/requests/{id}/cancel",
            "/api/v1/admin/users",
            "/csc/v1/credentials/authorize",
            "/csc/v1/signatures/signHash",
            "/csc/v2/credentials/authorizeCheck",
            "/csc/v2/signatures/signHash",
            "/csc/v2/oauth2/token",
            "/csc/v1/auth/login",
        ] {
            assert!(paths.contains_key(path), "{path} is not documented");
        }
        for path in ["/api/v1/rp/requests", "/api/v1/rp/batches"] {
            let create = &doc["paths"][path]["post"];
            for status in ["201", "400", "401", "403", "404", "413", "415", "422", "429"] {
                assert!(create["responses"][status].is_object(), "{path} does not document {status}");
            }
            let refusal = create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].as_str();
            assert_eq!(refusal, Some("#/components/schemas/ErrorBody"), "{path}");
        }
        let codes = doc["components"]["schemas"]["ErrorCode"].to_string();
        assert!(codes.contains("HASH_MISMATCH") && codes.contains("IDEMPOTENCY_KEY_REUSED"), "{codes}");
    }
}
