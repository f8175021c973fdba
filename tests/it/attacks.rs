//! The attack suite: forged tokens, authorisation across states, and hostile input on every path and
//! query parameter. Each must be refused with the right status and no data; none may be a 500.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use e2e::{TestApp, registration};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::workers::register;

fn claims(app: &TestApp) -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({"iss": app.settings.auth.issuer, "aud": app.settings.auth.audience, "sub": "mallory",
           "client_id": "mallory", "iat": now, "nbf": now, "exp": now + 300,
           "scope": "workers:read workers:write audit:read", "purpose": "operations"})
}

/// Signs `claims` with the gateway's own key under a header of the attacker's choosing.
fn ours(app: &TestApp, header: Header, claims: &Value) -> String {
    let keys = gateway::keys::Keys::load_or_create(&app.settings.auth.keys_dir).unwrap();
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ed_der(&keys.signing.pkcs8_der),
    )
    .unwrap()
}

fn our_kid(app: &TestApp) -> String {
    gateway::keys::Keys::load_or_create(&app.settings.auth.keys_dir)
        .unwrap()
        .signing
        .kid
}

fn eddsa(kid: Option<&str>, typ: Option<&str>) -> Header {
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = kid.map(str::to_owned);
    h.typ = typ.map(str::to_owned);
    h
}

