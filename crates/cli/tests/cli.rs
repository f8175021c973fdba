#![cfg(feature = "simulators")]
//! The `shramsetu` binary as an operator uses it: `clients add` (one client with a rate of its own),
//! then `serve --demo` with its own PostgreSQL cluster, tokens from `/oauth/token`, calls within
//! and beyond each client's rate, `clients set-rate` while it serves, a clean stop that stops the
//! cluster, and `audit verify`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{BIN, serve, shramsetu, stop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_adds_a_client_serves_the_demo_and_stops_cleanly() {
    let dir = std::env::temp_dir().join(format!("shramsetu-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let add = |args: &[&str]| {
        let out = shramsetu(&dir)
            .args(["clients", "add", "--scopes", "workers:read"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(secret.starts_with("sss_"));
        secret
    };
    // Bihar's portal gets a rate of its own, far above the default this gateway will run with.
    let secret = add(&[
        "--id",
        "bihar-portal",
        "--states",
        "10",
        "--rate-limit-rps",
        "1000",
    ]);
    let walk_in_secret = add(&["--id", "walk-in-portal"]);
    let again = shramsetu(&dir)
        .args([
            "clients",
            "add",
            "--id",
            "bihar-portal",
            "--scopes",
            "workers:read",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a client id is added once");
    let bad = shramsetu(&dir)
        .args(["token", "--client-id", "x", "--scopes", "everything"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope"));

    // The default rate: 1 request a second after a burst of 3.
    let mut served = serve({
        let mut c = shramsetu(&dir);
        c.args(["serve", "--demo"])
            .env("SHRAMSETU_RATE_LIMIT_RPS", "1")
            .env("SHRAMSETU_LIMITS__RATE_LIMIT_BURST", "3")
            .env("SHRAMSETU_LIMITS__CLIENT_REFRESH_SECS", "1");
        c
    });
    for line in &served.start_log {
        assert!(
            !line.contains(&secret),
            "the client secret reached the logs"
        );
    }
    let addr = served.addr.clone();

    let http = reqwest::Client::new();
    let token_of = |id: &'static str, secret: String| {
        let (http, addr) = (http.clone(), addr.clone());
        async move {
            let res = http
                .post(format!("http://{addr}/oauth/token"))
                .basic_auth(id, Some(&secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let token: serde_json::Value = res.json().await.unwrap();
            token["access_token"].as_str().unwrap().to_owned()
        }
    };
    let token = &token_of("bihar-portal", secret.clone()).await;
    let walk_in = token_of("walk-in-portal", walk_in_secret).await;
    // Ten calls, one after another: the walk-in client is held to the default rate, Bihar's
    // portal to its own.
    let statuses = |token: String| {
        let (http, addr) = (http.clone(), addr.clone());
        async move {
            let mut seen = Vec::new();
            for _ in 0..10 {
                let res = http
                    .get(format!("http://{addr}/v1/workers?limit=1"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                seen.push(res.status().as_u16());
            }
            seen
        }
    };
    let seen = statuses(walk_in.clone()).await;
    assert_eq!(&seen[..3], &[200, 200, 200], "{seen:?}");
    assert!(seen.contains(&429), "{seen:?}");
    let seen = statuses(token.clone()).await;
    assert!(seen.iter().all(|s| *s == 200), "{seen:?}");

    // The operator raises the walk-in client's rate while the gateway serves; the gateway reads
    // a client's rate again every second here (`limits.client_refresh_secs`).
    let set_rate = |args: &[&str]| {
        shramsetu(&dir)
            .args(["clients", "set-rate"])
            .args(args)
            .output()
            .unwrap()
    };
    let raised = set_rate(&["--id", "walk-in-portal", "--rate-limit-rps", "1000"]);
    assert!(
        raised.status.success(),
        "{}",
        String::from_utf8_lossy(&raised.stderr)
    );
    let unknown = set_rate(&["--id", "nobody", "--default"]);
    assert!(!unknown.status.success(), "no such client");
    assert!(
        !set_rate(&["--id", "walk-in-portal"]).status.success(),
        "a rate or --default"
    );
    // Polled with a deadline: the new rate holds once the gateway has read it again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = statuses(walk_in.clone()).await;
        if seen.iter().all(|s| *s == 200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the raised rate never applied: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page: serde_json::Value = http
        .get(format!("http://{addr}/v1/workers?limit=1000"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the demo registry has Bihar workers");
    assert!(items.iter().all(|w| w["state_code"] == "10"));

    // SIGTERM: the gateway drains, then stops the cluster it started.
    let status = stop(&mut served);
    // Everything it logged, including the token request, holds neither the secret nor the token.
    for line in served.lines.try_iter() {
        assert!(
            !line.contains(&secret) && !line.contains(token),
            "a secret reached the logs"
        );
    }
    assert!(status.success(), "{status}");
    assert!(
        !dir.join("pg/data/postmaster.pid").exists(),
        "the cluster was stopped"
    );

    // The reads are on the record: the chain and its signed checkpoints verify (exit 0)...
    let verify = || shramsetu(&dir).args(["audit", "verify"]).output().unwrap();
    let out = verify();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && said.starts_with("intact: ") && !said.starts_with("intact: 0 "),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The stop pinned the final head: the last checkpoint is of the last entry.
    let entries: i64 = said["intact: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    let file = dir.join("audit/checkpoints.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["seq"], entries, "{text}");
    // ...and a checkpoint altered outside the database is caught (exit 1, naming it).
    let at = text.find("\"signature\":\"").unwrap() + 13;
    let flipped = if &text[at..at + 1] == "0" { "1" } else { "0" };
    std::fs::write(
        &file,
        format!("{}{flipped}{}", &text[..at], &text[at + 1..]),
    )
    .unwrap();
    let out = verify();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("NOT INTACT") && said.contains("bad signature"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `match` on two small files: bad rows are named by line on stderr and skipped, the rest linked;
/// the links file has the documented columns, the model reloads, explanations are JSON.
#[test]
fn match_links_files_and_reports_bad_rows_by_line() {
    let dir = std::env::temp_dir().join(format!("shramsetu-match-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let header = "id,full_name,gender,dob,mobile,state_code,district_code,pincode,relative_name,aadhaar_hash,address,extra\n";
    std::fs::write(
        dir.join("registry.csv"),
        format!(
            "{header}r1,Mohammad Irfan,M,1988-03-14,9876543210,09,150,226001,Salim Khan,,Rampur,x\n\
             r2,Sunita Devi,F,1990-01-01,,10,210,800001,Ramesh Yadav,,Sonpur,x\n\
             r3,Basavaraj Patil,M,1979-11-02,9123456780,29,560,560001,,,,x\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("incoming.csv"),
        format!(
            "{header}i1,MOHD. IRFAN,M,1988-03-14,,09,150,226001,,,,x\n\
             i2,सुनीता देवी,F,1990-06-20,,10,210,800001,Ramesh Yadav,,,x\n\
             i3,Bad Date,M,14/03/1988,,09,150,226001,,,,x\n\
             i4,too,few,columns\n"
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "match",
            "--registry",
            "registry.csv",
            "--incoming",
            "incoming.csv",
        ])
        .args([
            "--out",
            "links.csv",
            "--model",
            "model.json",
            "--train",
            "--explain",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("incoming.csv:4: skipped: dob"), "{stderr}");
    assert!(
        stderr.contains("incoming.csv:5: skipped: 4 columns"),
        "{stderr}"
    );
    let links = std::fs::read_to_string(dir.join("links.csv")).unwrap();
    let mut lines = links.lines();
    assert_eq!(
        lines.next(),
        Some("incoming_id,registry_id,score,decision,explanation")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().any(|r| r.starts_with("i1,r1,")), "{links}");
    assert!(rows.iter().any(|r| r.starts_with("i2,r2,")), "{links}");
    assert!(
        rows.iter()
            .all(|r| !r.starts_with("i3") && !r.starts_with("i4"))
    );
    assert!(links.contains("\"\"comparison\"\":\"\"name\"\""), "{links}");
    // The written model is used as it is, without training.
    let again = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "match",
            "--registry",
            "registry.csv",
            "--incoming",
            "incoming.csv",
        ])
        .args(["--out", "links2.csv", "--model", "model.json"])
        .output()
        .unwrap();
    assert!(again.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
