//! One researcher's profile page in one statement: the record, its
//! identifiers, institution, standing (claim and trust inputs) and main
//! topics. The profile is the most requested page; read through the batch
//! loaders it takes one statement per part, each a round trip with its own
//! cost on both ends. Lists of researchers keep using the loaders.
//!
//! The identifiers and topics come back as one JSON array each, built by the
//! database (`json_agg` on PostgreSQL, `json_group_array` on SQLite).
use std::collections::HashMap;

use entity::{external_id, institution, researcher};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, QueryResult};

use super::institutions::Institution;
use super::researchers::{self, ExternalId, ExternalIdScheme, RecordStanding, Researcher, TopicShare};
use super::statement::{self, aliased, columns_of};
use crate::error::{AppError, AppResult};

/// How a single record is named.
#[derive(Debug, Clone, Copy)]
pub enum RecordKey<'a> {
    Id(i64),
    Slug(&'a str),
    Orcid(&'a str),
}

/// What a profile page shows beside the record itself.
#[derive(Debug, Clone, Default)]
pub struct ProfileParts {
    pub external_ids: Vec<ExternalId>,
    pub affiliation: Option<Institution>,
    pub standing: RecordStanding,
    /// At most [`researchers::MAX_TOPICS`], most works first, ties by topic id (highest first).
    pub main_topics: Vec<TopicShare>,
}

/// The record named by `key` with its profile parts; `None` if there is none.
#[tracing::instrument(skip(db))]
pub async fn profile(db: &impl ConnectionTrait, key: RecordKey<'_>) -> AppResult<Option<(Researcher, ProfileParts)>> {
    let mut select = profile_select(db.get_database_backend())?;
    match key {
        RecordKey::Id(id) => select.and_where(Expr::col(("r", researcher::Column::Id)).eq(id)),
        RecordKey::Slug(slug) => select.and_where(Expr::col(("r", researcher::Column::Slug)).eq(slug)),
        RecordKey::Orcid(orcid) => select.and_where(Expr::col(("r", researcher::Column::Orcid)).eq(orcid)),
    };
    match statement::rows(db, &select).await?.first() {
        Some(row) => Ok(Some(read(row)?)),
        None => Ok(None),
    }
}

/// The records of `ids` with their profile parts, in one statement; ids
/// with no record are left out.
pub async fn profiles(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, (Researcher, ProfileParts)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = profile_select(db.get_database_backend())?;
    select.and_where(Expr::col(("r", researcher::Column::Id)).is_in(ids.iter().copied()));
    statement::rows(db, &select).await?.iter().map(|row| read(row).map(|profile| (profile.0.id, profile))).collect()
}

fn profile_select(backend: DbBackend) -> AppResult<SelectStatement> {
    let select = Query::select()
        .exprs(columns_of::<researcher::Entity>("r"))
        .exprs(researchers::standing_columns())
        .expr(aliased(Expr::col(("i", institution::Column::Id)), "institution_id"))
        .expr(aliased(Expr::col(("i", institution::Column::Name)), "institution_name"))
        .expr(aliased(Expr::col(("i", institution::Column::Country)), "institution_country"))
        .expr(aliased(Expr::col(("i", institution::Column::Ror)), "institution_ror"))
        .expr(aliased(external_ids_json(backend)?, "external_ids_json"))
        .expr(aliased(main_topics_json(backend)?, "main_topics_json"))
        .from_as(researcher::Entity, "r")
        .join_as(
            JoinType::LeftJoin,
            institution::Entity,
            "i",
            Expr::col(("i", institution::Column::Id)).equals(("r", researcher::Column::AffiliationId)),
        )
        .to_owned();
    Ok(select)
}

fn read(row: &QueryResult) -> AppResult<(Researcher, ProfileParts)> {
    let researcher: Researcher = researcher::Model::from_query_result(row, "")?.into();
    let standing = researchers::read_standing(row)?;
    let affiliation = match row.try_get::<Option<i64>>("", "institution_id")? {
        Some(id) => Some(Institution {
            id,
            name: row.try_get("", "institution_name")?,
            country: row.try_get("", "institution_country")?,
            ror: row.try_get("", "institution_ror")?,
        }),
        None => None,
    };
    let mut external_ids: Vec<(i64, String, String)> = json_column(row, "external_ids_json")?;
    // An aggregate's order is not guaranteed on either database.
    external_ids.sort_by_key(|(id, _, _)| *id);
    let external_ids = external_ids
        .into_iter()
        .map(|(_, scheme, value)| Ok(ExternalId { scheme: ExternalIdScheme::from_stored(&scheme)?, value }))
        .collect::<AppResult<_>>()?;
    let topics: Vec<(i64, String, i64)> = json_column(row, "main_topics_json")?;
    let mut main_topics: Vec<TopicShare> = topics
        .into_iter()
        .map(|(topic_id, topic_name, works_count)| TopicShare {
            researcher_id: researcher.id,
            topic_id,
            topic_name,
            works_count,
        })
        .collect();
    main_topics.sort_by_key(|t| std::cmp::Reverse((t.works_count, t.topic_id)));
    Ok((researcher, ProfileParts { external_ids, affiliation, standing, main_topics }))
}

/// A JSON array column; SQL `NULL` (nothing to aggregate) is empty.
fn json_column<T: serde::de::DeserializeOwned>(row: &QueryResult, column: &str) -> AppResult<Vec<T>> {
    match row.try_get::<Option<String>>("", column)? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|err| AppError::internal(format_args!("the database's {column} is not the expected JSON: {err}"))),
        None => Ok(Vec::new()),
    }
}

/// `[[id, scheme, value], …]` of the record aliased `r`.
fn external_ids_json(backend: DbBackend) -> AppResult<Expr> {
    let ids = Query::select()
        .column(external_id::Column::Scheme)
        .column(external_id::Column::Value)
        .column(external_id::Column::Id)
        .from(external_id::Entity)
        .and_where(
            Expr::col((external_id::Entity, external_id::Column::ResearcherId)).equals(("r", researcher::Column::Id)),
        )
        .to_owned();
    json_array_of(backend, ids, "e", "e.id, e.scheme, e.value")
}

/// `[[topic id, topic name, works], …]` of the record aliased `r`: its
/// [`researchers::MAX_TOPICS`] main topics, read from the end of `ix_researcher_topics_rank`.
fn main_topics_json(backend: DbBackend) -> AppResult<Expr> {
    let ranked = researchers::main_topic_rows(Expr::col(("r", researcher::Column::Id)));
    json_array_of(backend, researchers::with_topic_names(ranked), "m", "m.topic_id, m.topic_name, m.works_count")
}

/// `(SELECT <JSON array of [items…] per row of rows>)` as text.
fn json_array_of(
    backend: DbBackend,
    rows: sea_orm::sea_query::SelectStatement,
    alias: &'static str,
    items: &str,
) -> AppResult<Expr> {
    let aggregate = match backend {
        DbBackend::Postgres => format!("CAST(json_agg(json_build_array({items})) AS TEXT)"),
        DbBackend::Sqlite => format!("json_group_array(json_array({items}))"),
        other => return Err(AppError::internal(format_args!("unsupported database backend {other:?}"))),
    };
    let select = Query::select().expr(Expr::cust(aggregate)).from_subquery(rows, Alias::new(alias)).to_owned();
    Ok(statement::subquery(select))
}
