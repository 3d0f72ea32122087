//! The catalogue's change log: an outbox table, `catalogue_changes`, that
//! every write changing a researcher, a work, an authorship, a follow or a
//! claim adds to in its own transaction ([`record`]). It is the one feed
//! derived state follows (the search index, live events, a public feed):
//! a change commits with its write, and a rolled-back write leaves none.
//!
//! Readers keep a [`Position`] and ask for what follows it ([`read_after`]).
//! On SQLite writers are serialized, so ids commit in order and the id alone
//! is the position. On PostgreSQL ids come from a sequence, and a smaller id
//! can commit after a larger one; reading `id > last` could then step over
//! it for good. Each row therefore also holds its transaction's id (`xid8`),
//! and a reader takes only rows whose transaction is below its snapshot's
//! `xmin`: every such transaction has ended, and any transaction that has not
//! yet committed has a larger xid, so it sorts after everything read so far.
//! The price is latency: a long write transaction (a bulk load), in any
//! database of the cluster, holds back the changes of transactions that
//! started after it until it ends.
//!
//! [`ChangeFeed`] follows the log in the background and publishes each
//! change to in-process subscribers. On PostgreSQL a write announces itself
//! with `NOTIFY catalogue_changes` (delivered at commit, never for a rollback)
//! and the feed `LISTEN`s; it also polls every second, which is all it does
//! on SQLite, so writes of other processes (an import) are seen either way.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::catalogue_change;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, Statement,
};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::statement::{self, aliased, literal};
use crate::error::{AppError, AppResult};

/// The PostgreSQL notification channel a committed change announces itself on.
pub const CHANNEL: &str = "catalogue_changes";

/// What a change is about; stored in `catalogue_changes.subject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Researcher,
    Work,
    Authorship,
    Follow,
    Claim,
    /// The catalogue as a whole (`subject_id` 0).
    Catalogue,
}

impl Subject {
    pub const ALL: [Self; 6] =
        [Self::Researcher, Self::Work, Self::Authorship, Self::Follow, Self::Claim, Self::Catalogue];

    /// The form stored in `catalogue_changes.subject`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::Researcher => "RESEARCHER",
            Self::Work => "WORK",
            Self::Authorship => "AUTHORSHIP",
            Self::Follow => "FOLLOW",
            Self::Claim => "CLAIM",
            Self::Catalogue => "CATALOGUE",
        }
    }

    /// Reads `catalogue_changes.subject`.
    pub fn from_stored(subject: &str) -> AppResult<Self> {
        super::from_stored(&Self::ALL, Self::as_stored, "change subject", subject)
    }
}

/// What happened; stored in `catalogue_changes.kind`. Each kind belongs to
/// one [`Subject`], and says which id `subject_id` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A researcher record was created (`subject_id` and `researcher_id`).
    ResearcherAdded,
    /// A work was added; `subject_id` is the work, and no researcher is set
    /// (each author gets an [`ChangeKind::AuthorshipAdded`]).
    WorkAdded,
    /// A researcher became an author of a new work: `subject_id` is the work,
    /// `researcher_id` the author.
    AuthorshipAdded,
    /// A user followed the researcher (`subject_id` and `researcher_id`).
    Followed,
    /// A user unfollowed the researcher.
    Unfollowed,
    /// A claim on the researcher was made, decided or withdrawn; readers
    /// read the record's claims again.
    ClaimUpdated,
    /// The researcher's profile was edited by its owner.
    ProfileUpdated,
    /// The catalogue was loaded in bulk, behind the log's back: readers
    /// rebuild what they derive from it.
    CatalogueReloaded,
    /// An import changed a work's fields or topics (`subject_id`); each
    /// author whose counters or summaries moved gets a
    /// [`ChangeKind::ResearcherUpdated`].
    WorkUpdated,
    /// An import changed the researcher's record or its counters and
    /// summaries (`subject_id` and `researcher_id`).
    ResearcherUpdated,
}

