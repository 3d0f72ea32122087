//! Claims of author records. A record has at most one approved owner, which
//! the database enforces (a partial unique index); every decision runs in
//! one transaction and conditions its update on the state it read. A claim
//! made, decided or withdrawn is recorded in the change log in the same
//! transaction; a repeated claim that returns the open one records nothing.
use chrono::{DateTime, Utc};
use entity::claim;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::changes::{self, ChangeKind, NewChange};
use super::page::{Listing, Page, PageRequest, SortSpec};
use super::statement::columns_of;
use super::{begin_write, researchers, statement};
use crate::error::{AppError, AppResult};

const PENDING: &str = ClaimState::Pending.as_stored();
const APPROVED: &str = ClaimState::Approved.as_stored();

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl ClaimState {
    /// The form stored in `claims.status`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    pub const ALL: [Self; 4] = [Self::Pending, Self::Approved, Self::Rejected, Self::Withdrawn];

    /// Reads `claims.status`.
    pub fn from_stored(status: &str) -> AppResult<Self> {
        super::from_stored(&Self::ALL, Self::as_stored, "claim status", status)
    }
}

/// How an approved claim was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMethod {
    /// The token's verified ORCID iD matched the record's.
    Orcid,
    /// A moderator approved the claim.
    Moderator,
}

impl ClaimMethod {
    /// The form stored in `claims.method`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::Orcid => "ORCID",
            Self::Moderator => "MODERATOR",
        }
    }

    pub const ALL: [Self; 2] = [Self::Orcid, Self::Moderator];

    /// Reads `claims.method`.
    pub fn from_stored(method: &str) -> AppResult<Self> {
        super::from_stored(&Self::ALL, Self::as_stored, "claim method", method)
    }
}

/// A user's claim that an author record is theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub user_id: i64,
    pub researcher_id: i64,
    pub state: ClaimState,
    pub method: Option<ClaimMethod>,
    pub message: Option<String>,
    pub review_note: Option<String>,
    pub reviewer_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl TryFrom<claim::Model> for Claim {
    type Error = AppError;

    fn try_from(row: claim::Model) -> AppResult<Self> {
        Ok(Self {
            id: row.id,
            user_id: row.user_id,
            researcher_id: row.researcher_id,
            state: ClaimState::from_stored(&row.status)?,
            method: row.method.as_deref().map(ClaimMethod::from_stored).transpose()?,
            message: row.message,
            review_note: row.review_note,
            reviewer_id: row.reviewer_id,
            created_at: row.created_at,
            decided_at: row.decided_at,
        })
    }
}

fn claims(rows: Vec<claim::Model>) -> AppResult<Vec<Claim>> {
    rows.into_iter().map(Claim::try_from).collect()
}

pub const QUEUE_LIST: &str = "claims:ID:ASC";
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

pub async fn by_id(db: &impl ConnectionTrait, claim_id: i64) -> AppResult<Claim> {
    claim::Entity::find_by_id(claim_id).one(db).await?.ok_or_else(|| AppError::not_found("claim"))?.try_into()
}

/// Claims `researcher_id` for the claimant: approved at once when the
/// verified ORCID iD matches the record's, pending otherwise. A repeated
/// claim returns the claimant's open claim; a record owned by someone else
/// is a conflict.
#[tracing::instrument(skip(db, message))]
pub async fn claim(
    db: &DatabaseConnection,
    claimant: &Claimant<'_>,
    researcher_id: i64,
    message: Option<String>,
) -> AppResult<Claim> {
    let message = message.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
    if message.as_ref().is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(AppError::bad_input(format!("`message` must be at most {MAX_MESSAGE_CHARS} characters")));
    }
    let txn = begin_write(db).await?;
    researchers::lock_record(&txn, researcher_id).await?;
    let record = researchers::by_ids(&txn, &[researcher_id])
        .await?
        .remove(&researcher_id)
        .ok_or_else(|| AppError::not_found("researcher"))?;
    let open = claims(
        claim::Entity::find()
            .filter(claim::Column::ResearcherId.eq(researcher_id))
            .filter(claim::Column::Status.is_in([PENDING, APPROVED]))
            .order_by_asc(claim::Column::Id)
            .all(&txn)
            .await?,
    )?;
    if let Some(mine) = open.iter().find(|c| c.user_id == claimant.user_id) {
        return Ok(mine.clone());
    }
    if open.iter().any(|c| c.state == ClaimState::Approved) {
        return Err(AppError::Conflict("this record is already claimed by someone else".to_owned()));
    }
    let orcid_matches = match (claimant.orcid, record.orcid.as_deref()) {
        (Some(verified), Some(on_record)) => normalize_orcid(verified) == normalize_orcid(on_record),
        _ => false,
    };
    let now = Utc::now();
    let (state, method, decided_at) = if orcid_matches {
        (ClaimState::Approved, Some(ClaimMethod::Orcid), Some(now))
    } else {
        (ClaimState::Pending, None, None)
    };
    let row = claim::ActiveModel {
        user_id: sea_orm::Set(claimant.user_id),
        researcher_id: sea_orm::Set(researcher_id),
        status: sea_orm::Set(state.as_stored().to_owned()),
        method: sea_orm::Set(method.map(|m| m.as_stored().to_owned())),
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
    record_change(&txn, researcher_id).await?;
    txn.commit().await?;
    Ok(created)
}

