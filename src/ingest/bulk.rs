//! Fast bulk loading for large data sets: `COPY` on PostgreSQL, large
//! multi-row inserts on SQLite, with secondary indexes and foreign keys set
//! aside during the load and rebuilt after it. The load is not in the
//! change log row by row: it records one `CATALOGUE_RELOADED` change, on
//! which the search index rebuilds itself.
//!
//! A load runs in one transaction, on a connection of its own:
//!
//! - **One transaction.** Both databases have transactional DDL, so what the
//!   load sets aside (`DROP INDEX`, `ALTER TABLE … DROP CONSTRAINT`)
//!   comes back with a rollback together with the rows. That covers
//!   every way a load can fail: an error, a panic, a cancelled future, a
//!   killed process or a lost connection (the database rolls back an
//!   unfinished transaction itself). A guard that re-runs the rebuild
//!   statements would only cover errors that return: Rust has no async drop.
//!   It would also leave the rows loaded so far, and a synthetic load refuses
//!   a catalogue that is not empty; after a rollback it can simply be re-run.
//!   The price: PostgreSQL holds the `ALTER TABLE` locks, and SQLite its write
//!   lock, until the commit, which is fine for a load into an empty
//!   catalogue; SQLite's WAL grows to the size of the load until the
//!   checkpoint after the commit (which truncates it again).
//! - **A connection of its own**, opened from the pool's connect options and
//!   closed at the end, never returned to the pool. Per-connection settings
//!   (SQLite's `synchronous = OFF` and `wal_autocheckpoint = 0`) are part of
//!   its connect options, so they apply to exactly the connection that
//!   writes, and to no connection the service uses afterwards.
//!
//! Only what belongs to the tables the load writes is set aside: their
//! `ix_` indexes, on PostgreSQL the foreign keys *from* them (checked row by
//! row during a load; added back after it, each is validated by one join).
//! SQLite's foreign keys stay
//! enforced (`PRAGMA foreign_keys` is on for every connection; it cannot
//! drop a key, and each check is one primary-key lookup).
use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::sqlite::{SqliteConnection, SqliteSynchronous};
use sea_orm::sqlx::{self, AssertSqlSafe, Connection as _, Row as _};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::domain::changes::{self, ChangeKind};
use crate::error::{AppError, AppResult};

/// One value of a bulk row.
#[derive(Debug, Clone)]
pub enum Cell {
    Int(i64),
    Text(String),
    Bool(bool),
    Null,
    /// The load's start time, as each database stores timestamps.
    Now,
}

fn db_error(err: sqlx::Error) -> AppError {
    AppError::internal(format_args!("bulk load: {err}"))
}

/// Writes rows into tables as fast as the database allows, inside the load's
/// transaction. End it with [`BulkWriter::finish`]; dropping it instead
/// closes its connection, which rolls the load back.
pub struct BulkWriter {
    conn: Conn,
    /// What rebuilds the indexes and keys set aside, in order.
    rebuild: Vec<String>,
}

enum Conn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// SQLite caps bound parameters per statement (32 766 since 3.32).
const SQLITE_MAX_BINDS: usize = 30_000;

