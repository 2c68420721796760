//! The published OpenAPI description against the running server: every
//! documented operation, called without and with credentials, answers with a
//! documented status, and every JSON answer fits its documented schema.

use crate::fixture::{Fixture, LETTER};
use serde_json::{Value, json};
use wysiwys_proto::api::CSRF_HEADER;
use wysiwys_tests::openapi::violations;
use wysiwys_tests::{Bank, Db};

#[tokio::test]
async fn every_documented_operation_answers_as_described() {
    let f = Fixture::new(Db::Sqlite).await;
    let bank = Bank::new(&f.server, f.server.create_rp("Bank of Lund", "text/plain", None));
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", f.server.origin)).await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let docs_page = reqwest::get(format!("{}/api/docs/", f.server.origin)).await.unwrap();
    assert!(docs_page.status().is_success());
    assert!(docs_page.text().await.unwrap().contains("swagger-ui-bundle.js"), "the Swagger UI is served from here");
    // A request both the browser (its signer) and the bank (its requester) may read.
    let request = bank.create_raw("username=ann", "text/plain", LETTER.as_bytes()).await.unwrap();

    let mut operations: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    // Logging out ends the session the other calls use: last.
    operations.sort_by_key(|(path, method, _)| (path == "/api/session" && method == "delete", path.clone()));

    let anonymous = reqwest::Client::new();
    let mut answers = 0;
    for (path, method, operation) in &operations {
        let id = if path.starts_with("/api/devices/") { &f.device_id } else { &request.id };
        let url = format!("{}{}", f.server.origin, path.replace("{id}", id));
        let scheme = operation["security"][0].as_object().and_then(|s| s.keys().next().cloned());
        for authorized in [false, true] {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut call = match (authorized, scheme.as_deref()) {
                (true, Some("session")) => {
                    f.browser.client.request(method.clone(), &url).header(CSRF_HEADER, f.browser.csrf.clone().unwrap())
                }
                (true, Some("api_key")) => {
                    anonymous.request(method.clone(), &url).bearer_auth(&bank.credentials.api_key)
                }
                _ => anonymous.request(method.clone(), &url),
            };
            let body = &operation["requestBody"]["content"];
            if body.get("application/json").is_some() {
                call = call.json(&json!({}));
            } else if body.get("text/plain").is_some() {
                call = call.header("content-type", "text/plain; charset=utf-8").body(LETTER);
            }
            let answer = call.send().await.unwrap();
            let status = answer.status().as_u16().to_string();
            let described = &operation["responses"][&status];
            assert!(
                described.is_object(),
                "{method} {path} (authorized: {authorized}) answered {status}, which is not documented"
            );
            // Nothing personal, and no health status, may be kept by a cache on the way;
            // the public certificates may.
            let cache = answer.headers().get("cache-control").and_then(|v| v.to_str().ok());
            if !path.ends_with(".pem") && status != "204" {
                assert_eq!(cache, Some("no-store"), "{method} {path} (authorized: {authorized}) {status}");
            }
            let content_type =
                answer.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            if content_type.starts_with("application/json") {
                let value: Value = answer.json().await.unwrap();
                let schema = &described["content"]["application/json"]["schema"];
                assert!(schema.is_object(), "{method} {path} answered JSON for {status}, which documents no JSON");
                let wrong = violations(&doc, schema, &value);
                assert!(wrong.is_empty(), "{method} {path} {status}: {wrong:?}\n{value}");
            }
            answers += 1;
        }
    }
    assert!(answers >= 2 * 20, "only {answers} answers checked");
}
