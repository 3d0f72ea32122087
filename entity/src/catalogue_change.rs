use sea_orm::entity::prelude::*;

/// One row of the catalogue's change log. On PostgreSQL the table also has
/// `xid` (the writing transaction's id, `xid8`), which readers compare in SQL
/// and which no entity type reads; it is left out here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalogue_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// RESEARCHER, WORK, AUTHORSHIP, FOLLOW or CLAIM.
    pub subject: String,
    /// The work (WORK, AUTHORSHIP) or the researcher (the others).
    pub subject_id: i64,
    /// What happened, e.g. FOLLOWED or WORK_ADDED.
    pub kind: String,
    /// The researcher the change affects, if any.
    pub researcher_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
