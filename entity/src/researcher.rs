use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "researchers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub display_name: String,
    /// `display_name` folded for ordering; written by the service (`domain::names`).
    pub sort_name: String,
    pub orcid: Option<String>,
    pub open_to_collaborate: bool,
    pub affiliation_id: Option<i64>,
    pub works_count: i32,
    pub followers_count: i32,
    /// Distinct co-authors.
    pub collaborators_count: i32,
    /// Co-authors with two or more shared works.
    pub close_collaborators_count: i32,
    /// Works with an arXiv id or a DOI.
    pub linked_works_count: i32,
    /// Sum of the squared works per topic (`researcher_topics`): the squared
    /// length of the topic profile, for the similarity cosine.
    pub topic_norm2: i64,
    /// Distinct topics over the researcher's works.
    pub topics_count: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
