//! Users: the local row behind an identity provider's `sub`.
use chrono::Utc;
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::sql::Sql;
use crate::error::AppResult;

#[derive(Debug, FromQueryResult)]
struct UserId {
    id: i64,
}

async fn find(db: &impl ConnectionTrait, subject: &str) -> AppResult<Option<i64>> {
    let mut sql = Sql::new("SELECT id FROM users WHERE subject = ");
    sql.bind(subject);
    Ok(sql.fetch_models::<UserId>(db).await?.first().map(|u| u.id))
}

/// The user id for `subject`, creating the user on its first request. Two
/// first requests racing each other both end on the one row: the insert
/// does nothing when the unique subject is already there.
pub async fn ensure(db: &impl ConnectionTrait, subject: &str, orcid: Option<&str>) -> AppResult<i64> {
    if let Some(id) = find(db, subject).await? {
        return Ok(id);
    }
    let mut insert = Sql::new("INSERT INTO users (subject, orcid, created_at) VALUES (");
    insert
        .bind(subject)
        .push(", ")
        .bind(orcid.map(str::to_owned))
        .push(", ")
        .bind(Utc::now())
        .push(") ON CONFLICT (subject) DO NOTHING");
    db.execute_raw(insert.build(db.get_database_backend())).await?;
    find(db, subject).await?.ok_or_else(|| crate::error::AppError::internal("user vanished after insert"))
}
