//! Fast bulk loading for large data sets: `COPY` on PostgreSQL, large
//! multi-row inserts inside transactions on SQLite, with secondary indexes,
//! foreign keys and full-text triggers set aside during the load and
//! rebuilt after it.
use sea_orm::sqlx::{self, AssertSqlSafe, Row};
use sea_orm::{DatabaseConnection, DbBackend};

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

/// Writes rows into tables as fast as the database allows.
pub enum BulkWriter {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// SQLite caps bound parameters per statement (32 766 since 3.32).
const SQLITE_MAX_BINDS: usize = 30_000;

impl BulkWriter {
    pub fn new(db: &DatabaseConnection) -> AppResult<Self> {
        match db.get_database_backend() {
            DbBackend::Postgres => Ok(Self::Postgres(db.get_postgres_connection_pool().clone())),
            DbBackend::Sqlite => Ok(Self::Sqlite(db.get_sqlite_connection_pool().clone())),
            other => Err(AppError::internal(format!("bulk load on {other:?} is not supported"))),
        }
    }

    pub async fn execute(&self, sql: &str) -> AppResult<()> {
        match self {
            Self::Postgres(pool) => sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await.map(|_| ()),
            Self::Sqlite(pool) => sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await.map(|_| ()),
        }
        .map_err(db_error)
    }

    /// Appends `rows` to `table`.
    pub async fn write(&self, table: &str, columns: &[&str], rows: &[Vec<Cell>]) -> AppResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Self::Postgres(pool) => {
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
                let mut conn = pool.acquire().await.map_err(db_error)?;
                let statement = format!("COPY {table} ({}) FROM STDIN WITH (FORMAT csv)", columns.join(", "));
                let mut copy = conn.copy_in_raw(&statement).await.map_err(db_error)?;
                copy.send(csv.into_bytes()).await.map_err(db_error)?;
                copy.finish().await.map_err(db_error)?;
            }
            Self::Sqlite(pool) => {
                let rows_per_statement = (SQLITE_MAX_BINDS / columns.len()).max(1);
                let mut conn = pool.acquire().await.map_err(db_error)?;
                sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await.map_err(db_error)?;
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
                    if let Err(err) = query.execute(&mut *conn).await {
                        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                        return Err(db_error(err));
                    }
                }
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map_err(db_error)?;
            }
        }
        Ok(())
    }

    /// Drops the secondary indexes of the catalogue (and PostgreSQL's foreign
    /// keys, SQLite's full-text triggers) and returns what rebuilds them.
    pub async fn set_aside_indexes(&self) -> AppResult<Vec<String>> {
        let (catalog, drop_index): (&str, fn(&str) -> String) = match self {
            Self::Postgres(_) => (
                "SELECT indexname AS name, indexdef AS sql FROM pg_indexes \
                 WHERE schemaname = current_schema() AND indexname LIKE 'ix\\_%'",
                |name| format!("DROP INDEX {name}"),
            ),
            Self::Sqlite(_) => (
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix\\_%' ESCAPE '\\'",
                |name| format!("DROP INDEX {name}"),
            ),
        };
        let mut rebuild = Vec::new();
        for (name, sql) in self.catalog(catalog).await? {
            self.execute(&drop_index(&name)).await?;
            rebuild.push(sql);
        }
        if let Self::Postgres(_) = self {
            // Foreign keys are checked row by row during a load (two lookups
            // per co-author pair); added back after it, each is validated
            // by one join.
            // Each row: the statement that drops the key, and the one that adds it back.
            let keys = self
                .catalog(
                    "SELECT 'ALTER TABLE ' || conrelid::regclass::text || ' DROP CONSTRAINT ' || conname AS name, \
                     'ALTER TABLE ' || conrelid::regclass::text || ' ADD CONSTRAINT ' || conname || ' ' || \
                     pg_get_constraintdef(oid) AS sql FROM pg_constraint \
                     WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
                )
                .await?;
            for (drop, add) in keys {
                self.execute(&drop).await?;
                rebuild.push(add);
            }
        }
        if let Self::Sqlite(_) = self {
            let triggers = self
                .catalog("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%'")
                .await?;
            for (name, _) in &triggers {
                self.execute(&format!("DROP TRIGGER {name}")).await?;
            }
            // The full-text tables are rebuilt from their content tables
            // once, then the triggers keep them in step again.
            rebuild.push("INSERT INTO researchers_fts(researchers_fts) VALUES ('rebuild')".to_owned());
            rebuild.push("INSERT INTO works_fts(works_fts) VALUES ('rebuild')".to_owned());
            rebuild.extend(triggers.into_iter().map(|(_, sql)| sql));
        }
        Ok(rebuild)
    }

    async fn catalog(&self, sql: &str) -> AppResult<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = match self {
            Self::Postgres(pool) => sqlx::query(AssertSqlSafe(sql.to_owned()))
                .fetch_all(pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|r| Ok((r.try_get::<String, _>("name")?, r.try_get::<String, _>("sql")?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(db_error)?,
            Self::Sqlite(pool) => sqlx::query(AssertSqlSafe(sql.to_owned()))
                .fetch_all(pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|r| Ok((r.try_get::<String, _>("name")?, r.try_get::<String, _>("sql")?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(db_error)?,
        };
        Ok(rows)
    }

    /// Makes the id sequences continue after explicitly loaded ids.
    pub async fn reset_sequences(&self, tables: &[&str]) -> AppResult<()> {
        if let Self::Postgres(_) = self {
            for table in tables {
                self.execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
                .await?;
            }
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}
