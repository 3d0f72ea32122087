//! Matching imported records to the catalogue and writing them, one batch
//! per transaction: an interrupted import leaves whole batches, and running
//! it again finds every record of those batches unchanged.
//!
//! Identity (README, "Importing"):
//! - A work is the one already known under the same source id (an OpenAlex
//!   work id, an arXiv id), else the one with the same DOI, else the one with
//!   the same arXiv id. So a work seen by both sources is one work.
//! - An author on a work already known is the researcher on its byline with
//!   the author's OpenAlex id or ORCID iD, else the one there whose name has
//!   the same sort key (case, accents and spacing folded): a byline never
//!   lists one person twice.
//! - Elsewhere an author is the researcher with the same OpenAlex author id,
//!   else the one with the same ORCID iD.
//! - An author known only by name (arXiv gives nothing else) on a new work
//!   is the one researcher with that name who shares a work with someone
//!   named like one of this byline's other authors. A bare name alone never
//!   merges: with no such co-author, or with two candidates, a new
//!   researcher is made.
//!
//! Which source wins: OpenAlex's values replace a work's (its publication
//! year over arXiv's first-submission date, its type over "preprint", its
//! venue and citation count). arXiv only fills what a work lacks (an
//! abstract, a DOI, the arXiv id). A byline only grows: authors the work
//! lacks are added after the others, none is removed. Topics likewise.
use std::collections::BTreeSet;

use chrono::Utc;
use entity::{
    authorship, external_id, institution, researcher, researcher_name, researcher_source, topic, work, work_source,
    work_topic,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, InsertStatement, JoinType, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, FromQueryResult};

use super::records::{ImportedAuthor, ImportedInstitution, ImportedResearcher, ImportedWork, Record, Source};
use crate::domain::begin_write;
use crate::domain::catalogue::{self, NewWork};
use crate::domain::changes::{self, ChangeKind, NewChange};
use crate::domain::names::sort_key;
use crate::domain::researchers::ExternalIdScheme;
use crate::domain::statement;
use crate::error::{AppError, AppResult};
use crate::ingest::recount;

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub works_inserted: u64,
    pub works_updated: u64,
    pub works_unchanged: u64,
    pub researchers_inserted: u64,
    pub researchers_updated: u64,
    pub researchers_unchanged: u64,
}

impl BatchOutcome {
    pub fn add(&mut self, other: &Self) {
        self.works_inserted += other.works_inserted;
        self.works_updated += other.works_updated;
        self.works_unchanged += other.works_unchanged;
        self.researchers_inserted += other.researchers_inserted;
        self.researchers_updated += other.researchers_updated;
        self.researchers_unchanged += other.researchers_unchanged;
    }
}

/// Writes `records` in one transaction, with every counter, summary and
/// change-log row they move.
pub async fn apply_batch(db: &DatabaseConnection, records: &[Record]) -> AppResult<BatchOutcome> {
    let txn = begin_write(db).await?;
    let mut batch = Batch {
        txn: &txn,
        outcome: BatchOutcome::default(),
        added_works: BTreeSet::new(),
        touched_researchers: BTreeSet::new(),
        touched_works: BTreeSet::new(),
        changes: Vec::new(),
    };
    for record in records {
        match record {
            Record::Work(work) => batch.work(work).await?,
            Record::Researcher(person) => batch.researcher(person).await?,
        }
    }
    let added: Vec<i64> = batch.added_works.iter().copied().collect();
    let researchers: Vec<i64> = batch.touched_researchers.iter().copied().collect();
    let works: Vec<i64> = batch.touched_works.iter().copied().collect();
    if !added.is_empty() || !researchers.is_empty() || !works.is_empty() {
        recount::run_scoped(&txn, &added, &researchers, &works).await?;
    }
    // Researchers whose counters moved, unless the log says so already.
    let mut reported: BTreeSet<i64> = batch.changes.iter().filter_map(|change| change.researcher_id).collect();
    for id in researchers {
        if reported.insert(id) {
            batch.changes.push(NewChange::of_researcher(ChangeKind::ResearcherUpdated, id));
        }
    }
    for chunk in batch.changes.chunks(CHANGES_PER_INSERT) {
        changes::record(&txn, chunk).await?;
    }
    let outcome = batch.outcome;
    txn.commit().await?;
    Ok(outcome)
}

