use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::*;

const RSA_PRIVATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/rsa_private.pem");
const RSA_PUBLIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/rsa_public.pem");
const EC_PRIVATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/ec_private.pem");
const EC_PUBLIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/ec_public.pem");
const JWKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/jwks.json");

const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).expect("fixture file")
}

fn rsa_signer() -> EncodingKey {
    EncodingKey::from_rsa_pem(&read(RSA_PRIVATE)).expect("RSA private key")
}

fn ec_signer() -> EncodingKey {
    EncodingKey::from_ec_pem(&read(EC_PRIVATE)).expect("EC private key")
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn hs(claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), None, claims)
}

fn valid_claims() -> Value {
    json!({ "sub": "user-1", "exp": now() + 600 })
}

fn hs_config() -> AuthConfig {
    AuthConfig { jwt_secret: Some(SECRET.into()), ..AuthConfig::default() }
}

async fn build(config: &AuthConfig) -> Authenticator {
    Authenticator::from_config(config).await.expect("valid config").expect("key material configured")
}

#[tokio::test]
async fn hs256_dev_token_yields_sub_orcid_and_roles() {
    let auth = build(&hs_config()).await;
    let roles = vec!["curator".to_owned(), "admin".to_owned()];
    let token = issue_dev_token(SECRET, "user-1", Some("0000-0002-1825-0097"), &roles, Duration::from_secs(300))
        .expect("token");
    let claims = auth.verify(&token).await.expect("valid token");
    assert_eq!(
        claims,
        TokenClaims { sub: "user-1".into(), orcid: Some("0000-0002-1825-0097".into()), roles: roles.clone() }
    );
}

#[tokio::test]
async fn absent_optional_claims_mean_no_orcid_and_no_roles() {
    let auth = build(&hs_config()).await;
    let claims = auth.verify(&hs(&valid_claims())).await.expect("valid token");
    assert_eq!(claims, TokenClaims { sub: "user-1".into(), orcid: None, roles: vec![] });
}

#[tokio::test]
async fn expired_token_is_rejected_but_leeway_is_honoured() {
    let auth = build(&hs_config()).await;
    let expired = hs(&json!({ "sub": "u", "exp": now() - 120 }));
    assert_eq!(auth.verify(&expired).await, Err(AuthError::Expired));
    // 10 s past exp is inside the default 30 s leeway.
    let within_leeway = hs(&json!({ "sub": "u", "exp": now() - 10 }));
    assert!(auth.verify(&within_leeway).await.is_ok());
}

#[tokio::test]
async fn wrong_secret_is_rejected() {
    let auth = build(&hs_config()).await;
    let token = issue_dev_token("another-secret-of-sufficient-length!!", "u", None, &[], Duration::from_secs(60))
        .expect("token");
    assert_eq!(auth.verify(&token).await, Err(AuthError::BadSignature));
}

#[tokio::test]
async fn alg_none_token_is_rejected() {
    let auth = build(&hs_config()).await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(valid_claims().to_string());
    let token = format!("{header}.{payload}.");
    assert_eq!(auth.verify(&token).await, Err(AuthError::AlgorithmNotAllowed));
}

#[tokio::test]
async fn hs256_token_keyed_with_the_rsa_public_pem_is_rejected() {
    let public_pem = read(RSA_PUBLIC);
    let forged = sign(Algorithm::HS256, &EncodingKey::from_secret(&public_pem), None, &valid_claims());

    let config = AuthConfig {
        jwt_algorithm: JwtAlgorithm::Rs256,
        jwt_public_key_file: Some(RSA_PUBLIC.into()),
        ..AuthConfig::default()
    };
    let auth = build(&config).await;
    assert_eq!(auth.verify(&forged).await, Err(AuthError::AlgorithmNotAllowed));

    // The forgery is a correct HMAC over those bytes: only the pinned
    // algorithm stops it.
    let pem_as_secret = String::from_utf8(public_pem).expect("PEM is ASCII");
    let naive = build(&AuthConfig { jwt_secret: Some(pem_as_secret), ..AuthConfig::default() }).await;
    assert!(naive.verify(&forged).await.is_ok());
}

