//! Shared test helpers: every test starts the real service on a random port
//! against a fresh database and talks GraphQL to it over HTTP or WebSocket.
//!
//! The database is a new SQLite file by default; when `DATABASE_URL` points
//! at PostgreSQL, each test creates its own database there. Logs are printed
//! only when `TEST_LOG` is set.
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use scholargraph::config::Config;
use scholargraph::domain::changes::{self, ChangeKind, NewChange};
use scholargraph::ingest::demo;
use scholargraph::search::{IndexStatus, TantivySearch};
use scholargraph::startup::Application;
use scholargraph::state::Metrics;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

static TRACING: LazyLock<Option<scholargraph::telemetry::Telemetry>> = LazyLock::new(|| {
    std::env::var_os("TEST_LOG").and_then(|_| scholargraph::telemetry::init("info,scholargraph=debug").ok())
});

pub struct TestApp {
    pub address: String,
    /// The database the service runs on.
    pub database_url: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub metrics: Arc<Metrics>,
    /// The service's search index, to wait for it to catch up with writes.
    pub search: TantivySearch,
    /// Removes the database when the app is dropped (after `db`).
    _database: TestDatabase,
    /// Sending (or dropping) it shuts the service down gracefully.
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Where a test's database lives; dropping it removes the database.
pub enum TestDatabase {
    Sqlite(PathBuf),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another instance's: removed with that one.
    Shared,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite(file) => {
                for suffix in ["", "-wal", "-shm", "-migrate.lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
            TestDatabase::Postgres { admin_url, name } => {
                // The test's runtime is ending: drop the database from a
                // thread and runtime of its own. FORCE ends the service's
                // connections, which are still open.
                let (admin_url, database) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let admin = Database::connect(&admin_url).await.ok()?;
                        let drop = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
                        admin.execute_unprepared(&drop).await.ok()
                    })
                })
                .join();
                if !matches!(dropped, Ok(Some(_))) {
                    eprintln!("could not drop the test database {name}");
                }
            }
            TestDatabase::Shared => {}
        }
    }
}

/// A fresh, empty database for one test (on PostgreSQL when `DATABASE_URL`
/// says so): its URL, and what removes it when dropped.
pub async fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => fresh_postgres_database(&url).await,
        _ => {
            let name = format!("scholargraph_test_{}", uuid::Uuid::new_v4().simple());
            let file = std::env::temp_dir().join(format!("{name}.db"));
            (format!("sqlite://{}?mode=rwc", file.display()), TestDatabase::Sqlite(file))
        }
    }
}

/// A fresh database on the PostgreSQL server of `admin_url`.
async fn fresh_postgres_database(admin_url: &str) -> (String, TestDatabase) {
    let name = format!("scholargraph_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url).await.expect("connect to PostgreSQL");
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(admin_url);
    (format!("{base}/{name}"), TestDatabase::Postgres { admin_url: admin_url.to_owned(), name })
}

/// The service over a fresh database holding the demo dataset.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The service, configured by `adjust`, over the demo dataset.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_with(adjust).await;
    demo::seed(&app.db).await.expect("seed the demo dataset");
    app.search_caught_up().await;
    app
}

/// The HS256 secret the test apps accept tokens for.
pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";

/// A valid HS256 token for `sub`, with optional verified ORCID iD and roles.
pub fn token(sub: &str, orcid: Option<&str>, roles: &[&str]) -> String {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    scholargraph::auth::issue_dev_token(TEST_SECRET, sub, orcid, &roles, std::time::Duration::from_secs(600))
        .expect("sign a test token")
}

/// The service over a fresh database with the schema (on SQLite the service
/// loads the demo into an empty catalogue unless `seed_demo_when_empty` is
/// turned off; on PostgreSQL it never does).
pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let (url, database) = fresh_database().await;
    start(url, database, adjust).await
}

/// The service over the demo dataset in a fresh database of the PostgreSQL
/// server at `admin_url` (one a test runs for itself).
pub async fn spawn_app_on_postgres(admin_url: &str) -> TestApp {
    let (url, database) = fresh_postgres_database(admin_url).await;
    let app = start(url, database, |_| {}).await;
    demo::seed(&app.db).await.expect("seed the demo dataset");
    app.search_caught_up().await;
    app
}

