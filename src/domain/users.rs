//! Users: the local row behind an identity provider's `sub`.
use chrono::Utc;
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::sql::Sql;
use crate::error::AppResult;

#[derive(Debug, FromQueryResult)]
struct UserRow {
    id: i64,
    orcid: Option<String>,
}

async fn find(db: &impl ConnectionTrait, subject: &str) -> AppResult<Option<UserRow>> {
    let mut sql = Sql::new("SELECT id, orcid FROM users WHERE subject = ");
    sql.bind(subject);
    Ok(sql.fetch_models::<UserRow>(db).await?.into_iter().next())
}

/// The user id for `subject`, creating the user on its first request. Two
/// first requests racing each other both end on the one row: the insert
/// does nothing when the unique subject is already there. A token that
/// carries an ORCID iD other than the stored one (the identity provider
/// verified a new one) updates it.
pub async fn ensure(db: &impl ConnectionTrait, subject: &str, orcid: Option<&str>) -> AppResult<i64> {
    if let Some(user) = find(db, subject).await? {
        if let Some(orcid) = orcid.filter(|o| user.orcid.as_deref() != Some(*o)) {
            let mut update = Sql::new("UPDATE users SET orcid = ");
            update.bind(orcid.to_owned()).push(" WHERE id = ").bind(user.id);
            db.execute_raw(update.build(db.get_database_backend())).await?;
        }
        return Ok(user.id);
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
    find(db, subject).await?.map(|u| u.id).ok_or_else(|| crate::error::AppError::internal("user vanished after insert"))
}
