//! Tokens and what they allow: 401 with WWW-Authenticate, 403 for a missing scope, 404 outside the
//! token's states, and the OAuth2 client-credentials flow.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{TestApp, registration};
use serde_json::{Value, json};

use crate::workers::register;

#[actix_web::test]
async fn missing_bad_and_foreign_tokens_get_401() {
    let app = TestApp::spawn().await;
    let good = app.admin_token();
    let res = app.http.get(app.url("/v1/workers")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer realm="shramsetu""#
    );
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // The same claims signed by another gateway's key; a flipped signature byte; `alg: none`;
    // HS256 keyed with our public key; a token for another audience or issuer; expired; not yet valid.
    let other = TestApp::spawn().await;
    let foreign = other.admin_token();
    let mut flipped = good.clone().into_bytes();
    let i = flipped.len() - 5;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let (header_b64, rest) = good.split_once('.').unwrap();
    let claims_b64 = rest.split('.').next().unwrap();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
    header["alg"] = json!("none");
    let none = format!(
        "{}.{claims_b64}.",
        URL_SAFE_NO_PAD.encode(header.to_string())
    );
    header["alg"] = json!("HS256");
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let hs_input = format!(
        "{}.{claims_b64}",
        URL_SAFE_NO_PAD.encode(header.to_string())
    );
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public),
        hs_input.as_bytes(),
    );
    let confused = format!("{hs_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    let keys = gateway::keys::Keys::load_or_create(&app.settings.auth.keys_dir).unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let scopes = vec!["workers:read".to_owned()];
    let with =
        |iss: &str, aud: &str| gateway::auth::Tokens::new(&keys.signing, iss, aud, 300, 0).unwrap();
    let wrong_aud = with(&app.settings.auth.issuer, "another-api")
        .issue("c", &scopes, None, "operations", 300, now)
        .unwrap();
    let wrong_iss = with("https://evil.example", &app.settings.auth.audience)
        .issue("c", &scopes, None, "operations", 300, now)
        .unwrap();
    let ours = with(&app.settings.auth.issuer, &app.settings.auth.audience);
    let expired = ours
        .issue("c", &scopes, None, "operations", 60, now - 7200)
        .unwrap();
    let not_yet = ours
        .issue("c", &scopes, None, "operations", 60, now + 7200)
        .unwrap();
    for (name, token) in [
        ("foreign key", foreign.as_str()),
        ("flipped signature", &flipped),
        ("alg none", &none),
        ("HS256 with public key", &confused),
        ("wrong audience", &wrong_aud),
        ("wrong issuer", &wrong_iss),
        ("expired", &expired),
        ("nbf in the future", &not_yet),
        ("garbage", "not.a.token"),
    ] {
        let res = app
            .http
            .get(app.url("/v1/workers"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{name}");
        let www = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(www.contains(r#"error="invalid_token""#), "{name}: {www}");
        assert!(
            !res.text().await.unwrap().contains(token),
            "{name}: token echoed"
        );
    }
    // A token in the query string is not a token.
    let res = app
        .http
        .get(app.url(&format!("/v1/workers?access_token={good}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    other.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn missing_scope_is_403_and_other_states_are_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    let reader = app.token("reader", "workers:read", None);
    let up = app.token("up-portal", "workers:read workers:write", Some(&["09"]));
    let in_bihar: Value = register(&app, &admin, &registration(20, "10"))
        .await
        .json()
        .await
        .unwrap();
    let uan = in_bihar["uan"].as_str().unwrap();

    let res = register(&app, &reader, &registration(21, "10")).await;
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"scope="workers:write""#)
    );
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&reader)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // UP's portal: Bihar's worker does not exist for it, on every route.
    let res = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&up)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body = res.text().await.unwrap();
    assert!(!body.contains(uan));
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&up)
        .json(&json!({"mobile": "9000000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .get(app.url("/v1/workers?state_code=10"))
        .bearer_auth(&up)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let page: Value = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(&up)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    // Nor can UP move its own worker into Bihar.
    let own: Value = register(&app, &up, &registration(22, "09"))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{}", own["uan"].as_str().unwrap())))
        .bearer_auth(&up)
        .json(&json!({"state_code": "10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // The unrestricted token sees both.
    let page: Value = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[actix_web::test]
async fn client_credentials_give_a_token_with_the_clients_scopes_and_states() {
    let app = TestApp::spawn().await;
    let secret = gateway::auth::new_client_secret().unwrap();
    let added = app
        .state
        .store()
        .add_client(&store::Client {
            client_id: "bihar-portal".into(),
            secret_hash: gateway::auth::hash_client_secret(&secret),
            scopes: vec!["workers:read".into(), "workers:write".into()],
            states: Some(vec!["10".into()]),
            purposes: vec!["scheme-enrolment".into(), "verification".into()],
            rate_limit_rps: None,
            enabled: true,
        })
        .await
        .unwrap();
    assert!(added);
    let token_for = |form: Vec<(&'static str, String)>| {
        app.http.post(app.url("/oauth/token")).form(&form).send()
    };
    let res = token_for(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", "bihar-portal".into()),
        ("client_secret", secret.clone()),
        ("scope", "workers:read".into()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "workers:read");
    let token = body["access_token"].as_str().unwrap();
    let caller = app.state.tokens.verify(token).unwrap();
    assert_eq!(caller.states, Some(vec!["10".to_owned()]));
    let res = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = register(&app, token, &registration(30, "10")).await;
    assert_eq!(res.status(), 403, "only workers:read was asked for");

    // HTTP Basic works too.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth("bihar-portal", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    for (form, status, error) in [
        (
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "bihar-portal".into()),
                ("client_secret", format!("{secret}x")),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "nobody".into()),
                ("client_secret", secret.clone()),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password".into()),
                ("client_id", "bihar-portal".into()),
                ("client_secret", secret.clone()),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "bihar-portal".into()),
                ("client_secret", secret.clone()),
                ("scope", "admin".into()),
            ],
            400,
            "invalid_scope",
        ),
    ] {
        let res = token_for(form).await.unwrap();
        assert_eq!(res.status(), status, "{error}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], error);
        assert!(!body.to_string().contains(&secret));
    }
    app.stop().await;
}
