use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub work_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub researcher_id: i64,
    pub position: i32,
    /// The work's year (0 when unknown), kept beside the researcher for paging.
    pub work_year: i32,
    /// The work's byline length, kept beside the researcher for the research graph.
    pub work_authors_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
