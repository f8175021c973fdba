//! `shramsetu keys rotate` (token signing keys) and `shramsetu vault rotate` (the Aadhaar vault).

use anyhow::Result;
use gateway::config::Settings;
use gateway::keys::Keys;
use gateway::runtime;

use crate::database::with_database;

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key; it signs from now on (running gateways pick it up within 30 s, or at
    /// once when they see a token it signed). The old key stays in the JWKS and is trusted until
    /// every token it signed has expired (auth.max_token_ttl_secs + leeway).
    Rotate,
}

#[derive(clap::Subcommand)]
pub enum VaultCommand {
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

pub fn keys(settings: &Settings, command: KeysCommand) -> Result<()> {
    let KeysCommand::Rotate = command;
    let kid = gateway::keys::rotate_signing(&settings.auth.keys_dir)?;
    println!("{kid}");
    eprintln!(
        "New signing key {kid} is active; the previous one stays trusted for {} s.",
        settings.auth.max_token_ttl_secs + settings.auth.leeway_secs
    );
    Ok(())
}

pub fn vault(settings: Settings, command: VaultCommand) -> Result<()> {
    let VaultCommand::Rotate { resume, batch } = command;
    gateway::telemetry::init_logging(settings.log.level_or("warn"), "text", std::io::stderr);
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
