//! `shramsetu`: the gateway and its operations commands.

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use domain::StateCode;
use gateway::auth::{SCOPES, hash_client_secret, new_client_secret};
use gateway::config::Settings;
use gateway::keys::Keys;
use gateway::runtime::{self, Database};

#[derive(Parser)]
#[command(
    name = "shramsetu",
    version,
    about = "Shram Setu: the e-Shram integration gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API. Without DATABASE_URL, runs a local PostgreSQL cluster under ./var/pg.
    Serve {
        /// Address to listen on (default: server.bind from config, 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// Seed synthetic workers into an empty registry.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check identifiers read one a line from stdin; prints `valid` or `invalid CODE` a line each.
    Check {
        /// What the lines are.
        #[arg(value_enum)]
        kind: gateway::check::Kind,
    },
    /// Manage OAuth2 clients (partner systems).
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Print a signed access token to stdout (for ops and tests).
    Token {
        #[arg(long)]
        client_id: String,
        /// Scopes separated by spaces or commas, e.g. "workers:read workers:write" or workers:read,workers:write.
        #[arg(long)]
        scopes: String,
        /// Comma-separated LGD state codes the token is limited to (default: every state).
        #[arg(long)]
        states: Option<String>,
        /// Lifetime in seconds (default: auth.token_ttl_secs).
        #[arg(long)]
        ttl_secs: Option<u64>,
        /// The purpose the token serves; decides which worker fields it sees.
        #[arg(long, default_value = "operations")]
        purpose: String,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The Aadhaar vault.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
    /// Print the OpenAPI document (what openapi/openapi.json holds).
    Openapi {
        /// Instead of printing, compare with this file and fail when it differs.
        #[arg(long)]
        check: Option<PathBuf>,
    },
    /// Link an incoming CSV file to a registry CSV file (canonical columns: id, full_name,
    /// gender, dob, mobile, state_code, district_code, pincode, relative_name, aadhaar_hash,
    /// address). Writes incoming_id, registry_id, score, decision.
    Match {
        #[arg(long)]
        registry: PathBuf,
        #[arg(long)]
        incoming: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// A fitted model to use; with --train, where to write the model trained on these files.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Train the model on these files (always done when no --model is given).
        #[arg(long)]
        train: bool,
        /// Add an `explanation` column: each field's comparison level and weight.
        #[arg(long)]
        explain: bool,
        /// A CSV of true pairs (incoming_id, registry_id): prints precision, recall and F1.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// Match probability at or above which a pair is linked.
        #[arg(long, default_value_t = 0.5)]
        link_threshold: f64,
        /// Match probability at or above which a pair is kept for review.
        #[arg(long, default_value_t = 0.2)]
        review_threshold: f64,
        /// Allow several incoming records to link to one registry record.
        #[arg(long)]
        many_to_one: bool,
    },
    /// Write a synthetic benchmark set for `match`: registry.csv, incoming.csv (70% of them
    /// registry people written again, with the noise real scheme databases carry) and truth.csv.
    MatchSet {
        #[arg(long, default_value_t = 20_000)]
        registry_size: usize,
        #[arg(long, default_value_t = 5_000)]
        incoming_size: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the scheme simulators (NCS, SIDH, myScheme, PM-SYM, AB PM-JAY, PMJJBY), each under
    /// /<scheme> on one port, serving the demo population (seed 42) with optional fault knobs.
    Simulate {
        /// One scheme (ncs, sidh, myscheme, pmsym, pmjay, pmjjby) or "all".
        #[arg(long, default_value = "all")]
        scheme: String,
        #[arg(long, default_value = "127.0.0.1:8090")]
        bind: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// People in the world; the demo registry holds the first 2,000.
        #[arg(long, default_value_t = 2500)]
        population: u64,
        /// Records per scheme (default: each scheme's share of the population).
        #[arg(long)]
        records: Option<u64>,
        /// Fault knobs as JSON, e.g. '{"error_rate":0.05,"latency_ms":50}' (also settable at
        /// PUT /<scheme>/_sim/faults).
        #[arg(long)]
        faults: Option<String>,
        /// Where PM-SYM posts its change events (HMAC-signed).
        #[arg(long, default_value = "")]
        webhook_url: String,
    },
    /// Pull every record of one scheme (or "all") through its adapter and report records per
    /// second. Uses [schemes] from the config; with no scheme URL, runs the simulators in-process.
    Pull {
        #[arg(long, default_value = "all")]
        scheme: String,
        #[arg(long, default_value_t = 500)]
        page_size: usize,
        /// In-process simulators: records per scheme.
        #[arg(long)]
        sim_records: Option<u64>,
        /// In-process simulators: fault knobs as JSON (see `simulate --faults`).
        #[arg(long)]
        sim_faults: Option<String>,
        /// Print the canonical records to stdout as NDJSON.
        #[arg(long)]
        ndjson: bool,
    },
    /// Add synthetic workers to the registry (for demos and load tests).
    Seed {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// Population seed: the same seed gives the same people.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key; it signs from now on (running gateways pick it up within 30 s, or at
    /// once when they see a token it signed). The old key stays in the JWKS and is trusted until
    /// every token it signed has expired (auth.max_token_ttl_secs + leeway).
    Rotate,
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Add a new vault key and re-encrypt every Aadhaar under it, in batches. Interrupted, it is
    /// resumed with `--resume`. Restart running gateways after it so they seal with the new key,
    /// then run `--resume` once more to catch what they sealed meanwhile.
    Rotate {
        /// Do not add a key: finish re-encrypting under the newest one.
        #[arg(long)]
        resume: bool,
        #[arg(long, default_value_t = 1000)]
        batch: i64,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and check the signed checkpoints; names the first entry altered, removed
    /// or reordered, and a truncated tail. Exits 1 when the log is not intact.
    Verify,
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client; prints its secret once.
    Add {
        #[arg(long)]
        id: String,
        /// Scopes the client may request, separated by spaces or commas.
        #[arg(long)]
        scopes: String,
        /// Comma-separated LGD state codes the client is limited to (default: every state).
        #[arg(long)]
        states: Option<String>,
        /// Space-separated purposes the client may put in its tokens; the first is its default.
        #[arg(long, default_value = "operations")]
        purposes: String,
        /// The client's own request rate (default: limits.rate_limit_rps).
        #[arg(long)]
        rate_limit_rps: Option<u32>,
    },
    /// Change a client's own request rate. Serving gateways apply it within
    /// limits.client_refresh_secs, with no restart.
    SetRate {
        #[arg(long)]
        id: String,
        /// Requests per second.
        #[arg(long, required_unless_present = "default", conflicts_with = "default")]
        rate_limit_rps: Option<u32>,
        /// Back to the configured default (limits.rate_limit_rps).
        #[arg(long)]
        default: bool,
    },
}

/// `--rate-limit-rps` as stored: 1 or more.
fn rate(rps: u32) -> Result<i32> {
    i32::try_from(rps)
        .ok()
        .filter(|r| *r > 0)
        .context("--rate-limit-rps: 1 to 2147483647")
}

// The matcher allocates millions of small strings; glibc's allocator spent a third of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    match cli.command {
        Command::Openapi { check } => openapi(check),
        Command::Check { kind } => {
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            gateway::check::run(kind, stdin, stdout)?;
            Ok(())
        }
        Command::Simulate {
            scheme,
            bind,
            seed,
            population,
            records,
            faults,
            webhook_url,
        } => {
            gateway::telemetry::init_logging(
                &settings.log.level,
                &settings.log.format,
                std::io::stderr,
            );
            let config = simulators::SimConfig {
                seed,
                population: population.max(records.unwrap_or(0)),
                records,
                faults: parse_faults(faults.as_deref())?,
                webhook_url,
                workers: 2,
                ..Default::default()
            };
            let schemes = parse_schemes(&scheme)?;
            actix_web::rt::System::new().block_on(async move {
                let listener =
                    TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
                let running = simulators::start(&config, &schemes, listener)?;
                for s in &schemes {
                    tracing::info!(scheme = %s, url = %running.base_url(*s), "Simulator serving.");
                }
                tokio::signal::ctrl_c().await?;
                running.handle.stop(true).await;
                Ok(())
            })
        }
        Command::Pull {
            scheme,
            page_size,
            sim_records,
            sim_faults,
            ndjson,
        } => {
            // The simulators' cut-off bodies make actix log errors: they are the knob working.
            gateway::telemetry::init_logging("warn,actix_http::h1=off", "text", std::io::stderr);
            let schemes = parse_schemes(&scheme)?;
            let faults = parse_faults(sim_faults.as_deref())?;
            actix_web::rt::System::new().block_on(pull(
                settings,
                schemes,
                page_size,
                sim_records,
                faults,
                ndjson,
            ))
        }
        Command::MatchSet {
            registry_size,
            incoming_size,
            seed,
            out,
        } => gateway::match_files::write_set(&out, registry_size, incoming_size, seed),
        Command::Match {
            registry,
            incoming,
            out,
            model,
            train,
            explain,
            truth,
            link_threshold,
            review_threshold,
            many_to_one,
        } => {
            if !(0.0..=1.0).contains(&link_threshold)
                || !(0.0..=link_threshold).contains(&review_threshold)
            {
                bail!("--review-threshold and --link-threshold: 0 <= review <= link <= 1");
            }
            gateway::match_files::run(gateway::match_files::MatchArgs {
                registry,
                incoming,
                out,
                model,
                train,
                explain,
                truth,
                options: matching::Options {
                    link: link_threshold,
                    review: review_threshold,
                    one_to_one: !many_to_one,
                    ..matching::Options::default()
                },
            })
        }
        Command::Token {
            client_id,
            scopes,
            states,
            ttl_secs,
            purpose,
        } => {
            let scopes = parse_scopes(&scopes)?;
            let states = parse_states(states.as_deref())?;
            let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
            if !settings.purposes.contains_key(&purpose) {
                bail!(
                    "--purpose: {purpose:?} is not configured; known: {}",
                    known_purposes(&settings)
                );
            }
            drop(keys);
            let tokens = runtime::tokens(&settings)?;
            let ttl = ttl_secs.unwrap_or(settings.auth.token_ttl_secs);
            if ttl > settings.auth.max_token_ttl_secs {
                bail!(
                    "--ttl-secs: at most auth.max_token_ttl_secs ({})",
                    settings.auth.max_token_ttl_secs
                );
            }
            let now = jsonwebtoken::get_current_timestamp();
            println!(
                "{}",
                tokens.issue(&client_id, &scopes, states.as_deref(), &purpose, ttl, now)?
            );
            Ok(())
        }
        Command::Serve { bind, demo } => {
            if let Some(bind) = bind {
                settings.server.bind = bind;
            }
            gateway::telemetry::init_logging(
                &settings.log.level,
                &settings.log.format,
                std::io::stdout,
            );
            with_database(&settings.clone(), |url| serve(settings, url, demo))
        }
        Command::Migrate => {
            gateway::telemetry::init_logging(&settings.log.level, "text", std::io::stderr);
            with_database(&settings.clone(), |url| async move {
                runtime::open_store(&settings, &url).await?;
                eprintln!("Migrations applied.");
                Ok(())
            })
        }
        Command::Clients {
            command:
                ClientsCommand::Add {
                    id,
                    scopes,
                    states,
                    purposes,
                    rate_limit_rps,
                },
        } => {
            let purposes: Vec<String> = purposes.split_whitespace().map(str::to_owned).collect();
            if purposes.is_empty() {
                bail!("--purposes: at least one");
            }
            if let Some(bad) = purposes
                .iter()
                .find(|p| !settings.purposes.contains_key(*p))
            {
                bail!(
                    "--purposes: {bad:?} is not configured; known: {}",
                    known_purposes(&settings)
                );
            }
            let rate_limit_rps = rate_limit_rps.map(rate).transpose()?;
            gateway::telemetry::init_logging("warn", "text", std::io::stderr);
            let scopes = parse_scopes(&scopes)?;
            let states = parse_states(states.as_deref())?;
            if id.is_empty()
                || id.len() > 100
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                bail!("--id: 1-100 letters, digits, '-', '_' or '.'");
            }
            with_database(&settings.clone(), |url| async move {
                let store = runtime::open_store(&settings, &url).await?;
                let secret = new_client_secret()?;
                let client = store::Client {
                    client_id: id.clone(),
                    secret_hash: hash_client_secret(&secret),
                    scopes,
                    states,
                    purposes,
                    rate_limit_rps,
                    enabled: true,
                };
                if !store.add_client(&client).await? {
                    bail!("a client with id {id} already exists");
                }
                eprintln!("Client {id} added. Its secret is shown once; store it safely:");
                println!("{secret}");
                Ok(())
            })
        }
        Command::Clients {
            command:
                ClientsCommand::SetRate {
                    id,
                    rate_limit_rps,
                    default: _,
                },
        } => {
            let rps = rate_limit_rps.map(rate).transpose()?;
            gateway::telemetry::init_logging("warn", "text", std::io::stderr);
            with_database(&settings.clone(), |url| async move {
                let store = runtime::open_store(&settings, &url).await?;
                if !store.set_client_rate(&id, rps).await? {
                    bail!("--id: no client {id}");
                }
                match rps {
                    Some(rps) => eprintln!("Client {id}: {rps} requests a second."),
                    None => eprintln!(
                        "Client {id}: the serving gateways' default rate (limits.rate_limit_rps)."
                    ),
                }
                eprintln!(
                    "Serving gateways apply it within {} s.",
                    settings.limits.client_refresh_secs
                );
                Ok(())
            })
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            gateway::telemetry::init_logging("warn", "text", std::io::stderr);
            with_database(&settings.clone(), |url| async move {
                let store = runtime::open_store(&settings, &url).await?;
                let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
                let verdict = gateway::audit::verify(
                    &store,
                    &settings.audit.checkpoint_file,
                    &keys.audit_public_hex(),
                )
                .await?;
                match verdict {
                    gateway::audit::Verdict::Intact {
                        entries,
                        checkpoints,
                    } => {
                        println!(
                            "intact: {entries} entries, chain unbroken, {checkpoints} signed checkpoints match"
                        );
                        Ok(())
                    }
                    gateway::audit::Verdict::Broken(why) => {
                        println!("NOT INTACT: {why}");
                        std::process::exit(1);
                    }
                }
            })
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let kid = gateway::keys::rotate_signing(&settings.auth.keys_dir)?;
            println!("{kid}");
            eprintln!(
                "New signing key {kid} is active; the previous one stays trusted for {} s.",
                settings.auth.max_token_ttl_secs + settings.auth.leeway_secs
            );
            Ok(())
        }
        Command::Vault {
            command: VaultCommand::Rotate { resume, batch },
        } => {
            gateway::telemetry::init_logging("warn", "text", std::io::stderr);
            with_database(&settings.clone(), |url| async move {
                let store = runtime::open_store(&settings, &url).await?;
                Keys::load_or_create(&settings.auth.keys_dir)?
                    .check_against(&store)
                    .await?;
                if !resume {
                    let id = gateway::keys::add_vault_key(&settings.auth.keys_dir)?;
                    Keys::load_or_create(&settings.auth.keys_dir)?
                        .check_against(&store)
                        .await?;
                    // Running gateways switch to the new key within VAULT_REFRESH; what they seal
                    // before then is still under the old one, so the re-encryption starts after.
                    let wait = gateway::keys::VAULT_REFRESH * 2;
                    eprintln!(
                        "Added vault key {id}; waiting {} s for running gateways to seal with it.",
                        wait.as_secs()
                    );
                    tokio::time::sleep(wait).await;
                }
                let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
                keys.check_against(&store).await?;
                let active = keys.vault.id().to_owned();
                let total = runtime::reseal_vault(&store, &keys, batch, |n| {
                    eprintln!("Re-encrypted {n} so far.")
                })
                .await?;
                eprintln!(
                    "Done: {total} re-encrypted under {active}. Vault by key: {:?}",
                    store.vault_key_counts().await?
                );
                Ok(())
            })
        }
        Command::Seed { count, seed } => {
            gateway::telemetry::init_logging(&settings.log.level, "text", std::io::stderr);
            with_database(&settings.clone(), |url| async move {
                let store = runtime::open_store(&settings, &url).await?;
                let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
                let started = std::time::Instant::now();
                let n = gateway::demo::seed(&store, &keys, seed, count).await?;
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "Seeded {n} workers in {secs:.1} s ({:.0} rows/s).",
                    n as f64 / secs
                );
                Ok(())
            })
        }
    }
}

