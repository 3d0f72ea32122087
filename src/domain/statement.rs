//! Runs the domain's sea-query statements. sea-query renders each for the
//! connection's backend (`?` or `$1, $2, …`, quoting, `UNION` syntax); these
//! helpers only read the rows back in the shapes the domain uses.
use sea_orm::sea_query::{Alias, Asterisk, Expr, JoinType, Query, SelectExpr, SelectStatement, UnionType};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Iterable, QueryResult, StatementBuilder, Value,
};

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

/// Every column of `E` qualified by the table alias `alias`, in the order
/// the entity declares them: what `E::Model` reads from a joined row.
pub fn columns_of<E: EntityTrait>(alias: &'static str) -> Vec<SelectExpr> {
    E::Column::iter().map(|column| Expr::col((alias, column)).into()).collect()
}

/// `expr AS alias` in a select list.
pub fn aliased(expr: impl Into<Expr>, alias: &'static str) -> SelectExpr {
    SelectExpr { expr: expr.into(), alias: Some(alias.into()), window: None }
}

/// A constant written into the statement's text rather than bound, where
/// the planner must see the value: an expression index (`COALESCE(year, 0)`)
/// or a partial index's condition (`status = 'APPROVED'`).
pub fn literal(value: impl Into<Value>) -> Expr {
    Expr::Constant(value.into())
}

/// `(SELECT …)`: a subquery as a value.
pub fn subquery(select: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(select.into()))
}

/// The rows `branch(key)` selects for each key: an `ORDER BY … LIMIT` read
/// per key (the top rows of each group), where `branch` gets the key as an
/// expression. On PostgreSQL one `LATERAL` join over a `VALUES` list of the
/// keys, planned as one small join however many keys there are (a compound
/// of 50 branches cost more to plan than to run). SQLite has no `LATERAL`:
/// there it is `SELECT * FROM (branch) alias_0 UNION ALL SELECT * FROM
/// (branch) alias_1 …`, each branch wrapped because SQLite allows no `LIMIT`
/// on a compound's parts. `None` when there are no keys.
pub fn top_rows_per_key(
    backend: DbBackend,
    keys: &[i64],
    alias: &str,
    branch: impl Fn(Expr) -> SelectStatement,
) -> Option<SelectStatement> {
    if keys.is_empty() {
        return None;
    }
    if backend == DbBackend::Postgres {
        let select = Query::select()
            .column((Alias::new(alias), Asterisk))
            .from_values(keys.iter().copied(), "k")
            .join_lateral(JoinType::Join, branch(Expr::col(("k", "column1"))), Alias::new(alias), Expr::cust("TRUE"))
            .to_owned();
        return Some(select);
    }
    let mut parts = keys.iter().enumerate().map(|(i, key)| {
        Query::select().column(Asterisk).from_subquery(branch(Expr::val(*key)), format!("{alias}_{i}")).to_owned()
    });
    let mut compound = parts.next()?;
    compound.unions(parts.map(|part| (UnionType::All, part)));
    Some(compound)
}
