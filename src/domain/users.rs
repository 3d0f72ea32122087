//! Users: the local row behind an identity provider's `sub`.
use chrono::Utc;
use entity::user;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::statement;
use crate::error::AppResult;

#[derive(Debug, FromQueryResult)]
struct UserRow {
    id: i64,
    orcid: Option<String>,
}

async fn find(db: &impl ConnectionTrait, subject: &str) -> AppResult<Option<UserRow>> {
    let select = Query::select()
        .columns([user::Column::Id, user::Column::Orcid])
        .from(user::Entity)
        .and_where(Expr::col(user::Column::Subject).eq(subject))
        .to_owned();
    Ok(statement::models::<UserRow>(db, &select).await?.into_iter().next())
}

/// The user id for `subject`, creating the user on its first request. Two
/// first requests racing each other both end on the one row: the insert
/// does nothing when the unique subject is already there. A token that
/// carries an ORCID iD other than the stored one (the identity provider
/// verified a new one) updates it.
pub async fn ensure(db: &impl ConnectionTrait, subject: &str, orcid: Option<&str>) -> AppResult<i64> {
    if let Some(user) = find(db, subject).await? {
        if let Some(orcid) = orcid.filter(|o| user.orcid.as_deref() != Some(*o)) {
            let update = Query::update()
                .table(user::Entity)
                .value(user::Column::Orcid, orcid)
                .and_where(Expr::col(user::Column::Id).eq(user.id))
                .to_owned();
            statement::execute(db, &update).await?;
        }
        return Ok(user.id);
    }
    let insert = Query::insert()
        .into_table(user::Entity)
        .columns([user::Column::Subject, user::Column::Orcid, user::Column::CreatedAt])
        .values_panic([subject.into(), orcid.map(str::to_owned).into(), Utc::now().into()])
        .on_conflict(OnConflict::column(user::Column::Subject).do_nothing().to_owned())
        .to_owned();
    statement::execute(db, &insert).await?;
    find(db, subject).await?.map(|u| u.id).ok_or_else(|| crate::error::AppError::internal("user vanished after insert"))
}
