//! What the service tells of itself: `/metrics` (parsed as Prometheus text,
//! each figure checked against what the test sent), the request id it
//! echoes, and the JSON log line that carries it.
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{operation, spawn_app, spawn_app_with, token, TestApp, TEST_SECRET};

/// How long a test waits for a figure or a log line that is on its way.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn the_operations_counted_by_name_are_the_contracts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/operations");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("read tests/operations") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|ext| ext == "graphql") {
            let text = std::fs::read_to_string(&path).expect("read an operation file");
            for line in text.lines() {
                let mut words = line.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
                if let (Some("query" | "mutation" | "subscription"), Some(name)) = (words.next(), words.next()) {
                    if !name.is_empty() {
                        names.insert(name.to_owned());
                    }
                }
            }
        }
    }
    let known: BTreeSet<String> = scholargraph::metrics::KNOWN_OPERATIONS.iter().map(|n| n.to_string()).collect();
    assert_eq!(known, names, "src/metrics.rs KNOWN_OPERATIONS must list the contract's operations");
}

/// One sample of the Prometheus text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a Prometheus text exposition (format 0.0.4), checking
/// that every line is a comment or a well-formed sample.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"));
                (name.to_owned(), parse_labels(body, line))
            }
        };
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad metric name: {line}");
        samples.push(Sample { name, labels, value });
    }
    samples
}

/// `a="x",b="y"`, with `\"`, `\\` and `\n` escapes in values.
fn parse_labels(body: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("bad escape: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
    }
    labels
}

struct Scrape(Vec<Sample>);

impl Scrape {
    async fn of(app: &TestApp) -> Self {
        let response = app.client.get(format!("{}/metrics", app.address)).send().await.expect("GET /metrics");
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response.headers()["content-type"].to_str().expect("text").to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        Self(parse_prometheus(&response.text().await.expect("a body")))
    }

    /// The samples of `name` whose labels include `labels`.
    fn matching<'a>(&'a self, name: &'a str, labels: &'a [(&str, &str)]) -> impl Iterator<Item = &'a Sample> + 'a {
        self.0.iter().filter(move |s| {
            s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The one sample of `name` with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.matching(name, labels).find(|s| s.labels.len() == labels.len()).map(|s| s.value)
    }

    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }
}

const SCRAPE: &str = "scholargraph_";

fn metric(name: &str) -> String {
    format!("{SCRAPE}{name}")
}

/// What the test sent, by operation label and outcome, as the service should count it.
#[derive(Default)]
struct Tally(BTreeMap<(String, String), u64>);

impl Tally {
    fn add(&mut self, operation: &str, response: &Value) {
        let outcome = response["errors"][0]["extensions"]["code"].as_str().unwrap_or("ok").to_owned();
        *self.0.entry((operation.to_owned(), outcome)).or_default() += 1;
    }

    fn count(&self, operation: &str) -> u64 {
        self.0.iter().filter(|((op, _), _)| op == operation).map(|(_, n)| n).sum()
    }
}

