//! What a batch needs to know of the catalogue, read before any record is
//! matched: one query per kind of key for the whole batch (works by source
//! id, DOI and arXiv id; researchers by external id and ORCID iD; topics and
//! institutions by name), then one per kind of row for what those found.
//! Matching then runs in memory, and the batch's writes go out as
//! multi-row statements (`apply`).
use std::collections::{HashMap, HashSet};

use entity::{
    authorship, external_id, institution, researcher, researcher_name, researcher_source, topic, work, work_source,
    work_topic,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, JoinType, Query, SelectStatement};
use sea_orm::{DatabaseTransaction, FromQueryResult, Value};

use super::records::{ImportedInstitution, Record, Source};
use crate::domain::names::sort_key;
use crate::domain::researchers::ExternalIdScheme;
use crate::domain::statement;
use crate::error::AppResult;

/// Values per `IN (…)` list: well under both databases' limits on bound
/// parameters, and short enough for PostgreSQL to plan as index lookups.
const KEYS_PER_QUERY: usize = 1_000;

#[derive(Debug, Clone, FromQueryResult)]
pub(super) struct StoredWork {
    pub id: i64,
    pub title: String,
    pub summary: Option<String>,
    pub kind: String,
    pub year: Option<i32>,
    pub venue: Option<String>,
    pub doi: Option<String>,
    pub arxiv_id: Option<String>,
    pub cited_by_count: i32,
}

#[derive(Debug, Clone, FromQueryResult)]
pub(super) struct BylineEntry {
    pub work_id: i64,
    pub researcher_id: i64,
    pub display_name: String,
    pub position: i32,
}

/// What an author object can change of the researchers `ids`.
pub(super) fn stored_researchers(ids: Vec<i64>) -> SelectStatement {
    Query::select()
        .columns([
            researcher::Column::Id,
            researcher::Column::DisplayName,
            researcher::Column::Orcid,
            researcher::Column::AffiliationId,
        ])
        .from(researcher::Entity)
        .and_where(Expr::col(researcher::Column::Id).is_in(ids))
        .to_owned()
}

#[derive(Debug, Clone, FromQueryResult)]
pub(super) struct StoredResearcher {
    pub id: i64,
    pub display_name: String,
    pub orcid: Option<String>,
    pub affiliation_id: Option<i64>,
}