impl BulkWriter {
    /// Opens the load's connection, begins its transaction and sets aside the
    /// secondary indexes and foreign keys of `tables`
    /// (names the load's own code supplies, not user input).
    pub async fn begin(db: &DatabaseConnection, tables: &[&str]) -> AppResult<Self> {
        let conn = match db.get_database_backend() {
            DbBackend::Postgres => {
                let options = db.get_postgres_connection_pool().connect_options();
                let mut conn = PgConnection::connect_with(&options).await.map_err(db_error)?;
                sqlx::raw_sql("BEGIN").execute(&mut conn).await.map_err(db_error)?;
                Conn::Postgres(conn)
            }
            DbBackend::Sqlite => {
                // Nothing is synced while loading (`after_commit` syncs it
                // all once), and the WAL is not checkpointed at the commit.
                // Only this connection has these settings, and it is closed
                // at the end of the load. Being no pool's, it also escapes a
                // serving pool's statement deadline, which is armed per checkout.
                let options = (*db.get_sqlite_connection_pool().connect_options())
                    .clone()
                    .synchronous(SqliteSynchronous::Off)
                    .pragma("wal_autocheckpoint", "0");
                let mut conn = SqliteConnection::connect_with(&options).await.map_err(db_error)?;
                // IMMEDIATE takes the write lock now rather than at the first write.
                sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await.map_err(db_error)?;
                Conn::Sqlite(conn)
            }
            other => return Err(AppError::internal(format!("bulk load on {other:?} is not supported"))),
        };
        let mut writer = Self { conn, rebuild: Vec::new() };
        if let Err(err) = writer.set_aside(tables).await {
            writer.close().await;
            return Err(err);
        }
        Ok(writer)
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Postgres(_))
    }

    pub async fn execute(&mut self, sql: &str) -> AppResult<()> {
        let sql = AssertSqlSafe(sql.to_owned());
        match &mut self.conn {
            Conn::Postgres(conn) => sqlx::raw_sql(sql).execute(conn).await.map(|_| ()),
            Conn::Sqlite(conn) => sqlx::raw_sql(sql).execute(conn).await.map(|_| ()),
        }
        .map_err(db_error)
    }

    /// Appends `rows` to `table`.
    pub async fn write(&mut self, table: &str, columns: &[&str], rows: &[Vec<Cell>]) -> AppResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match &mut self.conn {
            Conn::Postgres(conn) => {
                let mut csv = String::with_capacity(rows.len() * 64);
                for row in rows {
                    for (i, cell) in row.iter().enumerate() {
                        if i > 0 {
                            csv.push(',');
                        }
                        match cell {
                            Cell::Int(v) => csv.push_str(&v.to_string()),
                            Cell::Bool(v) => csv.push_str(if *v { "t" } else { "f" }),
                            Cell::Null => {}
                            Cell::Now => csv.push_str("now"),
                            Cell::Text(v) => {
                                csv.push('"');
                                csv.push_str(&v.replace('"', "\"\""));
                                csv.push('"');
                            }
                        }
                    }
                    csv.push('\n');
                }
                let statement = format!("COPY {table} ({}) FROM STDIN WITH (FORMAT csv)", columns.join(", "));
                let mut copy = conn.copy_in_raw(&statement).await.map_err(db_error)?;
                if let Err(err) = copy.send(csv.into_bytes()).await {
                    // The connection must leave copy mode before its next statement (the rollback).
                    let _ = copy.abort("the bulk load failed").await;
                    return Err(db_error(err));
                }
                copy.finish().await.map_err(db_error)?;
            }
            Conn::Sqlite(conn) => {
                let rows_per_statement = (SQLITE_MAX_BINDS / columns.len()).max(1);
                for chunk in rows.chunks(rows_per_statement) {
                    let placeholders = format!("({})", vec!["?"; columns.len()].join(", "));
                    let sql = format!(
                        "INSERT INTO {table} ({}) VALUES {}",
                        columns.join(", "),
                        vec![placeholders.as_str(); chunk.len()].join(", ")
                    );
                    let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
                    for cell in chunk.iter().flatten() {
                        query = match cell {
                            Cell::Int(v) => query.bind(*v),
                            Cell::Text(v) => query.bind(v.as_str()),
                            Cell::Bool(v) => query.bind(*v),
                            Cell::Null => query.bind(Option::<i64>::None),
                            Cell::Now => query.bind(chrono::Utc::now()),
                        };
                    }
                    query.execute(&mut *conn).await.map_err(db_error)?;
                }
            }
        }
        Ok(())
    }

    /// Drops the `ix_` indexes of `tables` (and PostgreSQL's foreign keys
    /// from them), keeping what
    /// rebuilds them for [`BulkWriter::restore`].
    async fn set_aside(&mut self, tables: &[&str]) -> AppResult<()> {
        let list = tables.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let indexes = match self.conn {
            Conn::Postgres(_) => format!(
                "SELECT indexname AS name, indexdef AS sql FROM pg_indexes \
                 WHERE schemaname = current_schema() AND indexname LIKE 'ix\\_%' AND tablename IN ({list})"
            ),
            Conn::Sqlite(_) => format!(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix\\_%' ESCAPE '\\' \
                 AND tbl_name IN ({list})"
            ),
        };
        for (name, sql) in self.catalog(&indexes).await? {
            self.execute(&format!("DROP INDEX {name}")).await?;
            self.rebuild.push(sql);
        }
        if self.is_postgres() {
            // Each row: the statement that drops the key, and the one that adds it back.
            let keys = self
                .catalog(&format!(
                    "SELECT 'ALTER TABLE ' || conrelid::regclass::text || ' DROP CONSTRAINT ' || conname AS name, \
                     'ALTER TABLE ' || conrelid::regclass::text || ' ADD CONSTRAINT ' || conname || ' ' || \
                     pg_get_constraintdef(oid) AS sql FROM pg_constraint \
                     WHERE contype = 'f' AND connamespace = current_schema()::regnamespace \
                     AND conrelid = ANY (ARRAY[{list}]::regclass[])"
                ))
                .await?;
            for (drop, add) in keys {
                self.execute(&drop).await?;
                self.rebuild.push(add);
            }
        }
        Ok(())
    }

    async fn catalog(&mut self, sql: &str) -> AppResult<Vec<(String, String)>> {
        match &mut self.conn {
            Conn::Postgres(conn) => sqlx::query(AssertSqlSafe(sql.to_owned()))
                .fetch_all(conn)
                .await
                .map_err(db_error)?
                .iter()
                .map(|r| Ok((r.try_get::<String, _>("name")?, r.try_get::<String, _>("sql")?)))
                .collect::<Result<_, sqlx::Error>>(),
            Conn::Sqlite(conn) => sqlx::query(AssertSqlSafe(sql.to_owned()))
                .fetch_all(conn)
                .await
                .map_err(db_error)?
                .iter()
                .map(|r| Ok((r.try_get::<String, _>("name")?, r.try_get::<String, _>("sql")?)))
                .collect::<Result<_, sqlx::Error>>(),
        }
        .map_err(db_error)
    }

    /// How many statements rebuild what is set aside.
    pub fn set_aside_count(&self) -> usize {
        self.rebuild.len()
    }

    /// Rebuilds what was set aside, calling `each` after every statement.
    /// [`BulkWriter::finish`] does it too if it has not been done.
    pub async fn restore(&mut self, mut each: impl FnMut()) -> AppResult<()> {
        for sql in std::mem::take(&mut self.rebuild) {
            self.execute(&sql).await?;
            each();
        }
        Ok(())
    }

    /// Makes the id sequences continue after explicitly loaded ids.
    pub async fn reset_sequences(&mut self, tables: &[&str]) -> AppResult<()> {
        if self.is_postgres() {
            for table in tables {
                self.execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
                .await?;
            }
        }
        Ok(())
    }

    /// Ends the load with the outcome of the writing. On success it restores
    /// whatever is still set aside, commits, and refreshes the planner's
    /// statistics; on failure (of the writing, the restore or the commit) it
    /// rolls everything back. Either way it closes the connection.
    pub async fn finish<T>(mut self, outcome: AppResult<T>) -> AppResult<T> {
        let committed = match outcome {
            Ok(value) => self.commit().await.map(|()| value),
            Err(err) => Err(err),
        };
        let value = match committed {
            Ok(value) => value,
            Err(err) => {
                if let Err(rollback) = self.execute("ROLLBACK").await {
                    // Closing the connection below ends the transaction all the same.
                    tracing::warn!(error = ?rollback, "bulk load: the rollback failed; closing the connection instead");
                }
                self.close().await;
                return Err(err);
            }
        };
        let after = self.after_commit().await;
        self.close().await;
        after.map(|()| value)
    }

    /// Restores what was set aside and commits, with a change telling the
    /// log's readers (the search index) to rebuild what they derive: the
    /// loaded rows themselves are not in the log.
    async fn commit(&mut self) -> AppResult<()> {
        self.restore(|| {}).await?;
        let reloaded = ChangeKind::CatalogueReloaded;
        let change = vec![
            Cell::Text(reloaded.subject().as_stored().to_owned()),
            Cell::Int(0),
            Cell::Text(reloaded.as_stored().to_owned()),
            Cell::Now,
        ];
        self.write("catalogue_changes", &["subject", "subject_id", "kind", "created_at"], &[change]).await?;
        if self.is_postgres() {
            self.execute(&format!("SELECT pg_notify('{}', '')", changes::CHANNEL)).await?;
        }
        self.execute("COMMIT").await
    }

    /// Statistics for the planner, and on SQLite a durable checkpoint.
    async fn after_commit(&mut self) -> AppResult<()> {
        if self.is_postgres() {
            // VACUUM cannot run in a transaction. It also sets the visibility
            // map, without which index-only scans still visit the heap.
            return self.execute("VACUUM ANALYZE").await;
        }
        self.execute("ANALYZE").await?;
        // The load wrote its WAL without syncing and did not checkpoint at
        // the commit (`wal_autocheckpoint = 0`). With syncing back on, the
        // checkpoint syncs the WAL, copies it into the database file, syncs
        // that, and truncates the WAL, which had grown to the load's size.
        self.execute("PRAGMA synchronous = FULL").await?;
        self.execute("PRAGMA wal_checkpoint(TRUNCATE)").await
    }

    async fn close(self) {
        let closed = match self.conn {
            Conn::Postgres(conn) => conn.close().await,
            Conn::Sqlite(conn) => conn.close().await,
        };
        if let Err(err) = closed {
            tracing::warn!(error = ?err, "bulk load: closing the load's connection");
        }
    }
}
