//! Fan-out of live events: how long a follow takes to reach many
//! subscribers of one researcher, on two instances.
//!
//! Two `scholargraph serve` instances run on the same database (events
//! cross between them through it: PostgreSQL's `LISTEN`/`NOTIFY`, SQLite's
//! polling). `--fanout-subscribers` clients, each on a WebSocket of its own
//! (`graphql-transport-ws`), half on each instance, run the frontend's
//! `ResearcherEvents` subscription on the researcher with the smallest id.
//! Warm-up follows are sent until every subscriber has received one (so
//! that every subscription is live), then the bench waits for the sockets
//! to fall quiet. It then sends the contract's `Follow` mutation every
//! `--fanout-interval-ms` for `--duration` seconds, alternating between
//! the instances, each by a new user (HS256 tokens the bench signs with
//! the `JWT_SECRET` it gives both servers), so that each follow adds one
//! follower; and it waits (10 s at most) for the last events to arrive.
//!
//! A subscriber's stream holds one event per follow, in commit order, so
//! its n-th event, counting the events that `extensions.missedEvents` says
//! it skipped, is the n-th follow's: the n-th sent of those that
//! succeeded (follows sent 10 ms apart rarely commit out of order; when
//! they do, the error is about one interval). An event's latency is its
//! arrival minus that follow's sending, so it holds the mutation's own
//! time, which is printed too. A missed follow is known from the next
//! event, which carries the record after it: the latency of every
//! follow, missed ones included, until the first event at or after it is
//! printed as well, and the target (p99 under 1 s) is checked on it. The
//! follower count an event carries is checked against the count its
//! follow made (the count after the warm-up plus n): it may be later (a
//! record read once for several changes), never earlier.
//!
//! Printed: follows sent, events expected (follows times subscribers),
//! delivered, reported missed and lost (neither); the latencies' p50, p99
//! and max, for delivered events also by whether the follow went to the
//! subscriber's instance or to the other; each instance's memory and CPU.
//! Every user of the run unfollows at the end, so the follower count is
//! left as found (the users themselves, made by their first request, and
//! the change log's rows remain).
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use futures_util::{SinkExt as _, StreamExt as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::cpu::CpuSnapshot;
use crate::dataset::Researcher;
use crate::report::redact;
use crate::server::{self, Launch, MemorySampler, PeakMemory, Server};

/// The name that selects this benchmark (`--only fanout`).
pub const NAME: &str = "fanout";

const SUBSCRIPTION: &str = include_str!("../../tests/operations/subscription.graphql");
const MUTATIONS: &str = include_str!("../../tests/operations/mutations.graphql");

/// Instances started; subscriber `i` is on instance `i % INSTANCES`.
const INSTANCES: usize = 2;
/// Sockets being opened at once.
const OPENING_AT_ONCE: usize = 64;
/// Longest wait for one socket to be opened, acknowledged and subscribed.
const OPEN_DEADLINE: Duration = Duration::from_secs(30);
/// Longest wait for an instance's `/readyz` (a new search index is built first).
const READY_DEADLINE: Duration = Duration::from_secs(600);
/// Longest warm-up: every subscriber must have had an event by then.
const WARM_UP_DEADLINE: Duration = Duration::from_secs(90);
/// Wait for a warm-up follow to reach everyone before sending another.
const WARM_UP_ROUND: Duration = Duration::from_secs(2);
/// A warm-up ends with this long without any message (SQLite polls every 250 ms).
const QUIET: Duration = Duration::from_millis(750);
/// Longest wait for the follows in flight when the sending stops.
const FOLLOWS_DEADLINE: Duration = Duration::from_secs(60);
/// Longest wait, after the last follow answered, for its events; later is lost.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);
/// Longest wait for the subscribers to close their sockets.
const CLOSE_DEADLINE: Duration = Duration::from_secs(30);
/// One HTTP request (a follow or an unfollow).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Unfollows sent at once at the end.
const UNFOLLOWS_AT_ONCE: usize = 8;
/// How often waits look at the subscribers.
const POLL: Duration = Duration::from_millis(10);
/// The latency the fan-out issue asks for, at p99.
const TARGET_P99: Duration = Duration::from_secs(1);

pub struct Settings<'a> {
    pub server_bin: &'a Path,
    pub database_url: &'a str,
    pub subscribers: u32,
    pub interval: Duration,
    pub duration: Duration,
    /// Each instance's database pool.
    pub pool_size: u32,
}

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn run(settings: &Settings<'_>) -> Result<()> {
    let subscribers = settings.subscribers as usize;
    let files = raise_open_files_limit(subscribers)?;

    // The bench signs its users' tokens with a secret of this run's.
    let secret = format!("bench-fanout-{}-{:x}-development-only", std::process::id(), unix_nanos());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    // A server migrates the database at start: one at a time, and before
    // the bench reads it.
    let mut instances = Vec::with_capacity(INSTANCES);
    for number in 1..=INSTANCES {
        let mut instance = Instance::spawn(settings, &secret, number)?;
        instance.server.wait_ready(&client, READY_DEADLINE).await?;
        instance.ready();
        instances.push(instance);
    }

    let db = crate::connect(settings.database_url, 1).await?;
    let target = crate::dataset::first_researcher(&db)
        .await?
        .context("the database has no researchers; seed it first (`scholargraph seed demo` or `seed synthetic`)")?;
    let followers_before = followers(&db, target.id).await?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;

    print_header(settings, &target, &instances, files);
    let follows = Arc::new(Follows::new(client, &secret, &target, &instances));
    let outcome = measure(settings, &target, &follows, &mut instances, postgres).await;
    let undone = follows.undo().await;
    let followers_after = followers(&db, target.id).await;
    db.close().await.context("closing the set-up connection")?;
    let run = match outcome {
        Ok(run) => run,
        Err(err) => {
            if let Err(undo) = undone {
                eprintln!("bench: some of the run's follows could not be undone: {undo}");
            }
            return Err(err);
        }
    };
    print(settings, &run);

    println!(
        "cleanup     {} users unfollowed; followers {followers_before} before the run, {} after",
        follows.issued(),
        followers_after.map_or_else(|err| format!("unknown ({err:#})"), |n| n.to_string())
    );
    if let Err(err) = undone {
        bail!("some of the run's follows could not be undone: {err}");
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard limit, so that the
/// client sockets (in this process) and the server sockets (in the
/// children, which inherit it) fit. Returns the limit before and after.
fn raise_open_files_limit(subscribers: usize) -> Result<(Option<u64>, Option<u64>)> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let before = getrlimit(Resource::Nofile);
    // No hard limit is rare; the kernel's `nr_open` (2^20 by default) then bounds the soft one.
    let raised = rustix::process::Rlimit { current: before.maximum.or(Some(1 << 20)), maximum: before.maximum };
    if before.current < raised.current {
        setrlimit(Resource::Nofile, raised).context("raising the open-files limit (RLIMIT_NOFILE)")?;
    }
    let after = getrlimit(Resource::Nofile).current;
    // Each instance holds half the sockets, the bench all of them; and
    // each has its pool, log and index files besides.
    let needed = subscribers as u64 + 256;
    if after.is_some_and(|limit| limit < needed) {
        bail!(
            "{subscribers} subscribers need about {needed} open files, and the hard limit is {}; raise it \
             (`ulimit -Hn`) or pass fewer --fanout-subscribers",
            after.unwrap_or_default()
        );
    }
    Ok((before.current, after))
}

fn unix_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}