impl ChangeKind {
    pub const ALL: [Self; 10] = [
        Self::ResearcherAdded,
        Self::WorkAdded,
        Self::AuthorshipAdded,
        Self::Followed,
        Self::Unfollowed,
        Self::ClaimUpdated,
        Self::ProfileUpdated,
        Self::CatalogueReloaded,
        Self::WorkUpdated,
        Self::ResearcherUpdated,
    ];

    /// The form stored in `catalogue_changes.kind`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::WorkAdded => "WORK_ADDED",
            Self::AuthorshipAdded => "AUTHORSHIP_ADDED",
            Self::Followed => "FOLLOWED",
            Self::Unfollowed => "UNFOLLOWED",
            Self::ClaimUpdated => "CLAIM_UPDATED",
            Self::ProfileUpdated => "PROFILE_UPDATED",
            Self::ResearcherAdded => "RESEARCHER_ADDED",
            Self::CatalogueReloaded => "CATALOGUE_RELOADED",
            Self::WorkUpdated => "WORK_UPDATED",
            Self::ResearcherUpdated => "RESEARCHER_UPDATED",
        }
    }

    /// Reads `catalogue_changes.kind`.
    pub fn from_stored(kind: &str) -> AppResult<Self> {
        super::from_stored(&Self::ALL, Self::as_stored, "change kind", kind)
    }

    /// The subject changes of this kind are about.
    pub const fn subject(self) -> Subject {
        match self {
            Self::WorkAdded | Self::WorkUpdated => Subject::Work,
            Self::AuthorshipAdded => Subject::Authorship,
            Self::Followed | Self::Unfollowed => Subject::Follow,
            Self::ClaimUpdated => Subject::Claim,
            Self::ProfileUpdated | Self::ResearcherAdded | Self::ResearcherUpdated => Subject::Researcher,
            Self::CatalogueReloaded => Subject::Catalogue,
        }
    }
}

/// A change to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewChange {
    pub kind: ChangeKind,
    pub subject_id: i64,
    pub researcher_id: Option<i64>,
}

impl NewChange {
    /// A change about one researcher (a follow, a claim, a profile edit).
    pub const fn of_researcher(kind: ChangeKind, researcher_id: i64) -> Self {
        Self { kind, subject_id: researcher_id, researcher_id: Some(researcher_id) }
    }
}

/// Where a reader stands in the log: after the change at `id`, which
/// transaction `xid` wrote (PostgreSQL; always 0 on SQLite). Readers that
/// keep their place across restarts store both numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// Compared first, so the derived order is the reading order.
    pub xid: i64,
    pub id: i64,
}

impl Position {
    /// Before every change.
    pub const START: Self = Self { xid: 0, id: 0 };
}

/// A recorded change, as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The change's place in the log; `position.id` is its id.
    pub position: Position,
    pub subject: Subject,
    pub kind: ChangeKind,
    pub subject_id: i64,
    pub researcher_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct Row {
    id: i64,
    xid: i64,
    subject: String,
    subject_id: i64,
    kind: String,
    researcher_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Change {
    type Error = crate::error::AppError;

    fn try_from(row: Row) -> AppResult<Self> {
        Ok(Self {
            position: Position { xid: row.xid, id: row.id },
            subject: Subject::from_stored(&row.subject)?,
            kind: ChangeKind::from_stored(&row.kind)?,
            subject_id: row.subject_id,
            researcher_id: row.researcher_id,
            created_at: row.created_at,
        })
    }
}

/// Records `changes` in the caller's write transaction (the type makes
/// sure there is one), so they commit or roll back with the write. Callers
/// record only what actually changed. On PostgreSQL the transaction also
/// notifies [`CHANNEL`]: PostgreSQL delivers it at commit, folds repeats
/// within a transaction into one, and drops it on rollback.
pub async fn record(txn: &DatabaseTransaction, changes: &[NewChange]) -> AppResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let mut insert = Query::insert()
        .into_table(catalogue_change::Entity)
        .columns([
            catalogue_change::Column::Subject,
            catalogue_change::Column::SubjectId,
            catalogue_change::Column::Kind,
            catalogue_change::Column::ResearcherId,
            catalogue_change::Column::CreatedAt,
        ])
        .to_owned();
    for change in changes {
        insert.values_panic([
            change.kind.subject().as_stored().into(),
            change.subject_id.into(),
            change.kind.as_stored().into(),
            change.researcher_id.into(),
            now.into(),
        ]);
    }
    statement::execute(txn, &insert).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        let notify = format!("SELECT pg_notify('{CHANNEL}', '')");
        txn.query_one_raw(Statement::from_string(DbBackend::Postgres, notify)).await?;
    }
    Ok(())
}

