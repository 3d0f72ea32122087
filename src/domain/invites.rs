//! Collaboration invitations: from signed-in users to claimed records,
//! answered once by the record's owner.
use chrono::{DateTime, Utc};
use entity::collaboration_invite;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{begin_write, claims, researchers, statement};
use crate::error::{AppError, AppResult};

pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    Pending,
    Accepted,
    Declined,
}

impl InviteState {
    /// The form stored in `collaboration_invites.status`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
        }
    }

    pub const ALL: [Self; 3] = [Self::Pending, Self::Accepted, Self::Declined];

    /// Reads `collaboration_invites.status`.
    pub fn from_stored(status: &str) -> AppResult<Self> {
        super::from_stored(&Self::ALL, Self::as_stored, "invitation status", status)
    }
}

/// A signed-in user's invitation to collaborate, sent to a claimed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: i64,
    pub from_user_id: i64,
    pub researcher_id: i64,
    pub message: String,
    pub state: InviteState,
    pub created_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

impl TryFrom<collaboration_invite::Model> for Invite {
    type Error = AppError;

    fn try_from(row: collaboration_invite::Model) -> AppResult<Self> {
        Ok(Self {
            id: row.id,
            from_user_id: row.from_user_id,
            researcher_id: row.researcher_id,
            message: row.message,
            state: InviteState::from_stored(&row.status)?,
            created_at: row.created_at,
            responded_at: row.responded_at,
        })
    }
}

pub async fn by_id(db: &impl ConnectionTrait, invite_id: i64) -> AppResult<Invite> {
    collaboration_invite::Entity::find_by_id(invite_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("invitation"))?
        .try_into()
}

/// Sends an invitation to the owner of `researcher_id`.
#[tracing::instrument(skip(db, message))]
pub async fn send(db: &DatabaseConnection, from_user_id: i64, researcher_id: i64, message: &str) -> AppResult<Invite> {
    let message = message.trim();
    let length = message.chars().count();
    if length == 0 || length > MAX_MESSAGE_CHARS {
        return Err(AppError::bad_input(format!("`message` must have 1 to {MAX_MESSAGE_CHARS} characters")));
    }
    let txn = begin_write(db).await?;
    researchers::lock_record(&txn, researcher_id).await?;
    match claims::owner_of(&txn, researcher_id).await? {
        None => return Err(AppError::Forbidden("invitations go only to claimed records".to_owned())),
        Some(owner) if owner == from_user_id => {
            return Err(AppError::Forbidden("you cannot invite your own record".to_owned()));
        }
        Some(_) => {}
    }
    let row = collaboration_invite::ActiveModel {
        from_user_id: sea_orm::Set(from_user_id),
        researcher_id: sea_orm::Set(researcher_id),
        message: sea_orm::Set(message.to_owned()),
        status: sea_orm::Set(InviteState::Pending.as_stored().to_owned()),
        created_at: sea_orm::Set(Utc::now()),
        responded_at: sea_orm::Set(None),
        ..Default::default()
    };
    let id = collaboration_invite::Entity::insert(row).exec(&txn).await?.last_insert_id;
    let created = by_id(&txn, id).await?;
    txn.commit().await?;
    Ok(created)
}

/// Accepts or declines an invitation; only the record's owner may, once.
#[tracing::instrument(skip(db))]
pub async fn respond(db: &DatabaseConnection, user_id: i64, invite_id: i64, accept: bool) -> AppResult<Invite> {
    let txn = begin_write(db).await?;
    let invite = by_id(&txn, invite_id).await?;
    researchers::lock_record(&txn, invite.researcher_id).await?;
    if claims::owner_of(&txn, invite.researcher_id).await? != Some(user_id) {
        return Err(AppError::Forbidden("only the record's owner may answer its invitations".to_owned()));
    }
    let update = Query::update()
        .table(collaboration_invite::Entity)
        .value(
            collaboration_invite::Column::Status,
            if accept { InviteState::Accepted } else { InviteState::Declined }.as_stored(),
        )
        .value(collaboration_invite::Column::RespondedAt, Utc::now())
        .and_where(Expr::col(collaboration_invite::Column::Id).eq(invite_id))
        .and_where(Expr::col(collaboration_invite::Column::Status).eq(InviteState::Pending.as_stored()))
        .to_owned();
    if statement::execute(&txn, &update).await? == 0 {
        return Err(AppError::Conflict("the invitation was already answered".to_owned()));
    }
    let updated = by_id(&txn, invite_id).await?;
    txn.commit().await?;
    Ok(updated)
}

/// The newest `limit` invitations received by the records `user_id` owns, newest first.
pub async fn received_by(db: &impl ConnectionTrait, user_id: i64, limit: u64) -> AppResult<Vec<Invite>> {
    let owned = claims::owned_by(db, user_id).await?;
    if owned.is_empty() {
        return Ok(Vec::new());
    }
    collaboration_invite::Entity::find()
        .filter(collaboration_invite::Column::ResearcherId.is_in(owned))
        .order_by_desc(collaboration_invite::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Invite::try_from)
        .collect()
}
