//! Follows: idempotent in the database (primary key plus insert-if-absent),
//! with the researcher's follower counter kept in the same transaction.
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::begin_write;
use super::researchers::ensure_exists;
use super::sql::Sql;
use crate::error::AppResult;

async fn add_to_followers(db: &impl ConnectionTrait, researcher_id: i64, delta: i32) -> AppResult<()> {
    let mut sql = Sql::new("UPDATE researchers SET followers_count = followers_count + ");
    sql.bind(delta).push(" WHERE id = ").bind(researcher_id);
    db.execute_raw(sql.build(db.get_database_backend())).await?;
    Ok(())
}

/// Follows `researcher_id`; following again changes nothing. Returns whether
/// a follow was added.
pub async fn follow(db: &DatabaseConnection, user_id: i64, researcher_id: i64) -> AppResult<bool> {
    let txn = begin_write(db).await?;
    ensure_exists(&txn, researcher_id).await?;
    let mut insert = Sql::new("INSERT INTO follows (user_id, researcher_id, created_at) VALUES (");
    insert
        .bind(user_id)
        .push(", ")
        .bind(researcher_id)
        .push(", ")
        .bind(Utc::now())
        .push(") ON CONFLICT (user_id, researcher_id) DO NOTHING");
    let added = txn.execute_raw(insert.build(txn.get_database_backend())).await?.rows_affected() == 1;
    if added {
        add_to_followers(&txn, researcher_id, 1).await?;
    }
    txn.commit().await?;
    Ok(added)
}

/// Unfollows `researcher_id`; unfollowing again changes nothing. Returns
/// whether a follow was removed.
pub async fn unfollow(db: &DatabaseConnection, user_id: i64, researcher_id: i64) -> AppResult<bool> {
    let txn = begin_write(db).await?;
    ensure_exists(&txn, researcher_id).await?;
    let mut delete = Sql::new("DELETE FROM follows WHERE user_id = ");
    delete.bind(user_id).push(" AND researcher_id = ").bind(researcher_id);
    let removed = txn.execute_raw(delete.build(txn.get_database_backend())).await?.rows_affected() == 1;
    if removed {
        add_to_followers(&txn, researcher_id, -1).await?;
    }
    txn.commit().await?;
    Ok(removed)
}

/// Which of `pairs` (user, researcher) are follows.
pub async fn existing(db: &impl ConnectionTrait, pairs: &[(i64, i64)]) -> AppResult<Vec<(i64, i64)>> {
    let users: Vec<i64> = pairs.iter().map(|p| p.0).collect();
    let researchers: Vec<i64> = pairs.iter().map(|p| p.1).collect();
    let mut sql = Sql::new("SELECT user_id, researcher_id FROM follows WHERE user_id IN (");
    sql.bind_list(&users).push(") AND researcher_id IN (").bind_list(&researchers).push(")");
    let rows = sql.fetch_all(db).await?;
    rows.iter().map(|row| Ok((row.try_get::<i64>("", "user_id")?, row.try_get::<i64>("", "researcher_id")?))).collect()
}
