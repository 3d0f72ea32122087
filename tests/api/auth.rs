//! Sign-in over HTTP: valid tokens of each configured kind make a viewer;
//! any token that fails is a 401 `UNAUTHENTICATED`, never "anonymous".
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use scholargraph::auth::JwtAlgorithm;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, spawn_app_with, spawn_with, token, TestApp, TEST_SECRET};

const VIEWER: &str = "{ viewer { id roles } }";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/jwt/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

fn sign(algorithm: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: Value) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    encode(&header, &claims, key).expect("sign")
}

async fn assert_refused(app: &TestApp, authorization: &str) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", authorization)
        .json(&json!({ "query": "{ researcher(slug: \"marc-mezard\") { slug } }" }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 401, "{authorization}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{authorization}");
    assert!(body.get("data").is_none_or(Value::is_null), "nothing is answered for a refused token");
}

#[tokio::test]
async fn a_valid_token_signs_in_and_no_token_is_anonymous() {
    let app = spawn_app().await;
    let data = app.graphql_as(&token("alice", None, &["moderator"]), VIEWER, json!({})).await;
    assert_eq!(data["data"]["viewer"]["roles"], json!(["moderator"]));
    let anonymous = app.graphql(VIEWER, json!({})).await;
    assert_eq!(anonymous["data"]["viewer"], json!(null));
}

#[tokio::test]
async fn expired_forged_unsigned_and_malformed_tokens_are_refused_for_queries_too() {
    let app = spawn_app().await;
    let secret = EncodingKey::from_secret(TEST_SECRET.as_bytes());
    let expired = sign(Algorithm::HS256, &secret, None, json!({ "sub": "alice", "exp": now() - 3600 }));
    let wrong_key = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-entirely-another-one"),
        None,
        json!({ "sub": "alice", "exp": now() + 600 }),
    );
    let not_yet =
        sign(Algorithm::HS256, &secret, None, json!({ "sub": "alice", "exp": now() + 900, "nbf": now() + 600 }));
    let no_sub = sign(Algorithm::HS256, &secret, None, json!({ "exp": now() + 600 }));
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(json!({ "sub": "alice", "exp": now() + 600 }).to_string())
    );
    for authorization in [
        format!("Bearer {expired}"),
        format!("Bearer {wrong_key}"),
        format!("Bearer {not_yet}"),
        format!("Bearer {no_sub}"),
        format!("Bearer {unsigned}"),
        "Bearer not.a.token".to_owned(),
        "Bearer".to_owned(),
        "Basic YWxpY2U6c2VjcmV0".to_owned(),
    ] {
        assert_refused(&app, &authorization).await;
    }
}

#[tokio::test]
async fn rs256_with_a_pem_key_refuses_algorithm_confusion_and_a_wrong_audience() {
    let app = spawn_with(|c| {
        c.auth.jwt_secret = None;
        c.auth.jwt_algorithm = JwtAlgorithm::Rs256;
        c.auth.jwt_public_key_file = Some(fixture("rsa_public.pem").into());
        c.auth.jwt_audience = Some("scholargraph".to_owned());
    })
    .await;
    let private = EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa_private.pem")).expect("key")).expect("pem");
    let good =
        sign(Algorithm::RS256, &private, None, json!({ "sub": "rita", "exp": now() + 600, "aud": "scholargraph" }));
    let data = app.graphql_as(&good, VIEWER, json!({})).await;
    assert!(data["data"]["viewer"]["id"].is_string(), "{data:#}");

    let wrong_audience =
        sign(Algorithm::RS256, &private, None, json!({ "sub": "rita", "exp": now() + 600, "aud": "other" }));
    assert_refused(&app, &format!("Bearer {wrong_audience}")).await;
    // HS256 keyed with the public key's PEM: the classic confusion attack.
    let public_pem = std::fs::read(fixture("rsa_public.pem")).expect("key");
    let confused = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public_pem),
        None,
        json!({ "sub": "rita", "exp": now() + 600, "aud": "scholargraph" }),
    );
    assert_refused(&app, &format!("Bearer {confused}")).await;
    // The development tokens of an HS256 server mean nothing here.
    assert_refused(&app, &format!("Bearer {}", token("rita", None, &[]))).await;
}

#[tokio::test]
async fn es256_keys_come_from_a_jwks_document_by_kid() {
    let app = spawn_with(|c| {
        c.auth.jwt_secret = None;
        c.auth.jwt_algorithm = JwtAlgorithm::Es256;
        c.auth.jwt_jwks = Some(fixture("jwks.json"));
    })
    .await;
    let private = EncodingKey::from_ec_pem(&std::fs::read(fixture("ec_private.pem")).expect("key")).expect("pem");
    let claims = json!({ "sub": "erin", "exp": now() + 600, "orcid": "0000-0002-1825-0097", "roles": ["moderator"] });
    let good = sign(Algorithm::ES256, &private, Some("ec-1"), claims.clone());
    let data = app.graphql_as(&good, VIEWER, json!({})).await;
    assert_eq!(data["data"]["viewer"]["roles"], json!(["moderator"]), "{data:#}");
    let unknown_kid = sign(Algorithm::ES256, &private, Some("nope"), claims);
    assert_refused(&app, &format!("Bearer {unknown_kid}")).await;
}

#[tokio::test]
async fn without_a_configured_key_every_token_is_refused() {
    let app = spawn_app_with(|c| c.auth.jwt_secret = None).await;
    assert_refused(&app, &format!("Bearer {}", token("alice", None, &[]))).await;
    let anonymous = app.graphql("{ researcher(slug: \"marc-mezard\") { slug } }", json!({})).await;
    assert_eq!(anonymous["data"]["researcher"]["slug"], "marc-mezard");
}
