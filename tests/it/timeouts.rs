//! Time limits: a client that sends its request head slowly (slowloris) or idles on a kept-alive
//! connection is cut off without holding the server, and a request that outlives the request
//! time limit answers 503. The waits below are upper bounds for an answer that comes within a
//! few seconds, never a measurement.

use std::time::Duration;

use domain::schemes::SchemeId;
use e2e::{TestApp, registration};
use serde_json::Value;
use simulators::Faults;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::workers::register;

/// Everything the server sends until it closes the connection.
async fn until_closed(mut conn: TcpStream) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut got))
        .await
        .expect("the server closes the connection")
        .expect("read");
    String::from_utf8_lossy(&got).into_owned()
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

#[actix_web::test]
async fn slow_request_heads_are_cut_off_without_holding_the_server() {
    // A second: short beside the trickle's ten, long enough for a busy machine's own requests.
    let app = TestApp::spawn_with(|s| s.server.client_request_timeout_ms = 1000).await;
    // Many connections that never finish their request head, one of them trickling a byte at a
    // time (which does not reset the limit: it is on the whole head).
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(conn);
    }
    let mut trickling = TcpStream::connect(addr(&app)).await.unwrap();
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = trickling.into_split();
    let trickle = actix_web::rt::spawn(async move {
        for _ in 0..200 {
            if writer.write_all(b"X").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    // Meanwhile the server answers everyone else.
    for _ in 0..5 {
        let res = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    for conn in slow {
        let answer = until_closed(conn).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut got))
        .await
        .expect("the trickling client is cut off too")
        .unwrap();
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 408"));
    trickle.abort();
    app.stop().await;
}

#[actix_web::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let app = TestApp::spawn_with(|s| s.server.keep_alive_secs = 1).await;
    let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    // The answer, then nothing from the client: the server closes after keep_alive_secs.
    let answer = until_closed(conn).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.stop().await;
}

#[actix_web::test]
async fn a_request_past_the_time_limit_answers_503() {
    let app = TestApp::spawn_with(|s| {
        // Limits a busy machine's registration below stays well within.
        s.server.request_timeout_ms = 5000;
        s.database.statement_timeout_ms = 4000;
    })
    .await;
    let created: Value = register(&app, &app.admin_token(), &registration(61, "10"))
        .await
        .json()
        .await
        .unwrap();
    // NCS answers only after ten seconds, well past the gateway's limit of five.
    app.simulators().sim(SchemeId::Ncs).set_faults(Faults {
        latency_ms: 10_000,
        ..Default::default()
    });
    let token = app.token("ministry", "schemes:read", None);
    let res = app
        .http
        .get(app.url(&format!(
            "/v1/workers/{}/jobs",
            created["uan"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("x-request-id"));
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "service_unavailable");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"route="timeout",status="503"} 1"#),
        "{metrics}"
    );
    app.simulators()
        .sim(SchemeId::Ncs)
        .set_faults(Faults::default());
    app.stop().await;
}

#[actix_web::test]
async fn a_clients_requests_in_flight_are_capped_and_others_are_not_held_up() {
    let app = TestApp::spawn_with(|s| s.limits.max_concurrent_per_client = 1).await;
    let created: Value = register(&app, &app.admin_token(), &registration(62, "10"))
        .await
        .json()
        .await
        .unwrap();
    let jobs = app.url(&format!(
        "/v1/workers/{}/jobs",
        created["uan"].as_str().unwrap()
    ));
    app.simulators().sim(SchemeId::Ncs).set_faults(Faults {
        // Long enough that the four requests all arrive while the first waits, however slowly.
        latency_ms: 5000,
        ..Default::default()
    });
    let token = app.token("ministry", "schemes:read", None);
    // Four at once, each waiting on NCS: one is let in, the others are refused while it runs.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, url, t) = (app.http.clone(), jobs.clone(), token.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let res = http.get(url).bearer_auth(t).send().await.unwrap();
            (
                res.status().as_u16(),
                res.headers().contains_key("retry-after"),
            )
        }));
    }
    // Another client is not held up meanwhile.
    let other = app.token("another-ministry", "schemes:read", None);
    let res = app
        .http
        .get(app.url("/v1/schemes"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers.sort();
    assert_eq!(answers[0], (200, false), "{answers:?}");
    assert!(
        answers[1..].iter().all(|a| *a == (429, true)),
        "{answers:?}"
    );
    app.simulators()
        .sim(SchemeId::Ncs)
        .set_faults(Faults::default());
    app.stop().await;
}
