use sea_orm::entity::prelude::*;

/// How many of a researcher's works share a year, a kind or a venue.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "researcher_facets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub researcher_id: i64,
    /// `year`, `kind` or `venue`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub facet: String,
    /// The year (as text), the kind or the venue.
    #[sea_orm(primary_key, auto_increment = false)]
    pub value: String,
    pub works_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
