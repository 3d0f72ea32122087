//! How long a write takes to reach search. The bench writes as another
//! process would (an import): in one transaction, a researcher with a name
//! no one else has and its row in the change log, with the `NOTIFY` the
//! service's writers send on PostgreSQL. It then asks the server's
//! researcher search for the name every 5 ms until it is found. One write
//! at a time, with the server otherwise idle; the researchers are deleted
//! (through the log as well) at the end.
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait};
use serde_json::json;

use crate::load::Endpoint;

/// Writes measured.
pub const ROUNDS: usize = 20;
/// Longest wait for one write; beyond it the run fails.
const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(5);
/// The server's change-log channel (`scholargraph::domain::changes::CHANNEL`).
const CHANNEL: &str = "catalogue_changes";

const SEARCH: &str =
    "query($q: String!) { researchers(filter: { search: $q }, first: 1) { totalCount nodes { slug } } }";

/// The time from each write's commit until a search finds it.
pub async fn measure(db: &DatabaseConnection, graphql: &Endpoint) -> Result<Vec<Duration>> {
    let run = std::process::id();
    let mut delays = Vec::with_capacity(ROUNDS);
    let mut written = Vec::with_capacity(ROUNDS);
    let outcome = async {
        for round in 0..ROUNDS {
            // Letters only: the analyser splits words at digits.
            let name = format!("Freshness {}", letters(u64::from(run) * 1_000 + round as u64));
            let id = write(db, &name).await?;
            written.push(id);
            let committed = Instant::now();
            loop {
                let body = json!({ "query": SEARCH, "variables": { "q": name } }).to_string();
                let answer = graphql.post_for_data(body, true).await.map_err(anyhow::Error::msg)?;
                let data = answer.unwrap_or_default();
                if data["researchers"]["totalCount"].as_i64() == Some(1) {
                    break;
                }
                if committed.elapsed() > DEADLINE {
                    bail!("a researcher written {DEADLINE:?} ago is not found by search: {data}");
                }
                tokio::time::sleep(POLL).await;
            }
            delays.push(committed.elapsed());
        }
        Ok(())
    }
    .await;
    remove(db, &written).await?;
    outcome.map(|()| delays)
}

/// A name part made of letters from a number: `aaaa`-style, base 26.
fn letters(mut n: u64) -> String {
    let mut out = String::new();
    loop {
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

async fn write(db: &DatabaseConnection, name: &str) -> Result<i64> {
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    let slug = name.to_lowercase().replace(' ', "-");
    let columns = [
        "slug",
        "display_name",
        "sort_name",
        "open_to_collaborate",
        "works_count",
        "followers_count",
        "collaborators_count",
        "close_collaborators_count",
        "linked_works_count",
        "topic_norm2",
        "topics_count",
        "created_at",
    ];
    let zero = || Expr::val(0);
    let insert = Query::insert()
        .into_table(Alias::new("researchers"))
        .columns(columns.map(Alias::new))
        .values_panic([
            Expr::val(slug.clone()),
            Expr::val(name),
            Expr::val(slug),
            Expr::val(false),
            zero(),
            zero(),
            zero(),
            zero(),
            zero(),
            zero(),
            zero(),
            Expr::current_timestamp(),
        ])
        .returning_col(Alias::new("id"))
        .to_owned();
    let id: i64 = txn.query_one(&insert).await?.context("the insert returned no id")?.try_get("", "id")?;
    log_change(&txn, backend, id, "RESEARCHER_ADDED").await?;
    txn.commit().await?;
    Ok(id)
}

async fn remove(db: &DatabaseConnection, ids: &[i64]) -> Result<()> {
    let backend = db.get_database_backend();
    for id in ids {
        let txn = db.begin().await?;
        txn.execute_unprepared(&format!("DELETE FROM researchers WHERE id = {id}")).await?;
        // The service has no "removed" kind: a profile update makes readers
        // re-read the record, and find it gone.
        log_change(&txn, backend, *id, "PROFILE_UPDATED").await?;
        txn.commit().await?;
    }
    Ok(())
}

async fn log_change(txn: &impl ConnectionTrait, backend: DbBackend, id: i64, kind: &str) -> Result<()> {
    txn.execute_unprepared(&format!(
        "INSERT INTO catalogue_changes (subject, subject_id, kind, researcher_id, created_at) \
         VALUES ('RESEARCHER', {id}, '{kind}', {id}, CURRENT_TIMESTAMP)"
    ))
    .await?;
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_notify('{CHANNEL}', '')")).await?;
    }
    Ok(())
}

/// `p50 / p99 / max` of the delays, in milliseconds.
pub fn print(delays: &[Duration]) {
    let mut ms: Vec<f64> = delays.iter().map(|d| d.as_secs_f64() * 1_000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    if ms.is_empty() {
        return;
    }
    println!(
        "\nsearch freshness: a researcher written by another process, found by search after \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} writes, one at a time, server otherwise idle)",
        at(0.5),
        at(0.99),
        ms[ms.len() - 1],
        ms.len()
    );
}