/// Withdraws a pending or approved claim; only its claimant may.
#[tracing::instrument(skip(db))]
pub async fn withdraw(db: &DatabaseConnection, user_id: i64, claim_id: i64) -> AppResult<Claim> {
    let txn = begin_write(db).await?;
    let current = locked_claim(&txn, claim_id).await?;
    if current.user_id != user_id {
        return Err(AppError::Forbidden("only the claimant may withdraw a claim".to_owned()));
    }
    let update = Query::update()
        .table(claim::Entity)
        .value(claim::Column::Status, ClaimState::Withdrawn.as_stored())
        .value(claim::Column::DecidedAt, Utc::now())
        .and_where(Expr::col(claim::Column::Id).eq(claim_id))
        .and_where(Expr::col(claim::Column::Status).is_in([PENDING, APPROVED]))
        .to_owned();
    if statement::execute(&txn, &update).await? == 0 {
        return Err(already_decided(&current));
    }
    let updated = by_id(&txn, claim_id).await?;
    record_change(&txn, updated.researcher_id).await?;
    txn.commit().await?;
    Ok(updated)
}

/// A moderator's decision on a pending claim. Approving while another claim
/// on the record is approved (even one approved a moment ago by another
/// moderator) is a conflict, enforced by the unique index.
#[tracing::instrument(skip(db, note))]
pub async fn review(
    db: &DatabaseConnection,
    reviewer_id: i64,
    claim_id: i64,
    decision: Decision,
    note: Option<String>,
) -> AppResult<Claim> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(AppError::bad_input(format!("`note` must be at most {MAX_MESSAGE_CHARS} characters")));
    }
    let txn = begin_write(db).await?;
    let current = locked_claim(&txn, claim_id).await?;
    if current.user_id == reviewer_id {
        return Err(AppError::Forbidden("a moderator may not decide their own claim".to_owned()));
    }
    let (state, method) = match decision {
        Decision::Approve => (ClaimState::Approved, Some(ClaimMethod::Moderator)),
        Decision::Reject => (ClaimState::Rejected, None),
    };
    let update = Query::update()
        .table(claim::Entity)
        .value(claim::Column::Status, state.as_stored())
        .value(claim::Column::Method, method.map(|m| m.as_stored().to_owned()))
        .value(claim::Column::ReviewNote, note)
        .value(claim::Column::ReviewerId, reviewer_id)
        .value(claim::Column::DecidedAt, Utc::now())
        .and_where(Expr::col(claim::Column::Id).eq(claim_id))
        .and_where(Expr::col(claim::Column::Status).eq(PENDING))
        .to_owned();
    let result = txn
        .execute(&update)
        .await
        .map_err(|e| AppError::conflict_on_unique(e, "another claim on this record is already approved"))?;
    if result.rows_affected() == 0 {
        return Err(already_decided(&current));
    }
    let updated = by_id(&txn, claim_id).await?;
    record_change(&txn, updated.researcher_id).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Records that a claim on `researcher_id` changed, in the deciding transaction.
async fn record_change(txn: &DatabaseTransaction, researcher_id: i64) -> AppResult<()> {
    changes::record(txn, &[NewChange::of_researcher(ChangeKind::ClaimUpdated, researcher_id)]).await
}

/// The claim, read after locking its record (see `researchers::lock_record`).
async fn locked_claim(txn: &DatabaseTransaction, claim_id: i64) -> AppResult<Claim> {
    let researcher_id = by_id(txn, claim_id).await?.researcher_id;
    researchers::lock_record(txn, researcher_id).await?;
    by_id(txn, claim_id).await
}

/// A claim that can no longer change the way asked.
fn already_decided(claim: &Claim) -> AppError {
    AppError::Conflict(format!("the claim is already {}", claim.state.as_stored().to_lowercase()))
}

/// The user's newest `limit` claims, newest first.
pub async fn of_user(db: &impl ConnectionTrait, user_id: i64, limit: u64) -> AppResult<Vec<Claim>> {
    claims(
        claim::Entity::find()
            .filter(claim::Column::UserId.eq(user_id))
            .order_by_desc(claim::Column::Id)
            .limit(limit)
            .all(db)
            .await?,
    )
}

/// The moderators' queue: claims in `status` (all when `None`), oldest first.
#[tracing::instrument(skip(db))]
pub async fn queue(db: &impl ConnectionTrait, state: Option<ClaimState>, page: &PageRequest) -> AppResult<Page<Claim>> {
    let mut from_where = Query::select().from_as(claim::Entity, "c").to_owned();
    if let Some(state) = state {
        from_where.and_where(Expr::col(("c", claim::Column::Status)).eq(state.as_stored()));
    }
    let listing = Listing {
        columns: columns_of::<claim::Entity>("c"),
        from_where,
        id_expr: Expr::col(("c", claim::Column::Id)),
        sort: SortSpec { keys: Vec::new(), descending: false },
        count: None,
    };
    let page: Page<claim::Model> = listing.fetch(db, page).await?;
    let items = page.items.into_iter().map(|(row, key)| Ok((Claim::try_from(row)?, key))).collect::<AppResult<_>>()?;
    Ok(Page { items, has_previous: page.has_previous, has_next: page.has_next, total: page.total })
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

#[cfg(test)]
mod tests {
    use super::{ClaimMethod, ClaimState};

    #[test]
    fn states_and_methods_read_back_as_themselves_and_unknown_ones_are_errors() {
        for state in ClaimState::ALL {
            assert_eq!(ClaimState::from_stored(state.as_stored()), Ok(state));
        }
        for method in ClaimMethod::ALL {
            assert_eq!(ClaimMethod::from_stored(method.as_stored()), Ok(method));
        }
        assert!(ClaimState::from_stored("ARCHIVED").is_err());
        assert!(ClaimMethod::from_stored("EMAIL").is_err());
    }
}