/// Up to `limit` changes after `position`, in commit order, and the position
/// after the last of them (`position` itself when there are none). Repeated
/// calls see every committed change exactly once; a change whose
/// transaction is still open (PostgreSQL) waits for a later call.
pub async fn read_after(
    db: &impl ConnectionTrait,
    position: Position,
    limit: u64,
) -> AppResult<(Vec<Change>, Position)> {
    let rows: Vec<Row> = match db.get_database_backend() {
        // Row comparison, xid8 and the snapshot functions read more plainly
        // as SQL. xid8 has no client type here: it travels as text, and is
        // read back as a bigint (its values stay far below 2^63).
        DbBackend::Postgres => {
            let select = "SELECT id, CAST(CAST(xid AS TEXT) AS BIGINT) AS xid, subject, subject_id, kind, \
                          researcher_id, created_at FROM catalogue_changes \
                          WHERE (xid, id) > (CAST(CAST(CAST($1 AS BIGINT) AS TEXT) AS XID8), $2) \
                          AND xid < pg_snapshot_xmin(pg_current_snapshot()) \
                          ORDER BY xid, id LIMIT $3";
            let values = [position.xid.into(), position.id.into(), (limit as i64).into()];
            Row::find_by_statement(Statement::from_sql_and_values(DbBackend::Postgres, select, values)).all(db).await?
        }
        // Writers are serialized: ids commit in order.
        _ => {
            let select = Query::select()
                .columns([
                    catalogue_change::Column::Id,
                    catalogue_change::Column::Subject,
                    catalogue_change::Column::SubjectId,
                    catalogue_change::Column::Kind,
                    catalogue_change::Column::ResearcherId,
                    catalogue_change::Column::CreatedAt,
                ])
                .expr(aliased(literal(0i64), "xid"))
                .from(catalogue_change::Entity)
                .and_where(Expr::col(catalogue_change::Column::Id).gt(position.id))
                .order_by(catalogue_change::Column::Id, Order::Asc)
                .limit(limit)
                .to_owned();
            statement::models(db, &select).await?
        }
    };
    let changes = rows.into_iter().map(Change::try_from).collect::<AppResult<Vec<_>>>()?;
    let next = changes.last().map_or(position, |change| change.position);
    Ok((changes, next))
}

/// The position of "now": a reader starting here sees every change that
/// commits from now on. On PostgreSQL it may also see a few that committed
/// just before (those of transactions at or above the snapshot's `xmin`),
/// never fewer.
pub async fn head(db: &impl ConnectionTrait) -> AppResult<Position> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let select = "SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT) AS n";
            let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, select)).await?;
            let xmin: i64 = row.ok_or(crate::error::AppError::Internal)?.try_get("", "n")?;
            Ok(Position { xid: xmin - 1, id: i64::MAX })
        }
        _ => {
            let select = Query::select()
                .expr_as(Expr::col(catalogue_change::Column::Id).max(), "n")
                .from(catalogue_change::Entity)
                .to_owned();
            let last = match db.query_one(&select).await? {
                Some(row) => row.try_get::<Option<i64>>("", "n")?.unwrap_or(0),
                None => 0,
            };
            Ok(Position { xid: 0, id: last })
        }
    }
}

/// The token this database was made with (`catalogue_identity`): state
/// derived from the catalogue records it, to tell this database from others.
pub async fn catalogue_identity(db: &impl ConnectionTrait) -> AppResult<String> {
    let row = entity::catalogue_identity::Entity::find_by_id(1).one(db).await?;
    row.map(|row| row.token).ok_or_else(|| AppError::internal("the database has no catalogue identity"))
}