async fn followers(db: &DatabaseConnection, id: i64) -> Result<i64> {
    let sql = format!("SELECT CAST(followers_count AS BIGINT) AS n FROM researchers WHERE id = {id}");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .context("reading the follower count")?
        .context("the researcher is gone")?;
    row.try_get("", "n").context("reading the follower count")
}

/// One server of the run, with its memory.
struct Instance {
    number: usize,
    server: Server,
    port: u16,
    rss_at_ready_kib: Option<u64>,
    memory: Option<MemorySampler>,
}

impl Instance {
    fn spawn(settings: &Settings<'_>, secret: &str, number: usize) -> Result<Self> {
        let mut launch = Launch {
            name: Some(format!("fanout-{number}")),
            set: vec![("JWT_ALGORITHM", "HS256".to_owned()), ("JWT_SECRET", secret.to_owned())],
            unset: vec!["JWT_PUBLIC_KEY_FILE", "JWT_JWKS", "JWT_ISSUER", "JWT_AUDIENCE"],
        };
        // Each instance needs a search index of its own: the first takes
        // the inherited `SEARCH_INDEX` (as the other benchmarks' server does),
        // the others one kept in the temporary directory between runs.
        if number > 1 && std::env::var("SEARCH_INDEX").map_or(true, |index| index != "memory") {
            let index = std::env::temp_dir().join(format!("scholargraph-bench-fanout-index-{number}"));
            launch.set.push(("SEARCH_INDEX", index.display().to_string()));
        }
        let port = server::free_port()?;
        let server = Server::launch(settings.server_bin, settings.database_url, port, settings.pool_size, &launch)?;
        Ok(Self { number, server, port, rss_at_ready_kib: None, memory: None })
    }

    /// Notes the memory of the idle instance and starts sampling it.
    fn ready(&mut self) {
        self.rss_at_ready_kib = server::proc_status_kib(self.server.pid(), "VmRSS");
        self.memory = Some(MemorySampler::start(self.server.pid()));
    }

    fn graphql_url(&self) -> String {
        format!("{}/graphql", self.server.base_url())
    }

    fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/graphql/ws", self.port)
    }

    fn peak_memory(&mut self) -> Option<PeakMemory> {
        let pid = self.server.pid();
        self.memory.take().map(|sampler| sampler.finish(pid))
    }
}

