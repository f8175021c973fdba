//! Key rotation without downtime: signing keys (old tokens keep working until they expire, new ones
//! are signed with the new key, the JWKS carries both) and the Aadhaar vault key (re-encryption in
//! resumable batches).

use std::time::{Duration, SystemTime};

use e2e::{TestApp, registration};
use gateway::auth::Tokens;
use serde_json::Value;

use crate::workers::register;

#[actix_web::test]
async fn signing_keys_rotate_while_serving() {
    let app = TestApp::spawn().await;
    let s = &app.settings.auth;
    let dir = s.keys_dir.clone();
    let before = app.token("partner", "workers:read", None);
    let old_kid = gateway::keys::trusted_signing_keys(&dir, 3600).unwrap()[0]
        .kid
        .clone();

    let new_kid = gateway::keys::rotate_signing(&dir).unwrap();
    assert_ne!(new_kid, old_kid);
    // What `shramsetu token` would print now: signed by the new key, which the server has not seen.
    let cli = Tokens::from_dir(
        &dir,
        &s.issuer,
        &s.audience,
        300,
        s.leeway_secs,
        s.max_token_ttl_secs,
    )
    .unwrap();
    let after = cli
        .issue(
            "partner",
            &["workers:read".into()],
            None,
            "operations",
            300,
            jsonwebtoken::get_current_timestamp(),
        )
        .unwrap();
    for (name, token) in [("new key", &after), ("old key", &before)] {
        let res = app
            .http
            .get(app.url("/v1/workers"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{name}");
    }
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [old_kid.as_str(), new_kid.as_str()]);
    // The server now signs with the new key.
    let fresh = app.token("partner", "workers:read", None);
    let header = jsonwebtoken::decode_header(&fresh).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));

    // Once every token of the old key has expired (here: the rotation pretends to be a day old), the
    // old key is dropped from the JWKS and refused.
    let new_file = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("signing-ed25519-v")
        })
        .unwrap()
        .path();
    let long_ago =
        SystemTime::now() - Duration::from_secs(s.max_token_ttl_secs + s.leeway_secs + 60);
    std::fs::File::options()
        .write(true)
        .open(&new_file)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    app.state.tokens.reload();
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());
    let stale = first_key_token(&app);
    let res = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(&stale)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    app.stop().await;
}

/// A fresh token (not in the verified cache) signed by the first-generation key.
fn first_key_token(app: &TestApp) -> String {
    let s = &app.settings.auth;
    let pem = std::fs::read_to_string(s.keys_dir.join("signing-ed25519.pem")).unwrap();
    let der = pem::parse(pem).unwrap().into_contents();
    let key = gateway::keys::SigningKey::from_pkcs8(der).unwrap();
    let t = Tokens::new(&key, &s.issuer, &s.audience, 300, 0).unwrap();
    t.issue(
        "partner",
        &["workers:read".into()],
        None,
        "operations",
        300,
        jsonwebtoken::get_current_timestamp(),
    )
    .unwrap()
}

#[actix_web::test]
async fn the_vault_key_rotates_in_resumable_batches() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let mut people = Vec::new();
    for n in 0..5 {
        let body = registration(80 + n, "10");
        let created: Value = register(&app, &t, &body).await.json().await.unwrap();
        people.push((
            created["uan"].as_str().unwrap().to_owned(),
            body["aadhaar"].as_str().unwrap().to_owned(),
        ));
    }
    let dir = &app.settings.auth.keys_dir;
    assert_eq!(gateway::keys::add_vault_key(dir).unwrap(), "v2");
    let keys = gateway::keys::Keys::load_or_create(dir).unwrap();
    assert_eq!(keys.vault.id(), "v2");
    keys.check_against(app.state.store()).await.unwrap();
    // The serving gateway switches to v2 without a restart: what it seals from now on is under v2.
    // (The gateway's own check every few seconds may have switched already.)
    let active = &app.state.vault_key;
    active.refresh(app.state.store()).await.unwrap();
    assert_eq!(active.get().id(), "v2");
    assert_eq!(active.refresh(app.state.store()).await.unwrap(), None);
    let created: Value = register(&app, &t, &registration(85, "10"))
        .await
        .json()
        .await
        .unwrap();
    let newcomer = domain::Uan::parse(created["uan"].as_str().unwrap()).unwrap();
    let sealed = app.state.store().sealed_aadhaar(&newcomer).await.unwrap();
    assert_eq!(sealed.unwrap().key_id, "v2");
    // Interrupted after the first batch of 2, then resumed.
    let seen = std::sync::Mutex::new(Vec::new());
    let store = app.state.store();
    let n = store
        .reseal_vault_batch("v2", 2, &|uan, sealed| {
            let aadhaar = keys.vault_key(&sealed.key_id).unwrap().open(sealed, uan)?;
            Ok(keys
                .vault
                .seal(&aadhaar, uan, gateway::keys::random_bytes::<12>().unwrap()))
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        store.vault_key_counts().await.unwrap(),
        [("v1".to_owned(), 3), ("v2".to_owned(), 3)]
    );
    let total = gateway::runtime::reseal_vault(store, &keys, 2, |n| seen.lock().unwrap().push(n))
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(*seen.lock().unwrap(), [2, 3]);
    assert_eq!(
        store.vault_key_counts().await.unwrap(),
        [("v2".to_owned(), 6)]
    );
    for (uan, aadhaar) in &people {
        let uan = domain::Uan::parse(uan).unwrap();
        let sealed = store.sealed_aadhaar(&uan).await.unwrap().unwrap();
        assert_eq!(sealed.key_id, "v2");
        assert_eq!(
            keys.vault.open(&sealed, &uan).unwrap().expose_digits(),
            aadhaar
        );
    }
    // A replaced key file is caught before anything is sealed with it.
    std::fs::remove_file(dir.join("aadhaar-token.pem")).unwrap();
    let wrong = gateway::keys::Keys::load_or_create(dir).unwrap();
    let err = wrong.check_against(store).await.unwrap_err();
    assert!(err.to_string().contains("token key"), "{err}");
    app.stop().await;
}
