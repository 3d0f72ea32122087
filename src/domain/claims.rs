//! Claims of author records. A record has at most one approved owner, which
//! the database enforces (a partial unique index); every decision runs in
//! one transaction and conditions its update on the state it read.
use chrono::Utc;
use entity::claim;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::page::{Listing, Page, PageRequest, SortSpec};
use super::sql::Sql;
use super::trust::{CLAIM_METHOD_MODERATOR, CLAIM_METHOD_ORCID};
use super::{begin_write, researchers};
use crate::error::{AppError, AppResult};

pub const PENDING: &str = "PENDING";
pub const APPROVED: &str = "APPROVED";
pub const REJECTED: &str = "REJECTED";
pub const WITHDRAWN: &str = "WITHDRAWN";

pub const QUEUE_LIST: &str = "claims:ID:ASC";
const COLUMNS: &str =
    "c.id, c.user_id, c.researcher_id, c.status, c.method, c.message, c.review_note, c.reviewer_id, c.created_at, c.decided_at";
const MAX_MESSAGE_CHARS: usize = 2000;

/// Who is acting, as far as claims care.
#[derive(Debug, Clone)]
pub struct Claimant<'a> {
    pub user_id: i64,
    /// The ORCID iD the identity provider verified, if any.
    pub orcid: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// ORCID iDs compare without case, spaces or a URL prefix.
fn normalize_orcid(orcid: &str) -> String {
    orcid.trim().trim_start_matches("https://orcid.org/").trim_start_matches("http://orcid.org/").to_ascii_uppercase()
}

pub async fn by_id(db: &impl ConnectionTrait, claim_id: i64) -> AppResult<claim::Model> {
    claim::Entity::find_by_id(claim_id).one(db).await?.ok_or_else(|| AppError::not_found("claim"))
}

/// Claims `researcher_id` for the claimant: approved at once when the
/// verified ORCID iD matches the record's, pending otherwise. A repeated
/// claim returns the claimant's open claim; a record owned by someone else
/// is a conflict.
pub async fn claim(
    db: &DatabaseConnection,
    claimant: &Claimant<'_>,
    researcher_id: i64,
    message: Option<String>,
) -> AppResult<claim::Model> {
    let message = message.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
    if message.as_ref().is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(AppError::bad_input(format!("`message` must be at most {MAX_MESSAGE_CHARS} characters")));
    }
    let txn = begin_write(db).await?;
    let record = researchers::by_ids(&txn, &[researcher_id])
        .await?
        .remove(&researcher_id)
        .ok_or_else(|| AppError::not_found("researcher"))?;
    let open = claim::Entity::find()
        .filter(claim::Column::ResearcherId.eq(researcher_id))
        .filter(claim::Column::Status.is_in([PENDING, APPROVED]))
        .order_by_asc(claim::Column::Id)
        .all(&txn)
        .await?;
    if let Some(mine) = open.iter().find(|c| c.user_id == claimant.user_id) {
        return Ok(mine.clone());
    }
    if open.iter().any(|c| c.status == APPROVED) {
        return Err(AppError::Conflict("this record is already claimed by someone else".to_owned()));
    }
    let orcid_matches = match (claimant.orcid, record.orcid.as_deref()) {
        (Some(verified), Some(on_record)) => normalize_orcid(verified) == normalize_orcid(on_record),
        _ => false,
    };
    let now = Utc::now();
    let (status, method, decided_at) =
        if orcid_matches { (APPROVED, Some(CLAIM_METHOD_ORCID), Some(now)) } else { (PENDING, None, None) };
    let row = claim::ActiveModel {
        user_id: sea_orm::Set(claimant.user_id),
        researcher_id: sea_orm::Set(researcher_id),
        status: sea_orm::Set(status.to_owned()),
        method: sea_orm::Set(method.map(str::to_owned)),
        message: sea_orm::Set(message),
        review_note: sea_orm::Set(None),
        reviewer_id: sea_orm::Set(None),
        created_at: sea_orm::Set(now),
        decided_at: sea_orm::Set(decided_at),
        ..Default::default()
    };
    let inserted = claim::Entity::insert(row)
        .exec(&txn)
        .await
        .map_err(|e| AppError::conflict_on_unique(e, "this record was claimed by someone else meanwhile"))?;
    let created = by_id(&txn, inserted.last_insert_id).await?;
    txn.commit().await?;
    Ok(created)
}

