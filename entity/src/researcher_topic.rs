use sea_orm::entity::prelude::*;

/// How many of a researcher's works carry a topic.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "researcher_topics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub researcher_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic_id: i64,
    pub works_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
