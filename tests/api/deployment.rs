//! Running in production: replicas that start together migrate one after
//! the other, `serve --no-migrate`, SIGTERM with requests in flight, and the
//! database stopped and started again under load.
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use scholargraph::config::Config;
use scholargraph::startup::Application;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

use crate::helpers::{fresh_database, spawn_app, spawn_app_on_postgres, token, PostgresCluster, TestApp, TEST_SECRET};

const FOLLOW: &str = "mutation($id: ID!) { followResearcher(input: { researcherId: $id }) { researcher { id } } }";
const PROFILE: &str = "query($id: ID!) { node(id: $id) { ... on Researcher { displayName counts { works } } } }";

fn config(url: &str) -> Config {
    let mut config = Config::for_database(url.to_owned());
    config.database_max_connections = 5;
    config.seed_demo_when_empty = false;
    config.auth.jwt_secret = Some(TEST_SECRET.into());
    config
}

async fn count(url: &str, sql: &str) -> i64 {
    let db = Database::connect(url).await.expect("connect");
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await;
    row.expect("query").expect("a row").try_get::<i64>("", "n").expect("n")
}

#[tokio::test]
async fn replicas_starting_together_on_a_new_database_migrate_one_after_the_other() {
    let (url, _database) = fresh_database().await;
    let replicas = (0..3).map(|_| Application::build(config(&url)));
    for replica in futures_util::future::join_all(replicas).await {
        replica.expect("every replica starts");
    }
    let applied = count(&url, "SELECT COUNT(*) AS n FROM seaql_migrations").await;
    assert_eq!(applied, Migrator::migrations().len() as i64, "each migration applied once");
}

#[tokio::test]
async fn serve_no_migrate_refuses_a_database_with_pending_migrations_and_serves_a_migrated_one() {
    let (url, _database) = fresh_database().await;
    let mut skipping = config(&url);
    skipping.no_migrate = true;
    let refused = Application::build(skipping.clone()).await.err().expect("refused: nothing is migrated");
    assert!(refused.to_string().contains("pending migration"), "{refused:#}");

    let db = Database::connect(&url).await.expect("connect");
    scholargraph::startup::migrate(&db).await.expect("migrate as a step of its own");
    Application::build(skipping).await.expect("serves once migrated");
}

/// `scholargraph serve` in a child process over `app`'s database.
struct ServeProcess {
    child: tokio::process::Child,
    address: String,
}

impl ServeProcess {
    async fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_scholargraph"))
            .arg("serve")
            .env("DATABASE_URL", &app.database_url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("SEARCH_INDEX", "memory")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .spawn()
            .expect("start scholargraph serve");
        let process = Self { child, address: format!("http://127.0.0.1:{port}") };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let ready = app.client.get(format!("{}/readyz", process.address)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return process;
            }
            assert!(tokio::time::Instant::now() < deadline, "the server did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success());
    }
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_then_exits() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    // Loaders wait a second before they read: each request stays in flight that long.
    let mut server = ServeProcess::start(&app, &[("LOADER_DELAY_MICROS", "1000000")]).await;
    let in_flight: Vec<_> = (0..4)
        .map(|_| {
            let request = app.client.post(format!("{}/graphql", server.address));
            tokio::spawn(request.json(&json!({ "query": PROFILE, "variables": { "id": marc } })).send())
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    for request in in_flight {
        let response = request.await.expect("the task").expect("an answer, not a reset");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["data"]["node"]["displayName"], "Marc Mézard", "{body:#}");
    }
    let exited = tokio::time::timeout(Duration::from_secs(30), server.child.wait()).await;
    assert!(exited.expect("exits in time").expect("an exit status").success());
    assert!(app.client.post(format!("{}/graphql", server.address)).send().await.is_err(), "no longer accepting");
}

/// What a bounded load saw while the database went away and came back.
#[derive(Default)]
struct Seen {
    /// Users whose follow was acknowledged (answered without errors).
    acknowledged: BTreeSet<String>,
    /// Error codes answered.
    codes: BTreeSet<String>,
}

fn record(seen: &Mutex<Seen>, user: String, answer: &Value) {
    let mut seen = seen.lock().expect("not poisoned");
    match answer["errors"].as_array() {
        None => {
            seen.acknowledged.insert(user);
        }
        Some(errors) => {
            seen.codes.extend(errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("none").to_owned()))
        }
    }
}

#[tokio::test]
async fn postgres_stopped_and_started_under_load_loses_no_acknowledged_write_and_recovers() {
    let Some(mut cluster) = PostgresCluster::for_the_postgres_run().await else { return };
    let app = Arc::new(spawn_app_on_postgres(&cluster.url).await);
    let marc = app.researcher_id("marc-mezard").await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let running = Arc::new(AtomicBool::new(true));
    let workers: Vec<_> = (0..3)
        .map(|worker| {
            let (app, marc, seen, running) = (app.clone(), marc.clone(), seen.clone(), running.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while running.load(Ordering::Relaxed) {
                    let user = format!("load-{worker}-{n}");
                    n += 1;
                    let answer = app.graphql_as(&token(&user, None, &[]), FOLLOW, json!({ "id": marc })).await;
                    record(&seen, user, &answer);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.stop().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.expect("readyz answers");
    assert_eq!(ready.status(), 503, "not ready without the database");
    let answer = app.graphql(PROFILE, json!({ "id": marc })).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "INTERNAL", "{answer:#}");

    cluster.start().await;
    let back = tokio::time::Instant::now();
    loop {
        let answer = app.graphql(PROFILE, json!({ "id": marc })).await;
        if answer.get("errors").is_none() {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(5), "not recovered 5 s after the database returned: {answer:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("a load worker ended without a panic");
    }

    let seen = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    assert!(!seen.acknowledged.is_empty(), "some follows went through");
    assert!(seen.codes.iter().all(|code| code == "INTERNAL"), "only INTERNAL in the gap: {:?}", seen.codes);
    // Every acknowledged follow is stored; a follow is whole or absent: its
    // row, its counter and its change go together.
    let url = &app.database_url;
    let (_, number) = scholargraph::graphql::ids::decode(&marc).expect("a researcher id");
    let acknowledged: Vec<String> = seen.acknowledged.iter().map(|user| format!("'{user}'")).collect();
    let found = count(
        url,
        &format!(
            "SELECT COUNT(*) AS n FROM follows f JOIN users u ON u.id = f.user_id WHERE u.subject IN ({})",
            acknowledged.join(", ")
        ),
    )
    .await;
    assert_eq!(found, seen.acknowledged.len() as i64, "every acknowledged follow is stored");
    let stored = count(url, &format!("SELECT COUNT(*) AS n FROM follows WHERE researcher_id = {number}")).await;
    let counter =
        count(url, &format!("SELECT CAST(followers_count AS BIGINT) AS n FROM researchers WHERE id = {number}")).await;
    assert_eq!(counter, stored, "the follower counter agrees with the follows");
    let logged = count(
        url,
        &format!("SELECT COUNT(*) AS n FROM catalogue_changes WHERE kind = 'FOLLOWED' AND researcher_id = {number}"),
    )
    .await;
    assert_eq!(logged, stored, "each stored follow has its change");
    drop(app);
    cluster.remove().await;
}
