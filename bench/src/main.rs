//! Load benchmark for the scholargraph GraphQL API.
//!
//! Starts `scholargraph serve` as a child process over an existing database,
//! drives the frontend's operations over HTTP at a fixed concurrency, and
//! prints throughput, latency percentiles, errors, SQL statements and CPU
//! milliseconds (the server's, PostgreSQL's) per request and the server's
//! peak memory. It also measures a "floor": the profile
//! page's data as one hand-written SQL statement, without GraphQL.
//! On request (`--only fanout`) it measures the fan-out of live events
//! instead: many WebSocket subscribers of one researcher on two servers,
//! and how long each follow takes to reach them; and (`--only profile_wire`)
//! what compression and persisted queries change for the profile operation:
//! bytes on the wire and req/s.
//!
//! ```sh
//! cargo build --release -p scholargraph -p bench
//! ./target/release/bench --database-url "sqlite://data/scholargraph.db?mode=rwc"
//! ```
//!
//! See BENCHMARKS.md.
mod bombs;
mod cpu;
mod dataset;
mod fanout;
mod floor;
mod freshness;
mod import;
mod load;
mod ops;
mod report;
mod server;
mod wire;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};

use crate::report::{Row, Table};

/// The server's default database (`scholargraph::config::DEFAULT_DATABASE_URL`),
/// copied so that the bench does not link the service; a test keeps the two equal.
const DEFAULT_DATABASE_URL: &str = "sqlite://data/scholargraph.db?mode=rwc";

#[derive(Debug, Parser)]
#[command(name = "bench", about = "Load-test the scholargraph GraphQL API against an existing database")]
struct Args {
    /// Database to benchmark (it must already hold data: `scholargraph seed demo|synthetic`).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,

    /// Concurrent client workers; also the server's and the floor's connection pool size.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,

    /// Measured seconds per operation.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,

    /// Unmeasured warm-up seconds before each operation.
    #[arg(long, default_value_t = 3)]
    warmup: u64,

    /// The server binary [default: `scholargraph` next to this binary; run `cargo build --release -p scholargraph -p bench` first].
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// Run only these operations (comma-separated; `bombs` is the profile beside
    /// hostile documents, `search_freshness` times writes until search finds
    /// them, `floor` the hand-written SQL baseline; `fanout`, run only when
    /// named, times follows reaching live subscribers on two servers of its own;
    /// `profile_wire`, run only when named, the profile sent in full or as a
    /// persisted query, answered plain or compressed).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,

    /// `fanout`: subscribers, each on a WebSocket of its own, half on each server.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    fanout_subscribers: u32,
    /// `fanout`: milliseconds between two follows (for `--duration` seconds).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    fanout_interval_ms: u64,

    /// Instead of the serving operations: write this many OpenAlex-shaped
    /// works to a file, import it into the database (which should be empty)
    /// with `scholargraph import openalex`, then import it again.
    #[arg(long)]
    import_works: Option<u64>,
    /// The import benchmark's random seed.
    #[arg(long, default_value_t = 42)]
    import_seed: u64,
    /// Write the import benchmark's file here and keep it (to profile or
    /// repeat a run) instead of a temporary file removed at the end.
    #[arg(long)]
    import_file: Option<PathBuf>,
    /// Port the server listens on [default: a free one; the fan-out's two always take free ones].
    #[arg(long)]
    port: Option<u16>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Dropping `run` (on ctrl-c) drops the server handle, which kills the child.
    let outcome = tokio::select! {
        outcome = run(args) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let server_bin = match &args.server_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("locating the bench binary")?.with_file_name("scholargraph"),
    };
    if let Some(works) = args.import_works {
        return import::run(&server_bin, &args.database_url, works, args.import_seed, args.import_file.as_deref())
            .await;
    }
    let selected = select_operations(&args.only)?;
    let (fanout, serving): (Vec<String>, Vec<String>) = selected.into_iter().partition(|name| name == fanout::NAME);
    if !serving.is_empty() {
        serve(&args, &server_bin, &serving).await?;
    }
    if !fanout.is_empty() {
        let settings = fanout::Settings {
            server_bin: &server_bin,
            database_url: &args.database_url,
            subscribers: args.fanout_subscribers,
            interval: Duration::from_millis(args.fanout_interval_ms),
            duration: Duration::from_secs(args.duration),
            pool_size: args.concurrency,
        };
        fanout::run(&settings).await?;
    }
    Ok(())
}

