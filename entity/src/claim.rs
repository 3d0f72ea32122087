use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub researcher_id: i64,
    /// PENDING, APPROVED, REJECTED or WITHDRAWN.
    pub status: String,
    /// ORCID or MODERATOR, once approved.
    pub method: Option<String>,
    pub message: Option<String>,
    pub review_note: Option<String>,
    pub reviewer_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