fn print_header(
    settings: &Settings<'_>,
    target: &Researcher,
    instances: &[Instance],
    files: (Option<u64>, Option<u64>),
) {
    let cpus = std::thread::available_parallelism().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned());
    let limit = |n: Option<u64>| n.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    println!("scholargraph fan-out bench, {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"));
    println!("database    {}", redact(settings.database_url));
    println!("researcher  {} ({}, id {}, {})", target.slug, target.display_name, target.id, target.global_id());
    println!(
        "load        {} subscribers, {} on each of {INSTANCES} instances, one WebSocket each; a follow every {} ms \
         for {} s, alternating instances",
        settings.subscribers,
        settings.subscribers as usize / INSTANCES,
        settings.interval.as_millis(),
        settings.duration.as_secs()
    );
    println!("machine     {cpus} CPUs; open files {} (soft limit was {})", limit(files.1), limit(files.0));
    for instance in instances {
        println!(
            "instance {}  {} serve on 127.0.0.1:{} (log: {})",
            instance.number,
            settings.server_bin.display(),
            instance.port,
            instance.server.log_path().display()
        );
    }
    println!();
}

/// The run's users and the requests they send.
struct Follows {
    client: reqwest::Client,
    key: EncodingKey,
    run: u32,
    graphql_urls: Vec<String>,
    follow: String,
    unfollow: String,
    /// Users that have sent a follow (or are about to): `0..issued`.
    issued: AtomicUsize,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: u64,
    exp: u64,
}

impl Follows {
    fn new(client: reqwest::Client, secret: &str, target: &Researcher, instances: &[Instance]) -> Self {
        let body = |operation: &str| {
            json!({ "query": MUTATIONS, "operationName": operation, "variables": { "researcherId": target.global_id() } })
                .to_string()
        };
        Self {
            client,
            key: EncodingKey::from_secret(secret.as_bytes()),
            run: std::process::id(),
            graphql_urls: instances.iter().map(Instance::graphql_url).collect(),
            follow: body("Follow"),
            unfollow: body("Unfollow"),
            issued: AtomicUsize::new(0),
        }
    }

    fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// A user who has not followed yet.
    fn next_user(&self) -> usize {
        self.issued.fetch_add(1, Ordering::SeqCst)
    }

    fn token(&self, user: usize) -> Result<String, String> {
        let sub = format!("bench-fanout-{}-{user}", self.run);
        let iat = jsonwebtoken::get_current_timestamp();
        let claims = Claims { sub: &sub, iat, exp: iat + 3_600 };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|err| format!("signing a token: {err}"))
    }

    /// `user` follows the researcher through `instance`; the follower count it answers.
    async fn follow(&self, user: usize, instance: usize) -> Result<i64, String> {
        self.send(&self.follow, "followResearcher", user, instance).await
    }

    async fn send(&self, body: &str, field: &str, user: usize, instance: usize) -> Result<i64, String> {
        let token = self.token(user)?;
        let response = self
            .client
            .post(&self.graphql_urls[instance % self.graphql_urls.len()])
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|err| format!("{field}: request failed: {err}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|err| format!("{field}: reading the response failed: {err}"))?;
        let answer: Value = serde_json::from_str(&text).map_err(|_| format!("{field}: HTTP {status}: {text}"))?;
        if let Some(errors) = answer.get("errors") {
            return Err(format!("{field}: HTTP {status}: {errors}"));
        }
        answer["data"][field]["researcher"]["counts"]["followers"]
            .as_i64()
            .ok_or_else(|| format!("{field}: HTTP {status}: no follower count in {text}"))
    }

    /// Every user of the run unfollows; an error names how many could not.
    async fn undo(self: &Arc<Self>) -> Result<(), String> {
        let users = self.issued();
        let mut next = 0;
        let mut failed = 0usize;
        let mut first_error = None;
        let mut running = JoinSet::new();
        loop {
            while next < users && running.len() < UNFOLLOWS_AT_ONCE {
                let (user, this) = (next, self.clone());
                running.spawn(async move { this.send(&this.unfollow, "unfollowResearcher", user, user).await });
                next += 1;
            }
            let Some(joined) = running.join_next().await else { break };
            if let Err(err) = joined.map_err(|err| err.to_string()).and_then(|answer| answer.map(|_| ())) {
                failed += 1;
                first_error.get_or_insert(err);
            }
        }
        match first_error {
            None => Ok(()),
            Some(err) => Err(format!("{failed} of {users} unfollows failed; the first: {err}")),
        }
    }
}

/// What the subscribers share with the bench while they run.
struct Shared {
    /// The newest follower count each subscriber has seen (-1: none yet).
    latest: Vec<AtomicI64>,
    /// How far each subscriber has come in the measured stream: its
    /// events plus those it was told it missed.
    position: Vec<AtomicU64>,
    /// Subscribers whose `subscribe` is sent.
    subscribed: AtomicUsize,
    /// Subscribers whose socket or subscription ended, each and in all.
    done: Vec<AtomicBool>,
    ended: AtomicUsize,
    /// `next` messages received, by all subscribers.
    received: AtomicU64,
    /// Set once the warm-up is over: events are recorded from then on.
    measuring: AtomicBool,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn new(subscribers: usize) -> Self {
        Self {
            latest: (0..subscribers).map(|_| AtomicI64::new(-1)).collect(),
            position: (0..subscribers).map(|_| AtomicU64::new(0)).collect(),
            subscribed: AtomicUsize::new(0),
            done: (0..subscribers).map(|_| AtomicBool::new(false)).collect(),
            ended: AtomicUsize::new(0),
            received: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
            first_error: Mutex::new(None),
        }
    }