/// Withdraws a pending or approved claim; only its claimant may.
pub async fn withdraw(db: &DatabaseConnection, user_id: i64, claim_id: i64) -> AppResult<claim::Model> {
    let txn = begin_write(db).await?;
    let current = by_id(&txn, claim_id).await?;
    if current.user_id != user_id {
        return Err(AppError::Forbidden("only the claimant may withdraw a claim".to_owned()));
    }
    let mut update = Sql::new("UPDATE claims SET status = ");
    update
        .bind(WITHDRAWN)
        .push(", decided_at = ")
        .bind(Utc::now())
        .push(" WHERE id = ")
        .bind(claim_id)
        .push(" AND status IN ('PENDING', 'APPROVED')");
    if txn.execute_raw(update.build(txn.get_database_backend())).await?.rows_affected() == 0 {
        return Err(AppError::Conflict(format!("the claim is already {}", current.status.to_lowercase())));
    }
    let updated = by_id(&txn, claim_id).await?;
    txn.commit().await?;
    Ok(updated)
}

/// A moderator's decision on a pending claim. Approving while another claim
/// on the record is approved (even one approved a moment ago by another
/// moderator) is a conflict, enforced by the unique index.
pub async fn review(
    db: &DatabaseConnection,
    reviewer_id: i64,
    claim_id: i64,
    decision: Decision,
    note: Option<String>,
) -> AppResult<claim::Model> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(AppError::bad_input(format!("`note` must be at most {MAX_MESSAGE_CHARS} characters")));
    }
    let txn = begin_write(db).await?;
    let current = by_id(&txn, claim_id).await?;
    let (status, method) = match decision {
        Decision::Approve => (APPROVED, Some(CLAIM_METHOD_MODERATOR)),
        Decision::Reject => (REJECTED, None),
    };
    let mut update = Sql::new("UPDATE claims SET status = ");
    update
        .bind(status)
        .push(", method = ")
        .bind(method.map(str::to_owned))
        .push(", review_note = ")
        .bind(note)
        .push(", reviewer_id = ")
        .bind(reviewer_id)
        .push(", decided_at = ")
        .bind(Utc::now())
        .push(" WHERE id = ")
        .bind(claim_id)
        .push(" AND status = 'PENDING'");
    let result = txn
        .execute_raw(update.build(txn.get_database_backend()))
        .await
        .map_err(|e| AppError::conflict_on_unique(e, "another claim on this record is already approved"))?;
    if result.rows_affected() == 0 {
        return Err(AppError::Conflict(format!("the claim is already {}", current.status.to_lowercase())));
    }
    let updated = by_id(&txn, claim_id).await?;
    txn.commit().await?;
    Ok(updated)
}

/// The user's claims, newest first.
pub async fn of_user(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<claim::Model>> {
    Ok(claim::Entity::find().filter(claim::Column::UserId.eq(user_id)).order_by_desc(claim::Column::Id).all(db).await?)
}

/// The moderators' queue: claims in `status` (all when `None`), oldest first.
pub async fn queue(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<claim::Model>> {
    let mut from_where = Sql::new("FROM claims c WHERE 1 = 1");
    if let Some(status) = status {
        from_where.push(" AND c.status = ").bind(status);
    }
    let listing = Listing {
        with: None,
        columns: COLUMNS.to_owned(),
        from_where,
        id_expr: "c.id".to_owned(),
        sort: SortSpec { keys: Vec::new(), descending: false },
        count: None,
    };
    listing.fetch(db, page).await
}

/// The researchers `user_id` owns (approved claims).
pub async fn owned_by(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<i64>> {
    let rows = claim::Entity::find()
        .filter(claim::Column::UserId.eq(user_id))
        .filter(claim::Column::Status.eq(APPROVED))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|c| c.researcher_id).collect())
}

/// The owner of `researcher_id`, if the record is claimed.
pub async fn owner_of(db: &impl ConnectionTrait, researcher_id: i64) -> AppResult<Option<i64>> {
    let row = claim::Entity::find()
        .filter(claim::Column::ResearcherId.eq(researcher_id))
        .filter(claim::Column::Status.eq(APPROVED))
        .one(db)
        .await?;
    Ok(row.map(|c| c.user_id))
}