/// The position of the last committed change in reading order (`START`
/// when the log is empty): a reader at or past it has seen every change
/// committed so far.
pub async fn last_position(db: &impl ConnectionTrait) -> AppResult<Position> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT CAST(CAST(xid AS TEXT) AS BIGINT) AS xid, id FROM catalogue_changes ORDER BY xid DESC, id DESC LIMIT 1"
        }
        _ => "SELECT 0 AS xid, id FROM catalogue_changes ORDER BY id DESC LIMIT 1",
    };
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    match row {
        Some(row) => Ok(Position { xid: row.try_get("", "xid")?, id: row.try_get("", "id")? }),
        None => Ok(Position::START),
    }
}

/// How long the feed waits for a notification before it reads anyway: the
/// most a change waits on SQLite, or when a notification was missed. A poll
/// is one read of the log's tail by its key.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How soon the feed reads again while committed changes are held back
/// behind an older open transaction.
const HELD_BACK_RETRY: Duration = Duration::from_millis(100);
/// Changes read per statement while catching up.
const BATCH: u64 = 500;
/// Changes a subscriber may fall behind by before it is told it lagged
/// (`RecvError::Lagged`); it then catches up with [`read_after`] from the
/// position of the last change it handled.
const CAPACITY: usize = 1024;

/// Follows the change log in the background and publishes every change, in
/// order, to its subscribers. Dropping it stops the follower.
pub struct ChangeFeed {
    sender: broadcast::Sender<Change>,
    task: JoinHandle<()>,
    /// When the feed's last read of the log failed.
    away: Arc<LastFailure>,
}

/// Whether the last read failed, and when a read last failed, in
/// milliseconds after `base` (0: never).
struct LastFailure {
    base: Instant,
    at_ms: AtomicU64,
    failing: AtomicBool,
}

impl LastFailure {
    fn record(&self, read: bool) {
        self.failing.store(!read, Ordering::Relaxed);
        if !read {
            let elapsed = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.at_ms.store(Ord::max(elapsed, 1), Ordering::Relaxed);
        }
    }

    fn within(&self, window: Duration) -> bool {
        if self.failing.load(Ordering::Relaxed) {
            return true;
        }
        let at = self.at_ms.load(Ordering::Relaxed);
        at != 0 && self.base.elapsed().saturating_sub(Duration::from_millis(at)) <= window
    }
}

impl ChangeFeed {
    /// Starts following after `from` (see [`head`]). With a PostgreSQL
    /// `database_url` the follower listens on a connection of its own (not
    /// one of the pool's) and wakes at each committed change; it polls every
    /// `poll_interval` in any case.
    pub fn spawn(
        db: DatabaseConnection,
        database_url: Option<String>,
        from: Position,
        poll_interval: Duration,
    ) -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        let away =
            Arc::new(LastFailure { base: Instant::now(), at_ms: AtomicU64::new(0), failing: AtomicBool::new(false) });
        let task = tokio::spawn(run(db, database_url, from, poll_interval, sender.clone(), away.clone()));
        Self { sender, task, away }
    }

    /// Whether the last read of the log failed, or one did within `window`:
    /// the feed reads every poll interval, so this says whether the database
    /// was away then.
    pub fn database_away_within(&self, window: Duration) -> bool {
        self.away.within(window)
    }

    /// The changes published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    db: DatabaseConnection,
    database_url: Option<String>,
    mut position: Position,
    poll_interval: Duration,
    sender: broadcast::Sender<Change>,
    away: Arc<LastFailure>,
) {
    let listen_url = database_url.filter(|_| db.get_database_backend() == DbBackend::Postgres);
    let mut listener = Listener { url: listen_url, active: None, next_attempt: Instant::now() };
    // Listen before the first read: a change committed in between is then
    // either read or announced.
    listener.reconnect().await;
    let mut failing = false;
    loop {
        let mut next_read = poll_interval;
        let read = publish_after(&db, &mut position, &sender).await;
        away.record(read.is_ok());
        match read {
            // A committed change is held back by an older open transaction
            // (anywhere in the cluster): it ends without a notification of
            // ours when it wrote no change, so look again soon.
            Ok(held) => {
                if failing {
                    tracing::info!("reading the change log again");
                    failing = false;
                }
                if held {
                    next_read = next_read.min(HELD_BACK_RETRY);
                }
            }
            // The database away (restarting, say): said once, retried at
            // every poll; the log keeps what is committed meanwhile.
            Err(error) => {
                if !failing {
                    tracing::warn!(?error, "reading the change log failed; retrying at every poll");
                    failing = true;
                }
            }
        }
        listener.wait(next_read).await;
    }
}