#[actix_web::test]
async fn forged_and_malformed_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let kid = our_kid(&app);
    let good = claims(&app);
    let mut no_nbf = good.clone();
    no_nbf.as_object_mut().unwrap().remove("nbf");
    let mut no_sub = good.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    let mut string_exp = good.clone();
    string_exp["exp"] = json!("9999999999");

    // An ES256 key of another issuer, presented under our kid and under its own.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let p256 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let foreign_es = |kid: &str| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.to_owned());
        h.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&h, &good, &EncodingKey::from_ec_der(p256.as_ref())).unwrap()
    };

    let control = ours(&app, eddsa(Some(&kid), Some("at+jwt")), &good);
    let res = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(&control)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "the control token, built the same way, is accepted"
    );

    let cases: Vec<(&str, String)> = vec![
        ("no kid", ours(&app, eddsa(None, Some("at+jwt")), &good)),
        (
            "unknown kid",
            ours(&app, eddsa(Some("2024-retired"), Some("at+jwt")), &good),
        ),
        (
            "kid with a path",
            ours(
                &app,
                eddsa(Some("../../../../dev/null"), Some("at+jwt")),
                &good,
            ),
        ),
        (
            "kid with SQL",
            ours(&app, eddsa(Some("' OR '1'='1"), Some("at+jwt")), &good),
        ),
        (
            "typ JWT, not an access token",
            ours(&app, eddsa(Some(&kid), Some("JWT")), &good),
        ),
        (
            "no nbf",
            ours(&app, eddsa(Some(&kid), Some("at+jwt")), &no_nbf),
        ),
        (
            "no sub",
            ours(&app, eddsa(Some(&kid), Some("at+jwt")), &no_sub),
        ),
        (
            "exp as a string",
            ours(&app, eddsa(Some(&kid), Some("at+jwt")), &string_exp),
        ),
        ("ES256 of another issuer, our kid", foreign_es(&kid)),
        (
            "ES256 of another issuer, its kid",
            foreign_es("other-issuer-1"),
        ),
        ("empty", String::new()),
        ("two dots", "..".into()),
        ("very long", "a".repeat(20_000)),
    ];
    for (name, token) in cases {
        let res = app
            .http
            .get(app.url("/v1/workers"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(
            status == 401 || (name == "very long" && status == 431),
            "{name}: {status}"
        );
        let body = res.text().await.unwrap();
        assert!(!body.contains("items"), "{name}: data served");
    }
    app.stop().await;
}

#[actix_web::test]
async fn every_state_token_meets_404_for_another_states_worker_on_every_route() {
    let app = TestApp::spawn().await;
    let ops = app.admin_token();
    let in_up: Value = register(&app, &ops, &registration(70, "09"))
        .await
        .json()
        .await
        .unwrap();
    let in_bihar: Value = register(&app, &ops, &registration(71, "10"))
        .await
        .json()
        .await
        .unwrap();
    let all = "workers:read workers:write workers:verify audit:read";
    let portals = [
        ("up-portal", "09", &in_bihar),
        ("bihar-portal", "10", &in_up),
    ];
    for (client, state, foreign) in portals {
        let t = app.token(client, all, Some(&[state]));
        let uan = foreign["uan"].as_str().unwrap();
        let other_state = foreign["state_code"].as_str().unwrap();
        let requests = [
            (
                "GET worker",
                app.http.get(app.url(&format!("/v1/workers/{uan}"))),
            ),
            (
                "PATCH worker",
                app.http
                    .patch(app.url(&format!("/v1/workers/{uan}")))
                    .json(&json!({"mobile": "9000000000"})),
            ),
            (
                "GET access log",
                app.http
                    .get(app.url(&format!("/v1/workers/{uan}/access-log"))),
            ),
            (
                "POST verify",
                app.http
                    .post(app.url("/v1/workers/verify"))
                    .json(&json!({"uan": uan, "mobile": "9876543210"})),
            ),
            (
                "GET list of that state",
                app.http
                    .get(app.url(&format!("/v1/workers?state_code={other_state}"))),
            ),
        ];
        for (what, req) in requests {
            let res = req.bearer_auth(&t).send().await.unwrap();
            assert_eq!(res.status(), 404, "{client}: {what}");
            let body = res.text().await.unwrap();
            assert!(
                !body.contains(uan) && !body.contains("Irfan"),
                "{client}: {what}: {body}"
            );
        }
        // Its own list holds only its own state's workers.
        let page: Value = app
            .http
            .get(app.url("/v1/workers"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let states: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["state_code"].as_str().unwrap())
            .collect();
        assert_eq!(states, [state]);
    }
    // The foreign worker is unchanged.
    let read: Value = app
        .http
        .get(app.url(&format!(
            "/v1/workers/{}",
            in_bihar["uan"].as_str().unwrap()
        )))
        .bearer_auth(&ops)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, in_bihar);
    app.stop().await;
}

#[actix_web::test]
async fn hostile_values_in_every_path_and_query_parameter_are_4xx_never_5xx() {
    let app = TestApp::spawn().await;
    let t = app.token(
        "ops",
        "workers:read workers:write workers:verify audit:read schemes:read schemes:enrol",
        None,
    );
    let created: Value = register(&app, &t, &registration(72, "10"))
        .await
        .json()
        .await
        .unwrap();
    let uan = created["uan"].as_str().unwrap();
    let long = "9".repeat(5_000);
    let nasty = [
        "'",
        "' OR '1'='1",
        "1; DROP TABLE workers; --",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "-1",
        "99999999999999999999999999",
        "1e3",
        "%F0%9F%92%A9",
        "%C3%28",
        long.as_str(),
    ];
    let mut checked = 0;
    for v in nasty {
        let paths = vec![
            format!("/v1/workers/{v}"),
            format!("/v1/workers/{v}/access-log"),
            format!("/v1/workers/{v}/schemes"),
            format!("/v1/workers/{v}/jobs"),
            format!("/v1/workers?state_code={v}"),
            format!("/v1/workers?state_code=10&district_code={v}"),
            format!("/v1/workers?changed_since_seq={v}"),
            format!("/v1/workers?limit={v}"),
            format!("/v1/workers?cursor={v}"),
            format!("/v1/workers?{v}=1"),
            format!("/v1/workers/{uan}/access-log?before_seq={v}"),
            format!("/v1/workers/{uan}/access-log?limit={v}"),
        ];
        for path in paths {
            let res = app
                .http
                .get(app.url(&path))
                .bearer_auth(&t)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            // A huge `limit` is capped, not refused: 200 is right for it.
            let ok = (400..500).contains(&status) || (status == 200 && path.contains("limit=9999"));
            assert!(ok, "{path}: {status}");
            checked += 1;
        }
        let res = app
            .http
            .patch(app.url(&format!("/v1/workers/{uan}")))
            .bearer_auth(&t)
            .json(&json!({"mobile": v, "pincode": v, "address": {"line1": v}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "PATCH with {v:.40}");
        let res = app
            .http
            .post(app.url("/v1/workers/verify"))
            .bearer_auth(&t)
            .json(&json!({"uan": v, "mobile": "9876543210"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "verify with {v:.40}");
        // In the path of an enrolment, and in its body.
        for (path, key, body) in [
            (
                format!("/v1/workers/{v}/enrolments"),
                "hostile",
                json!({"scheme": "pmsym"}),
            ),
            (
                format!("/v1/workers/{uan}/enrolments"),
                v,
                json!({"scheme": v}),
            ),
        ] {
            let res = app
                .http
                .post(app.url(&path))
                .bearer_auth(&t)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            assert!(
                (400..500).contains(&status),
                "{path:.60} {body:.60}: {status}"
            );
        }
        // Every field of a token request: refused as OAuth errors, never a server error.
        for form in [
            format!("grant_type={v}&client_id=a&client_secret=b"),
            format!("grant_type=client_credentials&client_id={v}&client_secret=b"),
            format!("grant_type=client_credentials&client_id=a&client_secret={v}"),
            format!("grant_type=client_credentials&client_id=a&client_secret=b&scope={v}"),
            format!("grant_type=client_credentials&client_id=a&client_secret=b&purpose={v}"),
        ] {
            let res = app
                .http
                .post(app.url("/oauth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone())
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            assert!(
                [400, 401, 429].contains(&status),
                "token request {form:.60}: {status}"
            );
        }
    }
    assert!(checked > 100);
    // Mass assignment: every bookkeeping field at once, and the row stays as it was.
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .json(&json!({"uan": "1", "aadhaar_token": "x", "aadhaar_masked": "x", "change_seq": 0, "created_at": "x", "state_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"].as_array().unwrap().len(), 6);
    let read: Value = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, created);
    app.stop().await;
}
