//! `shramsetu import FILE --state 10`: a state's roll pushed to a gateway as one batch, with its
//! progress (bytes sent, then rows applied, rows/s, ETA), the summary, and the error report
//! written next to the file. The idempotency key is derived from the file and the state, so a
//! re-run after a crash resumes the same batch, never a second one.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// The file: `.csv` or `.ndjson`/`.jsonl`, optionally `.gz`.
    file: PathBuf,
    /// The LGD code of the state the roll is of: part of the batch's key (the gateway refuses
    /// rows of states the token is not allowed).
    #[arg(long)]
    state: String,
    /// The gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An OAuth2 client with `batches:write` (the token is asked for with its secret).
    #[arg(long, requires = "client_secret")]
    client_id: Option<String>,
    #[arg(long, env = "SHRAMSETU_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// A token instead of client credentials.
    #[arg(
        long,
        env = "SHRAMSETU_TOKEN",
        hide_env_values = true,
        conflicts_with = "client_id"
    )]
    token: Option<String>,
    /// A dry run: every row checked, nothing written.
    #[arg(long)]
    validate_only: bool,
    /// A row whose Aadhaar is registered already: `refuse`, `skip` or `update`.
    #[arg(long, default_value = "refuse")]
    on_existing: String,
}

pub fn run(a: Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(import(a))
}

async fn import(a: Args) -> Result<()> {
    let server = a.server.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let token = match (&a.token, &a.client_id, &a.client_secret) {
        (Some(t), _, _) => t.clone(),
        (None, Some(id), Some(secret)) => client_token(&http, &server, id, secret).await?,
        _ => bail!("give --client-id and --client-secret, or --token"),
    };
    let (content_type, gzip) = file_type(&a.file)?;
    let size = std::fs::metadata(&a.file)
        .with_context(|| format!("{}", a.file.display()))?
        .len();
    let key = format!("import-{}-{}", a.state, file_digest(&a.file)?);
    let mode = if a.validate_only { "validate" } else { "apply" };

    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("uploading {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut file = std::fs::File::open(&a.file)?;
    let sent = bar.clone();
    let body = futures_util::stream::poll_fn(move |_| {
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf) {
            Ok(0) => std::task::Poll::Ready(None),
            Ok(n) => {
                buf.truncate(n);
                sent.inc(n as u64);
                std::task::Poll::Ready(Some(Ok::<_, std::io::Error>(buf)))
            }
            Err(e) => std::task::Poll::Ready(Some(Err(e))),
        }
    });
    let mut req = http
        .post(format!(
            "{server}/v1/batches?mode={mode}&on_existing={}",
            a.on_existing
        ))
        .bearer_auth(&token)
        .header("Idempotency-Key", &key)
        .header("Content-Type", content_type)
        .header("Content-Length", size)
        .body(reqwest::Body::wrap_stream(body));
    if gzip {
        req = req.header("Content-Encoding", "gzip");
    }
    let res = req.send().await.context("the upload")?;
    bar.finish_and_clear();
    let status = res.status();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    if status.as_u16() != 202 {
        bail!(
            "the gateway refused the file ({status}): {}",
            problem(&answer)
        );
    }
    let id = answer["id"].as_str().context("a batch id")?.to_owned();
    if answer["rows_received"].is_number() {
        eprintln!(
            "batch {id}: {} rows stored{}",
            answer["rows_received"],
            if status.as_u16() == 202 && answer["status"] != "queued" {
                format!(" ({})", answer["status"].as_str().unwrap_or_default())
            } else {
                String::new()
            }
        );
    }
    let batch = wait(&http, &server, &token, &id).await?;
    println!(
        "batch {id} {}: {} rows, {} registered, {} updated, {} skipped, {} refused, {} queued for review, {} cancelled",
        batch["status"].as_str().unwrap_or_default(),
        batch["rows_received"],
        batch["registered"],
        batch["updated"],
        batch["skipped"],
        batch["refused"],
        batch["queued_for_review"],
        batch["cancelled"],
    );
    let report = errors_path(&a.file);
    let errors = http
        .get(format!("{server}/v1/batches/{id}/errors"))
        .bearer_auth(&token)
        .header("Accept", "text/csv")
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    std::fs::write(&report, &errors).with_context(|| format!("{}", report.display()))?;
    println!("errors: {}", report.display());
    Ok(())
}

/// Polls the batch, showing rows applied, until it ends.
async fn wait(http: &reqwest::Client, server: &str, token: &str, id: &str) -> Result<Value> {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("applying {pos}/{len} rows, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    loop {
        let b: Value = http
            .get(format!("{server}/v1/batches/{id}"))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let total = b["rows_received"].as_u64().unwrap_or(0);
        let pending = b["pending"].as_u64().unwrap_or(0);
        let rate = b["rows_per_sec"].as_f64().unwrap_or(0.0);
        bar.set_length(total);
        bar.set_position(total - pending.min(total));
        let eta = if rate > 0.0 {
            format!("eta {:.0}s", pending as f64 / rate)
        } else {
            String::new()
        };
        bar.set_message(format!("{rate:.0} rows/s {eta}"));
        let done = b["status"] == "finished" || b["status"] == "cancelled" && pending == 0;
        if done {
            bar.finish_and_clear();
            return Ok(b);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn client_token(
    http: &reqwest::Client,
    server: &str,
    id: &str,
    secret: &str,
) -> Result<String> {
    let res = http
        .post(format!("{server}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "batches:write"),
        ])
        .send()
        .await
        .context("the token request")?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    match body["access_token"].as_str() {
        Some(t) if status.is_success() => Ok(t.to_owned()),
        _ => bail!(
            "no token ({status}): {}",
            body["error_description"].as_str().unwrap_or("")
        ),
    }
}

/// The media type by the file's name, and whether it is gzip.
fn file_type(path: &Path) -> Result<(&'static str, bool)> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (name, gzip) = match name.strip_suffix(".gz") {
        Some(n) => (n.to_owned(), true),
        None => (name, false),
    };
    let media = if name.ends_with(".csv") {
        "text/csv"
    } else if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        "application/x-ndjson"
    } else {
        bail!(
            "{}: a .csv, .ndjson or .jsonl file (optionally .gz)",
            path.display()
        )
    };
    Ok((media, gzip))
}

/// SHA-256 of the file, in hex (the first 32 digits: the key's part).
fn file_digest(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(domain::crypto::hex(ctx.finish().as_ref())[..32].to_owned())
}

/// `roll.csv.gz` → `roll.csv.gz.errors.csv`, beside it.
fn errors_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".errors.csv");
    path.with_file_name(name)
}

fn problem(p: &Value) -> String {
    let mut s = p["detail"].as_str().unwrap_or("").to_owned();
    if let Some(errors) = p["errors"].as_array() {
        for e in errors {
            s.push_str(&format!(
                "\n  {}: {} ({})",
                e["field"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or(""),
                e["code"].as_str().unwrap_or("")
            ));
        }
    }
    s
}