/// The catalogue's side of one batch.
#[derive(Debug, Default)]
pub(super) struct Known {
    pub works_by_source: HashMap<(Source, String), i64>,
    /// Lower case.
    pub works_by_doi: HashMap<String, i64>,
    pub works_by_arxiv: HashMap<String, i64>,
    pub stored_works: HashMap<i64, StoredWork>,
    pub bylines: HashMap<i64, Vec<BylineEntry>>,
    pub work_topics: HashSet<(i64, i64)>,
    /// `(scheme as stored, value)` → researcher.
    pub external_ids: HashMap<(&'static str, String), i64>,
    pub orcids: HashMap<String, i64>,
    pub researcher_sources: HashSet<(Source, String)>,
    pub stored_researchers: HashMap<i64, StoredResearcher>,
    pub researcher_names: HashSet<(i64, String)>,
    pub topics: HashMap<String, i64>,
    pub institutions_by_ror: HashMap<String, i64>,
    pub institutions_by_name: HashMap<String, i64>,
    /// For authors known only by name: sort key → each researcher with
    /// that key → the sort keys of everyone they share a work with.
    pub namesakes: HashMap<String, HashMap<i64, HashSet<String>>>,
}

/// The provenance key of a byline's author: their OpenAlex id, else the
/// work's source id and the author's place on it.
pub(super) fn author_provenance(
    work_source: Source,
    work_source_id: &str,
    index: usize,
    openalex_id: Option<&str>,
) -> (Source, String) {
    match openalex_id {
        Some(id) => (Source::OpenAlex, id.to_owned()),
        None => (work_source, format!("{work_source_id}#{}", index + 1)),
    }
}

#[derive(Default)]
struct Keys {
    work_sources: HashMap<Source, HashSet<String>>,
    dois: HashSet<String>,
    arxiv_ids: HashSet<String>,
    external_ids: HashMap<&'static str, HashSet<String>>,
    orcids: HashSet<String>,
    researcher_sources: HashMap<Source, HashSet<String>>,
    topics: HashSet<String>,
    rors: HashSet<String>,
    institution_names: HashSet<String>,
    name_only: HashSet<String>,
}

impl Keys {
    fn of(records: &[Record]) -> Self {
        let mut keys = Self::default();
        let institution = |keys: &mut Self, found: Option<&ImportedInstitution>| {
            if let Some(found) = found {
                if let Some(ror) = &found.ror {
                    keys.rors.insert(ror.clone());
                }
                keys.institution_names.insert(found.name.clone());
            }
        };
        for record in records {
            match record {
                Record::Work(work) => {
                    keys.work_sources.entry(work.source).or_default().insert(work.source_id.clone());
                    if let Some(openalex) = &work.openalex_id {
                        keys.work_sources.entry(Source::OpenAlex).or_default().insert(openalex.clone());
                    }
                    if let Some(arxiv) = &work.arxiv_id {
                        keys.work_sources.entry(Source::Arxiv).or_default().insert(arxiv.clone());
                        keys.arxiv_ids.insert(arxiv.clone());
                    }
                    if let Some(doi) = &work.doi {
                        keys.dois.insert(doi.to_lowercase());
                    }
                    for (index, author) in work.authors.iter().enumerate() {
                        let (source, id) =
                            author_provenance(work.source, &work.source_id, index, author.openalex_id.as_deref());
                        keys.researcher_sources.entry(source).or_default().insert(id);
                        if let Some(openalex) = &author.openalex_id {
                            keys.external_ids
                                .entry(ExternalIdScheme::Openalex.as_stored())
                                .or_default()
                                .insert(openalex.clone());
                        }
                        if let Some(orcid) = &author.orcid {
                            keys.orcids.insert(orcid.clone());
                        }
                        if author.openalex_id.is_none() && author.orcid.is_none() && work.authors.len() > 1 {
                            let key = sort_key(&author.name);
                            if !key.is_empty() {
                                keys.name_only.insert(key);
                            }
                        }
                        institution(&mut keys, author.institutions.first());
                    }
                    keys.topics.extend(work.topics.iter().map(|topic| topic.name.clone()));
                }
                Record::Researcher(person) => {
                    keys.researcher_sources.entry(person.source).or_default().insert(person.openalex_id.clone());
                    keys.external_ids
                        .entry(ExternalIdScheme::Openalex.as_stored())
                        .or_default()
                        .insert(person.openalex_id.clone());
                    if let Some(orcid) = &person.orcid {
                        keys.orcids.insert(orcid.clone());
                        keys.external_ids.entry(ExternalIdScheme::Orcid.as_stored()).or_default().insert(orcid.clone());
                    }
                    for (scheme, value) in &person.other_ids {
                        keys.external_ids.entry(scheme.as_stored()).or_default().insert(value.clone());
                    }
                    institution(&mut keys, person.last_known_institutions.first());
                }
            }
        }
        keys
    }
}

#[derive(Debug, FromQueryResult)]
struct KeyedId {
    key: String,
    id: i64,
}

#[derive(Debug, FromQueryResult)]
struct ExternalIdRow {
    scheme: String,
    value: String,
    researcher_id: i64,
}

#[derive(Debug, FromQueryResult)]
struct Pair {
    id: i64,
    key: String,
}

#[derive(Debug, FromQueryResult)]
struct NamesakeRow {
    id: i64,
    name_key: String,
    coauthor_key: String,
}

#[derive(Debug, FromQueryResult)]
struct WorkTopicRow {
    work_id: i64,
    topic_id: i64,
}

/// Runs `build` for `values` a chunk at a time and gathers the rows.
async fn in_chunks<T: FromQueryResult, V: Clone + Into<Value>>(
    txn: &DatabaseTransaction,
    values: impl IntoIterator<Item = V>,
    build: impl Fn(Vec<V>) -> SelectStatement,
) -> AppResult<Vec<T>> {
    let values: Vec<V> = values.into_iter().collect();
    let mut found = Vec::new();
    for chunk in values.chunks(KEYS_PER_QUERY) {
        found.extend(statement::models::<T>(txn, &build(chunk.to_vec())).await?);
    }
    Ok(found)
}

impl Known {
    /// Everything `records` can match, read in a few statements.
    pub async fn look_up(txn: &DatabaseTransaction, records: &[Record]) -> AppResult<Self> {
        let keys = Keys::of(records);
        let mut known = Self::default();

        for (source, ids) in &keys.work_sources {
            let rows: Vec<KeyedId> = in_chunks(txn, ids.iter().cloned(), |chunk| {
                Query::select()
                    .expr_as(Expr::col(work_source::Column::SourceId), "key")
                    .expr_as(Expr::col(work_source::Column::WorkId), "id")
                    .from(work_source::Entity)
                    .and_where(Expr::col(work_source::Column::Source).eq(source.as_stored()))
                    .and_where(Expr::col(work_source::Column::SourceId).is_in(chunk))
                    .to_owned()
            })
            .await?;
            known.works_by_source.extend(rows.into_iter().map(|row| ((*source, row.key), row.id)));
        }
        let rows: Vec<KeyedId> = in_chunks(txn, keys.dois.iter().cloned(), |chunk| {
            Query::select()
                .expr_as(Func::lower(Expr::col(work::Column::Doi)), "key")
                .column(work::Column::Id)
                .from(work::Entity)
                .and_where(Func::lower(Expr::col(work::Column::Doi)).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.works_by_doi.extend(rows.into_iter().map(|row| (row.key, row.id)));
        let rows: Vec<KeyedId> = in_chunks(txn, keys.arxiv_ids.iter().cloned(), |chunk| {
            Query::select()
                .expr_as(Expr::col(work::Column::ArxivId), "key")
                .column(work::Column::Id)
                .from(work::Entity)
                .and_where(Expr::col(work::Column::ArxivId).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.works_by_arxiv.extend(rows.into_iter().map(|row| (row.key, row.id)));

        for (scheme, values) in &keys.external_ids {
            let rows: Vec<ExternalIdRow> = in_chunks(txn, values.iter().cloned(), |chunk| {
                Query::select()
                    .columns([
                        external_id::Column::Scheme,
                        external_id::Column::Value,
                        external_id::Column::ResearcherId,
                    ])
                    .from(external_id::Entity)
                    .and_where(Expr::col(external_id::Column::Scheme).eq(*scheme))
                    .and_where(Expr::col(external_id::Column::Value).is_in(chunk))
                    .to_owned()
            })
            .await?;
            for row in rows {
                if let Ok(scheme) = ExternalIdScheme::from_stored(&row.scheme) {
                    known.external_ids.insert((scheme.as_stored(), row.value), row.researcher_id);
                }
            }
        }
        let rows: Vec<KeyedId> = in_chunks(txn, keys.orcids.iter().cloned(), |chunk| {
            Query::select()
                .expr_as(Expr::col(researcher::Column::Orcid), "key")
                .column(researcher::Column::Id)
                .from(researcher::Entity)
                .and_where(Expr::col(researcher::Column::Orcid).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.orcids.extend(rows.into_iter().map(|row| (row.key, row.id)));
        for (source, ids) in &keys.researcher_sources {
            let rows: Vec<KeyedId> = in_chunks(txn, ids.iter().cloned(), |chunk| {
                Query::select()
                    .expr_as(Expr::col(researcher_source::Column::SourceId), "key")
                    .expr_as(Expr::col(researcher_source::Column::ResearcherId), "id")
                    .from(researcher_source::Entity)
                    .and_where(Expr::col(researcher_source::Column::Source).eq(source.as_stored()))
                    .and_where(Expr::col(researcher_source::Column::SourceId).is_in(chunk))
                    .to_owned()
            })
            .await?;
            known.researcher_sources.extend(rows.into_iter().map(|row| (*source, row.key)));
        }
        let rows: Vec<KeyedId> = in_chunks(txn, keys.topics.iter().cloned(), |chunk| {
            Query::select()
                .expr_as(Expr::col(topic::Column::Name), "key")
                .column(topic::Column::Id)
                .from(topic::Entity)
                .and_where(Expr::col(topic::Column::Name).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.topics.extend(rows.into_iter().map(|row| (row.key, row.id)));
        let rows: Vec<KeyedId> = in_chunks(txn, keys.rors.iter().cloned(), |chunk| {
            Query::select()
                .expr_as(Expr::col(institution::Column::Ror), "key")
                .column(institution::Column::Id)
                .from(institution::Entity)
                .and_where(Expr::col(institution::Column::Ror).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.institutions_by_ror.extend(rows.into_iter().map(|row| (row.key, row.id)));
        let rows: Vec<KeyedId> = in_chunks(txn, keys.institution_names.iter().cloned(), |chunk| {
            Query::select()
                .expr_as(Expr::col(institution::Column::Name), "key")
                .column(institution::Column::Id)
                .from(institution::Entity)
                .and_where(Expr::col(institution::Column::Name).is_in(chunk))
                .order_by(institution::Column::Id, sea_orm::Order::Desc)
                .to_owned()
        })
        .await?;
        // The lowest id wins when two institutions share a name.
        known.institutions_by_name.extend(rows.into_iter().map(|row| (row.key, row.id)));
        known.look_up_namesakes(txn, &keys.name_only).await?;

        // What the matched works and researchers hold.
        let work_ids: HashSet<i64> = known
            .works_by_source
            .values()
            .chain(known.works_by_doi.values())
            .chain(known.works_by_arxiv.values())
            .copied()
            .collect();
        let stored: Vec<StoredWork> = in_chunks(txn, work_ids.iter().copied(), |chunk| {
            Query::select()
                .columns([
                    work::Column::Id,
                    work::Column::Title,
                    work::Column::Kind,
                    work::Column::Year,
                    work::Column::Venue,
                    work::Column::Doi,
                    work::Column::ArxivId,
                    work::Column::CitedByCount,
                ])
                .expr_as(Expr::col(work::Column::Abstract), "summary")
                .from(work::Entity)
                .and_where(Expr::col(work::Column::Id).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.stored_works.extend(stored.into_iter().map(|row| (row.id, row)));
        let byline: Vec<BylineEntry> = in_chunks(txn, work_ids.iter().copied(), |chunk| {
            Query::select()
                .expr_as(Expr::col(("a", authorship::Column::WorkId)), "work_id")
                .expr_as(Expr::col(("a", authorship::Column::ResearcherId)), "researcher_id")
                .expr_as(Expr::col(("r", researcher::Column::DisplayName)), "display_name")
                .expr_as(Expr::col(("a", authorship::Column::Position)), "position")
                .from_as(authorship::Entity, "a")
                .join_as(
                    JoinType::InnerJoin,
                    researcher::Entity,
                    "r",
                    Expr::col(("r", researcher::Column::Id)).equals(("a", authorship::Column::ResearcherId)),
                )
                .and_where(Expr::col(("a", authorship::Column::WorkId)).is_in(chunk))
                .to_owned()
        })
        .await?;
        for entry in byline {
            known.bylines.entry(entry.work_id).or_default().push(entry);
        }
        for entries in known.bylines.values_mut() {
            entries.sort_by_key(|entry| entry.position);
        }
        let links: Vec<WorkTopicRow> = in_chunks(txn, work_ids.iter().copied(), |chunk| {
            Query::select()
                .columns([work_topic::Column::WorkId, work_topic::Column::TopicId])
                .from(work_topic::Entity)
                .and_where(Expr::col(work_topic::Column::WorkId).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.work_topics.extend(links.into_iter().map(|link| (link.work_id, link.topic_id)));

        let researcher_ids: HashSet<i64> = records
            .iter()
            .filter_map(|record| match record {
                Record::Researcher(person) => known.researcher_of(&person.openalex_id, person.orcid.as_deref()),
                Record::Work(_) => None,
            })
            .collect();
        let stored: Vec<StoredResearcher> = in_chunks(txn, researcher_ids.iter().copied(), stored_researchers).await?;
        known.stored_researchers.extend(stored.into_iter().map(|row| (row.id, row)));
        let names: Vec<Pair> = in_chunks(txn, researcher_ids.iter().copied(), |chunk| {
            Query::select()
                .expr_as(Expr::col(researcher_name::Column::ResearcherId), "id")
                .expr_as(Expr::col(researcher_name::Column::Name), "key")
                .from(researcher_name::Entity)
                .and_where(Expr::col(researcher_name::Column::ResearcherId).is_in(chunk))
                .to_owned()
        })
        .await?;
        known.researcher_names.extend(names.into_iter().map(|row| (row.id, row.key)));
        Ok(known)
    }

    /// The researcher an author object names: by OpenAlex id, else ORCID iD.
    pub fn researcher_of(&self, openalex_id: &str, orcid: Option<&str>) -> Option<i64> {
        self.external_ids
            .get(&(ExternalIdScheme::Openalex.as_stored(), openalex_id.to_owned()))
            .copied()
            .or_else(|| orcid.and_then(|orcid| self.orcids.get(orcid).copied()))
    }

    /// The researchers named like the batch's name-only authors, and the
    /// names of everyone they wrote with.
    async fn look_up_namesakes(&mut self, txn: &DatabaseTransaction, keys: &HashSet<String>) -> AppResult<()> {
        let rows: Vec<NamesakeRow> = in_chunks(txn, keys.iter().cloned(), |chunk| {
            Query::select()
                .distinct()
                .expr_as(Expr::col(("r", researcher::Column::Id)), "id")
                .expr_as(Expr::col(("r", researcher::Column::SortName)), "name_key")
                .expr_as(Expr::col(("o", researcher::Column::SortName)), "coauthor_key")
                .from_as(researcher::Entity, "r")
                .join_as(
                    JoinType::InnerJoin,
                    authorship::Entity,
                    "a",
                    Expr::col(("a", authorship::Column::ResearcherId)).equals(("r", researcher::Column::Id)),
                )
                .join_as(
                    JoinType::InnerJoin,
                    authorship::Entity,
                    "b",
                    Expr::col(("b", authorship::Column::WorkId)).equals(("a", authorship::Column::WorkId)).and(
                        Expr::col(("b", authorship::Column::ResearcherId))
                            .not_equals(("a", authorship::Column::ResearcherId)),
                    ),
                )
                .join_as(
                    JoinType::InnerJoin,
                    researcher::Entity,
                    "o",
                    Expr::col(("o", researcher::Column::Id)).equals(("b", authorship::Column::ResearcherId)),
                )
                .and_where(Expr::col(("r", researcher::Column::SortName)).is_in(chunk))
                .to_owned()
        })
        .await?;
        for row in rows {
            self.namesakes.entry(row.name_key).or_default().entry(row.id).or_default().insert(row.coauthor_key);
        }
        Ok(())
    }
}