/// Change-log rows per insert: 5 parameters each, under SQLite's limit.
const CHANGES_PER_INSERT: usize = 1_000;

struct Batch<'a> {
    txn: &'a DatabaseTransaction,
    outcome: BatchOutcome,
    /// Works new to the catalogue: their summaries are added to ([`recount::ADDED`]).
    added_works: BTreeSet<i64>,
    /// Known works that changed, and every author of theirs (and researchers
    /// renamed): their summaries are rebuilt ([`recount::SCOPED`]).
    touched_researchers: BTreeSet<i64>,
    touched_works: BTreeSet<i64>,
    changes: Vec<NewChange>,
}

#[derive(Debug, FromQueryResult)]
struct Id {
    id: i64,
}

/// What importing a record changed in a known work.
#[derive(Debug, Default, Clone, Copy)]
struct WorkChange {
    /// Anything stored about it: a field or a source id.
    fields: bool,
    /// Something its authors' summaries count: kind, year, venue, an
    /// identifier, the byline or the topics.
    summaries: bool,
}

#[derive(Debug, FromQueryResult)]
struct StoredWork {
    title: String,
    summary: Option<String>,
    kind: String,
    year: Option<i32>,
    venue: Option<String>,
    doi: Option<String>,
    arxiv_id: Option<String>,
    cited_by_count: i32,
}

#[derive(Debug, FromQueryResult)]
struct BylineEntry {
    researcher_id: i64,
    display_name: String,
    position: i32,
}

#[derive(Debug, FromQueryResult)]
struct StoredResearcher {
    display_name: String,
    orcid: Option<String>,
    affiliation_id: Option<i64>,
}

impl<'a> Batch<'a> {
    async fn first_id(&self, select: &sea_orm::sea_query::SelectStatement) -> AppResult<Option<i64>> {
        Ok(statement::models::<Id>(self.txn, select).await?.into_iter().next().map(|row| row.id))
    }

