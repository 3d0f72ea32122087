//! Authentication: JWT verification (keys, JWKS) and the signed-in viewer.
//!
//! The algorithm comes from configuration only: every key's `Validation`
//! allows exactly that algorithm, and a token whose header names another one
//! (`none`, or HS256 against an RSA public key) is rejected before any key
//! is touched.
mod config;
mod jwks;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use config::{AuthConfig, JwtAlgorithm};
pub use jwks::DEFAULT_JWKS_REFRESH_INTERVAL;

use crate::error::AppError;
use jwks::JwksCache;

/// Longer tokens are refused unread; real ones are well under 8 KiB.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The verified claims the API uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub sub: String,
    pub orcid: Option<String>,
    /// Empty when the token has no `roles` claim.
    pub roles: Vec<String>,
}

/// Why a token was refused. The messages are for clients and never contain
/// the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    Malformed,
    AlgorithmNotAllowed,
    /// No `kid` in the token, and several keys it could be for.
    MissingKeyId,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    /// The name of a required claim that is absent.
    MissingClaim(String),
    InvalidClaims,
    /// The key could not be used (logged): a server-side problem.
    Unverifiable,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("the bearer token is not a well-formed JWT"),
            Self::AlgorithmNotAllowed => f.write_str("the token is signed with an algorithm this API does not accept"),
            Self::MissingKeyId => f.write_str("the token has no key id (kid)"),
            Self::UnknownKey => f.write_str("the token is signed with an unknown key"),
            Self::BadSignature => f.write_str("the token signature is invalid"),
            Self::Expired => f.write_str("the token has expired"),
            Self::NotYetValid => f.write_str("the token is not valid yet"),
            Self::WrongIssuer => f.write_str("the token comes from an issuer this API does not trust"),
            Self::WrongAudience => f.write_str("the token is not meant for this API"),
            Self::MissingClaim(claim) => write!(f, "the token lacks the required `{claim}` claim"),
            Self::InvalidClaims => f.write_str("the token claims are malformed"),
            Self::Unverifiable => f.write_str("the token could not be verified"),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for AppError {
    fn from(err: AuthError) -> Self {
        AppError::Unauthenticated(err.to_string())
    }
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        match err.kind() {
            ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => Self::Malformed,
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm | ErrorKind::UnsupportedAlgorithm => {
                Self::AlgorithmNotAllowed
            }
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim.clone()),
            ErrorKind::InvalidClaimFormat(_) | ErrorKind::InvalidSubject | ErrorKind::Json(_) => Self::InvalidClaims,
            _ => {
                tracing::warn!(error = %err, "token verification failed on the key side");
                Self::Unverifiable
            }
        }
    }
}

enum Keys {
    /// The HS256 secret or a PEM public key.
    Single(DecodingKey),
    Jwks(JwksCache),
}

struct Inner {
    algorithm: JwtAlgorithm,
    validation: Validation,
    keys: Keys,
}

/// Verifies bearer tokens. Cheap to clone: clones share keys and JWKS cache.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = match self.inner.keys {
            Keys::Single(_) => "single key",
            Keys::Jwks(_) => "JWKS",
        };
        f.debug_struct("Authenticator").field("algorithm", &self.inner.algorithm).field("keys", &keys).finish()
    }
}

/// The header fields read before verification, to pick the key and to
/// refuse a foreign algorithm with a clear message.
#[derive(Deserialize)]
struct PeekedHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    // Optional here so that an absent `sub` is reported by the validation
    // as a missing claim rather than as a parse error.
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    orcid: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

impl Authenticator {
    /// Builds the verifier from configuration: `None` when no key material
    /// is configured at all; an error when the configuration is inconsistent
    /// or a key cannot be loaded (so the server fails at start).
    pub async fn from_config(config: &AuthConfig) -> anyhow::Result<Option<Self>> {
        let secret = config.jwt_secret.as_deref().filter(|s| !s.is_empty());
        let key_file = config.jwt_public_key_file.as_deref().filter(|p| !p.as_os_str().is_empty());
        let jwks = config.jwt_jwks.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let algorithm = config.jwt_algorithm;

        if secret.is_none() && key_file.is_none() && jwks.is_none() {
            return Ok(None);
        }

        let keys = match algorithm {
            JwtAlgorithm::Hs256 => {
                ensure!(
                    key_file.is_none() && jwks.is_none(),
                    "JWT_PUBLIC_KEY_FILE and JWT_JWKS are for RS256/ES256; with JWT_ALGORITHM=HS256 set JWT_SECRET"
                );
                let secret = secret.context("JWT_ALGORITHM=HS256 needs JWT_SECRET")?;
                if secret.len() < 32 {
                    tracing::warn!("JWT_SECRET is shorter than 32 bytes: use HS256 for development only");
                }
                Keys::Single(DecodingKey::from_secret(secret.as_bytes()))
            }
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                ensure!(
                    secret.is_none(),
                    "JWT_SECRET is only used with HS256; JWT_ALGORITHM={algorithm} needs JWT_PUBLIC_KEY_FILE or JWT_JWKS"
                );
                match (key_file, jwks) {
                    (Some(_), Some(_)) => bail!("set only one of JWT_PUBLIC_KEY_FILE and JWT_JWKS"),
                    (Some(path), None) => Keys::Single(load_public_key(path, algorithm)?),
                    (None, Some(location)) => Keys::Jwks(JwksCache::load(location, algorithm).await?),
                    (None, None) => bail!("JWT_ALGORITHM={algorithm} needs JWT_PUBLIC_KEY_FILE or JWT_JWKS"),
                }
            }
        };