    fn end(&self, subscriber: usize, why: String) {
        self.done[subscriber].store(true, Ordering::SeqCst);
        self.ended.fetch_add(1, Ordering::SeqCst);
        let mut first = self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        first
            .get_or_insert_with(|| format!("subscriber {subscriber} (instance {}): {why}", subscriber % INSTANCES + 1));
    }

    fn first_error(&self) -> String {
        let first = self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        first.clone().unwrap_or_else(|| "no error recorded".to_owned())
    }

    /// Fails when a subscriber has ended: before the measurement, none may.
    fn check(&self) -> Result<()> {
        if self.ended.load(Ordering::SeqCst) > 0 {
            bail!("a subscription ended before the measurement: {}", self.first_error());
        }
        Ok(())
    }

    /// Subscribers that have not seen `count` followers yet.
    fn behind(&self, count: i64) -> usize {
        self.latest.iter().filter(|latest| latest.load(Ordering::SeqCst) < count).count()
    }

    /// Open subscribers that have not come to `position` in the measured stream.
    fn short_of(&self, position: u64) -> usize {
        self.position
            .iter()
            .zip(&self.done)
            .filter(|(reached, done)| !done.load(Ordering::SeqCst) && reached.load(Ordering::SeqCst) < position)
            .count()
    }
}

/// One event as a subscriber received it, during the measurement.
struct Received {
    at: Instant,
    followers: i64,
    missed: u64,
}

/// What one subscriber received during the measurement.
struct Log {
    subscriber: usize,
    events: Vec<Received>,
    /// Events of another kind than `FOLLOWED`.
    others: u64,
}

/// Just enough of a server message to dispatch it.
#[derive(Deserialize)]
struct ServerMessage<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct NextPayload<'a> {
    #[serde(borrow, default)]
    data: Option<EventData<'a>>,
    #[serde(borrow, default)]
    errors: Option<&'a RawValue>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData<'a> {
    #[serde(borrow)]
    researcher_events: Option<Event<'a>>,
}

#[derive(Deserialize)]
struct Event<'a> {
    kind: &'a str,
    researcher: EventResearcher,
}

#[derive(Deserialize)]
struct EventResearcher {
    counts: Counts,
}

