//! Keeps an instance's derived indexes current (the search index and the
//! similarity profiles): builds them first when missing (the service
//! reports ready only then), then applies the change log from
//! the position the index recorded, waking whenever the change feed
//! publishes (a NOTIFY on PostgreSQL, a poll on SQLite) and reading the
//! log itself, so a lagging wake-up never loses a change.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{self, error::RecvError};

use super::similar::SimilarIndex;
use super::tantivy_index::{BuildProgress, TantivySearch};
use crate::domain::changes::{self, Change, Position};
use crate::error::AppResult;

/// Changes applied per index commit while catching up.
const BATCH: u64 = 1_000;
/// Wait before trying again after a failure (the database away, say).
const RETRY: Duration = Duration::from_secs(2);

/// Runs until the change feed closes. `wake` must be subscribed before the
/// call, so nothing published meanwhile is missed.
pub async fn follow(
    search: TantivySearch,
    similar: SimilarIndex,
    db: DatabaseConnection,
    mut wake: broadcast::Receiver<Change>,
) {
    // In memory: loaded at every start. Changes applied below again are
    // harmless (each re-reads its profiles).
    while let Err(error) = similar.load(&db).await {
        tracing::warn!(?error, "loading the topic profiles failed; retrying");
        tokio::time::sleep(RETRY).await;
    }
    let catalogue = loop {
        match changes::catalogue_identity(&db).await {
            Ok(catalogue) => break catalogue,
            Err(error) => {
                tracing::warn!(?error, "reading the database's identity failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    let mut applied = loop {
        match (search.position(), search.catalogue()) {
            // Built from another database (one deleted and created again at
            // the same address, say): its positions mean nothing here.
            (Ok(Some(_)), Ok(Some(built_from))) if built_from != catalogue => {
                tracing::info!("the search index was built from another database; rebuilding it");
            }
            (Ok(Some(position)), Ok(Some(_))) => {
                search.accept();
                break position;
            }
            (Ok(_), Ok(_)) => {}
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "cannot read the search index's position; building it afresh")
            }
        }
        let logged = AtomicU64::new(0);
        let report = move |progress: BuildProgress| log_progress(&logged, progress);
        match search.rebuild(&db, &report).await {
            Ok(position) => break position,
            Err(error) => {
                tracing::warn!(?error, "building the search index failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    loop {
        if let Err(error) = catch_up(&search, &similar, &db, &mut applied).await {
            tracing::warn!(?error, "updating the search index failed; retrying");
            tokio::time::sleep(RETRY).await;
            continue;
        }
        match wake.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => while wake.try_recv().is_ok() {},
            Err(RecvError::Closed) => return,
        }
    }
}

/// Applies every change after `applied` that can be read now.
async fn catch_up(
    search: &TantivySearch,
    similar: &SimilarIndex,
    db: &DatabaseConnection,
    applied: &mut Position,
) -> AppResult<()> {
    loop {
        let (batch, next) = changes::read_after(db, *applied, BATCH).await?;
        if batch.is_empty() {
            return Ok(());
        }
        // The profiles first: the search index's commit records the
        // position, and whoever waits for it then finds both up to date.
        similar.apply(db, &batch).await?;
        search.apply(db, &batch).await?;
        *applied = next;
    }
}

/// Logs a build's progress at every tenth of each part.
fn log_progress(logged: &AtomicU64, progress: BuildProgress) {
    let tenth = (progress.done * 10).checked_div(progress.total).unwrap_or(10);
    let key = u64::from(progress.what == "researchers") * 100 + tenth;
    if logged.fetch_max(key, Ordering::Relaxed) < key {
        tracing::info!(what = progress.what, done = progress.done, total = progress.total, "building the search index");
    }
}
