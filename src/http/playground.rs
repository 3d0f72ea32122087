//! The GraphiQL playground, served by the service itself as PostGraphile
//! serves its own: GraphiQL's and React's production builds are committed
//! under `assets/graphiql/` (pinned versions, `scripts/refresh-graphiql.sh`)
//! and embedded in the binary, so the page works offline and nothing it
//! loads comes from another host.
//!
//! - Each file is served under `/graphiql/<hash>/<name>`, where the hash is
//!   the start of its SHA-256: the path changes when the file does, so it is
//!   cached for a year (`immutable`). The page itself is never cached.
//! - The page is static HTML with no inline script or style (the start-up
//!   code is `playground.js`), under a Content-Security-Policy that allows
//!   scripts and styles from this origin only; see [`content_security_policy`].
//! - `GRAPHIQL=false` turns it off: no page, no files.
use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::state::AppState;

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Where the files are served.
const PREFIX: &str = "/graphiql";

/// What the page may load, and nothing else. Measured in Chromium: the page
/// renders, runs queries, subscriptions (WebSocket), the docs explorer and
/// the dialogs with no violation.
/// - scripts from this origin only: no inline script, no `eval` (the page
///   and the bundles need neither);
/// - style sheets from this origin only, and the one `<style>` element
///   GraphiQL's dialogs add (it carries this response's nonce, see
///   `playground.js`); no `style` attributes (CodeMirror and React set
///   styles through the DOM, which CSP allows);
/// - images and fonts as `data:` URLs only (GraphiQL's style sheet embeds
///   its fonts and icons);
/// - requests to this origin only, by `fetch` and by WebSocket (`ws:` and
///   `wss:` to this host are named too: older browsers do not count them
///   as `'self'`);
/// - no plugins, no `<base>`, no form posts, no framing by other sites.
fn content_security_policy(nonce: &str, host: Option<&str>) -> String {
    let sockets = host.map(|host| format!(" ws://{host} wss://{host}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src data:; \
         font-src data:; connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// A file the page loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Every file the page loads, in the order it loads them.
const ASSETS: [Asset; 6] = [
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "playground.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/playground/playground.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "playground.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/playground/playground.js"),
    },
];

/// The page, with `{{name}}` where each file's path goes.
const PAGE_TEMPLATE: &str = include_str!("../../assets/playground/index.html");

/// The page and the files, by the path each is served under.
struct Served {
    page: String,
    assets: HashMap<String, &'static Asset>,
}

/// Built on first use: hashing the 1.5 MB of files takes a few milliseconds.
static SERVED: LazyLock<Served> = LazyLock::new(|| {
    let mut page = PAGE_TEMPLATE.to_owned();
    let mut assets = HashMap::new();
    for asset in &ASSETS {
        let hash = format!("{:x}", Sha256::digest(asset.bytes));
        let path = format!("{}/{}", &hash[..16], asset.name);
        page = page.replace(&format!("{{{{{}}}}}", asset.name), &format!("{PREFIX}/{path}"));
        assets.insert(path, asset);
    }
    Served { page, assets }
});

/// The routes of the files (the page is answered by the GraphQL endpoint's
/// GET, for a browser).
pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{PREFIX}/{{*path}}"), get(asset))
}

/// The playground page, with its security headers and a fresh style
/// nonce. The request's `Host` names this service's WebSocket origin.
pub fn page(headers: &HeaderMap) -> Response {
    let Some(nonce) = nonce() else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| is_plain_host(h));
    let policy = content_security_policy(&nonce, host);
    let mut response = SERVED.page.replace("{{nonce}}", &nonce).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The same URL answers GraphQL to other clients.
    headers.insert(header::VARY, HeaderValue::from_static("accept"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// 128 random bits, as CSP wants a nonce: base64.
fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Err(err) => {
            tracing::error!(%err, "no randomness for the playground's nonce");
            None
        }
    }
}

/// A host name or address with an optional port, and nothing that could
/// end a CSP source or directive.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

async fn asset(Path(path): Path<String>) -> Response {
    let Some(asset) = SERVED.assets.get(&path) else { return StatusCode::NOT_FOUND.into_response() };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{is_plain_host, SERVED};

    #[test]
    fn the_page_names_every_file_by_its_served_path() {
        let unfilled = SERVED.page.replace("{{nonce}}", "");
        assert!(!unfilled.contains("{{"), "a placeholder was left: {}", SERVED.page);
        for path in SERVED.assets.keys() {
            assert!(SERVED.page.contains(&format!("/graphiql/{path}")), "{path} is not in the page");
        }
    }

    #[test]
    fn only_a_plain_host_goes_into_the_policy() {
        assert!(is_plain_host("127.0.0.1:8000"));
        assert!(is_plain_host("[::1]:8000"));
        assert!(is_plain_host("api.example.org"));
        assert!(!is_plain_host("evil.example; script-src *"));
        assert!(!is_plain_host("a;b"));
        assert!(!is_plain_host(""));
    }
}
