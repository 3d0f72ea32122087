//! A cached JWKS: keys selected by `kid`, refetched on an unknown `kid` at
//! most once per interval, one fetch at a time.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::config::JwtAlgorithm;
use super::AuthError;

/// A JWKS is a few kilobytes; the cap keeps a misbehaving endpoint from
/// filling memory.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an unknown `kid` may trigger a refetch, unless changed.
pub const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

enum Source {
    File(PathBuf),
    Url { client: reqwest::Client, url: reqwest::Url },
}

impl Source {
    fn parse(location: &str) -> anyhow::Result<Self> {
        let lower = location.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Ok(Self::File(PathBuf::from(location)));
        }
        let url = reqwest::Url::parse(location).context("JWT_JWKS is not a valid URL")?;
        if url.scheme() == "http" && !is_loopback(&url) {
            tracing::warn!(%url, "JWT_JWKS is fetched over plain http: use https outside local testing");
        }
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            // An https JWKS must not be redirected to plain http.
            .https_only(url.scheme() == "https")
            .build()
            .context("building the JWKS HTTP client")?;
        Ok(Self::Url { client, url })
    }

    async fn read(&self) -> anyhow::Result<Vec<u8>> {
        match self {
            Self::File(path) => {
                let path = path.clone();
                let bytes = tokio::task::spawn_blocking(move || {
                    std::fs::read(&path).with_context(|| format!("reading JWKS file {}", path.display()))
                })
                .await
                .context("JWKS file read task failed")??;
                ensure!(bytes.len() <= MAX_JWKS_BYTES, "JWKS file is larger than {MAX_JWKS_BYTES} bytes");
                Ok(bytes)
            }
            Self::Url { client, url } => {
                let mut response = client
                    .get(url.clone())
                    .send()
                    .await
                    .with_context(|| format!("fetching JWKS from {url}"))?
                    .error_for_status()
                    .with_context(|| format!("fetching JWKS from {url}"))?;
                let mut bytes = Vec::new();
                while let Some(chunk) = response.chunk().await.with_context(|| format!("reading JWKS from {url}"))? {
                    ensure!(
                        bytes.len() + chunk.len() <= MAX_JWKS_BYTES,
                        "JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes"
                    );
                    bytes.extend_from_slice(&chunk);
                }
                Ok(bytes)
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Url { url, .. } => url.to_string(),
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    // IPv6 hosts come bracketed, as in `http://[::1]:8080/`.
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || ip.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The usable keys of one JWKS document.
struct KeySet {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    /// Set when the document holds exactly one usable key, which then also
    /// verifies tokens without a `kid` (and, if the key itself has no `kid`,
    /// any token).
    only: Option<(Option<String>, Arc<DecodingKey>)>,
}

impl KeySet {
    fn find(&self, kid: Option<&str>) -> Option<Arc<DecodingKey>> {
        if let Some(key) = kid.and_then(|kid| self.by_kid.get(kid)) {
            return Some(Arc::clone(key));
        }
        match (&self.only, kid) {
            (Some((_, key)), None) | (Some((None, key)), Some(_)) => Some(Arc::clone(key)),
            _ => None,
        }
    }

    /// Keeps the keys of `document` that fit `algorithm`; fails when none does.
    fn parse(document: &[u8], algorithm: JwtAlgorithm) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(document).context("JWKS is not a JSON object with `keys`")?;

        let mut keys: Vec<(Option<String>, Arc<DecodingKey>)> = Vec::new();
        for value in document.keys {
            // One key we cannot read (another algorithm, a newer key type)
            // must not make the whole document unusable.
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else { continue };
            if !fits(&jwk, algorithm) {
                continue;
            }
            match DecodingKey::from_jwk(&jwk) {
                Ok(key) => keys.push((jwk.common.key_id.clone(), Arc::new(key))),
                Err(err) => tracing::warn!(kid = ?jwk.common.key_id, error = %err, "skipping unreadable JWK"),
            }
        }
        if keys.is_empty() {
            bail!("JWKS holds no {algorithm} signing key");
        }

        let mut by_kid = HashMap::new();
        for (kid, key) in &keys {
            if let Some(kid) = kid {
                // The first key with a given kid wins, as in a lookup by list order.
                by_kid.entry(kid.clone()).or_insert_with(|| Arc::clone(key));
            }
        }
        let only = if keys.len() == 1 { keys.pop() } else { None };
        Ok(Self { by_kid, only })
    }
}

/// Whether `jwk` may verify tokens of the configured algorithm: its family
/// (and curve) must match, and its optional `use` and `alg` must agree.
fn fits(jwk: &Jwk, algorithm: JwtAlgorithm) -> bool {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))) {
        return false;
    }
    let alg_ok = match (&jwk.common.key_algorithm, algorithm) {
        (None, _) => true,
        (Some(KeyAlgorithm::RS256), JwtAlgorithm::Rs256) | (Some(KeyAlgorithm::ES256), JwtAlgorithm::Es256) => true,
        (Some(_), _) => false,
    };
    let family_ok = match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::RSA(_), JwtAlgorithm::Rs256) => true,
        (AlgorithmParameters::EllipticCurve(params), JwtAlgorithm::Es256) => params.curve == EllipticCurve::P256,
        _ => false,
    };
    alg_ok && family_ok
}

