//! Runs the domain's sea-query statements. sea-query renders each for the
//! connection's backend (`?` or `$1, $2, …`, quoting, `UNION` syntax); these
//! helpers only read the rows back in the shapes the domain uses.
use sea_orm::{ConnectionTrait, FromQueryResult, QueryResult, StatementBuilder};

use crate::error::AppResult;

/// Every row of a query.
pub async fn rows(db: &impl ConnectionTrait, statement: &impl StatementBuilder) -> AppResult<Vec<QueryResult>> {
    Ok(db.query_all(statement).await?)
}

/// Every row of a query, read as `T`.
pub async fn models<T: FromQueryResult>(
    db: &impl ConnectionTrait,
    statement: &impl StatementBuilder,
) -> AppResult<Vec<T>> {
    let rows = rows(db, statement).await?;
    rows.iter().map(|row| T::from_query_result(row, "").map_err(Into::into)).collect()
}

/// The `n` column of a query's one row (`SELECT COUNT(*) AS n …`); 0 when
/// it returns no row.
pub async fn count(db: &impl ConnectionTrait, statement: &impl StatementBuilder) -> AppResult<i64> {
    match db.query_one(statement).await? {
        Some(row) => Ok(row.try_get::<i64>("", "n")?),
        None => Ok(0),
    }
}

/// Runs an `INSERT`, `UPDATE` or `DELETE`; returns the rows it changed.
pub async fn execute(db: &impl ConnectionTrait, statement: &impl StatementBuilder) -> AppResult<u64> {
    Ok(db.execute(statement).await?.rows_affected())
}
