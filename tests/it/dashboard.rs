//! The dashboard in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs when missing) loads `/dashboard` from a gateway with known workers; the figures on the
//! page are the seeded ones, the filters change them, a nodal officer's token adds the district
//! table and the worklist, no script error is raised, and a phone-sized screenshot is kept in
//! `target/test-artefacts/dashboard.png`.

use std::path::PathBuf;

use chrono::Datelike;
use e2e::{TestApp, registration};
use serde_json::json;

use crate::workers::registered_uan;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The page's DOM once its scripts have run (Chromium's virtual time waits for the fetches).
async fn dom(browser: &PathBuf, url: &str, extra: &[&str]) -> (String, String) {
    let profile = std::env::temp_dir().join(format!(
        "shramsetu-chromium-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let out = tokio::process::Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .await
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn worker(app: &TestApp, n: u64, state: &str, gender: &str) -> String {
    let t = chrono::Utc::now().date_naive();
    let dob = chrono::NaiveDate::from_ymd_opt(t.year() - 29, t.month(), 1).unwrap();
    let mut body = registration(n, state);
    body["date_of_birth"] = json!(dob.to_string());
    body["gender"] = json!(gender);
    registered_uan(app, &app.admin_token(), &body).await
}

#[actix_web::test]
async fn the_dashboard_shows_the_seeded_figures_in_a_real_browser_and_its_filters_change_them() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing: .ci/run installs it (apt-get install chromium)"
        );
        eprintln!("SKIPPED: no chromium on this machine (apt-get install chromium to run it)");
        return;
    };
    let app = TestApp::spawn().await;
    // Bihar: 12 women and 15 men, 10 of the men enrolled in PM-SYM; Uttar Pradesh: 11 men.
    let mut men = vec![];
    for n in 0..12 {
        worker(&app, 1100 + n, "10", "female").await;
    }
    for n in 0..15 {
        men.push(worker(&app, 1200 + n, "10", "male").await);
    }
    for n in 0..11 {
        worker(&app, 1300 + n, "09", "male").await;
    }
    let enroller = app.token("ministry", "schemes:enrol", None);
    for uan in &men[..10] {
        let r = app
            .http
            .post(app.url(&format!("/v1/workers/{uan}/enrolments")))
            .bearer_auth(&enroller)
            .header("Idempotency-Key", format!("dash-{uan}"))
            .json(&json!({"scheme": "pmsym"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    // The public view: national aggregates.
    let (page, log) = dom(
        &browser,
        &app.url("/dashboard?scheme=pmsym"),
        &["--dump-dom"],
    )
    .await;
    let has = |page: &str, s: &str| assert!(page.contains(s), "missing {s}:\n{page}\n{log}");
    has(
        &page,
        r#"id="total-registered" data-field="registered">38<"#,
    );
    has(&page, r#"id="total-enrolled" data-field="enrolled">10<"#);
    has(
        &page,
        r#"id="total-gap" data-field="eligible_not_enrolled">28<"#,
    );
    has(&page, r#"data-key="Bihar">27<"#);
    has(&page, r#"data-key="Uttar Pradesh">11<"#);
    has(&page, r#"data-key="Female">12<"#);
    has(&page, r#"data-key="Male">26<"#);
    has(&page, r#"id="errors" class="hidden" data-count="0""#);
    assert!(!log.contains("Uncaught"), "{log}");
    // A filter changes them: women only; their enrolled count is 0, shown as "<10".
    let (page, _) = dom(
        &browser,
        &app.url("/dashboard?scheme=pmsym&gender=female"),
        &["--dump-dom"],
    )
    .await;
    has(
        &page,
        r#"id="total-registered" data-field="registered">12<"#,
    );
    has(
        &page,
        r#"id="total-enrolled" data-field="enrolled">&lt;10<"#,
    );
    // In Hindi.
    let (page, _) = dom(
        &browser,
        &app.url("/dashboard?scheme=pmsym&lang=hi"),
        &["--dump-dom"],
    )
    .await;
    has(&page, "पंजीकृत");
    has(&page, r#"<html lang="hi">"#);

    // A nodal officer of Bihar: their state only, the district table and the worklist.
    let nodal = app.token(
        "bihar-nodal",
        "reports:read reports:worklist",
        Some(&["10"]),
    );
    let url = app.url(&format!("/dashboard?scheme=pmsym#token={nodal}"));
    let (page, log) = dom(&browser, &url, &["--dump-dom"]).await;
    has(
        &page,
        r#"id="total-registered" data-field="registered">27<"#,
    );
    has(
        &page,
        r#"<td>164</td><td class="num">27</td><td class="num">10</td><td class="num">17</td>"#,
    );
    assert_eq!(
        page.matches("<tr><td>").count() - 1,
        17,
        "17 to reach, one district row:\n{page}"
    );
    has(&page, r#"data-count="0""#);
    assert!(!log.contains("Uncaught"), "{log}");

    // A phone-sized screenshot, kept.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    dom(
        &browser,
        &app.url("/dashboard?scheme=pmsym"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=412,1600",
            "--hide-scrollbars",
        ],
    )
    .await;
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    app.stop().await;
}
