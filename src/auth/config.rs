//! Settings for verifying bearer tokens, read from the environment.
use std::fmt;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The one signature algorithm tokens must use. It is pinned here and never
/// taken from a token's header, which is what defeats `alg: none` and
/// algorithm-confusion tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret (`JWT_SECRET`): for development.
    #[value(name = "HS256")]
    Hs256,
    /// RSA PKCS#1 v1.5 with SHA-256: a PEM public key or an RSA JWK.
    #[value(name = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256: a PEM public key or an EC P-256 JWK.
    #[value(name = "ES256")]
    Es256,
}

impl JwtAlgorithm {
    /// The name used in a JWT header and in `JWT_ALGORITHM`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    pub(crate) fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How tokens are verified. With no key material at all (no secret, no
/// public key file, no JWKS) authentication is off; empty values count as
/// unset.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// Algorithm every token must be signed with: HS256 (shared secret, development), RS256 or ES256.
    #[arg(long, env = "JWT_ALGORITHM", value_enum, default_value = "HS256", ignore_case = true)]
    pub jwt_algorithm: JwtAlgorithm,

    // `Debug` prints this secret: never log the configuration with `{:?}`.
    /// HS256 shared secret (development).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// PEM public key (SPKI) for RS256 or ES256.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// JWKS document for RS256 or ES256: a file path or an `https://` URL (`http://` for local testing).
    #[arg(long, env = "JWT_JWKS")]
    pub jwt_jwks: Option<String>,

    /// Required `iss` claim, when set.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim, when set.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Clock skew allowed when checking `exp` and `nbf`, in seconds.
    #[arg(long, env = "JWT_LEEWAY_SECS", default_value_t = 30)]
    pub jwt_leeway_secs: u64,
}

impl Default for AuthConfig {
    /// Nothing configured: HS256, no keys (authentication off), 30 s leeway.
    fn default() -> Self {
        Self {
            jwt_algorithm: JwtAlgorithm::Hs256,
            jwt_secret: None,
            jwt_public_key_file: None,
            jwt_jwks: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_leeway_secs: 30,
        }
    }
}