#[derive(Deserialize)]
struct Counts {
    followers: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extensions {
    #[serde(default)]
    missed_events: u64,
}

/// Opens a socket, has it acknowledged and sends `subscribe`.
async fn open(url: &str, subscribe: &str) -> Result<Socket, String> {
    let mut request = url.into_client_request().map_err(|err| format!("a WebSocket request for {url}: {err}"))?;
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map_err(|err| format!("connecting to {url}: {err}"))?;
    let send = |text: &'static str| Message::text(text);
    socket
        .send(send(r#"{"type":"connection_init"}"#))
        .await
        .map_err(|err| format!("sending connection_init: {err}"))?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: ServerMessage<'_> = serde_json::from_str(text.as_str())
                    .map_err(|err| format!("not a protocol message ({err}): {text}"))?;
                match message.kind {
                    "connection_ack" => break,
                    "ping" => socket.send(send(r#"{"type":"pong"}"#)).await.map_err(|err| err.to_string())?,
                    _ => return Err(format!("expected connection_ack, got {text}")),
                }
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("closed before connection_ack: {frame:?}")),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(format!("reading connection_ack: {err}")),
            None => return Err("closed before connection_ack".to_owned()),
        }
    }
    socket.send(Message::text(subscribe)).await.map_err(|err| format!("sending subscribe: {err}"))?;
    Ok(socket)
}

/// One subscriber: opens its socket (one of `OPENING_AT_ONCE`), then
/// reads until `stop` or the end of its subscription.
async fn subscriber(
    index: usize,
    url: String,
    subscribe: Arc<str>,
    shared: Arc<Shared>,
    opening: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> Log {
    let mut log = Log { subscriber: index, events: Vec::new(), others: 0 };
    let opened = {
        // The semaphore is never closed.
        let _permit = opening.acquire().await;
        tokio::time::timeout(OPEN_DEADLINE, open(&url, &subscribe)).await
    };
    let mut socket = match opened {
        Ok(Ok(socket)) => socket,
        Ok(Err(err)) => {
            shared.end(index, err);
            return log;
        }
        Err(_) => {
            shared.end(index, format!("not subscribed after {OPEN_DEADLINE:?}"));
            return log;
        }
    };
    shared.subscribed.fetch_add(1, Ordering::SeqCst);
    loop {
        let message = tokio::select! {
            biased;
            _ = stop.changed() => break,
            message = socket.next() => message,
        };
        let at = Instant::now();
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                shared.end(index, format!("the server closed the socket: {frame:?}"));
                return log;
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => {
                shared.end(index, format!("reading: {err}"));
                return log;
            }
            None => {
                shared.end(index, "the socket closed".to_owned());
                return log;
            }
        };
        if let Err(err) = receive(index, text.as_str(), at, &shared, &mut log, &mut socket).await {
            shared.end(index, err);
            return log;
        }
    }
    // The server may be gone already: closing is a courtesy.
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
    log
}

/// Handles one message; an error ends the subscriber.
async fn receive(
    index: usize,
    text: &str,
    at: Instant,
    shared: &Shared,
    log: &mut Log,
    socket: &mut Socket,
) -> Result<(), String> {
    let message: ServerMessage<'_> =
        serde_json::from_str(text).map_err(|err| format!("not a protocol message ({err}): {text}"))?;
    match message.kind {
        "next" => {}
        "ping" => {
            return socket.send(Message::text(r#"{"type":"pong"}"#)).await.map_err(|err| format!("sending pong: {err}"))
        }
        "pong" => return Ok(()),
        "error" => return Err(format!("the subscription was refused: {}", message.payload.map_or("", RawValue::get))),
        "complete" => return Err("the server completed the subscription".to_owned()),
        _ => return Err(format!("unexpected message: {text}")),
    }
    shared.received.fetch_add(1, Ordering::SeqCst);
    let payload = message.payload.ok_or_else(|| format!("`next` without a payload: {text}"))?;
    let next: NextPayload<'_> =
        serde_json::from_str(payload.get()).map_err(|err| format!("an unreadable event ({err}): {text}"))?;
    if let Some(errors) = next.errors {
        return Err(format!("the subscription answered errors: {}", errors.get()));
    }
    let event = next.data.and_then(|data| data.researcher_events).ok_or_else(|| format!("an empty event: {text}"))?;
    let followers = event.researcher.counts.followers;
    shared.latest[index].fetch_max(followers, Ordering::SeqCst);
    if !shared.measuring.load(Ordering::SeqCst) {
        return Ok(());
    }
    if event.kind != "FOLLOWED" {
        log.others += 1;
        return Ok(());
    }
    let missed = next.extensions.map_or(0, |extensions| extensions.missed_events);
    shared.position[index].fetch_add(missed + 1, Ordering::SeqCst);
    log.events.push(Received { at, followers, missed });
    Ok(())
}

/// One measured follow.
struct Sent {
    at: Instant,
    instance: usize,
    /// The follower count answered, and how long the answer took.
    outcome: Result<(i64, Duration), String>,
}

/// What a run measured.
struct Run {
    subscribers: usize,
    /// Every follow sent, in the order sent.
    sent: Vec<Sent>,
    /// The follower count after the warm-up.
    base: i64,
    sending_time: Duration,
    /// From the first follow to the end of the wait for the events.
    measured_time: Duration,
    logs: Vec<Log>,
    /// Subscribers whose stream ended during the measurement, and why the first did.
    ended: usize,
    first_error: Option<String>,
    /// Subscribers that had not come up to the last follow when the wait ended.
    behind_at_end: usize,
    memory: Vec<(Option<u64>, Option<PeakMemory>)>,
    cpu: Cpu,
}

async fn measure(
    settings: &Settings<'_>,
    target: &Researcher,
    follows: &Arc<Follows>,
    instances: &mut [Instance],
    postgres: bool,
) -> Result<Run> {
    let subscribers = settings.subscribers as usize;
    let shared = Arc::new(Shared::new(subscribers));
    let subscribe: Arc<str> = json!({
        "id": "1",
        "type": "subscribe",
        "payload": { "query": SUBSCRIPTION, "variables": { "researcherId": target.global_id() } },
    })
    .to_string()
    .into();
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let (stop, stopped) = watch::channel(false);
    let urls: Vec<String> = instances.iter().map(Instance::ws_url).collect();
    let mut running = JoinSet::new();
    for index in 0..subscribers {
        running.spawn(subscriber(
            index,
            urls[index % INSTANCES].clone(),
            subscribe.clone(),
            shared.clone(),
            opening.clone(),
            stopped.clone(),
        ));
    }

    let opened = Instant::now();
    while shared.subscribed.load(Ordering::SeqCst) < subscribers {
        shared.check()?;
        tokio::time::sleep(POLL).await;
    }
    println!("subscribed  {subscribers} sockets opened and subscribed in {:.1} s", opened.elapsed().as_secs_f64());
    let base = warm_up(follows, &shared, instances).await?;

    shared.measuring.store(true, Ordering::SeqCst);
    let cpu_before = CpuAt::take(instances, postgres);
    let started = Instant::now();
    let mut sending = JoinSet::new();
    let mut sent: Vec<Sent> = Vec::new();
    let mut tick = tokio::time::interval(settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if started.elapsed() >= settings.duration {
            break;
        }
        let (user, instance) = (follows.next_user(), sent.len() % INSTANCES);
        sent.push(Sent { at: Instant::now(), instance, outcome: Err("no answer".to_owned()) });
        let (follows, index) = (follows.clone(), sent.len() - 1);
        sending.spawn(async move {
            let sent = Instant::now();
            (index, follows.follow(user, instance).await.map(|count| (count, sent.elapsed())))
        });
        // Answers are taken as they come, so that the set stays small.
        while let Some(joined) = sending.try_join_next() {
            let (index, outcome) = joined.context("a follow task failed")?;
            sent[index].outcome = outcome;
        }
    }
    let sending_time = started.elapsed();
    let answered = tokio::time::timeout(FOLLOWS_DEADLINE, async {
        while let Some(joined) = sending.join_next().await {
            let (index, outcome) = joined.context("a follow task failed")?;
            sent[index].outcome = outcome;
        }
        anyhow::Ok(())
    })
    .await;
    match answered {
        Ok(outcome) => outcome?,
        Err(_) => {
            println!("follows     some unanswered {FOLLOWS_DEADLINE:?} after the last was sent; counted as errors")
        }
    }
    drop(sending);
    for instance in instances.iter_mut() {
        if let Some(status) = instance.server.exited()? {
            bail!("instance {} exited ({status}); see {}", instance.number, instance.server.log_path().display());
        }
    }

    // The n-th follow that succeeded is the n-th event of every stream.
    let succeeded = sent.iter().filter(|follow| follow.outcome.is_ok()).count() as u64;
    let drained = Instant::now() + DRAIN_DEADLINE;
    while Instant::now() < drained && shared.short_of(succeeded) > 0 {
        tokio::time::sleep(POLL).await;
    }
    let behind_at_end = shared.short_of(succeeded);
    let cpu = cpu_before.spent(instances, postgres);
    let measured_time = started.elapsed();
    let memory = instances.iter_mut().map(|instance| (instance.rss_at_ready_kib, instance.peak_memory())).collect();

    // Sending fails only when every subscriber is gone, which is no harm.
    let _ = stop.send(true);
    let mut logs = Vec::with_capacity(subscribers);
    let closed = tokio::time::timeout(CLOSE_DEADLINE, async {
        while let Some(joined) = running.join_next().await {
            logs.push(joined.context("a subscriber task failed")?);
        }
        anyhow::Ok(())
    })
    .await;
    closed.with_context(|| format!("the subscribers did not stop within {CLOSE_DEADLINE:?}"))??;
    logs.sort_by_key(|log| log.subscriber);

    let ended = shared.ended.load(Ordering::SeqCst);
    Ok(Run {
        subscribers,
        sent,
        base,
        sending_time,
        measured_time,
        logs,
        ended,
        first_error: (ended > 0).then(|| shared.first_error()),
        behind_at_end,
        memory,
        cpu,
    })
}

/// CPU times at one moment: each instance's, PostgreSQL's and the bench's own.
struct CpuAt {
    instances: Vec<CpuSnapshot>,
    postgres: CpuSnapshot,
    bench: CpuSnapshot,
}

/// CPU milliseconds spent during the measurement.
struct Cpu {
    instances: Vec<Option<f64>>,
    postgres: Option<f64>,
    bench: Option<f64>,
}

impl CpuAt {
    fn take(instances: &[Instance], postgres: bool) -> Self {
        Self {
            instances: instances.iter().map(|instance| CpuSnapshot::take(Some(instance.server.pid()), false)).collect(),
            postgres: CpuSnapshot::take(None, postgres),
            bench: CpuSnapshot::take(Some(std::process::id()), false),
        }
    }

    fn spent(&self, instances: &[Instance], postgres: bool) -> Cpu {
        let now = Self::take(instances, postgres);
        let spent = |after: &CpuSnapshot, before: &CpuSnapshot| after.spent_since(before);
        Cpu {
            instances: now.instances.iter().zip(&self.instances).map(|(a, b)| spent(a, b).server_ms).collect(),
            postgres: spent(&now.postgres, &self.postgres).postgres_ms,
            bench: spent(&now.bench, &self.bench).server_ms,
        }
    }
}

/// Sends follows, one at a time and alternating instances, until every
/// subscriber has received one; then waits for quiet. Returns the
/// follower count after the last.
async fn warm_up(follows: &Follows, shared: &Shared, instances: &[Instance]) -> Result<i64> {
    let started = Instant::now();
    let deadline = started + WARM_UP_DEADLINE;
    let mut rounds = 0usize;
    let base = 'rounds: loop {
        let count = follows
            .follow(follows.next_user(), rounds % instances.len())
            .await
            .map_err(|err| anyhow::anyhow!("a warm-up follow failed: {err}"))?;
        rounds += 1;
        let round_end = Instant::now() + WARM_UP_ROUND;
        loop {
            shared.check()?;
            let behind = shared.behind(count);
            if behind == 0 {
                break 'rounds count;
            }
            if Instant::now() >= deadline {
                bail!(
                    "{behind} of {} subscribers received no event in {WARM_UP_DEADLINE:?} of warm-up ({rounds} \
                     follows); see the instances' logs",
                    shared.latest.len()
                );
            }
            if Instant::now() >= round_end {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    };
    loop {
        let before = shared.received.load(Ordering::SeqCst);
        tokio::time::sleep(QUIET).await;
        shared.check()?;
        if shared.received.load(Ordering::SeqCst) == before {
            break;
        }
        if Instant::now() >= deadline {
            bail!("the subscribers still receive events {WARM_UP_DEADLINE:?} after the warm-up began");
        }
    }
    println!(
        "warm-up     every subscriber had an event after {rounds} follow{}, {:.1} s; {base} followers",
        if rounds == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64()
    );
    Ok(base)
}

/// Latencies (µs) of one path.
#[derive(Default)]
struct Latencies(Vec<u32>);

impl Latencies {
    fn push(&mut self, latency: Duration) {
        self.0.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Nearest-rank percentile, in milliseconds; the list must be sorted.
    fn percentile_ms(&self, p: f64) -> Option<f64> {
        let n = self.0.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        (n > 0).then(|| f64::from(self.0[rank.clamp(1, n) - 1]) / 1000.0)
    }
}

/// The run's events, matched to the follows.
#[derive(Default)]
struct Tally {
    delivered: u64,
    missed: u64,
    /// Events past the last follow (none are expected).
    extra: u64,
    others: u64,
    /// Events whose follower count is the count their follow made, a later or an earlier one.
    exact: u64,
    later: u64,
    earlier: u64,
    /// Of the delivered events: all, of follows sent to the subscriber's instance, to the other.
    all: Latencies,
    same: Latencies,
    other: Latencies,
    /// Of every follow, for every subscriber: until the first event at or
    /// after it (a missed follow is known from the next event's record).
    covered: Latencies,
}

/// Matches each subscriber's events to `sent`: its n-th, counting the
/// missed ones, is the n-th follow that succeeded, which made `base + n` followers.
fn tally(sent: &[Sent], base: i64, logs: &[Log]) -> Tally {
    let succeeded: Vec<&Sent> = sent.iter().filter(|follow| follow.outcome.is_ok()).collect();
    let total = succeeded.len() as u64;
    let mut tally = Tally::default();
    for log in logs {
        tally.others += log.others;
        let instance = log.subscriber % INSTANCES;
        let mut position = 0u64;
        for event in &log.events {
            tally.missed += event.missed.min(total.saturating_sub(position));
            let first = position;
            position += event.missed + 1;
            for follow in succeeded.iter().take(usize::try_from(position).unwrap_or(usize::MAX)).skip(first as usize) {
                tally.covered.push(event.at.saturating_duration_since(follow.at));
            }
            let Some(follow) = usize::try_from(position - 1).ok().and_then(|n| succeeded.get(n)) else {
                tally.extra += 1;
                continue;
            };
            tally.delivered += 1;
            let latency = event.at.saturating_duration_since(follow.at);
            tally.all.push(latency);
            if follow.instance == instance {
                tally.same.push(latency);
            } else {
                tally.other.push(latency);
            }
            let made = base + position as i64;
            match event.followers.cmp(&made) {
                std::cmp::Ordering::Equal => tally.exact += 1,
                std::cmp::Ordering::Greater => tally.later += 1,
                std::cmp::Ordering::Less => tally.earlier += 1,
            }
        }
    }
    for latencies in [&mut tally.all, &mut tally.same, &mut tally.other, &mut tally.covered] {
        latencies.0.sort_unstable();
    }
    tally
}

fn print(settings: &Settings<'_>, run: &Run) {
    let tally = tally(&run.sent, run.base, &run.logs);
    let sent = run.sent.len() as u64;
    let errors: Vec<&String> = run.sent.iter().filter_map(|follow| follow.outcome.as_ref().err()).collect();
    let succeeded = sent - errors.len() as u64;
    let expected = succeeded * run.subscribers as u64;
    let lost = expected.saturating_sub(tally.delivered + tally.missed);
    let rate = sent as f64 / run.sending_time.as_secs_f64().max(f64::EPSILON);
    let share =
        |n: u64| if expected > 0 { format!("{:.2} %", n as f64 * 100.0 / expected as f64) } else { "-".to_owned() };

    println!();
    println!(
        "follows     {sent} sent in {:.1} s ({rate:.1}/s, one every {} ms asked), {succeeded} succeeded, {} failed",
        run.sending_time.as_secs_f64(),
        settings.interval.as_millis(),
        errors.len()
    );
    if let Some(first) = errors.first() {
        println!("            first failure: {first}");
    }
    println!("events      {expected} expected ({succeeded} follows x {} subscribers)", run.subscribers);
    println!("            {} delivered ({})", tally.delivered, share(tally.delivered));
    println!("            {} reported missed (extensions.missedEvents, {})", tally.missed, share(tally.missed));
    println!("            {lost} lost (neither delivered nor reported, {})", share(lost));
    if tally.extra > 0 || tally.others > 0 {
        println!(
            "            {} events past the last follow, {} of another kind than FOLLOWED",
            tally.extra, tally.others
        );
    }
    println!(
        "            follower counts: {} as their follow made them, {} later (read after later follows), {} earlier",
        tally.exact, tally.later, tally.earlier
    );
    println!(
        "subscribers {} ended during the run; {} had not come up to the last follow {DRAIN_DEADLINE:?} after it",
        run.ended, run.behind_at_end
    );
    if let Some(first) = &run.first_error {
        println!("            first: {first}");
    }

    let mut answers = Latencies::default();
    for (_, took) in run.sent.iter().filter_map(|follow| follow.outcome.as_ref().ok()) {
        answers.push(*took);
    }
    answers.0.sort_unstable();

    println!();
    println!("latency from sending a follow:");
    println!("{:<48} {:>10} {:>9} {:>9} {:>9}", "until", "samples", "p50 ms", "p99 ms", "max ms");
    println!("{}", "-".repeat(48 + 10 + 9 * 3 + 4));
    let ms = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    for (name, latencies) in [
        ("its event arrived (delivered events)", &tally.all),
        ("  follow sent to the subscriber's instance", &tally.same),
        ("  follow sent to the other instance", &tally.other),
        ("its event or a later one arrived (every follow)", &tally.covered),
        ("the mutation answered", &answers),
    ] {
        println!(
            "{name:<48} {:>10} {:>9} {:>9} {:>9}",
            latencies.0.len(),
            ms(latencies.percentile_ms(50.0)),
            ms(latencies.percentile_ms(99.0)),
            ms(latencies.0.last().map(|max| f64::from(*max) / 1000.0))
        );
    }
    // A missed follow is no failure: the next event carries the record after it.
    let verdict = match tally.covered.percentile_ms(99.0) {
        Some(p99) if lost == 0 && p99 < TARGET_P99.as_secs_f64() * 1000.0 => "met",
        Some(_) => "missed",
        None => "not measured (no event delivered)",
    };
    println!(
        "target: every follow reaches every subscriber (its event or a later one), p99 < {} s, nothing lost: {verdict}",
        TARGET_P99.as_secs()
    );

    println!();
    let mib = |kib: Option<u64>| kib.map_or_else(|| "n/a".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0));
    let seconds = |ms: Option<f64>| ms.map_or_else(|| "n/a".to_owned(), |ms| format!("{:.1} s", ms / 1000.0));
    for (number, ((at_ready, peak), cpu)) in run.memory.iter().zip(&run.cpu.instances).enumerate() {
        println!(
            "instance {}  RSS {} when ready; with its {} subscribers largest VmRSS {}, largest RssAnon {}, \
             peak (VmHWM) {}; CPU {} while the follows ran",
            number + 1,
            mib(*at_ready),
            run.subscribers / INSTANCES + usize::from(number < run.subscribers % INSTANCES),
            mib(peak.and_then(|peak| peak.max_sampled_rss_kib)),
            mib(peak.and_then(|peak| peak.max_sampled_anon_kib)),
            mib(peak.and_then(|peak| peak.hwm_kib)),
            seconds(*cpu)
        );
    }
    let postgres = run.cpu.postgres.map(|ms| format!(", PostgreSQL {}", seconds(Some(ms)))).unwrap_or_default();
    println!(
        "CPU         bench (the subscribers' clients) {}{postgres}, over {:.1} s of follows and the wait for their events",
        seconds(run.cpu.bench),
        run.measured_time.as_secs_f64()
    );
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_matched_to_the_follows_that_succeeded_counting_the_missed_ones() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let follow = |at: u64, instance: usize, ok: bool| Sent {
            at: ms(at),
            instance,
            outcome: if ok { Ok((0, Duration::ZERO)) } else { Err("refused".to_owned()) },
        };
        // The second follow failed: the first and the third are the stream's 1st and 2nd.
        let sent = [follow(0, 0, true), follow(10, 1, false), follow(20, 0, true)];
        let event = |at: u64, followers: i64, missed: u64| Received { at: ms(at), followers, missed };
        let base = 100;
        let logs = [
            Log { subscriber: 0, events: vec![event(5, 101, 0), event(30, 102, 0)], others: 0 },
            // Skipped the first, told so on the second.
            Log { subscriber: 1, events: vec![event(40, 102, 1)], others: 1 },
            // The first event carries a later count; the third is past the last follow.
            Log { subscriber: 2, events: vec![event(25, 102, 0), event(26, 102, 0), event(27, 103, 0)], others: 0 },
        ];
        let tally = tally(&sent, base, &logs);
        assert_eq!((tally.delivered, tally.missed, tally.extra, tally.others), (5, 1, 1, 1));
        assert_eq!((tally.exact, tally.later, tally.earlier), (4, 1, 0));
        // Subscribers 0 and 2 are on instance 1 (index 0), where both follows went.
        assert_eq!(tally.same.0, [5_000, 6_000, 10_000, 25_000]);
        assert_eq!(tally.other.0, [20_000]);
        assert_eq!(tally.all.percentile_ms(50.0), Some(10.0));
        assert_eq!(tally.all.percentile_ms(99.0), Some(25.0));
        // Subscriber 1 knew of the first follow from the event of the second.
        assert_eq!(tally.covered.0, [5_000, 6_000, 10_000, 20_000, 25_000, 40_000]);
        assert_eq!(Latencies::default().percentile_ms(50.0), None);
    }
}
