//! Researchers' sort keys (`researchers.sort_name`, copied into
//! `collaborations.coauthor_sort_name`) are computed by the service
//! (`domain::names::sort_key`), so SQL cannot rebuild them: this pass reads
//! the names, computes the keys and writes back the ones that differ.
//! Migrations add an empty key column; `startup::migrate` fills it, and
//! `scholargraph recount` checks every key.
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

use crate::domain::names::sort_key;
use crate::error::AppResult;

/// Names read and keys written per statement.
const BATCH: usize = 1000;

/// Which records to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only records without a key yet (fast: served by the key's index).
    Missing,
    /// Every record, so that a wrong key is corrected too.
    All,
}

#[derive(FromQueryResult)]
struct NameRow {
    id: i64,
    display_name: String,
    sort_name: String,
}

/// Brings every key in `scope` in line with its display name; returns how
/// many records changed. Runs on the caller's connection or transaction.
pub async fn refresh(db: &impl ConnectionTrait, scope: Scope) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let placeholder = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let condition = match scope {
        Scope::Missing => "sort_name = '' AND display_name <> '' AND ",
        Scope::All => "",
    };
    let mut changed = 0;
    let mut after = 0i64;
    loop {
        let select = format!(
            "SELECT id, display_name, sort_name FROM researchers WHERE {condition}id > {} ORDER BY id LIMIT {BATCH}",
            placeholder(1)
        );
        let rows =
            NameRow::find_by_statement(Statement::from_sql_and_values(backend, select, [after.into()])).all(db).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let updates: Vec<(i64, String)> = rows
            .into_iter()
            .filter_map(|row| {
                let key = sort_key(&row.display_name);
                (key != row.sort_name).then_some((row.id, key))
            })
            .collect();
        if updates.is_empty() {
            continue;
        }
        // One statement per batch: `UPDATE … FROM (VALUES …)` on both
        // databases (SQLite 3.33+), whose columns are `column1`, `column2`.
        let mut values: Vec<Value> = Vec::with_capacity(updates.len() * 2);
        let rows_sql: Vec<String> = updates
            .iter()
            .map(|(id, key)| {
                values.push((*id).into());
                values.push(key.clone().into());
                let (id_at, key_at) = (placeholder(values.len() - 1), placeholder(values.len()));
                match backend {
                    DbBackend::Postgres => format!("(CAST({id_at} AS BIGINT), CAST({key_at} AS TEXT))"),
                    _ => format!("({id_at}, {key_at})"),
                }
            })
            .collect();
        let update = format!(
            "UPDATE researchers SET sort_name = v.column2 FROM (VALUES {}) AS v WHERE researchers.id = v.column1",
            rows_sql.join(", ")
        );
        db.execute_raw(Statement::from_sql_and_values(backend, update, values)).await?;
        changed += updates.len() as u64;
    }
    if changed > 0 {
        // The co-author pairs copy the keys: one set-based pass, since a
        // pair table holds many rows per researcher.
        db.execute_unprepared(
            "UPDATE collaborations SET coauthor_sort_name = r.sort_name FROM researchers r \
             WHERE r.id = collaborations.coauthor_id AND collaborations.coauthor_sort_name <> r.sort_name",
        )
        .await?;
    }
    Ok(changed)
}
