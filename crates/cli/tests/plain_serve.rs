//! `shramsetu serve` without `--demo` and without scheme URLs: no simulator answers for a real
//! scheme; every scheme is "not configured", says so at start, and its routes refuse with that
//! code. Run with and without the `simulators` feature (CI runs both).

mod common;

use common::{serve, shramsetu, stop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_serve_without_scheme_urls_has_every_scheme_not_configured() {
    let dir = std::env::temp_dir().join(format!("shramsetu-plain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut served = serve({
        let mut c = shramsetu(&dir);
        c.arg("serve");
        c
    });
    let addr = served.addr.clone();
    let warned = served
        .start_log
        .iter()
        .find(|l| l.contains("Schemes not configured"))
        .expect("no warning naming the schemes not configured");
    for id in ["ncs", "sidh", "myscheme", "pmsym", "pmjay", "pmjjby"] {
        assert!(warned.contains(id), "{warned}");
    }

    let out = shramsetu(&dir)
        .args(["token", "--client-id", "ops", "--scopes", "schemes:read"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let http = reqwest::Client::new();
    let list: serde_json::Value = http
        .get(format!("http://{addr}/v1/schemes"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let health: Vec<&str> = list["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["health"].as_str().unwrap())
        .collect();
    assert_eq!(health, ["not_configured"; 6], "{list}");
    // A scheme route: 503 with the code, and no Retry-After (it will not come back by itself).
    let res = http
        .get(format!("http://{addr}/v1/workers/483920175560/jobs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(!res.headers().contains_key("retry-after"));
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "scheme_not_configured", "{problem}");

    assert!(stop(&mut served).success());
    for line in served.lines.try_iter() {
        assert!(!line.contains(&token), "the token reached the logs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