/// Opens the database (starting the local cluster if needed), runs `f` on a Tokio runtime, and stops
/// the cluster afterwards. The runtime is built here, after the cluster's `postgres` was started
/// from this (main) thread, so the server's lifetime is tied to the process.
fn with_database<F, Fut>(settings: &Settings, f: F) -> Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let db = Database::open(settings)?;
    let result = actix_web::rt::System::new().block_on(f(db.url.clone()));
    drop(db);
    result
}

async fn serve(settings: Settings, url: String, demo: bool) -> Result<()> {
    let store = runtime::open_store(&settings, &url).await?;
    if demo {
        let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
        if store.count_workers().await? == 0 {
            let n = gateway::demo::seed(&store, &keys, 42, gateway::demo::DEMO_WORKERS).await?;
            tracing::info!(workers = n, "Seeded the demo registry.");
        }
    }
    let listener = TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("binding {}", settings.server.bind))?;
    let running = runtime::start(&settings, store, listener).await?;
    // The hint names this very binary, so it works pasted whether it came from `cargo run` or not.
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "shramsetu".into());
    tracing::info!(
        addr = %running.addr,
        docs = %format!("http://{}/docs/", running.addr),
        token = %format!("TOKEN=$({me} token --client-id demo --scopes workers:read,workers:write)"),
        "Shram Setu gateway serving. Get a token as the `token` field says, from this directory."
    );
    running.server.await?;
    running.state.audit.close();
    tracing::info!("Gateway stopped.");
    Ok(())
}