/// The serving operations (and `bombs`, `search_freshness`, `floor`) in `selected`, against one server.
async fn serve(args: &Args, server_bin: &Path, selected: &[String]) -> Result<()> {
    let wants = |name: &str| selected.iter().any(|s| s == name);
    let port = match args.port {
        Some(port) => port,
        None => server::free_port()?,
    };
    let warmup = Duration::from_secs(args.warmup);
    let duration = Duration::from_secs(args.duration);

    // The server migrates the database at start, so it goes first.
    let mut server = server::Server::spawn(server_bin, &args.database_url, port, args.concurrency)?;
    let client = load::http_client(args.concurrency)?;
    server.wait_ready(&client, Duration::from_secs(120)).await?;
    let memory = server::MemorySampler::start(server.pid());

    let db = connect(&args.database_url, 2).await?;
    let data = dataset::Dataset::load(&db).await?;
    db.close().await.context("closing the set-up connection")?;

    report::print_header(&report::Header {
        database_url: &args.database_url,
        data: &data,
        concurrency: args.concurrency,
        duration,
        warmup,
        server_bin,
        server_log: server.log_path(),
        port,
    });

    let mut table = Table::new();
    if ops::OPERATIONS.iter().any(|name| wants(name)) {
        table.print_head();
    }
    let graphql = Arc::new(load::Endpoint::new(client.clone(), server.base_url()));
    let mut profile_row: Option<Row> = None;
    // The server is the bench's own child, so its CPU time is its pid's.
    let server_pid = server.pid();
    let cpu_snapshot = || cpu::CpuSnapshot::take(Some(server_pid), data.backend == DbBackend::Postgres);
    for name in ops::OPERATIONS.iter().copied().filter(|name| wants(name)) {
        let plan = ops::plan(name, &data, &graphql).await;
        let row = match plan {
            ops::Plan::Skip(reason) => Row::skipped(name, reason),
            ops::Plan::Run(workload) => {
                let request = Arc::new(load::GraphqlRequest::new(graphql.clone(), workload));
                load::drive(request.clone(), args.concurrency, warmup).await;
                let before = graphql.sql_statements().await;
                let cpu_before = cpu_snapshot();
                let sample = load::drive(request, args.concurrency, duration).await;
                let cpu = cpu_snapshot().spent_since(&cpu_before);
                let after = graphql.sql_statements().await;
                let sql = match (before, after) {
                    (Some(before), Some(after)) => Some(after.saturating_sub(before)),
                    _ => None,
                };
                Row::measured(name, sample, sql, cpu)
            }
        };
        table.print_row(&row);
        if name == "profile" {
            profile_row = Some(row.clone());
        }
        table.push(row);
        if let Some(status) = server.exited()? {
            table.print_notes();
            bail!("the server exited ({status}) during `{name}`; see {}", server.log_path().display());
        }
    }
    table.print_notes();

    if wants("bombs") {
        match ops::plan("profile", &data, &graphql).await {
            ops::Plan::Run(workload) => {
                let profile = Arc::new(load::GraphqlRequest::new(graphql.clone(), workload));
                let graphql_url = format!("{}/graphql", server.base_url());
                let outcome =
                    bombs::measure(profile, client.clone(), graphql_url, args.concurrency, warmup, duration).await;
                bombs::print(&outcome, args.concurrency);
            }
            ops::Plan::Skip(reason) => println!("\nbombs: skipped: {reason}"),
        }
    }

    if wants(wire::NAME) {
        let settings = wire::Settings {
            client: client.clone(),
            base_url: server.base_url(),
            server_pid,
            postgres: data.backend == DbBackend::Postgres,
            concurrency: args.concurrency,
            warmup,
            duration,
        };
        match wire::measure(&settings, &data).await {
            Ok(measured) => wire::print(&measured, args.concurrency),
            Err(err) => println!("\n{}: failed: {err:#}", wire::NAME),
        }
    }

    if wants("search_freshness") {
        let write_db = connect(&args.database_url, 1).await?;
        let delays = freshness::measure(&write_db, &graphql).await;
        write_db.close().await.context("closing the writer's connection")?;
        freshness::print(&delays?);
    }

    let peak = memory.finish(server.pid());
    server.stop();
    report::print_memory(&peak);

    if wants("floor") {
        let floor_db = connect(&args.database_url, args.concurrency).await?;
        let outcome = floor::measure(&floor_db, &data, args.concurrency, warmup, duration).await;
        floor_db.close().await.context("closing the floor's connections")?;
        match outcome? {
            Some(sample) => {
                let floor = Row::measured("floor", sample, None, cpu::CpuSpent::default());
                report::print_floor(&floor, profile_row.as_ref());
            }
            None => println!("\nfloor: skipped: no researcher to ask for"),
        }
    }
    Ok(())
}

/// The operations `--only` names, or every one run by default (all but
/// `fanout` and `profile_wire`).
fn select_operations(only: &[String]) -> Result<Vec<String>> {
    let all = || ops::OPERATIONS.iter().chain(["bombs", "search_freshness", "floor"].iter()).map(|s| (*s).to_owned());
    let known = || all().chain([fanout::NAME.to_owned(), wire::NAME.to_owned()]);
    let only: Vec<String> = only.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if only.is_empty() {
        return Ok(all().collect());
    }
    for name in &only {
        if !known().any(|known| &known == name) {
            bail!("unknown operation `{name}`; known: {}", known().collect::<Vec<_>>().join(", "));
        }
    }
    Ok(only)
}

async fn connect(url: &str, connections: u32) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(connections)
        .min_connections(connections)
        .acquire_timeout(Duration::from_secs(60))
        .sqlx_logging(false);
    Database::connect(options).await.with_context(|| format!("connecting to {}", report::redact(url)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_database_is_the_servers() {
        assert_eq!(super::DEFAULT_DATABASE_URL, scholargraph::config::DEFAULT_DATABASE_URL);
    }
}