#[tokio::test]
async fn rs256_verifies_via_pem_and_via_jwks_file() {
    let token = sign(Algorithm::RS256, &rsa_signer(), Some("rsa-1"), &valid_claims());
    let pem = AuthConfig {
        jwt_algorithm: JwtAlgorithm::Rs256,
        jwt_public_key_file: Some(RSA_PUBLIC.into()),
        ..AuthConfig::default()
    };
    let jwks = AuthConfig { jwt_algorithm: JwtAlgorithm::Rs256, jwt_jwks: Some(JWKS.into()), ..AuthConfig::default() };
    for config in [pem, jwks] {
        let claims = build(&config).await.verify(&token).await.expect("valid RS256 token");
        assert_eq!(claims.sub, "user-1");
    }
}

#[tokio::test]
async fn es256_verifies_via_pem_and_via_jwks_file() {
    let token = sign(Algorithm::ES256, &ec_signer(), Some("ec-1"), &valid_claims());
    let pem = AuthConfig {
        jwt_algorithm: JwtAlgorithm::Es256,
        jwt_public_key_file: Some(EC_PUBLIC.into()),
        ..AuthConfig::default()
    };
    let jwks = AuthConfig { jwt_algorithm: JwtAlgorithm::Es256, jwt_jwks: Some(JWKS.into()), ..AuthConfig::default() };
    for config in [pem, jwks] {
        let claims = build(&config).await.verify(&token).await.expect("valid ES256 token");
        assert_eq!(claims.sub, "user-1");
    }
}

#[tokio::test]
async fn jwks_uses_only_keys_of_the_configured_family() {
    let es =
        build(&AuthConfig { jwt_algorithm: JwtAlgorithm::Es256, jwt_jwks: Some(JWKS.into()), ..AuthConfig::default() })
            .await;
    // Only ec-1 fits ES256, so it is the single key and a kid-less token uses it.
    let no_kid = sign(Algorithm::ES256, &ec_signer(), None, &valid_claims());
    assert!(es.verify(&no_kid).await.is_ok());
    // The RSA key was not loaded for ES256 (and RS256 is refused outright).
    let rsa_token = sign(Algorithm::RS256, &rsa_signer(), Some("rsa-1"), &valid_claims());
    assert_eq!(es.verify(&rsa_token).await, Err(AuthError::AlgorithmNotAllowed));

    let rs =
        build(&AuthConfig { jwt_algorithm: JwtAlgorithm::Rs256, jwt_jwks: Some(JWKS.into()), ..AuthConfig::default() })
            .await;
    let rs_with_ec_kid = sign(Algorithm::RS256, &rsa_signer(), Some("ec-1"), &valid_claims());
    assert_eq!(rs.verify(&rs_with_ec_kid).await, Err(AuthError::UnknownKey));
    // RS256 has one usable key too, so a kid-less RS256 token verifies.
    let rs_no_kid = sign(Algorithm::RS256, &rsa_signer(), None, &valid_claims());
    assert!(rs.verify(&rs_no_kid).await.is_ok());
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let config = AuthConfig {
        jwt_issuer: Some("https://issuer.test".into()),
        jwt_audience: Some("scholargraph".into()),
        ..hs_config()
    };
    let auth = build(&config).await;
    let exp = now() + 600;
    let good = hs(&json!({ "sub": "u", "exp": exp, "iss": "https://issuer.test", "aud": "scholargraph" }));
    assert!(auth.verify(&good).await.is_ok());
    let wrong_iss = hs(&json!({ "sub": "u", "exp": exp, "iss": "https://evil.test", "aud": "scholargraph" }));
    assert_eq!(auth.verify(&wrong_iss).await, Err(AuthError::WrongIssuer));
    let wrong_aud = hs(&json!({ "sub": "u", "exp": exp, "iss": "https://issuer.test", "aud": "other-api" }));
    assert_eq!(auth.verify(&wrong_aud).await, Err(AuthError::WrongAudience));
    let no_iss = hs(&json!({ "sub": "u", "exp": exp, "aud": "scholargraph" }));
    assert_eq!(auth.verify(&no_iss).await, Err(AuthError::MissingClaim("iss".into())));
}

