//! Follows: idempotent in the database (primary key plus insert-if-absent),
//! with the researcher's follower counter and the change log kept in the
//! same transaction (a follow that changes nothing records nothing).
use chrono::Utc;
use entity::{follow, researcher};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::changes::{self, ChangeKind, NewChange};
use super::researchers::ensure_exists;
use super::{begin_write, statement};
use crate::error::AppResult;

async fn add_to_followers(db: &impl ConnectionTrait, researcher_id: i64, delta: i32) -> AppResult<()> {
    let update = Query::update()
        .table(researcher::Entity)
        .value(researcher::Column::FollowersCount, Expr::col(researcher::Column::FollowersCount).add(delta))
        .and_where(Expr::col(researcher::Column::Id).eq(researcher_id))
        .to_owned();
    statement::execute(db, &update).await?;
    Ok(())
}

/// Follows `researcher_id`; following again changes nothing. Returns whether
/// a follow was added.
#[tracing::instrument(skip(db))]
pub async fn follow(db: &DatabaseConnection, user_id: i64, researcher_id: i64) -> AppResult<bool> {
    let txn = begin_write(db).await?;
    ensure_exists(&txn, researcher_id).await?;
    let insert = Query::insert()
        .into_table(follow::Entity)
        .columns([follow::Column::UserId, follow::Column::ResearcherId, follow::Column::CreatedAt])
        .values_panic([user_id.into(), researcher_id.into(), Utc::now().into()])
        .on_conflict(
            OnConflict::columns([follow::Column::UserId, follow::Column::ResearcherId]).do_nothing().to_owned(),
        )
        .to_owned();
    let added = statement::execute(&txn, &insert).await? == 1;
    if added {
        add_to_followers(&txn, researcher_id, 1).await?;
        changes::record(&txn, &[NewChange::of_researcher(ChangeKind::Followed, researcher_id)]).await?;
    }
    txn.commit().await?;
    Ok(added)
}

/// Unfollows `researcher_id`; unfollowing again changes nothing. Returns
/// whether a follow was removed.
#[tracing::instrument(skip(db))]
pub async fn unfollow(db: &DatabaseConnection, user_id: i64, researcher_id: i64) -> AppResult<bool> {
    let txn = begin_write(db).await?;
    ensure_exists(&txn, researcher_id).await?;
    let delete = Query::delete()
        .from_table(follow::Entity)
        .and_where(Expr::col(follow::Column::UserId).eq(user_id))
        .and_where(Expr::col(follow::Column::ResearcherId).eq(researcher_id))
        .to_owned();
    let removed = statement::execute(&txn, &delete).await? == 1;
    if removed {
        add_to_followers(&txn, researcher_id, -1).await?;
        changes::record(&txn, &[NewChange::of_researcher(ChangeKind::Unfollowed, researcher_id)]).await?;
    }
    txn.commit().await?;
    Ok(removed)
}

/// Which of `pairs` (user, researcher) are follows.
pub async fn existing(db: &impl ConnectionTrait, pairs: &[(i64, i64)]) -> AppResult<Vec<(i64, i64)>> {
    let users: Vec<i64> = pairs.iter().map(|p| p.0).collect();
    let researchers: Vec<i64> = pairs.iter().map(|p| p.1).collect();
    let select = Query::select()
        .columns([follow::Column::UserId, follow::Column::ResearcherId])
        .from(follow::Entity)
        .and_where(Expr::col(follow::Column::UserId).is_in(users))
        .and_where(Expr::col(follow::Column::ResearcherId).is_in(researchers))
        .to_owned();
    let rows = statement::rows(db, &select).await?;
    rows.iter().map(|row| Ok((row.try_get::<i64>("", "user_id")?, row.try_get::<i64>("", "researcher_id")?))).collect()
}
