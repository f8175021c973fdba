//! Key material, as PEM files in one directory: the Ed25519 key that signs tokens, the HMAC key of
//! the Aadhaar token, and the AES-256-GCM vault keys (`vault-<id>.pem`, the highest id active).
//! Missing keys are created on first start, readable by the owner only.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{TokenKey, VaultKey};

const SIGNING_FILE: &str = "signing-ed25519.pem";
const TOKEN_FILE: &str = "aadhaar-token.pem";
const TOKEN_LABEL: &str = "SHRAMSETU AADHAAR TOKEN KEY";
const VAULT_LABEL: &str = "SHRAMSETU VAULT KEY";

/// The token signing key: PKCS#8 DER, and its public half as a JWK.
pub struct SigningKey {
    pub pkcs8_der: Vec<u8>,
    pub public: Vec<u8>,
    /// RFC 7638 thumbprint of the public JWK.
    pub kid: String,
}

pub struct Keys {
    pub signing: SigningKey,
    pub token: TokenKey,
    /// The active vault key: new ciphertexts are sealed with it.
    pub vault: VaultKey,
    /// Earlier vault keys, to open what they sealed until `shramsetu vault rotate` re-encrypts it.
    pub older_vaults: Vec<VaultKey>,
    /// Signs audit checkpoints.
    pub audit: Ed25519KeyPair,
}

const AUDIT_FILE: &str = "audit-ed25519.pem";

impl Keys {
    /// Loads the keys under `dir`, creating the missing ones.
    pub fn load_or_create(dir: &Path) -> Result<Keys> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        let signing = load_signing(dir)?;
        let token_secret = load_secret(&dir.join(TOKEN_FILE), TOKEN_LABEL)?;
        let token =
            TokenKey::new(&token_secret).map_err(|e| anyhow::anyhow!("{TOKEN_FILE}: {e}"))?;
        let mut older_vaults = load_vaults(dir)?;
        let vault = older_vaults
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no vault key"))?;
        let audit = load_ed25519(&dir.join(AUDIT_FILE))?;
        let audit =
            Ed25519KeyPair::from_pkcs8(&audit).map_err(|e| anyhow::anyhow!("{AUDIT_FILE}: {e}"))?;
        Ok(Keys {
            signing,
            token,
            vault,
            older_vaults,
            audit,
        })
    }

    /// Refuses to go on when the token key or a vault key differs from the one the stored data was
    /// written with (key files lost, or the wrong directory): new tokens would not find duplicates,
    /// and new ciphertexts could not be told from old ones.
    pub async fn check_against(&self, store: &store::Store) -> Result<()> {
        if !store
            .key_matches("aadhaar-token", &self.token.fingerprint())
            .await?
        {
            bail!(
                "the Aadhaar token key in {TOKEN_FILE} is not the one this registry was built with: restore \
                 the original key file (a new key would let the same Aadhaar register twice)"
            );
        }
        for v in self.older_vaults.iter().chain(std::iter::once(&self.vault)) {
            if !store
                .key_matches(&format!("vault:{}", v.id()), v.fingerprint())
                .await?
            {
                bail!(
                    "vault key {} is not the one this registry's vault was sealed with: restore it",
                    v.id()
                );
            }
        }
        Ok(())
    }

    /// The vault key with this id.
    pub fn vault_key(&self, id: &str) -> Option<&VaultKey> {
        std::iter::once(&self.vault)
            .chain(&self.older_vaults)
            .find(|k| k.id() == id)
    }

    /// Hex of the audit checkpoint key's public half: what `audit verify` trusts.
    pub fn audit_public_hex(&self) -> String {
        domain::audit::hex(self.audit.public_key().as_ref())
    }
}

/// How often a serving gateway looks for a vault key added by `shramsetu vault rotate`.
pub const VAULT_REFRESH: Duration = Duration::from_secs(5);

/// The vault key new ciphertexts are sealed with. A serving gateway switches to a key that
/// `shramsetu vault rotate` adds (within [`VAULT_REFRESH`]), without a restart.
pub struct ActiveVault {
    dir: PathBuf,
    key: RwLock<Arc<VaultKey>>,
}

impl ActiveVault {
    pub fn new(dir: &Path, key: VaultKey) -> ActiveVault {
        ActiveVault {
            dir: dir.to_owned(),
            key: RwLock::new(Arc::new(key)),
        }
    }

    pub fn get(&self) -> Arc<VaultKey> {
        self.key.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Switches to the newest vault key under the keys directory when it is not the active one,
    /// once it is known to be the key the registry recorded for its id. Returns the new id.
    pub async fn refresh(&self, store: &store::Store) -> Result<Option<String>> {
        let newest = vault_files(&self.dir)?.pop().map(|(n, _)| format!("v{n}"));
        if newest.is_none() || newest.as_deref() == Some(self.get().id()) {
            return Ok(None);
        }
        let key = load_vaults(&self.dir)?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no vault key"))?;
        if !store
            .key_matches(&format!("vault:{}", key.id()), key.fingerprint())
            .await?
        {
            bail!(
                "vault key {} is not the one this registry recorded for it: still sealing with {}",
                key.id(),
                self.get().id()
            );
        }
        let id = key.id().to_owned();
        *self.key.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(Some(id))
    }
}

impl SigningKey {
    /// From a PKCS#8 (v1) Ed25519 key.
    pub fn from_pkcs8(der: Vec<u8>) -> Result<SigningKey> {
        let pair = Ed25519KeyPair::from_pkcs8(&der)
            .map_err(|e| anyhow::anyhow!("bad Ed25519 key: {e}"))?;
        let public = pair.public_key().as_ref().to_vec();
        let x = URL_SAFE_NO_PAD.encode(&public);
        // RFC 7638: SHA-256 over the required members in lexicographic order, no white space.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        Ok(SigningKey {
            pkcs8_der: der,
            public,
            kid: URL_SAFE_NO_PAD.encode(digest.as_ref()),
        })
    }

    /// The public key as a JWK for `/.well-known/jwks.json`.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(&self.public),
        })
    }
}