/// The `LISTEN` connection of a feed on PostgreSQL. Lost, it is opened again
/// at most every [`RELISTEN_INTERVAL`]; meanwhile the feed polls.
struct Listener {
    url: Option<String>,
    active: Option<PgListener>,
    next_attempt: Instant,
}

/// How often a lost `LISTEN` connection is opened again.
const RELISTEN_INTERVAL: Duration = Duration::from_secs(1);

impl Listener {
    async fn reconnect(&mut self) {
        let Some(url) = &self.url else { return };
        if self.active.is_some() || Instant::now() < self.next_attempt {
            return;
        }
        self.next_attempt = Instant::now() + RELISTEN_INTERVAL;
        let listening = async {
            let mut listener = PgListener::connect(url).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        // PgListener's own pool waits up to 30 s for a server that is away:
        // the feed must go on polling (and recording failures) meanwhile.
        match tokio::time::timeout(RELISTEN_INTERVAL, listening).await {
            Ok(Ok(listener)) => {
                tracing::debug!("listening for catalogue changes");
                self.active = Some(listener);
            }
            Ok(Err(error)) => tracing::debug!(?error, "cannot LISTEN for catalogue changes yet; polling"),
            Err(_) => tracing::debug!("cannot LISTEN for catalogue changes yet (timed out); polling"),
        }
    }

    /// Until a notification arrives or `poll_interval` passes. A notification
    /// lost to the timeout or a reconnect costs at most one interval: the feed
    /// reads by position, never by what a notification says.
    async fn wait(&mut self, poll_interval: Duration) {
        self.reconnect().await;
        let Some(active) = &mut self.active else {
            tokio::time::sleep(poll_interval).await;
            return;
        };
        tokio::select! {
            received = active.recv() => {
                if let Err(error) = received {
                    // recv reconnects by itself; an error means it could not.
                    tracing::warn!(?error, "lost the LISTEN connection for catalogue changes; polling until it is back");
                    self.active = None;
                }
            }
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}

/// Publishes every change after `position` that can be read now; returns
/// whether committed changes are still held back (see [`held_back`]).
async fn publish_after(
    db: &DatabaseConnection,
    position: &mut Position,
    sender: &broadcast::Sender<Change>,
) -> AppResult<bool> {
    loop {
        let (changes, next) = read_after(db, *position, BATCH).await?;
        *position = next;
        let complete = (changes.len() as u64) < BATCH;
        for change in changes {
            // No subscriber right now is not an error: the change is not for anyone.
            let _ = sender.send(change);
        }
        if complete {
            return held_back(db).await;
        }
    }
}

/// Whether committed changes wait above the snapshot's `xmin` (PostgreSQL;
/// never on SQLite), which [`read_after`] leaves for a later call.
async fn held_back(db: &DatabaseConnection) -> AppResult<bool> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(false);
    }
    let select = "SELECT EXISTS (SELECT 1 FROM catalogue_changes \
                  WHERE xid >= pg_snapshot_xmin(pg_current_snapshot())) AS held";
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, select)).await?;
    Ok(row.map(|row| row.try_get::<bool>("", "held")).transpose()?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::{ChangeKind, Subject};

    #[test]
    fn kinds_and_subjects_read_back_as_themselves_and_unknown_ones_are_errors() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_stored(kind.as_stored()), Ok(kind));
        }
        for subject in Subject::ALL {
            assert_eq!(Subject::from_stored(subject.as_stored()), Ok(subject));
        }
        assert!(ChangeKind::from_stored("DELETED").is_err());
        assert!(Subject::from_stored("TOPIC").is_err());
        for kind in ChangeKind::ALL {
            assert!(Subject::ALL.contains(&kind.subject()));
        }
    }
}
