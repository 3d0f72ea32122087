//! The `profile_wire` measure (run only when named): the profile operation
//! (`ResearcherProfile`, the typical mix of researchers) as the frontend can
//! send it, to see what compression and persisted queries change:
//! - the document in full, answered plain, gzip or Brotli;
//! - its hash alone (a persisted query, registered once before), answered
//!   plain or Brotli.
//!
//! For each: req/s, latency and the server's CPU per request at the bench's
//! concurrency, sent to the server directly; and the bytes on the wire per
//! request, both ways, counted by a TCP relay of the bench's own over
//! [`COUNTED`] requests sent one at a time on one kept-alive connection
//! (HTTP: request and status lines, headers and bodies; not TCP/IP). The
//! bench does not decode compressed answers: it counts them as they come.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::cpu::{CpuSnapshot, CpuSpent};
use crate::dataset::{Dataset, Researcher};
use crate::load::{self, Rng, Sample, Workload};

pub const NAME: &str = "profile_wire";

/// Requests whose bytes are counted, per variant.
pub const COUNTED: u32 = 200;

const PROFILE: &str = include_str!("../../tests/operations/profile.graphql");

/// How a variant sends the profile operation and what it accepts back.
struct Variant {
    label: &'static str,
    persisted: bool,
    accept_encoding: Option<&'static str>,
}

const VARIANTS: [Variant; 5] = [
    Variant { label: "document, plain", persisted: false, accept_encoding: None },
    Variant { label: "document, gzip", persisted: false, accept_encoding: Some("gzip") },
    Variant { label: "document, br", persisted: false, accept_encoding: Some("br") },
    Variant { label: "hash only, plain", persisted: true, accept_encoding: None },
    Variant { label: "hash only, br", persisted: true, accept_encoding: Some("br") },
];

/// One variant's figures.
pub struct Measured {
    label: &'static str,
    sample: Sample,
    cpu: CpuSpent,
    /// Per request, counted through the relay.
    request_bytes: f64,
    response_bytes: f64,
    response_body_bytes: f64,
}

/// The profile request of a variant.
struct WireRequest {
    client: reqwest::Client,
    url: String,
    bodies: Workload<String>,
    accept_encoding: Option<&'static str>,
    /// Bytes of the answers' bodies as received.
    body_bytes: AtomicU64,
}

impl WireRequest {
    async fn send_body(&self, body: String) -> Result<(), String> {
        let mut request = self.client.post(&self.url).header(CONTENT_TYPE, "application/json").body(body);
        if let Some(encoding) = self.accept_encoding {
            request = request.header(ACCEPT_ENCODING, encoding);
        }
        let response = request.send().await.map_err(|err| format!("request failed: {err}"))?;
        let status = response.status();
        let encoded = response.headers().contains_key(CONTENT_ENCODING);
        let bytes = response.bytes().await.map_err(|err| format!("reading the response failed: {err}"))?;
        self.body_bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if status != reqwest::StatusCode::OK {
            return Err(format!("HTTP {status}"));
        }
        if encoded {
            // Not decoded: the plain variants check the same answers' errors.
            return Ok(());
        }
        graphql_errors(&bytes)
    }
}

impl load::Request for WireRequest {
    fn send(&self, rng: &mut Rng) -> impl Future<Output = Result<(), String>> + Send {
        let body = self.bodies.pick(rng).cloned();
        async move {
            match body {
                Some(body) => self.send_body(body).await,
                None => Err("nothing to send".to_owned()),
            }
        }
    }
}

/// `Err` with the errors of a GraphQL answer that has any.
fn graphql_errors(bytes: &[u8]) -> Result<(), String> {
    #[derive(Deserialize)]
    struct ErrorsOnly {
        #[serde(default)]
        errors: Option<Value>,
    }
    let envelope: ErrorsOnly =
        serde_json::from_slice(bytes).map_err(|err| format!("the response is not JSON: {err}"))?;
    match envelope.errors {
        Some(errors) => Err(format!("GraphQL errors: {}", errors.to_string().chars().take(300).collect::<String>())),
        None => Ok(()),
    }
}

/// `extensions.persistedQuery` for the profile document.
fn persisted_query() -> Value {
    let hash = format!("{:x}", Sha256::digest(PROFILE.as_bytes()));
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

fn bodies(data: &Dataset, persisted: bool) -> Workload<String> {
    let body = |r: &Researcher| {
        let mut body = json!({ "operationName": "ResearcherProfile", "variables": { "slug": r.slug } });
        if persisted {
            body["extensions"] = persisted_query();
        } else {
            body["query"] = json!(PROFILE);
        }
        body.to_string()
    };
    Workload::mix(data.popular.iter().map(body).collect(), data.tail.iter().map(body).collect())
}

/// What [`measure`] needs of the run.
pub struct Settings<'a> {
    pub client: reqwest::Client,
    pub base_url: &'a str,
    pub server_pid: u32,
    pub postgres: bool,
    pub concurrency: u32,
    pub warmup: Duration,
    pub duration: Duration,
}