/// The active signing key (the newest), creating the first when there is none.
fn load_signing(dir: &Path) -> Result<SigningKey> {
    let files = signing_files(dir)?;
    let path = files
        .last()
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| dir.join(SIGNING_FILE));
    SigningKey::from_pkcs8(load_ed25519(&path)?)
}

/// Signing key files by generation: `signing-ed25519.pem` is the first, `signing-ed25519-vN.pem`
/// the N-th.
fn signing_files(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut files: Vec<(u32, PathBuf)> = fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let generation = if name == SIGNING_FILE {
                1
            } else {
                name.strip_prefix("signing-ed25519-v")?
                    .strip_suffix(".pem")?
                    .parse()
                    .ok()?
            };
            Some((generation, e.path()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every signing key still trusted, oldest first (the last one signs). A key retires when the next
/// one is created (that file's modification time); it stays trusted, and published in the JWKS,
/// for `grace_secs` more, so every token it signed expires before it goes.
pub fn trusted_signing_keys(dir: &Path, grace_secs: u64) -> Result<Vec<SigningKey>> {
    let files = signing_files(dir)?;
    let now = std::time::SystemTime::now();
    let mut keys = Vec::new();
    for (i, (_, path)) in files.iter().enumerate() {
        if let Some((_, next)) = files.get(i + 1) {
            let retired = fs::metadata(next)?.modified()?;
            if now
                .duration_since(retired)
                .is_ok_and(|d| d.as_secs() > grace_secs)
            {
                continue;
            }
        }
        keys.push(SigningKey::from_pkcs8(read_pem(path, "PRIVATE KEY")?)?);
    }
    if keys.is_empty() {
        keys.push(load_signing(dir)?);
    }
    Ok(keys)
}

/// Creates the next signing key, which signs from now on. Returns its key id.
pub fn rotate_signing(dir: &Path) -> Result<String> {
    let next = signing_files(dir)?.last().map(|(g, _)| g + 1).unwrap_or(1);
    let path = if next == 1 {
        dir.join(SIGNING_FILE)
    } else {
        dir.join(format!("signing-ed25519-v{next}.pem"))
    };
    Ok(SigningKey::from_pkcs8(load_ed25519(&path)?)?.kid)
}

/// An Ed25519 PKCS#8 key, created when missing.
fn load_ed25519(path: &Path) -> Result<Vec<u8>> {
    if !path.exists() {
        // PKCS#8 v1 (without the public key inside) is the form jsonwebtoken reads.
        let doc = Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("key generation failed"))?;
        write_new(
            path,
            &pem::encode(&pem::Pem::new("PRIVATE KEY", doc.as_ref().to_vec())),
        )?;
        tracing::info!(path = %path.display(), "Created a new Ed25519 key.");
    }
    read_pem(path, "PRIVATE KEY")
}

fn load_secret(path: &Path, label: &str) -> Result<Vec<u8>> {
    if !path.exists() {
        write_new(
            path,
            &pem::encode(&pem::Pem::new(label, random_bytes::<32>()?.to_vec())),
        )?;
        tracing::info!(path = %path.display(), "Created a new key.");
    }
    read_pem(path, label)
}

/// Every vault key, oldest first; the last is the active one. Creates `vault-v1.pem` when none.
fn load_vaults(dir: &Path) -> Result<Vec<VaultKey>> {
    let mut ids = vault_files(dir)?;
    if ids.is_empty() {
        let path = dir.join("vault-v1.pem");
        load_secret(&path, VAULT_LABEL)?;
        ids.push((1, path));
    }
    ids.iter()
        .map(|(n, path)| {
            let secret = read_pem(path, VAULT_LABEL)?;
            VaultKey::new(format!("v{n}"), &secret)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .collect()
}

fn vault_files(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut ids: Vec<(u32, PathBuf)> = fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name
                .strip_prefix("vault-v")?
                .strip_suffix(".pem")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    ids.sort();
    Ok(ids)
}

/// Adds the next vault key (`vault-v<N+1>.pem`), which becomes the active one. Returns its id.
pub fn add_vault_key(dir: &Path) -> Result<String> {
    let next = vault_files(dir)?.last().map(|(n, _)| n + 1).unwrap_or(1);
    load_secret(&dir.join(format!("vault-v{next}.pem")), VAULT_LABEL)?;
    Ok(format!("v{next}"))
}

fn read_pem(path: &Path, label: &str) -> Result<Vec<u8>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let pem = pem::parse(text).with_context(|| format!("{} is not PEM", path.display()))?;
    if pem.tag() != label {
        bail!(
            "{} holds a {} block, expected {label}",
            path.display(),
            pem.tag()
        );
    }
    Ok(pem.into_contents())
}

fn write_new(path: &Path, contents: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

pub use registry::random::{nonce, random_bytes};

impl registry::SealingKey for ActiveVault {
    fn current(&self) -> Arc<VaultKey> {
        self.get()
    }

    fn by_id(&self, id: &str) -> Option<Arc<VaultKey>> {
        let current = self.get();
        if current.id() == id {
            return Some(current);
        }
        load_vaults(&self.dir)
            .ok()?
            .into_iter()
            .find(|k| k.id() == id)
            .map(Arc::new)
    }
}
