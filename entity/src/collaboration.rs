use sea_orm::entity::prelude::*;

/// A co-author pair (both directions are stored) with their shared works.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "collaborations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub researcher_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub coauthor_id: i64,
    pub shared_works: i32,
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
    /// The co-author's display name, for ordering the list by index.
    pub coauthor_sort_name: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