#[tokio::test]
async fn metrics_count_operations_by_outcome_with_their_latency_cost_statements_and_batches() {
    // One client's budget holds the costliest admissible request and little
    // more, and refills a unit a minute: a few large pages spend it.
    let app = spawn_app_with(|c| {
        c.limits.max_complexity = 20_000;
        c.limits.mutation_cost = 100;
        c.limits.rate_limit_burst = 20_100;
        c.limits.rate_limit_cost_per_minute = 1;
    })
    .await;
    let reader = token("metrics-reader", None, &[]);
    let mezard = app.researcher_id("marc-mezard").await;
    let mut tally = Tally::default();
    tally.add("anonymous", &json!({}));

    // The contract's operations, signed in (the reader's own budget).
    for _ in 0..3 {
        let response =
            app.operation_as(&reader, "profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard" })).await;
        assert!(response.get("errors").is_none(), "{response:#}");
        tally.add("ResearcherProfile", &response);
    }
    let response = app.operation_as(&reader, "mutations.graphql", "Follow", json!({ "researcherId": mezard })).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    tally.add("Follow", &response);
    // An error: following needs a signed-in user.
    let response = app.operation("mutations.graphql", "Follow", json!({ "researcherId": mezard })).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{response:#}");
    tally.add("Follow", &response);
    // Names the service does not know are `other`; no name is `anonymous`.
    let response = app.post_as(&reader, &json!({ "query": "query MyOwnName { __typename }" })).await.1;
    tally.add("other", &response);
    let response = app.post_as(&reader, &json!({ "query": "{ __typename }" })).await.1;
    tally.add("anonymous", &response);
    let response = app.post_as(&reader, &json!({ "query": "query Broken { researcher(" })).await.1;
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{response:#}");
    // A document that does not parse names no operation.
    tally.add("anonymous", &response);

    // Anonymous pages of 100 works, every byline, until the budget is spent.
    let mut refusals = 0;
    let mut works_pages = 0;
    for _ in 0..20 {
        let variables = json!({ "id": mezard, "first": 100 });
        let response = app.operation("works.graphql", "ResearcherWorks", variables).await;
        tally.add("ResearcherWorks", &response);
        match response["errors"][0]["extensions"]["code"].as_str() {
            Some("RATE_LIMITED") => {
                refusals += 1;
                break;
            }
            None => works_pages += 1,
            Some(other) => panic!("unexpected {other}: {response:#}"),
        }
    }
    assert!(refusals == 1 && works_pages >= 1, "the budget was not spent: {works_pages} pages");

    // Over WebSocket: a query, and a subscription that stays open.
    let mut socket = app.ws_connect().await;
    socket.init(Some(json!({ "Authorization": format!("Bearer {reader}") }))).await;
    let viewer = json!({ "query": operation("viewer.graphql"), "operationName": "Viewer" });
    socket.send(json!({ "id": "viewer", "type": "subscribe", "payload": viewer })).await;
    let payload = socket.next_payload("viewer").await;
    assert!(payload.get("errors").is_none(), "{payload:#}");
    tally.add("Viewer", &payload);
    assert_eq!(socket.receive().await, json!({ "id": "viewer", "type": "complete" }));
    // A subscription counts once its outcome is known: at its first event,
    // or when it ends without one.
    socket.subscribe("events", &operation("subscription.graphql"), json!({ "researcherId": mezard })).await;

    // Every figure is there once the subscription runs.
    let deadline = tokio::time::Instant::now() + WAIT;
    let scrape = loop {
        let scrape = Scrape::of(&app).await;
        if scrape.value(&metric("graphql_subscriptions"), &[]) == Some(1.0)
            && scrape.value(&metric("db_pool_acquire_seconds_count"), &[]).is_some_and(|n| n >= 1.0)
        {
            break scrape;
        }
        assert!(tokio::time::Instant::now() < deadline, "the subscription or the pool probe is not counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Requests, by operation and outcome: exactly what was sent.
    let requests = metric("graphql_requests_total");
    for ((operation, outcome), count) in &tally.0 {
        let counted = scrape.value(&requests, &[("operation", operation), ("outcome", outcome)]);
        assert_eq!(counted, Some(*count as f64), "{operation} {outcome}");
    }
    // (The subscription may have counted already, if the follow's event reached it.)
    let counted: Vec<&Sample> =
        scrape.matching(&requests, &[]).filter(|s| s.labels["operation"] != "ResearcherEvents").collect();
    let total: f64 = counted.iter().map(|s| s.value).sum();
    assert_eq!(total, tally.0.values().sum::<u64>() as f64, "nothing else: {counted:?}");
    let labels: BTreeSet<&str> = scrape.matching(&requests, &[]).map(|s| s.labels["operation"].as_str()).collect();
    assert!(!labels.contains("MyOwnName") && !labels.contains("Broken"), "{labels:?}");

    // Latency, statements and cost: one observation per query or mutation
    // (a subscription's length is not a latency).
    for operation in ["ResearcherProfile", "Follow", "ResearcherWorks", "Viewer", "other", "anonymous"] {
        let expected = tally.count(operation) as f64;
        let durations = scrape.value(&metric("graphql_request_duration_seconds_count"), &[("operation", operation)]);
        assert_eq!(durations, Some(expected), "latencies of {operation}");
        let statements = scrape.value(&metric("graphql_request_sql_statements_count"), &[("operation", operation)]);
        assert_eq!(statements, Some(expected), "statement counts of {operation}");
    }
    assert_eq!(
        scrape.value(&metric("graphql_request_duration_seconds_count"), &[("operation", "ResearcherEvents")]),
        None
    );
    let profile_statements =
        scrape.value(&metric("graphql_request_sql_statements_sum"), &[("operation", "ResearcherProfile")]);
    // The profile page runs its record and its works page, every time (README,
    // "No N+1"), and signing in a statement or two; split batches add a few.
    assert!(profile_statements.is_some_and(|n| (6.0..50.0).contains(&n)), "{profile_statements:?}");
    let costs = scrape.value(&metric("graphql_query_cost_count"), &[("operation", "ResearcherWorks")]);
    assert_eq!(costs, Some(works_pages as f64), "every page that was charged");
    let cost_sum = scrape.value(&metric("graphql_query_cost_sum"), &[("operation", "ResearcherWorks")]);
    // A page of 100 with every byline costs about 11 900 (README, "Limits").
    assert!(cost_sum.is_some_and(|sum| sum >= 5_000.0 * works_pages as f64), "{cost_sum:?}");
    assert_eq!(scrape.value(&metric("rate_limit_refusals_total"), &[("charge", "cost")]), Some(1.0));
    assert_eq!(scrape.value(&metric("rate_limit_refusals_total"), &[("charge", "fee")]), Some(0.0));

    // Loader batches: the works pages loaded their bylines in batches.
    let batches = scrape.value(&metric("dataloader_batch_size_count"), &[("loader", "AuthorshipsByWork")]);
    assert!(batches.is_some_and(|n| n >= works_pages as f64), "{batches:?}");
    let keys = scrape.value(&metric("dataloader_batch_size_sum"), &[("loader", "AuthorshipsByWork")]);
    assert!(keys.is_some_and(|n| n >= 6.0 * works_pages as f64), "Mézard's six works per page: {keys:?}");
    let bucket = metric("dataloader_batch_size_bucket");
    let buckets: Vec<&Sample> = scrape.matching(&bucket, &[("loader", "AuthorshipsByWork")]).collect();
    assert!(buckets.iter().any(|b| b.labels["le"] == "+Inf" && Some(b.value) == batches), "{buckets:?}");

    // The pool, read at the scrape, and the time to take a connection.
    let open = scrape.value(&metric("db_pool_connections"), &[("state", "open")]).expect("open connections");
    let idle = scrape.value(&metric("db_pool_connections"), &[("state", "idle")]).expect("idle connections");
    assert_eq!(scrape.value(&metric("db_pool_connections"), &[("state", "max")]), Some(5.0));
    assert!((1.0..=5.0).contains(&open) && idle <= open, "open {open}, idle {idle}");
    let acquire_sum = scrape.value(&metric("db_pool_acquire_seconds_sum"), &[]).expect("acquire time");
    assert!((0.0..5.0).contains(&acquire_sum), "{acquire_sum}");

    // SQL statements, in all: the same counter the N+1 test reads.
    let statements = scrape.value(&metric("sql_statements_total"), &[]).expect("statements");
    assert!(statements >= 1.0 && statements <= app.sql_statements() as f64, "{statements}");

    // WebSocket: one connection, one subscription, until the client leaves;
    // the subscription counts once, as answered.
    assert_eq!(scrape.value(&metric("websocket_connections"), &[]), Some(1.0));
    drop(socket);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let scrape = Scrape::of(&app).await;
        let connections = scrape.value(&metric("websocket_connections"), &[]);
        let subscriptions = scrape.value(&metric("graphql_subscriptions"), &[]);
        let events = scrape.value(&requests, &[("operation", "ResearcherEvents"), ("outcome", "ok")]);
        if connections == Some(0.0) && subscriptions == Some(0.0) && events == Some(1.0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still open: {connections:?} {subscriptions:?} {events:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn each_instance_counts_its_own_requests() {
    let (first, second) = tokio::join!(spawn_app(), spawn_app());
    first.data("{ __typename }", json!({})).await;
    let counted = |scrape: &Scrape| scrape.sum(&metric("graphql_requests_total"), &[]);
    assert_eq!(counted(&Scrape::of(&first).await), 1.0);
    assert_eq!(counted(&Scrape::of(&second).await), 0.0);
}

/// The service as its own process, logging JSON to a pipe: the lines it
/// writes, and the address it serves.
struct Served {
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<Value>,
    address: String,
}

impl Served {
    async fn start(app: &TestApp) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_scholargraph"))
            .arg("serve")
            .env("DATABASE_URL", &app.database_url)
            .env("BIND", "127.0.0.1:0")
            .env("SEARCH_INDEX", "memory")
            .env("SEED_DEMO_WHEN_EMPTY", "false")
            .env("JWT_SECRET", TEST_SECRET)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start scholargraph serve");
        let stderr = child.stderr.take().expect("a pipe");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let parsed =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        let mut served = Self { child, lines, address: String::new() };
        let started = served
            .line(|line| line["fields"]["message"].as_str().is_some_and(|m| m.starts_with("serving GraphQL at")))
            .await;
        let message = started["fields"]["message"].as_str().unwrap_or_default();
        let url = message.split_whitespace().find(|w| w.starts_with("http://")).expect("the address in the line");
        served.address = url.trim_end_matches("/graphql").to_owned();
        served
    }

    /// The next log line that `wanted` accepts.
    async fn line(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .expect("the log line in time")
                .expect("the service is still running");
            if wanted(&line) {
                return line;
            }
        }
    }
}

#[tokio::test]
async fn a_request_id_is_echoed_and_carried_by_the_json_log_line_of_its_request() {
    let app = spawn_app().await;
    let mut served = Served::start(&app).await;
    let client = reqwest::Client::new();
    let request_id = format!("test-{}", uuid::Uuid::new_v4().simple());
    let body = json!({
        "query": operation("profile.graphql"),
        "operationName": "ResearcherProfile",
        "variables": { "slug": "marc-mezard" },
    });
    let response = client
        .post(format!("{}/graphql", served.address))
        .header("x-request-id", &request_id)
        .bearer_auth(token("logged-user", None, &[]))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-request-id"].to_str().ok(), Some(request_id.as_str()));
    let answer: Value = response.json().await.expect("json");
    assert!(answer.get("errors").is_none(), "{answer:#}");

    let line =
        served.line(|line| line["span"]["request_id"] == request_id && line["fields"]["message"] == "answered").await;
    let span = &line["span"];
    assert_eq!(span["name"], "request", "{line:#}");
    assert_eq!(span["operation"], "ResearcherProfile", "{line:#}");
    assert!(span["user_id"].as_i64().is_some(), "{line:#}");
    assert_eq!(line["fields"]["status"], 200, "{line:#}");
    assert!(line["fields"]["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{line:#}");
    assert_eq!(line["level"], "INFO");

    // Without one, the service makes a UUID and answers with it.
    let response = client.get(format!("{}/healthz", served.address)).send().await.expect("send");
    let made = response.headers()["x-request-id"].to_str().expect("text").to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    served.line(|line| line["span"]["request_id"] == made.as_str()).await;

    served.child.kill().await.expect("stop the service");
}