#[tokio::test]
async fn aud_claim_is_accepted_when_no_audience_is_configured() {
    let auth = build(&hs_config()).await;
    let token = hs(&json!({ "sub": "u", "exp": now() + 600, "aud": ["some-api", "other"] }));
    assert!(auth.verify(&token).await.is_ok());
}

#[tokio::test]
async fn future_nbf_is_rejected() {
    let auth = build(&hs_config()).await;
    let future = hs(&json!({ "sub": "u", "exp": now() + 600, "nbf": now() + 300 }));
    assert_eq!(auth.verify(&future).await, Err(AuthError::NotYetValid));
    let past = hs(&json!({ "sub": "u", "exp": now() + 600, "nbf": now() - 5 }));
    assert!(auth.verify(&past).await.is_ok());
}

#[tokio::test]
async fn missing_sub_or_exp_is_rejected() {
    let auth = build(&hs_config()).await;
    let no_sub = hs(&json!({ "exp": now() + 600 }));
    assert_eq!(auth.verify(&no_sub).await, Err(AuthError::MissingClaim("sub".into())));
    let no_exp = hs(&json!({ "sub": "u" }));
    assert_eq!(auth.verify(&no_exp).await, Err(AuthError::MissingClaim("exp".into())));
}

#[tokio::test]
async fn garbage_is_malformed_and_errors_never_echo_the_token() {
    let auth = build(&hs_config()).await;
    for token in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig"] {
        assert_eq!(auth.verify(token).await, Err(AuthError::Malformed), "{token:?}");
    }
    let token = hs(&json!({ "sub": "u", "exp": now() - 600 }));
    let err = AppError::from(auth.verify(&token).await.expect_err("expired"));
    assert_eq!(err, AppError::Unauthenticated("the token has expired".into()));
    assert!(!err.message().contains(&token));
}

#[tokio::test]
async fn from_config_rejects_inconsistent_settings() {
    assert!(Authenticator::from_config(&AuthConfig::default()).await.expect("empty config is fine").is_none());
    let empty_values = AuthConfig { jwt_secret: Some("".into()), jwt_jwks: Some(" ".into()), ..AuthConfig::default() };
    assert!(Authenticator::from_config(&empty_values).await.expect("empty values are unset").is_none());

    let rs = AuthConfig { jwt_algorithm: JwtAlgorithm::Rs256, ..AuthConfig::default() };
    let bad = [
        AuthConfig { jwt_secret: Some(SECRET.into()), ..rs.clone() },
        AuthConfig { jwt_public_key_file: Some(RSA_PUBLIC.into()), ..hs_config() },
        AuthConfig { jwt_jwks: Some(JWKS.into()), ..AuthConfig::default() },
        AuthConfig { jwt_public_key_file: Some(RSA_PUBLIC.into()), jwt_jwks: Some(JWKS.into()), ..rs.clone() },
        AuthConfig { jwt_public_key_file: Some("/nonexistent/key.pem".into()), ..rs.clone() },
        AuthConfig { jwt_public_key_file: Some(EC_PUBLIC.into()), ..rs.clone() },
        AuthConfig { jwt_public_key_file: Some(JWKS.into()), ..rs.clone() },
        AuthConfig { jwt_jwks: Some("/nonexistent/jwks.json".into()), ..rs.clone() },
        AuthConfig { jwt_jwks: Some(RSA_PUBLIC.into()), ..rs.clone() },
    ];
    for (i, config) in bad.iter().enumerate() {
        assert!(Authenticator::from_config(config).await.is_err(), "case {i} should fail");
    }
}