fn parse_schemes(s: &str) -> Result<Vec<domain::schemes::SchemeId>> {
    if s == "all" {
        return Ok(domain::schemes::SchemeId::ALL.to_vec());
    }
    s.split(',')
        .map(|one| {
            domain::schemes::SchemeId::parse(one.trim())
                .map_err(|e| anyhow::anyhow!("--scheme {one}: {e}"))
        })
        .collect()
}

fn parse_faults(s: Option<&str>) -> Result<simulators::Faults> {
    match s {
        None => Ok(Default::default()),
        Some(json) => serde_json::from_str(json).context("fault knobs (JSON)"),
    }
}

/// `shramsetu pull`: every record of each scheme through its adapter, timed.
async fn pull(
    mut settings: Settings,
    schemes: Vec<domain::schemes::SchemeId>,
    page_size: usize,
    sim_records: Option<u64>,
    faults: simulators::Faults,
    ndjson: bool,
) -> Result<()> {
    use std::io::Write;
    let local = if settings.schemes.needs_local_simulators() {
        let records = sim_records;
        let config = simulators::SimConfig {
            seed: settings.schemes.simulator_seed,
            population: settings
                .schemes
                .simulator_population
                .max(records.unwrap_or(0)),
            records,
            faults,
            workers: 1,
            ..Default::default()
        };
        let running = simulators::start(&config, &schemes, TcpListener::bind("127.0.0.1:0")?)?;
        settings.schemes.simulators_url = format!("http://{}", running.addr);
        Some(running)
    } else {
        None
    };
    let adapters = gateway::schemes::Adapters::new(&settings.schemes, None)?;
    let mut out = std::io::stdout().lock();
    for id in schemes {
        let adapter = adapters.get(id);
        let started = std::time::Instant::now();
        let mut cursor: Option<adapter_core::Cursor> = None;
        let mut seen = std::collections::HashSet::new();
        let mut pages = 0u64;
        loop {
            let page = adapter
                .pull(cursor.as_ref(), page_size)
                .await
                .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
            pages += 1;
            for r in &page.records {
                if seen.insert((r.reference.clone(), r.updated_at)) && ndjson {
                    serde_json::to_writer(&mut out, r)?;
                    out.write_all(b"\n")?;
                }
            }
            if page.more && cursor.as_ref() == Some(&page.cursor) {
                bail!("{id}: the feed says more records follow but its cursor did not move");
            }
            cursor = Some(page.cursor);
            if !page.more {
                break;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let health = adapter.upstream().health();
        eprintln!(
            "{id}: {} records in {pages} pages, {secs:.2} s, {:.0} records/s; {} HTTP requests ({} retried)",
            seen.len(),
            seen.len() as f64 / secs.max(1e-9),
            health.requests,
            health.requests.saturating_sub(pages),
        );
    }
    if let Some(r) = local {
        r.handle.stop(false).await;
    }
    Ok(())
}

fn openapi(check: Option<PathBuf>) -> Result<()> {
    let doc = gateway::app::openapi_json();
    match check {
        None => {
            print!("{doc}");
            Ok(())
        }
        Some(path) => {
            let committed = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            if committed != doc {
                bail!(
                    "{} is out of date with the code: regenerate it with `cargo run -p gateway -- openapi > {}` and commit it",
                    path.display(),
                    path.display()
                );
            }
            eprintln!("{} matches the code.", path.display());
            Ok(())
        }
    }
}

fn known_purposes(settings: &Settings) -> String {
    settings
        .purposes
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_scopes(s: &str) -> Result<Vec<String>> {
    // Spaces or commas: `--scopes workers:read,workers:write` needs no quoting.
    let scopes: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        bail!(
            "--scopes: unknown scope {bad:?}; known: {}",
            SCOPES.join(" ")
        );
    }
    Ok(scopes)
}

fn parse_states(s: Option<&str>) -> Result<Option<Vec<String>>> {
    s.map(|s| {
        s.split(',')
            .map(|c| {
                StateCode::parse(c.trim())
                    .map(|st| st.code().to_owned())
                    .map_err(|e| anyhow::anyhow!("--states: {c:?}: {e}"))
            })
            .collect()
    })
    .transpose()
}