async fn start(url: String, database: TestDatabase, adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let mut config = Config::for_database(url.clone());
    config.database_max_connections = 5;
    config.auth.jwt_secret = Some(TEST_SECRET.into());
    adjust(&mut config);
    let app = Application::build(config).await.expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.state().db.clone();
    let metrics = app.state().metrics.clone();
    let search = app.state().search.clone();
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        // Sent or dropped alike: both mean stop.
        let _ = stop.await;
    }));
    let app = TestApp {
        address,
        database_url: url,
        client: reqwest::Client::new(),
        db,
        metrics,
        search,
        _database: database,
        shutdown: Some(shutdown),
    };
    app.search_caught_up().await;
    app
}

/// The text of a contract operation file under `tests/operations/`.
pub fn operation(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/operations").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

impl TestApp {
    /// A second instance of the service on this one's database, configured
    /// by `adjust` (its search index is in memory unless `adjust` says otherwise).
    pub async fn another_instance(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        start(self.database_url.clone(), TestDatabase::Shared, adjust).await
    }

    /// Shuts the service down as a signal would.
    pub fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Waits until the search index is built and has applied every change
    /// committed so far (the service follows the log in the background).
    pub async fn search_caught_up(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        // Every change committed so far sorts at or before this one.
        let last = changes::last_position(&self.db).await.expect("read the change log");
        loop {
            if let (IndexStatus::Ready, Ok(Some(position))) = (self.search.status(), self.search.position()) {
                if position >= last {
                    return;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "the search index did not catch up within 30 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// POSTs a GraphQL request and returns the HTTP status and JSON body.
    pub async fn post(&self, body: &Value) -> (u16, Value) {
        let response =
            self.client.post(format!("{}/graphql", self.address)).json(body).send().await.expect("send request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("read body");
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        (status, body)
    }

    /// POSTs a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn post_as(&self, token: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("send request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("read body");
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        (status, body)
    }

    /// Runs a query as the bearer of `token` and returns the whole response.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.post_as(token, &json!({ "query": query, "variables": variables })).await.1
    }

    /// Runs one named contract operation as the bearer of `token`.
    pub async fn operation_as(&self, token: &str, file: &str, name: &str, variables: Value) -> Value {
        let body = json!({ "query": operation(file), "operationName": name, "variables": variables });
        self.post_as(token, &body).await.1
    }

    /// Runs a contract operation as the bearer of `token`; it must succeed.
    pub async fn operation_data_as(&self, token: &str, file: &str, name: &str, variables: Value) -> Value {
        let response = self.operation_as(token, file, name, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors in {name}: {response:#}");
        response["data"].clone()
    }

    /// Runs a query and returns the whole response (data and errors).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.post(&json!({ "query": query, "variables": variables })).await.1
    }

    /// Runs one named operation of a contract file.
    pub async fn operation(&self, file: &str, name: &str, variables: Value) -> Value {
        let body = json!({ "query": operation(file), "operationName": name, "variables": variables });
        self.post(&body).await.1
    }

    /// Runs a query that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// Runs a contract operation that must succeed and returns its `data`.
    pub async fn operation_data(&self, file: &str, name: &str, variables: Value) -> Value {
        let response = self.operation(file, name, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors in {name}: {response:#}");
        response["data"].clone()
    }

    /// The global id of the researcher with `slug`.
    pub async fn researcher_id(&self, slug: &str) -> String {
        let data = self.data("query($s: String!) { researcher(slug: $s) { id } }", json!({ "s": slug })).await;
        data["researcher"]["id"].as_str().expect("researcher exists").to_owned()
    }

    /// Test data, not demo data: puts the researchers with `slugs` at a new
    /// institution named `name` and returns its global id. (The demo holds
    /// no affiliations: none could be checked against a source.)
    pub async fn affiliate(&self, slugs: &[&str], name: &str, country: &str) -> String {
        let insert = format!("INSERT INTO institutions (name, country) VALUES ('{name}', '{country}')");
        self.db.execute_unprepared(&insert).await.expect("add an institution");
        let slugs = slugs.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        let update = format!(
            "UPDATE researchers SET affiliation_id = (SELECT id FROM institutions WHERE name = '{name}') \
             WHERE slug IN ({slugs})"
        );
        self.db.execute_unprepared(&update).await.expect("affiliate researchers");
        // As any write of a record would, tell the change log's readers.
        let select = format!("SELECT id FROM researchers WHERE slug IN ({slugs})");
        let rows = self.db.query_all_raw(Statement::from_string(self.db.get_database_backend(), select)).await;
        let changed: Vec<NewChange> = rows
            .expect("read the researchers")
            .iter()
            .map(|row| NewChange::of_researcher(ChangeKind::ProfileUpdated, row.try_get("", "id").expect("an id")))
            .collect();
        let txn = self.db.begin().await.expect("begin");
        changes::record(&txn, &changed).await.expect("record the changes");
        txn.commit().await.expect("commit");
        self.search_caught_up().await;
        let data = self
            .data(
                "query($s: String!) { researcher(slug: $s) { affiliation { id } } }",
                json!({ "s": slugs.split('\'').nth(1) }),
            )
            .await;
        data["researcher"]["affiliation"]["id"].as_str().expect("affiliated").to_owned()
    }

    /// SQL statements the service has executed so far.
    pub fn sql_statements(&self) -> u64 {
        self.metrics.sql_statements()
    }
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {response:#}"))
}

/// A GraphQL WebSocket client speaking `graphql-transport-ws` to the app.
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How long a test waits for the server's next message.
const WS_WAIT: Duration = Duration::from_secs(10);

impl TestApp {
    /// Opens `/graphql/ws` offering the `graphql-transport-ws` subprotocol.
    pub async fn ws_connect(&self) -> WsClient {
        self.ws_connect_offering(Some("graphql-transport-ws")).await
    }

    /// Opens `/graphql/ws` offering `protocol` (or none).
    pub async fn ws_connect_offering(&self, protocol: Option<&str>) -> WsClient {
        let url = format!("{}/graphql/ws", self.address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a WebSocket request");
        if let Some(protocol) = protocol {
            request.headers_mut().insert("sec-websocket-protocol", protocol.parse().expect("a header value"));
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await.expect("open the WebSocket");
        WsClient { stream }
    }
}

impl WsClient {
    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    /// Sends a text message as is.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.stream.send(WsMessage::text(text.into())).await.expect("send a WebSocket message");
    }

    /// Sends `connection_init` (with `payload`, if any) and expects the ack.
    pub async fn init(&mut self, payload: Option<Value>) {
        let mut init = json!({ "type": "connection_init" });
        if let Some(payload) = payload {
            init["payload"] = payload;
        }
        self.send(init).await;
        assert_eq!(self.receive().await, json!({ "type": "connection_ack" }));
    }

    /// Sends `subscribe` for `query` with `variables` under `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next JSON message from the server; panics on a close or a timeout.
    pub async fn receive(&mut self) -> Value {
        match self.receive_any().await {
            Ok(message) => message,
            Err(close) => panic!("closed while a message was expected: {close:?}"),
        }
    }

    /// The payload of the next message, which must be `next` for `id`.
    pub async fn next_payload(&mut self, id: &str) -> Value {
        let next = self.receive().await;
        assert_eq!((next["type"].as_str(), next["id"].as_str()), (Some("next"), Some(id)), "{next:#}");
        next["payload"].clone()
    }

    /// The next JSON message, or the close code and reason if the server
    /// closes instead.
    pub async fn receive_any(&mut self) -> Result<Value, (u16, String)> {
        loop {
            let message = tokio::time::timeout(WS_WAIT, self.stream.next())
                .await
                .expect("a message from the server in time")
                .expect("the WebSocket is still open")
                .expect("a readable message");
            match message {
                WsMessage::Text(text) => {
                    return Ok(serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text.as_str())))
                }
                WsMessage::Close(frame) => {
                    return Err(frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())).unwrap_or_default())
                }
                _ => {}
            }
        }
    }

    /// Runs `query` under `id` and returns the `next` payload, after which
    /// the server must send `complete`.
    pub async fn run(&mut self, id: &str, query: &str, variables: Value) -> Value {
        self.subscribe(id, query, variables).await;
        let next = self.receive().await;
        assert_eq!((next["type"].as_str(), next["id"].as_str()), (Some("next"), Some(id)), "{next:#}");
        assert_eq!(self.receive().await, json!({ "id": id, "type": "complete" }));
        next["payload"].clone()
    }

    /// Runs `query` under `id` and returns the payload of the `error`
    /// message it must get.
    pub async fn run_refused(&mut self, id: &str, query: &str) -> Value {
        self.subscribe(id, query, json!({})).await;
        let error = self.receive().await;
        assert_eq!((error["type"].as_str(), error["id"].as_str()), (Some("error"), Some(id)), "{error:#}");
        error["payload"].clone()
    }

    /// The close code and reason the server ends the connection with;
    /// panics on any other message first.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            let message = tokio::time::timeout(WS_WAIT, self.stream.next())
                .await
                .expect("the server closes in time")
                .expect("a close frame before the end of the stream")
                .expect("a readable message");
            match message {
                WsMessage::Close(Some(frame)) => return (u16::from(frame.code), frame.reason.as_str().to_owned()),
                WsMessage::Close(None) => panic!("closed without a code"),
                WsMessage::Text(text) => panic!("a message where a close was expected: {}", text.as_str()),
                _ => {}
            }
        }
    }
}

/// A PostgreSQL cluster of a test's own (`scripts/with-postgres.sh`), which
/// it can stop, start and restart: for tests of what the service does when
/// the database goes away, which must not disturb the suite's shared one.
pub struct PostgresCluster {
    pub url: String,
    control: tokio::process::ChildStdin,
    replies: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    child: tokio::process::Child,
}

/// Runs inside `with-postgres.sh`: prints the URL, then runs `pg_ctl` for
/// each `stop`, `start` or `restart` line; any other line, or the end of
/// input, ends it (and the script then removes the cluster).
const CLUSTER_CONTROL: &str = r#"cd / && echo "$DATABASE_URL" && while read -r command; do
  case "$command" in
    stop|start|restart) ;;
    *) exit 0 ;;
  esac
  if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA_DIR" -l "$PG_DATA_DIR/../server.log" -o "-p $PGPORT" -m fast -w "$command" >/dev/null; then
    echo done
  else
    echo failed
  fi
done"#;

impl PostgresCluster {
    /// A cluster, when the suite runs on PostgreSQL (which says the server
    /// binaries are here); `None` on the SQLite run.
    pub async fn for_the_postgres_run() -> Option<Self> {
        if !std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
            eprintln!("tested in the PostgreSQL run, on a cluster of its own");
            return None;
        }
        let mut child = tokio::process::Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/with-postgres.sh"))
            .args(["bash", "-c", CLUSTER_CONTROL])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run scripts/with-postgres.sh");
        let control = child.stdin.take().expect("stdin");
        let mut replies = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = Self::reply(&mut replies).await;
        assert!(url.starts_with("postgres://"), "{url}");
        Some(Self { url, control, replies, child })
    }

    async fn reply(replies: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>) -> String {
        let line = tokio::time::timeout(Duration::from_secs(120), replies.next_line()).await;
        line.expect("the cluster answers in time").expect("read the cluster's answer").expect("a line")
    }

    async fn pg_ctl(&mut self, command: &str) {
        self.control.write_all(format!("{command}\n").as_bytes()).await.expect("send a command to the cluster");
        assert_eq!(Self::reply(&mut self.replies).await, "done", "pg_ctl {command}");
    }

    pub async fn stop(&mut self) {
        self.pg_ctl("stop").await;
    }

    pub async fn start(&mut self) {
        self.pg_ctl("start").await;
    }

    pub async fn restart(&mut self) {
        self.pg_ctl("restart").await;
    }

    /// Stops the cluster and removes it.
    pub async fn remove(mut self) {
        let _ = self.control.write_all(b"quit\n").await;
        let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
    }
}