#[test]
fn config_parses_flags() {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        auth: AuthConfig,
    }
    let cli = <Cli as clap::Parser>::try_parse_from([
        "scholargraph",
        "--jwt-algorithm",
        "rs256",
        "--jwt-secret",
        "hunter2-hunter2",
        "--jwt-leeway-secs",
        "5",
    ])
    .expect("flags parse");
    assert_eq!(cli.auth.jwt_algorithm, JwtAlgorithm::Rs256);
    assert_eq!(cli.auth.jwt_leeway_secs, 5);
    assert_eq!(cli.auth.jwt_secret.as_deref(), Some("hunter2-hunter2"));
}

/// A JWKS endpoint on 127.0.0.1 that counts requests; `body: None` answers 500.
#[derive(Clone)]
struct JwksServer {
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<Option<String>>>,
}

impl JwksServer {
    async fn start(body: String) -> (Self, String) {
        let server = Self { hits: Arc::new(AtomicUsize::new(0)), body: Arc::new(Mutex::new(Some(body))) };
        let app = Router::new().route("/jwks.json", get(serve_jwks)).with_state(server.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("local addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (server, url)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn set_body(&self, body: Option<String>) {
        *self.body.lock().expect("lock") = body;
    }
}

async fn serve_jwks(State(server): State<JwksServer>) -> Result<String, StatusCode> {
    server.hits.fetch_add(1, Ordering::SeqCst);
    // Slow enough that a burst piles up behind the first refetch.
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.body.lock().expect("lock").clone().ok_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The fixture JWKS with the RSA key renamed to `kid`, as after a rotation.
fn jwks_with_rsa_kid(kid: &str) -> String {
    let mut jwks: Value = serde_json::from_slice(&read(JWKS)).expect("fixture JWKS");
    jwks["keys"][0]["kid"] = json!(kid);
    jwks.to_string()
}

async fn burst(auth: &Authenticator, token: &str) -> Vec<Result<TokenClaims, AuthError>> {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.to_owned());
            tokio::spawn(async move { auth.verify(&token).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_refetches_once_per_interval_and_keeps_keys_on_failure() {
    let (server, url) = JwksServer::start(jwks_with_rsa_kid("rsa-1")).await;
    // Wide enough that the bursts below fit in it on a loaded 2-core machine.
    let interval = Duration::from_secs(2);
    let config = AuthConfig { jwt_algorithm: JwtAlgorithm::Rs256, jwt_jwks: Some(url), ..AuthConfig::default() };
    let auth = build(&config).await.with_jwks_refresh_interval(interval);
    assert_eq!((server.hits(), auth.jwks_fetch_count()), (1, 1), "initial load");

    let signer = rsa_signer();
    let old = sign(Algorithm::RS256, &signer, Some("rsa-1"), &valid_claims());
    assert!(auth.verify(&old).await.is_ok());
    assert_eq!(server.hits(), 1, "a known kid needs no fetch");

    // The issuer rotates to kid rsa-2; 20 concurrent tokens share one refetch.
    server.set_body(Some(jwks_with_rsa_kid("rsa-2")));
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    let rotated = sign(Algorithm::RS256, &signer, Some("rsa-2"), &valid_claims());
    let results = burst(&auth, &rotated).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!((server.hits(), auth.jwks_fetch_count()), (2, 2), "exactly one refetch for the burst");

    // Another unknown kid inside the interval: refused without fetching.
    let unknown = sign(Algorithm::RS256, &signer, Some("nope"), &valid_claims());
    let results = burst(&auth, &unknown).await;
    assert!(results.iter().all(|r| r == &Err(AuthError::UnknownKey)), "{results:?}");
    assert_eq!(server.hits(), 2, "no refetch within the interval");

    // A failed refetch keeps the last good keys.
    server.set_body(None);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    assert_eq!(auth.verify(&unknown).await, Err(AuthError::UnknownKey));
    assert_eq!((server.hits(), auth.jwks_fetch_count()), (3, 3), "the refetch was attempted");
    assert_eq!(auth.verify(&rotated).await.map(|c| c.sub), Ok("user-1".to_owned()));
    assert_eq!(server.hits(), 3);
}
