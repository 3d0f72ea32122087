//! The load generator: workers that loop "pick, send, time" until a deadline.
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;

/// Share of requests that go to the "popular" researchers in a typical mix.
pub const POPULAR_SHARE: f64 = 0.2;

/// A small deterministic PRNG (xorshift64*), one per worker.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// What a worker picks from: `POPULAR_SHARE` of picks from `popular`, the
/// rest from `tail`; when one side is empty, always the other.
#[derive(Debug, Clone)]
pub struct Workload<T> {
    pub popular: Vec<T>,
    pub tail: Vec<T>,
}

impl<T> Workload<T> {
    pub fn mix(popular: Vec<T>, tail: Vec<T>) -> Self {
        Self { popular, tail }
    }

    /// Always the same item.
    pub fn single(item: T) -> Self {
        Self { popular: vec![item], tail: Vec::new() }
    }

    /// Uniformly from `items`.
    pub fn uniform(items: Vec<T>) -> Self {
        Self { popular: Vec::new(), tail: items }
    }

    pub fn is_empty(&self) -> bool {
        self.popular.is_empty() && self.tail.is_empty()
    }

    pub fn pick(&self, rng: &mut Rng) -> Option<&T> {
        let from_popular = self.tail.is_empty() || (!self.popular.is_empty() && rng.next_f64() < POPULAR_SHARE);
        let side = if from_popular { &self.popular } else { &self.tail };
        side.get(rng.below(side.len()))
    }
}

/// One kind of request a worker sends; `Err` carries a short description.
pub trait Request: Send + Sync + 'static {
    fn send(&self, rng: &mut Rng) -> impl Future<Output = Result<(), String>> + Send;
}

/// Latencies (µs, sorted), errors and wall time of one measured phase.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub elapsed: Duration,
    pub first_error: Option<String>,
}

impl Sample {
    pub fn requests(&self) -> usize {
        self.latencies_us.len()
    }

    pub fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests() as f64 / secs
        } else {
            0.0
        }
    }

    /// Nearest-rank percentile, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        let n = self.latencies_us.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        Some(f64::from(self.latencies_us[index]) / 1000.0)
    }
}

/// Runs `concurrency` workers sending `request` for `duration`, and collects
/// one sample. Requests in flight at the deadline are waited for and counted.
pub async fn drive<R: Request>(request: Arc<R>, concurrency: u32, duration: Duration) -> Sample {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let request = request.clone();
        workers.spawn(async move {
            let mut rng = Rng::new(u64::from(worker) + 1);
            let mut latencies = Vec::with_capacity(4096);
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let outcome = request.send(&mut rng).await;
                latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                if let Err(err) = outcome {
                    errors += 1;
                    first_error.get_or_insert(err);
                }
            }
            (latencies, errors, first_error)
        });
    }
    let mut sample = Sample::default();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((latencies, errors, first_error)) => {
                sample.latencies_us.extend(latencies);
                sample.errors += errors;
                if sample.first_error.is_none() {
                    sample.first_error = first_error;
                }
            }
            Err(err) => sample.first_error = Some(format!("a worker failed: {err}")),
        }
    }
    sample.elapsed = start.elapsed();
    sample.latencies_us.sort_unstable();
    sample
}

/// One HTTP client for the whole run, with a pool as large as the concurrency.
pub fn http_client(concurrency: u32) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

/// The server's `/graphql` and `/metrics`.
pub struct Endpoint {
    client: reqwest::Client,
    graphql_url: String,
    metrics_url: String,
}

/// Just enough of a GraphQL response to tell success from failure.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Option<serde_json::Value>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl Endpoint {
    pub fn new(client: reqwest::Client, base_url: &str) -> Self {
        Self { client, graphql_url: format!("{base_url}/graphql"), metrics_url: format!("{base_url}/metrics") }
    }

    /// POSTs a JSON body; an error is a status other than 200 or an `errors` member.
    pub async fn post(&self, body: String) -> Result<(), String> {
        self.post_for_data(body, false).await.map(|_| ())
    }

    /// Like `post`, and returns `data` when `want_data`.
    pub async fn post_for_data(&self, body: String, want_data: bool) -> Result<Option<serde_json::Value>, String> {
        let response = self
            .client
            .post(&self.graphql_url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|err| format!("request failed: {err}"))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|err| format!("reading the response failed: {err}"))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("HTTP {status}: {}", shorten(&String::from_utf8_lossy(&bytes))));
        }
        if want_data {
            let envelope: Envelope =
                serde_json::from_slice(&bytes).map_err(|err| format!("the response is not JSON: {err}"))?;
            if let Some(errors) = envelope.errors {
                return Err(format!("GraphQL errors: {}", shorten(&errors.to_string())));
            }
            return Ok(envelope.data);
        }
        // Skip `data` without building it: only `errors` matters here.
        #[derive(Deserialize)]
        struct ErrorsOnly {
            #[serde(default)]
            errors: Option<serde_json::Value>,
        }
        let envelope: ErrorsOnly =
            serde_json::from_slice(&bytes).map_err(|err| format!("the response is not JSON: {err}"))?;
        match envelope.errors {
            Some(errors) => Err(format!("GraphQL errors: {}", shorten(&errors.to_string()))),
            None => Ok(None),
        }
    }

    /// `scholargraph_sql_statements_total` from `/metrics`; `None` when unavailable.
    pub async fn sql_statements(&self) -> Option<u64> {
        let response = self.client.get(&self.metrics_url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let text = response.text().await.ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("scholargraph_sql_statements_total "))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .map(|value| value as u64)
    }
}

/// A GraphQL operation with pre-serialised request bodies.
pub struct GraphqlRequest {
    endpoint: Arc<Endpoint>,
    bodies: Workload<String>,
}

impl GraphqlRequest {
    pub fn new(endpoint: Arc<Endpoint>, bodies: Workload<String>) -> Self {
        Self { endpoint, bodies }
    }
}

impl Request for GraphqlRequest {
    fn send(&self, rng: &mut Rng) -> impl Future<Output = Result<(), String>> + Send {
        let body = self.bodies.pick(rng).cloned();
        async move {
            match body {
                Some(body) => self.endpoint.post(body).await,
                None => Err("nothing to send".to_owned()),
            }
        }
    }
}
