//! Operations routes: health, readiness, metrics, JWKS, the OpenAPI document and its UI.

use e2e::TestApp;
use serde_json::Value;

#[actix_web::test]
async fn health_readiness_metrics_and_docs_work() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let _ = app
        .http
        .get(app.url("/v1/workers/483920175560"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/v1/workers/{uan}""#),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("db_pool_max_connections"));

    // The served document is the committed file, byte for byte (and `openapi --check` in CI holds
    // the file to the code).
    let served = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let committed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/openapi.json"
    ))
    .expect("openapi/openapi.json");
    assert!(
        served[..] == committed[..],
        "GET /openapi.json differs from openapi/openapi.json: regenerate the file"
    );
    let doc: Value = serde_json::from_slice(&served).unwrap();
    for path in [
        "/v1/workers",
        "/v1/workers/{uan}",
        "/oauth/token",
        "/healthz",
        "/readyz",
        "/metrics",
        "/.well-known/jwks.json",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let res = app.http.get(app.url("/docs")).send().await.unwrap();
    assert!(res.status().is_redirection());
    let res = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("swagger"));
    let res = app
        .http
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "Swagger UI is served from the binary, offline"
    );
    let res = app
        .http
        .get(app.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    app.stop().await;
}

#[actix_web::test]
async fn readiness_fails_when_the_database_is_not_migrated() {
    let app = TestApp::spawn().await;
    let client = crate::workers::connect(&app).await;
    client
        .batch_execute("DELETE FROM refinery_schema_history")
        .await
        .unwrap();
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    app.stop().await;
}