pub(crate) struct JwksCache {
    source: Source,
    algorithm: JwtAlgorithm,
    keys: RwLock<Arc<KeySet>>,
    /// Held while refetching (single flight); holds when the last fetch,
    /// good or bad, ended.
    last_fetch: tokio::sync::Mutex<Instant>,
    refresh_interval_ms: AtomicU64,
    fetch_count: AtomicU64,
}

impl JwksCache {
    /// Loads the document once; a failure here is a configuration error.
    pub(crate) async fn load(location: &str, algorithm: JwtAlgorithm) -> anyhow::Result<Self> {
        let source = Source::parse(location)?;
        let fetch_count = AtomicU64::new(1);
        let keys = KeySet::parse(&source.read().await?, algorithm)
            .with_context(|| format!("loading JWKS from {}", source.describe()))?;
        Ok(Self {
            source,
            algorithm,
            keys: RwLock::new(Arc::new(keys)),
            last_fetch: tokio::sync::Mutex::new(Instant::now()),
            refresh_interval_ms: AtomicU64::new(duration_ms(DEFAULT_JWKS_REFRESH_INTERVAL)),
            fetch_count,
        })
    }

    pub(crate) fn set_refresh_interval(&self, interval: Duration) {
        self.refresh_interval_ms.store(duration_ms(interval), Ordering::Relaxed);
    }

    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetch_count.load(Ordering::Relaxed)
    }

    fn current(&self) -> Arc<KeySet> {
        // A poisoned lock still holds a complete Arc: the swap is one store.
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The key for a token's `kid`, refetching the document when the `kid`
    /// is unknown and the last fetch is older than the refresh interval.
    pub(crate) async fn key_for(&self, kid: Option<&str>) -> Result<Arc<DecodingKey>, AuthError> {
        if let Some(key) = self.current().find(kid) {
            return Ok(key);
        }
        // Without a kid a refetch cannot help choose among several keys.
        let Some(kid) = kid else { return Err(AuthError::MissingKeyId) };

        let mut last_fetch = self.last_fetch.lock().await;
        // Another request may have refetched while this one waited.
        if let Some(key) = self.current().find(Some(kid)) {
            return Ok(key);
        }
        let interval = Duration::from_millis(self.refresh_interval_ms.load(Ordering::Relaxed));
        if last_fetch.elapsed() < interval {
            return Err(AuthError::UnknownKey);
        }
        self.refetch().await;
        // Stamped after the fetch, so requests queued behind it do not fetch
        // again however long it took.
        *last_fetch = Instant::now();
        self.current().find(Some(kid)).ok_or(AuthError::UnknownKey)
    }

    /// Replaces the keys with a fresh copy of the document; on failure keeps
    /// the last good keys.
    async fn refetch(&self) {
        self.fetch_count.fetch_add(1, Ordering::Relaxed);
        let fetched = match self.source.read().await {
            Ok(bytes) => KeySet::parse(&bytes, self.algorithm),
            Err(err) => Err(err),
        };
        match fetched {
            Ok(keys) => {
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
                tracing::info!(source = %self.source.describe(), "JWKS refreshed");
            }
            Err(err) => tracing::warn!(
                source = %self.source.describe(),
                error = format!("{err:#}"),
                "JWKS refresh failed; keeping the previous keys"
            ),
        }
    }
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