        Ok(Some(Self { inner: Arc::new(Inner { algorithm, validation: validation(config), keys }) }))
    }

    /// Sets how often an unknown `kid` may trigger a JWKS refetch (default
    /// [`DEFAULT_JWKS_REFRESH_INTERVAL`]). Applies to every clone; no effect
    /// without a JWKS.
    pub fn with_jwks_refresh_interval(self, interval: Duration) -> Self {
        if let Keys::Jwks(cache) = &self.inner.keys {
            cache.set_refresh_interval(interval);
        }
        self
    }

    /// How many times the JWKS has been fetched (failed attempts and the
    /// initial load included; 0 without a JWKS).
    pub fn jwks_fetch_count(&self) -> u64 {
        match &self.inner.keys {
            Keys::Single(_) => 0,
            Keys::Jwks(cache) => cache.fetch_count(),
        }
    }

    pub fn algorithm(&self) -> JwtAlgorithm {
        self.inner.algorithm
    }

    /// Verifies `token` (without the `Bearer ` prefix) and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<TokenClaims, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let header = peek_header(token)?;
        if header.alg != self.inner.algorithm.name() {
            return Err(AuthError::AlgorithmNotAllowed);
        }

        let data = match &self.inner.keys {
            Keys::Single(key) => jsonwebtoken::decode::<RawClaims>(token, key, &self.inner.validation)?,
            Keys::Jwks(cache) => {
                let key = cache.key_for(header.kid.as_deref()).await?;
                jsonwebtoken::decode::<RawClaims>(token, &key, &self.inner.validation)?
            }
        };

        let claims = data.claims;
        let sub = claims.sub.filter(|s| !s.is_empty()).ok_or_else(|| AuthError::MissingClaim("sub".to_owned()))?;
        Ok(TokenClaims { sub, orcid: claims.orcid, roles: claims.roles.unwrap_or_default() })
    }
}

fn validation(config: &AuthConfig) -> Validation {
    let mut validation = Validation::new(config.jwt_algorithm.to_jwt());
    let mut required = vec!["exp", "sub"];
    validation.leeway = config.jwt_leeway_secs;
    validation.validate_nbf = true;

    if let Some(issuer) = config.jwt_issuer.as_deref().filter(|s| !s.is_empty()) {
        validation.set_issuer(&[issuer]);
        required.push("iss");
    }
    match config.jwt_audience.as_deref().filter(|s| !s.is_empty()) {
        Some(audience) => {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        // Otherwise jsonwebtoken refuses every token that carries an `aud`.
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&required);
    validation
}

fn load_public_key(path: &Path, algorithm: JwtAlgorithm) -> anyhow::Result<DecodingKey> {
    let pem = std::fs::read(path).with_context(|| format!("reading JWT_PUBLIC_KEY_FILE {}", path.display()))?;
    let key = match algorithm {
        JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(&pem),
        JwtAlgorithm::Es256 => DecodingKey::from_ec_pem(&pem),
        JwtAlgorithm::Hs256 => bail!("HS256 uses JWT_SECRET, not a public key"),
    };
    key.with_context(|| format!("JWT_PUBLIC_KEY_FILE {} is not a PEM {algorithm} public key", path.display()))
}

fn peek_header(token: &str) -> Result<PeekedHeader, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::Malformed);
    };
    let json = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)
}

/// Signs an HS256 token with `iat` and `exp` (now + `ttl`), for the
/// `scholargraph token` helper and for tests.
pub fn issue_dev_token(
    secret: &str,
    sub: &str,
    orcid: Option<&str>,
    roles: &[String],
    ttl: Duration,
) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct DevClaims<'a> {
        sub: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        orcid: Option<&'a str>,
        roles: &'a [String],
        iat: u64,
        exp: u64,
    }

    ensure!(!secret.is_empty(), "the signing secret is empty");
    ensure!(!sub.is_empty(), "the subject is empty");
    let iat = jsonwebtoken::get_current_timestamp();
    let exp = iat.checked_add(ttl.as_secs()).context("the token lifetime is too long")?;
    let claims = DevClaims { sub, orcid, roles, iat, exp };
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("signing the token")
}