pub async fn measure(settings: &Settings<'_>, data: &Dataset) -> Result<Vec<Measured>> {
    if data.popular.is_empty() && data.tail.is_empty() {
        bail!("no researcher to ask for");
    }
    let url = format!("{}/graphql", settings.base_url);
    // The one registration: the document with its hash.
    let first = data.popular.first().or(data.tail.first()).map(|r| r.slug.clone()).unwrap_or_default();
    let registration = json!({
        "query": PROFILE,
        "operationName": "ResearcherProfile",
        "variables": { "slug": first },
        "extensions": persisted_query(),
    });
    let response = settings
        .client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body(registration.to_string())
        .send()
        .await
        .context("registering the profile")?;
    graphql_errors(&response.bytes().await.context("registering the profile")?)
        .map_err(|err| anyhow::anyhow!("registering the profile as a persisted query: {err}"))?;

    let upstream: SocketAddr = settings
        .base_url
        .trim_start_matches("http://")
        .parse()
        .with_context(|| format!("the server's address in {}", settings.base_url))?;
    let relay = Relay::start(upstream).await?;
    let counting_client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the counting client")?;

    let mut measured = Vec::new();
    for variant in &VARIANTS {
        let make = |client: reqwest::Client, url: String| WireRequest {
            client,
            url,
            bodies: bodies(data, variant.persisted),
            accept_encoding: variant.accept_encoding,
            body_bytes: AtomicU64::new(0),
        };
        // Bytes: the same requests for every variant (one seed), one at a time.
        let counted = make(counting_client.clone(), format!("http://{}/graphql", relay.address));
        let mut rng = Rng::new(7);
        let (up_before, down_before) = relay.counts();
        for _ in 0..COUNTED {
            if let Err(err) = load::Request::send(&counted, &mut rng).await {
                bail!("`{}` failed while its bytes were counted: {err}", variant.label);
            }
        }
        let (up, down) = relay.counts();
        let per_request = |bytes: u64| bytes as f64 / f64::from(COUNTED);

        // Throughput, straight to the server.
        let request = Arc::new(make(settings.client.clone(), url.clone()));
        load::drive(request.clone(), settings.concurrency, settings.warmup).await;
        let cpu_before = CpuSnapshot::take(Some(settings.server_pid), settings.postgres);
        let sample = load::drive(request, settings.concurrency, settings.duration).await;
        let cpu = CpuSnapshot::take(Some(settings.server_pid), settings.postgres).spent_since(&cpu_before);
        measured.push(Measured {
            label: variant.label,
            sample,
            cpu,
            request_bytes: per_request(up - up_before),
            response_bytes: per_request(down - down_before),
            response_body_bytes: per_request(counted.body_bytes.load(Ordering::Relaxed)),
        });
    }
    Ok(measured)
}

pub fn print(measured: &[Measured], concurrency: u32) {
    println!(
        "\n{NAME}: ResearcherProfile at {concurrency} connections; bytes per request over {COUNTED} requests \
         through a TCP relay (HTTP headers and bodies)"
    );
    println!(
        "  {:<17} {:>9} {:>8} {:>8} {:>7} {:>10} {:>10} {:>10} {:>10}",
        "variant", "req/s", "p50 ms", "p99 ms", "errors", "server CPU", "request B", "response B", "of it body"
    );
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    for m in measured {
        let requests = m.sample.requests();
        let cpu = m.cpu.server_ms.filter(|_| requests > 0).map(|ms| ms / requests as f64);
        println!(
            "  {:<17} {:>9.1} {:>8} {:>8} {:>7} {:>10} {:>10.0} {:>10.0} {:>10.0}",
            m.label,
            m.sample.per_second(),
            ms(m.sample.percentile_ms(50.0)),
            ms(m.sample.percentile_ms(99.0)),
            m.sample.errors,
            cpu.map_or_else(|| "-".to_owned(), |v| format!("{v:.3} ms")),
            m.request_bytes,
            m.response_bytes,
            m.response_body_bytes
        );
    }
    for m in measured {
        if let Some(err) = &m.sample.first_error {
            println!("  first error of `{}`: {err}", m.label);
        }
    }
}

/// A TCP relay to the server that counts the bytes each way.
struct Relay {
    address: SocketAddr,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the counting relay")?;
        let address = listener.local_addr().context("the counting relay's address")?;
        let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (task_up, task_down) = (up.clone(), down.clone());
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(relay(inbound, upstream, task_up.clone(), task_down.clone()));
            }
        });
        Ok(Self { address, up, down, task })
    }

    /// Bytes sent to the server and received from it so far.
    fn counts(&self) -> (u64, u64) {
        (self.up.load(Ordering::Relaxed), self.down.load(Ordering::Relaxed))
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(inbound: TcpStream, upstream: SocketAddr, up: Arc<AtomicU64>, down: Arc<AtomicU64>) {
    let Ok(outbound) = TcpStream::connect(upstream).await else { return };
    // Both only tune latency.
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (from_client, to_client) = inbound.into_split();
    let (from_server, to_server) = outbound.into_split();
    tokio::join!(pipe(from_client, to_server, &up), pipe(from_server, to_client, &down));
}

async fn pipe(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, count: &AtomicU64) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::Relaxed);
                if to.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    // The other side learns that this one is done; it may be gone already.
    let _ = to.shutdown().await;
}