    /// The work `imported` is, if the catalogue knows it.
    async fn find_work(&self, imported: &ImportedWork) -> AppResult<Option<i64>> {
        let by_source = |source: Source, id: &str| {
            Query::select()
                .expr_as(Expr::col(work_source::Column::WorkId), "id")
                .from(work_source::Entity)
                .and_where(Expr::col(work_source::Column::Source).eq(source.as_stored()))
                .and_where(Expr::col(work_source::Column::SourceId).eq(id))
                .to_owned()
        };
        let mut candidates = vec![by_source(imported.source, &imported.source_id)];
        if let Some(openalex) = &imported.openalex_id {
            candidates.push(by_source(Source::OpenAlex, openalex));
        }
        if let Some(doi) = &imported.doi {
            candidates.push(
                Query::select()
                    .column(work::Column::Id)
                    .from(work::Entity)
                    .and_where(Func::lower(Expr::col(work::Column::Doi)).eq(doi.to_lowercase()))
                    .to_owned(),
            );
        }
        if let Some(arxiv) = &imported.arxiv_id {
            candidates.push(by_source(Source::Arxiv, arxiv));
            candidates.push(
                Query::select()
                    .column(work::Column::Id)
                    .from(work::Entity)
                    .and_where(Expr::col(work::Column::ArxivId).eq(arxiv))
                    .to_owned(),
            );
        }
        for select in &candidates {
            if let Some(id) = self.first_id(select).await? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    async fn work(&mut self, imported: &ImportedWork) -> AppResult<()> {
        let txn = self.txn;
        let known = self.find_work(imported).await?;
        let (work_id, mut byline, mut change) = match known {
            Some(id) => {
                let change = self.update_work(id, imported).await?;
                let select = Query::select()
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
                    .and_where(Expr::col(("a", authorship::Column::WorkId)).eq(id))
                    .to_owned();
                (id, statement::models::<BylineEntry>(txn, &select).await?, change)
            }
            None => (self.insert_work(imported).await?, Vec::new(), WorkChange::default()),
        };
        let is_new = known.is_none();
        // A new source id is provenance only: it changes no summary.
        change.fields |= self.record_source_of_work(work_id, imported.source, &imported.source_id).await?;
        if let Some(openalex) = &imported.openalex_id {
            change.fields |= self.record_source_of_work(work_id, Source::OpenAlex, openalex).await?;
        }

        // The byline: match each author, add the ones the work lacks.
        let mut next_position = byline.iter().map(|entry| entry.position).max().unwrap_or(0) + 1;
        let mut matched: BTreeSet<i64> = BTreeSet::new();
        let mut added: Vec<i64> = Vec::new();
        for (index, author) in imported.authors.iter().enumerate() {
            let provenance = match &author.openalex_id {
                Some(id) => (Source::OpenAlex, id.clone()),
                None => (imported.source, format!("{}#{}", imported.source_id, index + 1)),
            };
            let others: Vec<String> = imported
                .authors
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .map(|(_, other)| sort_key(&other.name))
                .filter(|other| !other.is_empty())
                .collect();
            let researcher_id = match self.find_author(author, &others, &byline, &matched).await? {
                Some(id) => {
                    if self.attach_author_ids(id, author).await? {
                        self.changes.push(NewChange::of_researcher(ChangeKind::ResearcherUpdated, id));
                    }
                    id
                }
                None => self.insert_researcher(&author.name, author.orcid.as_deref(), &author.institutions).await?,
            };
            self.record_source_of_researcher(researcher_id, provenance.0, &provenance.1).await?;
            if let Some(openalex) = &author.openalex_id {
                self.add_external_id(researcher_id, ExternalIdScheme::Openalex, openalex).await?;
            }
            if !matched.insert(researcher_id) || byline.iter().any(|entry| entry.researcher_id == researcher_id) {
                continue;
            }
            let insert = Query::insert()
                .into_table(authorship::Entity)
                .columns([authorship::Column::WorkId, authorship::Column::ResearcherId, authorship::Column::Position])
                .values_panic([work_id.into(), researcher_id.into(), next_position.into()])
                .to_owned();
            statement::execute(txn, &insert).await?;
            byline.push(BylineEntry { researcher_id, display_name: author.name.clone(), position: next_position });
            next_position += 1;
            added.push(researcher_id);
        }
        for imported_topic in &imported.topics {
            let topic_id = self.topic(&imported_topic.name).await?;
            let link = Query::insert()
                .into_table(work_topic::Entity)
                .columns([work_topic::Column::WorkId, work_topic::Column::TopicId])
                .values_panic([work_id.into(), topic_id.into()])
                .on_conflict(
                    OnConflict::columns([work_topic::Column::WorkId, work_topic::Column::TopicId])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned();
            change.summaries |= statement::execute(txn, &link).await? > 0;
        }
        change.summaries |= !added.is_empty();

        if is_new {
            self.outcome.works_inserted += 1;
            self.changes.push(NewChange { kind: ChangeKind::WorkAdded, subject_id: work_id, researcher_id: None });
        } else if change.fields || change.summaries {
            self.outcome.works_updated += 1;
            self.changes.push(NewChange { kind: ChangeKind::WorkUpdated, subject_id: work_id, researcher_id: None });
        } else {
            self.outcome.works_unchanged += 1;
        }
        for &researcher_id in &added {
            self.changes.push(NewChange {
                kind: ChangeKind::AuthorshipAdded,
                subject_id: work_id,
                researcher_id: Some(researcher_id),
            });
        }
        if is_new {
            self.added_works.insert(work_id);
        } else if change.summaries {
            self.touched_works.insert(work_id);
            self.touched_researchers.extend(byline.iter().map(|entry| entry.researcher_id));
        }
        Ok(())
    }

    /// An author's researcher (see the module's rules): the one with the
    /// author's OpenAlex id or ORCID iD when already on the byline, else the
    /// byline's namesake, else the one with that id or iD anywhere, else —
    /// for an author known only by name — the one namesake who wrote with
    /// one of this byline's other names.
    async fn find_author(
        &self,
        author: &ImportedAuthor,
        others: &[String],
        byline: &[BylineEntry],
        matched: &BTreeSet<i64>,
    ) -> AppResult<Option<i64>> {
        let mut by_id = None;
        if let Some(openalex) = &author.openalex_id {
            by_id = self.researcher_by_external_id(ExternalIdScheme::Openalex, openalex).await?;
        }
        if let (None, Some(orcid)) = (by_id, &author.orcid) {
            by_id = self.researcher_with_orcid(orcid).await?;
        }
        if let Some(id) = by_id.filter(|id| byline.iter().any(|entry| entry.researcher_id == *id)) {
            return Ok(Some(id));
        }
        // On a known work, the namesake on its byline is this author, even
        // when the id names another record: a byline never lists one person twice.
        let key = sort_key(&author.name);
        let namesake = byline
            .iter()
            .find(|entry| !matched.contains(&entry.researcher_id) && sort_key(&entry.display_name) == key)
            .map(|entry| entry.researcher_id);
        if namesake.is_some() || by_id.is_some() {
            return Ok(namesake.or(by_id));
        }
        if author.openalex_id.is_some() || author.orcid.is_some() || others.is_empty() || key.is_empty() {
            return Ok(None);
        }
        self.namesake_with_a_shared_coauthor(&key, others).await
    }

    /// The researcher whose name folds to `key` and who shares a work with
    /// someone whose name folds to one of `others`, when exactly one does.
    async fn namesake_with_a_shared_coauthor(&self, key: &str, others: &[String]) -> AppResult<Option<i64>> {
        let select = Query::select()
            .distinct()
            .expr_as(Expr::col(("r", researcher::Column::Id)), "id")
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
            .and_where(Expr::col(("r", researcher::Column::SortName)).eq(key))
            .and_where(Expr::col(("o", researcher::Column::SortName)).is_in(others.iter().map(String::as_str)))
            .limit(2)
            .to_owned();
        let found = statement::models::<Id>(self.txn, &select).await?;
        Ok(match found.as_slice() {
            [only] => Some(only.id),
            _ => None,
        })
    }

    async fn researcher_with_orcid(&self, orcid: &str) -> AppResult<Option<i64>> {
        let select = Query::select()
            .column(researcher::Column::Id)
            .from(researcher::Entity)
            .and_where(Expr::col(researcher::Column::Orcid).eq(orcid))
            .to_owned();
        self.first_id(&select).await
    }

    /// Runs an insert that returns the new row's `id`.
    async fn inserted_id(&self, insert: &InsertStatement) -> AppResult<i64> {
        let row = self.txn.query_one(insert).await?.ok_or_else(|| AppError::internal("insert returned no id"))?;
        Ok(row.try_get::<i64>("", "id")?)
    }

    async fn researcher_by_external_id(&self, scheme: ExternalIdScheme, value: &str) -> AppResult<Option<i64>> {
        let select = Query::select()
            .expr_as(Expr::col(external_id::Column::ResearcherId), "id")
            .from(external_id::Entity)
            .and_where(Expr::col(external_id::Column::Scheme).eq(scheme.as_stored()))
            .and_where(Expr::col(external_id::Column::Value).eq(value))
            .to_owned();
        self.first_id(&select).await
    }

    /// Gives a researcher matched by name the ORCID iD the source knows them by,
    /// when no other record holds it; returns whether the record changed.
    async fn attach_author_ids(&self, researcher_id: i64, author: &ImportedAuthor) -> AppResult<bool> {
        let Some(orcid) = &author.orcid else { return Ok(false) };
        if self.researcher_with_orcid(orcid).await?.is_some() {
            return Ok(false);
        }
        let update = Query::update()
            .table(researcher::Entity)
            .value(researcher::Column::Orcid, orcid.as_str())
            .and_where(Expr::col(researcher::Column::Id).eq(researcher_id))
            .and_where(Expr::col(researcher::Column::Orcid).is_null())
            .to_owned();
        Ok(statement::execute(self.txn, &update).await? > 0)
    }

    async fn insert_work(&self, imported: &ImportedWork) -> AppResult<i64> {
        // A DOI or arXiv id another work holds stays with it.
        let doi = match &imported.doi {
            Some(doi) if !self.doi_taken(doi, None).await? => Some(doi.clone()),
            _ => None,
        };
        let arxiv_id = match &imported.arxiv_id {
            Some(arxiv) if !self.arxiv_taken(arxiv, None).await? => Some(arxiv.clone()),
            _ => None,
        };
        // The byline and topics are written after, with the summaries.
        let row = NewWork {
            title: imported.title.clone(),
            summary: imported.summary.clone(),
            kind: imported.kind,
            year: imported.year,
            venue: imported.venue.clone(),
            doi,
            arxiv_id,
            cited_by_count: imported.cited_by_count.unwrap_or(0),
            authors: Vec::new(),
            topics: Vec::new(),
        };
        catalogue::insert_work_row(self.txn, &row).await
    }

    async fn doi_taken(&self, doi: &str, by_other_than: Option<i64>) -> AppResult<bool> {
        let mut select = Query::select()
            .column(work::Column::Id)
            .from(work::Entity)
            .and_where(Func::lower(Expr::col(work::Column::Doi)).eq(doi.to_lowercase()))
            .to_owned();
        if let Some(id) = by_other_than {
            select.and_where(Expr::col(work::Column::Id).ne(id));
        }
        Ok(self.first_id(&select).await?.is_some())
    }

    async fn arxiv_taken(&self, arxiv: &str, by_other_than: Option<i64>) -> AppResult<bool> {
        let mut select = Query::select()
            .column(work::Column::Id)
            .from(work::Entity)
            .and_where(Expr::col(work::Column::ArxivId).eq(arxiv))
            .to_owned();
        if let Some(id) = by_other_than {
            select.and_where(Expr::col(work::Column::Id).ne(id));
        }
        Ok(self.first_id(&select).await?.is_some())
    }

    /// Merges a known work's fields by the sources' precedence; says what changed.
    async fn update_work(&self, id: i64, imported: &ImportedWork) -> AppResult<WorkChange> {
        let txn = self.txn;
        let select = Query::select()
            .columns([
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
            .and_where(Expr::col(work::Column::Id).eq(id))
            .to_owned();
        let Some(stored) = statement::models::<StoredWork>(txn, &select).await?.into_iter().next() else {
            return Err(AppError::internal("a matched work disappeared"));
        };
        let authoritative = imported.source == Source::OpenAlex;
        let mut update = Query::update().table(work::Entity).and_where(Expr::col(work::Column::Id).eq(id)).to_owned();
        let mut change = WorkChange::default();
        // `counted`: the field feeds the authors' summaries (facets, linked works).
        let mut set = |column: work::Column, value: sea_orm::Value, counted: bool| {
            update.value(column, value);
            change.fields = true;
            change.summaries |= counted;
        };
        if authoritative && imported.title != stored.title {
            set(work::Column::Title, imported.title.clone().into(), false);
        }
        if let Some(summary) = &imported.summary {
            if (authoritative || stored.summary.is_none()) && stored.summary.as_ref() != Some(summary) {
                set(work::Column::Abstract, summary.clone().into(), false);
            }
        }
        if authoritative && imported.kind.as_stored() != stored.kind {
            set(work::Column::Kind, imported.kind.as_stored().into(), true);
        }
        if let Some(year) = imported.year {
            if (authoritative || stored.year.is_none()) && stored.year != Some(year) {
                set(work::Column::Year, year.into(), true);
            }
        }
        if let Some(venue) = &imported.venue {
            if (authoritative || stored.venue.is_none()) && stored.venue.as_ref() != Some(venue) {
                set(work::Column::Venue, venue.clone().into(), true);
            }
        }
        if let Some(cited) = imported.cited_by_count {
            if authoritative && stored.cited_by_count != cited {
                set(work::Column::CitedByCount, cited.into(), false);
            }
        }
        // Identifiers fill gaps only, and never take one another work holds.
        let fill_doi = match (&stored.doi, &imported.doi) {
            (None, Some(doi)) => !self.doi_taken(doi, Some(id)).await?,
            _ => false,
        };
        let fill_arxiv = match (&stored.arxiv_id, &imported.arxiv_id) {
            (None, Some(arxiv)) => !self.arxiv_taken(arxiv, Some(id)).await?,
            _ => false,
        };
        if fill_doi {
            set(work::Column::Doi, imported.doi.clone().into(), true);
        }
        if fill_arxiv {
            set(work::Column::ArxivId, imported.arxiv_id.clone().into(), true);
        }
        if change.fields {
            statement::execute(txn, &update).await?;
        }
        Ok(change)
    }

    /// Records that `source` knows the work as `source_id`; returns whether
    /// that is new.
    async fn record_source_of_work(&self, work_id: i64, source: Source, source_id: &str) -> AppResult<bool> {
        let insert = Query::insert()
            .into_table(work_source::Entity)
            .columns([work_source::Column::Source, work_source::Column::SourceId, work_source::Column::WorkId])
            .values_panic([source.as_stored().into(), source_id.into(), work_id.into()])
            .on_conflict(
                OnConflict::columns([work_source::Column::Source, work_source::Column::SourceId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        Ok(statement::execute(self.txn, &insert).await? > 0)
    }

    async fn record_source_of_researcher(
        &self,
        researcher_id: i64,
        source: Source,
        source_id: &str,
    ) -> AppResult<bool> {
        let insert = Query::insert()
            .into_table(researcher_source::Entity)
            .columns([
                researcher_source::Column::Source,
                researcher_source::Column::SourceId,
                researcher_source::Column::ResearcherId,
            ])
            .values_panic([source.as_stored().into(), source_id.into(), researcher_id.into()])
            .on_conflict(
                OnConflict::columns([researcher_source::Column::Source, researcher_source::Column::SourceId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        Ok(statement::execute(self.txn, &insert).await? > 0)
    }

    /// Adds an external id unless the researcher, or another, holds it.
    async fn add_external_id(&self, researcher_id: i64, scheme: ExternalIdScheme, value: &str) -> AppResult<bool> {
        let insert = Query::insert()
            .into_table(external_id::Entity)
            .columns([external_id::Column::ResearcherId, external_id::Column::Scheme, external_id::Column::Value])
            .values_panic([researcher_id.into(), scheme.as_stored().into(), value.into()])
            .on_conflict(
                OnConflict::columns([external_id::Column::Scheme, external_id::Column::Value]).do_nothing().to_owned(),
            )
            .to_owned();
        Ok(statement::execute(self.txn, &insert).await? > 0)
    }

    /// A new researcher record, with a slug of their own.
    async fn insert_researcher(
        &mut self,
        name: &str,
        orcid: Option<&str>,
        institutions: &[ImportedInstitution],
    ) -> AppResult<i64> {
        let slug = self.free_slug(name).await?;
        let orcid = match orcid {
            Some(orcid) => self.researcher_with_orcid(orcid).await?.is_none().then(|| orcid.to_owned()),
            None => None,
        };
        let affiliation = match institutions.first() {
            Some(first) => Some(self.institution(first).await?),
            None => None,
        };
        let insert = Query::insert()
            .into_table(researcher::Entity)
            .columns([
                researcher::Column::Slug,
                researcher::Column::DisplayName,
                researcher::Column::SortName,
                researcher::Column::Orcid,
                researcher::Column::AffiliationId,
                researcher::Column::CreatedAt,
            ])
            .values_panic([
                slug.into(),
                name.into(),
                sort_key(name).into(),
                orcid.into(),
                affiliation.into(),
                Utc::now().into(),
            ])
            .returning_col(researcher::Column::Id)
            .to_owned();
        let id = self.inserted_id(&insert).await?;
        self.outcome.researchers_inserted += 1;
        self.changes.push(NewChange::of_researcher(ChangeKind::ResearcherAdded, id));
        Ok(id)
    }

    /// The name's slug, with `-2`, `-3`, … when it is taken; an existing
    /// record's slug never changes.
    async fn free_slug(&self, name: &str) -> AppResult<String> {
        let base = slug_of(name);
        let select = Query::select()
            .column(researcher::Column::Slug)
            .from(researcher::Entity)
            .and_where(
                Expr::col(researcher::Column::Slug)
                    .eq(base.as_str())
                    .or(Expr::col(researcher::Column::Slug).like(format!("{base}-%"))),
            )
            .to_owned();
        let taken: BTreeSet<String> = statement::rows(self.txn, &select)
            .await?
            .into_iter()
            .map(|row| row.try_get::<String>("", "slug"))
            .collect::<Result<_, _>>()?;
        if !taken.contains(&base) {
            return Ok(base);
        }
        let suffix = (2..).find(|n| !taken.contains(&format!("{base}-{n}"))).unwrap_or(2);
        Ok(format!("{base}-{suffix}"))
    }

    async fn topic(&self, name: &str) -> AppResult<i64> {
        let select = Query::select()
            .column(topic::Column::Id)
            .from(topic::Entity)
            .and_where(Expr::col(topic::Column::Name).eq(name))
            .to_owned();
        if let Some(id) = self.first_id(&select).await? {
            return Ok(id);
        }
        let insert = Query::insert()
            .into_table(topic::Entity)
            .columns([topic::Column::Name])
            .values_panic([name.into()])
            .returning_col(topic::Column::Id)
            .to_owned();
        self.inserted_id(&insert).await
    }

    /// An institution by ROR id, else by name; made when unknown.
    async fn institution(&self, imported: &ImportedInstitution) -> AppResult<i64> {
        if let Some(ror) = &imported.ror {
            let select = Query::select()
                .column(institution::Column::Id)
                .from(institution::Entity)
                .and_where(Expr::col(institution::Column::Ror).eq(ror.as_str()))
                .to_owned();
            if let Some(id) = self.first_id(&select).await? {
                return Ok(id);
            }
        }
        let select = Query::select()
            .column(institution::Column::Id)
            .from(institution::Entity)
            .and_where(Expr::col(institution::Column::Name).eq(imported.name.as_str()))
            .to_owned();
        if let Some(id) = self.first_id(&select).await? {
            return Ok(id);
        }
        let insert = Query::insert()
            .into_table(institution::Entity)
            .columns([institution::Column::Name, institution::Column::Country, institution::Column::Ror])
            .values_panic([imported.name.clone().into(), imported.country.clone().into(), imported.ror.clone().into()])
            .returning_col(institution::Column::Id)
            .to_owned();
        self.inserted_id(&insert).await
    }

    /// An OpenAlex author object: the researcher with that OpenAlex id or
    /// ORCID iD, made when unknown, with OpenAlex's name, identifiers, other
    /// names and latest institution.
    async fn researcher(&mut self, imported: &ImportedResearcher) -> AppResult<()> {
        let txn = self.txn;
        let known = match self.researcher_by_external_id(ExternalIdScheme::Openalex, &imported.openalex_id).await? {
            Some(id) => Some(id),
            None => match &imported.orcid {
                Some(orcid) => self.researcher_with_orcid(orcid).await?,
                None => None,
            },
        };
        let (id, mut changed) = match known {
            Some(id) => (id, false),
            None => {
                let id = self
                    .insert_researcher(
                        &imported.display_name,
                        imported.orcid.as_deref(),
                        &imported.last_known_institutions,
                    )
                    .await?;
                (id, true)
            }
        };
        if known.is_some() {
            let select = Query::select()
                .columns([
                    researcher::Column::DisplayName,
                    researcher::Column::Orcid,
                    researcher::Column::AffiliationId,
                ])
                .from(researcher::Entity)
                .and_where(Expr::col(researcher::Column::Id).eq(id))
                .to_owned();
            let Some(stored) = statement::models::<StoredResearcher>(txn, &select).await?.into_iter().next() else {
                return Err(AppError::internal("a matched researcher disappeared"));
            };
            let mut update = Query::update()
                .table(researcher::Entity)
                .and_where(Expr::col(researcher::Column::Id).eq(id))
                .to_owned();
            let mut dirty = false;
            if stored.display_name != imported.display_name && !imported.display_name.trim().is_empty() {
                update.value(researcher::Column::DisplayName, imported.display_name.as_str());
                update.value(researcher::Column::SortName, sort_key(&imported.display_name));
                dirty = true;
                // The collaborator lists order by the co-author's sort key.
                self.touched_researchers.insert(id);
            }
            if let (None, Some(orcid)) = (&stored.orcid, &imported.orcid) {
                if self.researcher_with_orcid(orcid).await?.is_none() {
                    update.value(researcher::Column::Orcid, orcid.as_str());
                    dirty = true;
                }
            }
            if let Some(latest) = imported.last_known_institutions.first() {
                let institution_id = self.institution(latest).await?;
                if stored.affiliation_id != Some(institution_id) {
                    update.value(researcher::Column::AffiliationId, institution_id);
                    dirty = true;
                }
            }
            if dirty {
                statement::execute(txn, &update).await?;
                changed = true;
            }
        }
        changed |= self.add_external_id(id, ExternalIdScheme::Openalex, &imported.openalex_id).await?;
        if let Some(orcid) = &imported.orcid {
            changed |= self.add_external_id(id, ExternalIdScheme::Orcid, orcid).await?;
        }
        for (scheme, value) in &imported.other_ids {
            changed |= self.add_external_id(id, *scheme, value).await?;
        }
        for name in imported.alternative_names.iter().filter(|name| **name != imported.display_name) {
            let insert = Query::insert()
                .into_table(researcher_name::Entity)
                .columns([researcher_name::Column::ResearcherId, researcher_name::Column::Name])
                .values_panic([id.into(), name.as_str().into()])
                .on_conflict(
                    OnConflict::columns([researcher_name::Column::ResearcherId, researcher_name::Column::Name])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned();
            changed |= statement::execute(txn, &insert).await? > 0;
        }
        changed |= self.record_source_of_researcher(id, imported.source, &imported.openalex_id).await?;
        if known.is_none() {
            // Counted as inserted by `insert_researcher`.
        } else if changed {
            self.outcome.researchers_updated += 1;
            self.changes.push(NewChange::of_researcher(ChangeKind::ResearcherUpdated, id));
        } else {
            self.outcome.researchers_unchanged += 1;
        }
        Ok(())
    }
}

/// `Marc Mézard` → `marc-mezard`: the sort key's letters and digits, words
/// joined by hyphens.
pub fn slug_of(name: &str) -> String {
    let key = sort_key(name);
    let words: Vec<String> =
        key.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_owned).collect();
    if words.is_empty() {
        "researcher".to_owned()
    } else {
        words.join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::slug_of;

    #[test]
    fn slugs_are_the_folded_name_in_ascii_words() {
        assert_eq!(slug_of("Marc Mézard"), "marc-mezard");
        assert_eq!(slug_of("  Lenka   Zdeborová "), "lenka-zdeborova");
        assert_eq!(slug_of("J. R. R. Tolkien"), "j-r-r-tolkien");
        assert_eq!(slug_of("李"), "researcher");
    }
}
