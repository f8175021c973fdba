//! Tokens of an external identity provider (a Keycloak stand-in: a JWKS server on loopback), with the
//! same claim checks, key caching, re-fetch on an unknown key id, and service from the cache while
//! the provider is down.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use e2e::TestApp;
use gateway::config::ExternalIssuer;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const ISSUER: &str = "https://sso.example.test/realms/eshram";

/// A provider: its keys, and a JWKS endpoint that can be told to fail.
struct Provider {
    keys: Arc<Mutex<Vec<Jwk>>>,
    down: Arc<Mutex<bool>>,
    url: String,
    hits: Arc<Mutex<u32>>,
    server: actix_web::dev::ServerHandle,
}

impl Provider {
    fn start() -> Provider {
        let keys: Arc<Mutex<Vec<Jwk>>> = Arc::default();
        let down: Arc<Mutex<bool>> = Arc::default();
        let hits: Arc<Mutex<u32>> = Arc::default();
        let (k, d, h) = (keys.clone(), down.clone(), hits.clone());
        let server = HttpServer::new(move || {
            let (k, d, h) = (k.clone(), d.clone(), h.clone());
            App::new().route(
                "/certs",
                web::get().to(move || {
                    let (k, d, h) = (k.clone(), d.clone(), h.clone());
                    async move {
                        *h.lock().unwrap() += 1;
                        if *d.lock().unwrap() {
                            return HttpResponse::ServiceUnavailable().finish();
                        }
                        HttpResponse::Ok().json(JwkSet {
                            keys: k.lock().unwrap().clone(),
                        })
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Provider {
            keys,
            down,
            hits,
            url: format!("http://{addr}/certs"),
            server: handle,
        }
    }

    /// A new ES256 key, published under `kid`; returns what signs with it.
    fn add_key(&self, kid: &str) -> EncodingKey {
        let doc = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        let key = EncodingKey::from_ec_der(doc.as_ref());
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        self.keys.lock().unwrap().push(jwk);
        key
    }
}

fn token(key: &EncodingKey, kid: &str, claims: Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&h, &claims, key).unwrap()
}

fn claims(extra: Value) -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    let mut c = json!({"iss": ISSUER, "aud": "shramsetu-api", "azp": "bihar-labour-portal", "sub": "svc-1",
                       "exp": now + 300, "iat": now, "scope": "openid workers:read", "states": ["10"]});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[actix_web::test]
async fn an_external_providers_tokens_work_with_the_same_checks() {
    let idp = Provider::start();
    let key1 = idp.add_key("k1");
    let url = idp.url.clone();
    let app = TestApp::spawn_with(move |s| {
        s.auth.external_issuers = vec![ExternalIssuer {
            issuer: ISSUER.into(),
            jwks_url: url,
            audience: "shramsetu-api".into(),
            algorithms: vec!["ES256".into(), "RS256".into()],
            client_id_claim: "azp".into(),
            default_purpose: "operations".into(),
            jwks_cache_secs: 300,
            refetch_min_secs: 0,
            purposes: vec!["scheme-enrolment".into()],
            all_states: false,
        }];
    })
    .await;
    let ops = app.admin_token();
    let bihar: Value = crate::workers::register(&app, &ops, &e2e::registration(90, "10"))
        .await
        .json()
        .await
        .unwrap();
    let up: Value = crate::workers::register(&app, &ops, &e2e::registration(91, "09"))
        .await
        .json()
        .await
        .unwrap();
    let get = |t: String, uan: String| {
        let req = app
            .http
            .get(app.url(&format!("/v1/workers/{uan}")))
            .bearer_auth(t);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let good = token(&key1, "k1", claims(json!({})));
    assert_eq!(
        get(good.clone(), bihar["uan"].as_str().unwrap().into()).await,
        200
    );
    assert_eq!(
        get(good.clone(), up["uan"].as_str().unwrap().into()).await,
        404,
        "its states claim applies"
    );
    let log: Value = app
        .http
        .get(app.url(&format!(
            "/v1/workers/{}/access-log",
            bihar["uan"].as_str().unwrap()
        )))
        .bearer_auth(app.token("auditor", "audit:read", None))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        log["items"][0]["client_id"],
        format!("{ISSUER}|bihar-labour-portal"),
        "the client is the azp claim, namespaced by its issuer"
    );

    let bu = bihar["uan"].as_str().unwrap().to_owned();
    let now = jsonwebtoken::get_current_timestamp();
    for (name, t) in [
        (
            "wrong audience",
            token(&key1, "k1", claims(json!({"aud": "someone-else"}))),
        ),
        (
            "expired",
            token(&key1, "k1", claims(json!({"exp": now - 3600}))),
        ),
        (
            "nbf in the future",
            token(&key1, "k1", claims(json!({"nbf": now + 3600}))),
        ),
        (
            "no scope for this route",
            token(&key1, "k1", claims(json!({"scope": "openid"}))),
        ),
        ("unknown kid", token(&key1, "k9", claims(json!({})))),
        (
            "no states claim",
            token(&key1, "k1", claims(json!({"states": null}))),
        ),
        (
            "a purpose this issuer may not grant",
            token(&key1, "k1", claims(json!({"purpose": "analytics"}))),
        ),
    ] {
        let status = get(t, bu.clone()).await;
        assert!(
            status == 401 || (name == "no scope for this route" && status == 403),
            "{name}: {status}"
        );
    }
    // A key the gateway has not seen yet is fetched when a token names it.
    let key2 = idp.add_key("k2");
    assert_eq!(
        get(token(&key2, "k2", claims(json!({}))), bu.clone()).await,
        200
    );
    // The provider goes down: the cached keys keep working.
    *idp.down.lock().unwrap() = true;
    let hits = *idp.hits.lock().unwrap();
    assert_eq!(
        get(token(&key1, "k1", claims(json!({"jti": "x"}))), bu.clone()).await,
        200
    );
    assert_eq!(
        get(token(&key2, "k2", claims(json!({"jti": "y"}))), bu.clone()).await,
        200
    );
    // An unknown kid while it is down is refused, without breaking anything else.
    assert_eq!(
        get(token(&key2, "k3", claims(json!({}))), bu.clone()).await,
        401
    );
    assert!(
        *idp.hits.lock().unwrap() > hits,
        "the unknown kid made it try"
    );
    assert_eq!(
        get(token(&key1, "k1", claims(json!({"jti": "z"}))), bu.clone()).await,
        200
    );
    idp.server.stop(true).await;
    app.stop().await;
}
