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
//!
//! A batch is matched in memory against what [`Known::look_up`] read for
//! all of its records at once; its new rows go out as multi-row inserts
//! under ids reserved up front ([`IdPool`]), so a batch costs a few dozen
//! statements whatever its size.
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::Utc;
use entity::{
    authorship, external_id, institution, researcher, researcher_name, researcher_source, work, work_source, work_topic,
};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, IntoIden, OnConflict, Query, UpdateStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, FromQueryResult, Value};

use super::lookup::{author_provenance, stored_researchers, BylineEntry, Known, StoredResearcher, StoredWork};
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
    let known = Known::look_up(&txn, records).await?;
    let mut batch = Batch::new(&txn, known);
    batch.reserve_ids(records).await?;
    for record in records {
        match record {
            Record::Work(work) => batch.work(work).await?,
            Record::Researcher(person) => batch.researcher(person).await?,
        }
    }
    batch.write().await?;
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

/// Rows per multi-row insert. A fixed size keeps most statements' text the
/// same from batch to batch, so PostgreSQL's prepared statements are reused
/// instead of parsed and planned again; it also keeps bound parameters far
/// under SQLite's limit (32 766).
const ROWS_PER_INSERT: usize = 256;

/// Ids for one table's new rows, reserved before they are written so that
/// a batch can link rows it has not inserted yet. On PostgreSQL they come
/// from the table's sequence (other writers never get them); on SQLite the
/// batch holds the write lock, so the ids after the highest one ever given
/// are free.
struct IdPool {
    table: &'static str,
    free: Vec<i64>,
    /// SQLite: the next id to give out, once read.
    next: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct Id {
    id: i64,
}

impl IdPool {
    fn new(table: &'static str) -> Self {
        Self { table, free: Vec::new(), next: None }
    }

    async fn reserve(&mut self, txn: &DatabaseTransaction, count: usize) -> AppResult<()> {
        if count == 0 {
            return Ok(());
        }
        let table = self.table;
        let backend = txn.get_database_backend();
        let mut ids: Vec<i64> = match backend {
            DbBackend::Postgres => {
                let sql = format!(
                    "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id FROM generate_series(1, {count})"
                );
                let rows = txn.query_all_raw(sea_orm::Statement::from_string(backend, sql)).await?;
                rows.iter().map(|row| Id::from_query_result(row, "").map(|row| row.id)).collect::<Result<_, _>>()?
            }
            _ => {
                let next = match self.next {
                    Some(next) => next,
                    None => {
                        // AUTOINCREMENT never reuses an id, even a deleted row's.
                        let sql = format!(
                            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), \
                             COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1 AS id"
                        );
                        let row = txn.query_one_raw(sea_orm::Statement::from_string(backend, sql)).await?;
                        row.ok_or_else(|| AppError::internal("no next id"))?.try_get::<i64>("", "id")?
                    }
                };
                self.next = Some(next + count as i64);
                (next..next + count as i64).collect()
            }
        };
        ids.reverse();
        ids.append(&mut self.free);
        self.free = ids;
        Ok(())
    }

    async fn next(&mut self, txn: &DatabaseTransaction) -> AppResult<i64> {
        if self.free.is_empty() {
            self.reserve(txn, REFILL).await?;
        }
        self.free.pop().ok_or_else(|| AppError::internal(format_args!("no id reserved for {}", self.table)))
    }
}

/// Ids reserved when a batch needs more than it estimated.
const REFILL: usize = 16;

/// A researcher this batch creates.
struct NewResearcher {
    id: i64,
    name: String,
    orcid: Option<String>,
    affiliation_id: Option<i64>,
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

struct Batch<'a> {
    txn: &'a DatabaseTransaction,
    /// The catalogue as this batch leaves it: what was read, and what the
    /// batch has added so far.
    known: Known,
    work_ids: IdPool,
    researcher_ids: IdPool,
    topic_ids: IdPool,
    institution_ids: IdPool,
    outcome: BatchOutcome,
    /// Works new to the catalogue: their summaries are added to ([`recount::added`]).
    added_works: BTreeSet<i64>,
    /// Known works that changed, and every author of theirs (and researchers
    /// renamed): their summaries are rebuilt ([`recount::scoped`]).
    touched_researchers: BTreeSet<i64>,
    touched_works: BTreeSet<i64>,
    changes: Vec<NewChange>,
    /// For name-only matching within the batch: researchers on its bylines
    /// by the sort key of their name there, and the sort keys of their
    /// co-authors there.
    batch_namesakes: HashMap<String, BTreeSet<i64>>,
    batch_coauthors: HashMap<i64, HashSet<String>>,
    // Rows to write, parents first (`write`).
    new_institutions: Vec<(i64, ImportedInstitution)>,
    new_topics: Vec<(i64, String)>,
    new_researchers: Vec<NewResearcher>,
    new_researcher_at: HashMap<i64, usize>,
    new_works: Vec<(i64, NewWork)>,
    updates: Vec<UpdateStatement>,
    /// Researchers matched by name or id who may take the ORCID iD the source gives.
    orcids_to_attach: Vec<(i64, String)>,
    /// `(work, researcher, position)`.
    authorships: Vec<(i64, i64, i32)>,
    work_topics: Vec<[Value; 2]>,
    work_sources: Vec<[Value; 3]>,
    researcher_sources: Vec<[Value; 3]>,
    external_ids: Vec<[Value; 3]>,
    researcher_names: Vec<[Value; 2]>,
}

impl<'a> Batch<'a> {
    fn new(txn: &'a DatabaseTransaction, known: Known) -> Self {
        Self {
            txn,
            known,
            work_ids: IdPool::new("works"),
            researcher_ids: IdPool::new("researchers"),
            topic_ids: IdPool::new("topics"),
            institution_ids: IdPool::new("institutions"),
            outcome: BatchOutcome::default(),
            added_works: BTreeSet::new(),
            touched_researchers: BTreeSet::new(),
            touched_works: BTreeSet::new(),
            changes: Vec::new(),
            batch_namesakes: HashMap::new(),
            batch_coauthors: HashMap::new(),
            new_institutions: Vec::new(),
            new_topics: Vec::new(),
            new_researchers: Vec::new(),
            new_researcher_at: HashMap::new(),
            new_works: Vec::new(),
            updates: Vec::new(),
            orcids_to_attach: Vec::new(),
            authorships: Vec::new(),
            work_topics: Vec::new(),
            work_sources: Vec::new(),
            researcher_sources: Vec::new(),
            external_ids: Vec::new(),
            researcher_names: Vec::new(),
        }
    }

    /// Reserves about as many ids as the batch will need (more are taken
    /// one refill at a time), in one statement per table.
    async fn reserve_ids(&mut self, records: &[Record]) -> AppResult<()> {
        let mut works: HashSet<(Source, &str)> = HashSet::new();
        let mut people: HashSet<String> = HashSet::new();
        let mut name_only = 0usize;
        let mut topics: HashSet<&str> = HashSet::new();
        let mut institutions: HashSet<&str> = HashSet::new();
        fn institution<'r>(known: &Known, found: Option<&'r ImportedInstitution>) -> Option<&'r str> {
            let found = found?;
            let by_ror = found.ror.as_ref().is_some_and(|ror| known.institutions_by_ror.contains_key(ror));
            (!by_ror && !known.institutions_by_name.contains_key(&found.name)).then_some(found.name.as_str())
        }
        for record in records {
            match record {
                Record::Work(work) => {
                    if self.find_work(work).is_none() {
                        works.insert((work.source, work.source_id.as_str()));
                    }
                    for author in &work.authors {
                        let by_id = author.openalex_id.as_deref().and_then(|id| self.researcher_by_openalex(id));
                        let by_orcid = author.orcid.as_deref().and_then(|orcid| self.known.orcids.get(orcid));
                        match (&author.openalex_id, &author.orcid) {
                            _ if by_id.is_some() || by_orcid.is_some() => {}
                            (Some(id), _) => _ = people.insert(format!("openalex:{id}")),
                            (None, Some(orcid)) => _ = people.insert(format!("orcid:{orcid}")),
                            (None, None) => name_only += 1,
                        }
                        if let Some(name) = institution(&self.known, author.institutions.first()) {
                            institutions.insert(name);
                        }
                    }
                    topics.extend(
                        work.topics
                            .iter()
                            .filter(|topic| !self.known.topics.contains_key(&topic.name))
                            .map(|topic| topic.name.as_str()),
                    );
                }
                Record::Researcher(person) => {
                    if self.known.researcher_of(&person.openalex_id, person.orcid.as_deref()).is_none() {
                        people.insert(format!("openalex:{}", person.openalex_id));
                    }
                    if let Some(name) = institution(&self.known, person.last_known_institutions.first()) {
                        institutions.insert(name);
                    }
                }
            }
        }
        let txn = self.txn;
        self.work_ids.reserve(txn, works.len()).await?;
        self.researcher_ids.reserve(txn, people.len() + name_only).await?;
        self.topic_ids.reserve(txn, topics.len()).await?;
        self.institution_ids.reserve(txn, institutions.len()).await
    }

    /// The work `imported` is, if the catalogue (or this batch) knows it.
    fn find_work(&self, imported: &ImportedWork) -> Option<i64> {
        let by_source = |source: Source, id: &str| self.known.works_by_source.get(&(source, id.to_owned())).copied();
        by_source(imported.source, &imported.source_id)
            .or_else(|| imported.openalex_id.as_deref().and_then(|id| by_source(Source::OpenAlex, id)))
            .or_else(|| imported.doi.as_ref().and_then(|doi| self.known.works_by_doi.get(&doi.to_lowercase()).copied()))
            .or_else(|| imported.arxiv_id.as_deref().and_then(|id| by_source(Source::Arxiv, id)))
            .or_else(|| imported.arxiv_id.as_ref().and_then(|id| self.known.works_by_arxiv.get(id).copied()))
    }

    fn researcher_by_openalex(&self, id: &str) -> Option<i64> {
        self.known.external_ids.get(&(ExternalIdScheme::Openalex.as_stored(), id.to_owned())).copied()
    }

    async fn work(&mut self, imported: &ImportedWork) -> AppResult<()> {
        let known = self.find_work(imported);
        let (work_id, mut byline, mut change) = match known {
            Some(id) => {
                let change = self.update_work(id, imported)?;
                (id, self.known.bylines.remove(&id).unwrap_or_default(), change)
            }
            None => (self.insert_work(imported).await?, Vec::new(), WorkChange::default()),
        };
        let is_new = known.is_none();
        // A new source id is provenance only: it changes no summary.
        change.fields |= self.record_source_of_work(work_id, imported.source, &imported.source_id);
        if let Some(openalex) = &imported.openalex_id {
            change.fields |= self.record_source_of_work(work_id, Source::OpenAlex, openalex);
        }

        // The byline: match each author, add the ones the work lacks.
        let mut next_position = byline.iter().map(|entry| entry.position).max().unwrap_or(0) + 1;
        let mut matched: BTreeSet<i64> = BTreeSet::new();
        let mut added: Vec<i64> = Vec::new();
        let keys: Vec<String> = imported.authors.iter().map(|author| sort_key(&author.name)).collect();
        for (index, author) in imported.authors.iter().enumerate() {
            let others: Vec<&str> = keys
                .iter()
                .enumerate()
                .filter(|(other, key)| *other != index && !key.is_empty())
                .map(|(_, key)| key.as_str())
                .collect();
            let researcher_id = match self.find_author(author, &keys[index], &others, &byline, &matched) {
                Some(id) => {
                    self.attach_orcid(id, author.orcid.as_deref());
                    id
                }
                None => self.insert_researcher(&author.name, author.orcid.as_deref(), &author.institutions).await?,
            };
            let (source, source_id) =
                author_provenance(imported.source, &imported.source_id, index, author.openalex_id.as_deref());
            self.record_source_of_researcher(researcher_id, source, source_id);
            if let Some(openalex) = &author.openalex_id {
                self.add_external_id(researcher_id, ExternalIdScheme::Openalex, openalex);
            }
            if !matched.insert(researcher_id) || byline.iter().any(|entry| entry.researcher_id == researcher_id) {
                continue;
            }
            self.authorships.push((work_id, researcher_id, next_position));
            byline.push(BylineEntry {
                work_id,
                researcher_id,
                display_name: author.name.clone(),
                position: next_position,
            });
            next_position += 1;
            added.push(researcher_id);
        }
        for imported_topic in &imported.topics {
            let topic_id = self.topic(&imported_topic.name).await?;
            if self.known.work_topics.insert((work_id, topic_id)) {
                self.work_topics.push([work_id.into(), topic_id.into()]);
                change.summaries = true;
            }
        }
        change.summaries |= !added.is_empty();
        // Who wrote with whom in this batch, for the name-only rule.
        let byline_keys: Vec<(i64, String)> =
            byline.iter().map(|entry| (entry.researcher_id, sort_key(&entry.display_name))).collect();
        for (researcher_id, key) in &byline_keys {
            self.batch_namesakes.entry(key.clone()).or_default().insert(*researcher_id);
            let coauthors = self.batch_coauthors.entry(*researcher_id).or_default();
            coauthors.extend(byline_keys.iter().filter(|(other, _)| other != researcher_id).map(|(_, k)| k.clone()));
        }

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
        } else if change.summaries && !self.added_works.contains(&work_id) {
            self.touched_works.insert(work_id);
            self.touched_researchers.extend(byline.iter().map(|entry| entry.researcher_id));
        }
        self.known.bylines.insert(work_id, byline);
        Ok(())
    }

    /// An author's researcher (see the module's rules): the one with the
    /// author's OpenAlex id or ORCID iD when already on the byline, else the
    /// byline's namesake, else the one with that id or iD anywhere, else —
    /// for an author known only by name — the one namesake who wrote with
    /// one of this byline's other names.
    fn find_author(
        &self,
        author: &ImportedAuthor,
        key: &str,
        others: &[&str],
        byline: &[BylineEntry],
        matched: &BTreeSet<i64>,
    ) -> Option<i64> {
        let by_id = author
            .openalex_id
            .as_deref()
            .and_then(|id| self.researcher_by_openalex(id))
            .or_else(|| author.orcid.as_deref().and_then(|orcid| self.known.orcids.get(orcid).copied()));
        if let Some(id) = by_id.filter(|id| byline.iter().any(|entry| entry.researcher_id == *id)) {
            return Some(id);
        }
        // On a known work, the namesake on its byline is this author, even
        // when the id names another record: a byline never lists one person twice.
        let namesake = byline
            .iter()
            .find(|entry| !matched.contains(&entry.researcher_id) && sort_key(&entry.display_name) == key)
            .map(|entry| entry.researcher_id);
        if namesake.is_some() || by_id.is_some() {
            return namesake.or(by_id);
        }
        if author.openalex_id.is_some() || author.orcid.is_some() || others.is_empty() || key.is_empty() {
            return None;
        }
        self.namesake_with_a_shared_coauthor(key, others)
    }

    /// The researcher whose name folds to `key` and who shares a work with
    /// someone whose name folds to one of `others`, when exactly one does
    /// (in the catalogue or earlier in this batch).
    fn namesake_with_a_shared_coauthor(&self, key: &str, others: &[&str]) -> Option<i64> {
        let shares = |coauthors: Option<&HashSet<String>>| {
            coauthors.is_some_and(|coauthors| others.iter().any(|other| coauthors.contains(*other)))
        };
        let mut found: BTreeSet<i64> = BTreeSet::new();
        if let Some(stored) = self.known.namesakes.get(key) {
            found.extend(stored.iter().filter(|(_, coauthors)| shares(Some(coauthors))).map(|(id, _)| *id));
        }
        if let Some(in_batch) = self.batch_namesakes.get(key) {
            found.extend(in_batch.iter().filter(|id| shares(self.batch_coauthors.get(id))).copied());
        }
        match found.len() {
            1 => found.first().copied(),
            _ => None,
        }
    }

    /// Gives a researcher matched by name or id the ORCID iD the source
    /// knows them by, when no other record holds it (written with the batch,
    /// only where the record has none).
    fn attach_orcid(&mut self, researcher_id: i64, orcid: Option<&str>) {
        let Some(orcid) = orcid else { return };
        if self.known.orcids.contains_key(orcid) {
            return;
        }
        self.known.orcids.insert(orcid.to_owned(), researcher_id);
        match self.new_researcher_at.get(&researcher_id) {
            Some(&at) => {
                let person = &mut self.new_researchers[at];
                if person.orcid.is_none() {
                    person.orcid = Some(orcid.to_owned());
                }
            }
            None => self.orcids_to_attach.push((researcher_id, orcid.to_owned())),
        }
    }

    /// A new work row under a reserved id; a DOI or arXiv id another work
    /// holds stays with it.
    async fn insert_work(&mut self, imported: &ImportedWork) -> AppResult<i64> {
        let id = self.work_ids.next(self.txn).await?;
        let doi = imported
            .doi
            .as_ref()
            .map(|doi| doi.to_lowercase())
            .filter(|doi| !self.known.works_by_doi.contains_key(doi));
        let arxiv_id = imported.arxiv_id.clone().filter(|arxiv| !self.known.works_by_arxiv.contains_key(arxiv));
        if let Some(doi) = &doi {
            self.known.works_by_doi.insert(doi.clone(), id);
        }
        if let Some(arxiv) = &arxiv_id {
            self.known.works_by_arxiv.insert(arxiv.clone(), id);
        }
        let row = NewWork {
            title: imported.title.clone(),
            summary: imported.summary.clone(),
            kind: imported.kind,
            year: imported.year,
            venue: imported.venue.clone(),
            doi: imported.doi.clone().filter(|_| doi.is_some()),
            arxiv_id: arxiv_id.clone(),
            cited_by_count: imported.cited_by_count.unwrap_or(0),
            // The byline and topics are written after, with the summaries.
            authors: Vec::new(),
            topics: Vec::new(),
        };
        self.known.stored_works.insert(
            id,
            StoredWork {
                id,
                title: row.title.clone(),
                summary: row.summary.clone(),
                kind: row.kind.as_stored().to_owned(),
                year: row.year,
                venue: row.venue.clone(),
                doi: row.doi.clone(),
                arxiv_id,
                cited_by_count: row.cited_by_count,
            },
        );
        self.new_works.push((id, row));
        Ok(id)
    }

    /// Merges a known work's fields by the sources' precedence; says what changed.
    fn update_work(&mut self, id: i64, imported: &ImportedWork) -> AppResult<WorkChange> {
        let Some(mut stored) = self.known.stored_works.remove(&id) else {
            return Err(AppError::internal("a matched work was not read"));
        };
        let authoritative = imported.source == Source::OpenAlex;
        let mut update = Query::update().table(work::Entity).and_where(Expr::col(work::Column::Id).eq(id)).to_owned();
        let mut change = WorkChange::default();
        // `counted`: the field feeds the authors' summaries (facets, linked works).
        let mut set = |column: work::Column, value: Value, counted: bool| {
            update.value(column, value);
            change.fields = true;
            change.summaries |= counted;
        };
        if authoritative && imported.title != stored.title {
            set(work::Column::Title, imported.title.clone().into(), false);
            stored.title = imported.title.clone();
        }
        if let Some(summary) = &imported.summary {
            if (authoritative || stored.summary.is_none()) && stored.summary.as_ref() != Some(summary) {
                set(work::Column::Abstract, summary.clone().into(), false);
                stored.summary = Some(summary.clone());
            }
        }
        if authoritative && imported.kind.as_stored() != stored.kind {
            set(work::Column::Kind, imported.kind.as_stored().into(), true);
            stored.kind = imported.kind.as_stored().to_owned();
        }
        if let Some(year) = imported.year {
            if (authoritative || stored.year.is_none()) && stored.year != Some(year) {
                set(work::Column::Year, year.into(), true);
                stored.year = Some(year);
            }
        }
        if let Some(venue) = &imported.venue {
            if (authoritative || stored.venue.is_none()) && stored.venue.as_ref() != Some(venue) {
                set(work::Column::Venue, venue.clone().into(), true);
                stored.venue = Some(venue.clone());
            }
        }
        if let Some(cited) = imported.cited_by_count {
            if authoritative && stored.cited_by_count != cited {
                set(work::Column::CitedByCount, cited.into(), false);
                stored.cited_by_count = cited;
            }
        }
        // Identifiers fill gaps only, and never take one another work holds.
        if let (None, Some(doi)) = (&stored.doi, &imported.doi) {
            if let Entry::Vacant(free) = self.known.works_by_doi.entry(doi.to_lowercase()) {
                set(work::Column::Doi, doi.clone().into(), true);
                stored.doi = Some(doi.clone());
                free.insert(id);
            }
        }
        if let (None, Some(arxiv)) = (&stored.arxiv_id, &imported.arxiv_id) {
            if let Entry::Vacant(free) = self.known.works_by_arxiv.entry(arxiv.clone()) {
                set(work::Column::ArxivId, arxiv.clone().into(), true);
                stored.arxiv_id = Some(arxiv.clone());
                free.insert(id);
            }
        }
        if change.fields {
            self.updates.push(update);
        }
        self.known.stored_works.insert(id, stored);
        Ok(change)
    }

    /// Records that `source` knows the work as `source_id`; returns whether
    /// that is new.
    fn record_source_of_work(&mut self, work_id: i64, source: Source, source_id: &str) -> bool {
        let key = (source, source_id.to_owned());
        if self.known.works_by_source.contains_key(&key) {
            return false;
        }
        self.known.works_by_source.insert(key, work_id);
        self.work_sources.push([source.as_stored().into(), source_id.into(), work_id.into()]);
        true
    }

    fn record_source_of_researcher(&mut self, researcher_id: i64, source: Source, source_id: String) -> bool {
        if !self.known.researcher_sources.insert((source, source_id.clone())) {
            return false;
        }
        self.researcher_sources.push([source.as_stored().into(), source_id.into(), researcher_id.into()]);
        true
    }

    /// Adds an external id unless the researcher, or another, holds it.
    fn add_external_id(&mut self, researcher_id: i64, scheme: ExternalIdScheme, value: &str) -> bool {
        let key = (scheme.as_stored(), value.to_owned());
        if self.known.external_ids.contains_key(&key) {
            return false;
        }
        self.known.external_ids.insert(key, researcher_id);
        self.external_ids.push([researcher_id.into(), scheme.as_stored().into(), value.into()]);
        true
    }

    /// A new researcher record under a reserved id; its slug is chosen when
    /// the batch is written.
    async fn insert_researcher(
        &mut self,
        name: &str,
        orcid: Option<&str>,
        institutions: &[ImportedInstitution],
    ) -> AppResult<i64> {
        let id = self.researcher_ids.next(self.txn).await?;
        let orcid = orcid.filter(|orcid| !self.known.orcids.contains_key(*orcid)).map(str::to_owned);
        if let Some(orcid) = &orcid {
            self.known.orcids.insert(orcid.clone(), id);
        }
        let affiliation_id = match institutions.first() {
            Some(first) => Some(self.institution(first).await?),
            None => None,
        };
        self.new_researcher_at.insert(id, self.new_researchers.len());
        self.new_researchers.push(NewResearcher { id, name: name.to_owned(), orcid, affiliation_id });
        self.outcome.researchers_inserted += 1;
        self.changes.push(NewChange::of_researcher(ChangeKind::ResearcherAdded, id));
        Ok(id)
    }

    async fn topic(&mut self, name: &str) -> AppResult<i64> {
        if let Some(&id) = self.known.topics.get(name) {
            return Ok(id);
        }
        let id = self.topic_ids.next(self.txn).await?;
        self.known.topics.insert(name.to_owned(), id);
        self.new_topics.push((id, name.to_owned()));
        Ok(id)
    }

    /// An institution by ROR id, else by name; made when unknown.
    async fn institution(&mut self, imported: &ImportedInstitution) -> AppResult<i64> {
        if let Some(&id) = imported.ror.as_ref().and_then(|ror| self.known.institutions_by_ror.get(ror)) {
            return Ok(id);
        }
        if let Some(&id) = self.known.institutions_by_name.get(&imported.name) {
            return Ok(id);
        }
        let id = self.institution_ids.next(self.txn).await?;
        if let Some(ror) = &imported.ror {
            self.known.institutions_by_ror.insert(ror.clone(), id);
        }
        self.known.institutions_by_name.insert(imported.name.clone(), id);
        self.new_institutions.push((id, imported.clone()));
        Ok(id)
    }

    /// An OpenAlex author object: the researcher with that OpenAlex id or
    /// ORCID iD, made when unknown, with OpenAlex's name, identifiers, other
    /// names and latest institution.
    async fn researcher(&mut self, imported: &ImportedResearcher) -> AppResult<()> {
        let known = self.known.researcher_of(&imported.openalex_id, imported.orcid.as_deref());
        let id = match known {
            Some(id) => id,
            None => {
                self.insert_researcher(
                    &imported.display_name,
                    imported.orcid.as_deref(),
                    &imported.last_known_institutions,
                )
                .await?
            }
        };
        let mut changed = known.is_none();
        if known.is_some() {
            changed |= self.update_researcher(id, imported).await?;
        }
        changed |= self.add_external_id(id, ExternalIdScheme::Openalex, &imported.openalex_id);
        if let Some(orcid) = &imported.orcid {
            changed |= self.add_external_id(id, ExternalIdScheme::Orcid, orcid);
        }
        for (scheme, value) in &imported.other_ids {
            changed |= self.add_external_id(id, *scheme, value);
        }
        for name in imported.alternative_names.iter().filter(|name| **name != imported.display_name) {
            if self.known.researcher_names.insert((id, name.clone())) {
                self.researcher_names.push([id.into(), name.as_str().into()]);
                changed = true;
            }
        }
        changed |= self.record_source_of_researcher(id, imported.source, imported.openalex_id.clone());
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

    /// Brings a known researcher's name, ORCID iD and latest institution to
    /// what OpenAlex says; returns whether anything changed.
    async fn update_researcher(&mut self, id: i64, imported: &ImportedResearcher) -> AppResult<bool> {
        let latest = match imported.last_known_institutions.first() {
            Some(latest) => Some(self.institution(latest).await?),
            None => None,
        };
        let orcid_free = imported.orcid.as_ref().filter(|orcid| !self.known.orcids.contains_key(*orcid)).cloned();
        let renamed = !imported.display_name.trim().is_empty();
        if let Some(&at) = self.new_researcher_at.get(&id) {
            // Made earlier in this batch: change the row before it is written.
            let person = &mut self.new_researchers[at];
            let mut changed = false;
            if renamed && person.name != imported.display_name {
                person.name = imported.display_name.clone();
                changed = true;
            }
            if let (None, Some(orcid)) = (&person.orcid, &orcid_free) {
                person.orcid = Some(orcid.clone());
                self.known.orcids.insert(orcid.clone(), id);
                changed = true;
            }
            if latest.is_some() && person.affiliation_id != latest {
                person.affiliation_id = latest;
                changed = true;
            }
            return Ok(changed);
        }
        let stored = match self.known.stored_researchers.get(&id) {
            Some(stored) => stored.clone(),
            None => self.read_researcher(id).await?,
        };
        let mut update =
            Query::update().table(researcher::Entity).and_where(Expr::col(researcher::Column::Id).eq(id)).to_owned();
        let mut next = stored.clone();
        if renamed && stored.display_name != imported.display_name {
            update.value(researcher::Column::DisplayName, imported.display_name.as_str());
            update.value(researcher::Column::SortName, sort_key(&imported.display_name));
            next.display_name = imported.display_name.clone();
            // The collaborator lists order by the co-author's sort key.
            self.touched_researchers.insert(id);
        }
        if let (None, Some(orcid)) = (&stored.orcid, &orcid_free) {
            update.value(researcher::Column::Orcid, orcid.as_str());
            self.known.orcids.insert(orcid.clone(), id);
            next.orcid = Some(orcid.clone());
        }
        if latest.is_some() && stored.affiliation_id != latest {
            update.value(researcher::Column::AffiliationId, latest);
            next.affiliation_id = latest;
        }
        let changed = next.display_name != stored.display_name
            || next.orcid != stored.orcid
            || next.affiliation_id != stored.affiliation_id;
        if changed {
            self.updates.push(update);
        }
        self.known.stored_researchers.insert(id, next);
        Ok(changed)
    }

    /// A researcher the look-up did not read: one an earlier work of this
    /// batch matched.
    async fn read_researcher(&self, id: i64) -> AppResult<StoredResearcher> {
        statement::models::<StoredResearcher>(self.txn, &stored_researchers(vec![id]))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::internal("a matched researcher disappeared"))
    }

    /// Writes what the batch decided: new rows parents first, then the
    /// updates, then the links.
    async fn write(&mut self) -> AppResult<()> {
        let txn = self.txn;
        let institutions: Vec<Vec<Value>> = self
            .new_institutions
            .iter()
            .map(|(id, found)| {
                vec![(*id).into(), found.name.clone().into(), found.country.clone().into(), found.ror.clone().into()]
            })
            .collect();
        insert_rows(
            txn,
            institution::Entity,
            &[
                institution::Column::Id,
                institution::Column::Name,
                institution::Column::Country,
                institution::Column::Ror,
            ],
            institutions,
            None,
        )
        .await?;
        let topics: Vec<Vec<Value>> =
            self.new_topics.iter().map(|(id, name)| vec![(*id).into(), name.clone().into()]).collect();
        insert_rows(
            txn,
            entity::topic::Entity,
            &[entity::topic::Column::Id, entity::topic::Column::Name],
            topics,
            None,
        )
        .await?;
        let slugs = free_slugs(txn, self.new_researchers.iter().map(|person| person.name.as_str())).await?;
        let now = Utc::now();
        let researchers: Vec<Vec<Value>> = self
            .new_researchers
            .iter()
            .zip(slugs)
            .map(|(person, slug)| {
                vec![
                    person.id.into(),
                    slug.into(),
                    person.name.clone().into(),
                    sort_key(&person.name).into(),
                    person.orcid.clone().into(),
                    person.affiliation_id.into(),
                    now.into(),
                ]
            })
            .collect();
        insert_rows(
            txn,
            researcher::Entity,
            &[
                researcher::Column::Id,
                researcher::Column::Slug,
                researcher::Column::DisplayName,
                researcher::Column::SortName,
                researcher::Column::Orcid,
                researcher::Column::AffiliationId,
                researcher::Column::CreatedAt,
            ],
            researchers,
            None,
        )
        .await?;
        // A new work's row and byline carry their final counts, so the
        // summaries need not count them again (`recount::added`).
        for (id, row) in &mut self.new_works {
            row.authors = self
                .known
                .bylines
                .get(id)
                .map_or_else(Vec::new, |byline| byline.iter().map(|entry| entry.researcher_id).collect());
        }
        catalogue::insert_work_rows(txn, &self.new_works).await?;
        for update in &self.updates {
            statement::execute(txn, update).await?;
        }
        for (researcher_id, orcid) in std::mem::take(&mut self.orcids_to_attach) {
            let update = Query::update()
                .table(researcher::Entity)
                .value(researcher::Column::Orcid, orcid.as_str())
                .and_where(Expr::col(researcher::Column::Id).eq(researcher_id))
                .and_where(Expr::col(researcher::Column::Orcid).is_null())
                .to_owned();
            if statement::execute(txn, &update).await? > 0 {
                self.changes.push(NewChange::of_researcher(ChangeKind::ResearcherUpdated, researcher_id));
            }
        }
        // A known work's byline counts are rebuilt with its summaries (`recount::scoped`).
        let authorships: Vec<Vec<Value>> = std::mem::take(&mut self.authorships)
            .into_iter()
            .map(|(work_id, researcher_id, position)| {
                let (year, authors) = if self.added_works.contains(&work_id) {
                    (
                        self.known.stored_works.get(&work_id).and_then(|work| work.year).unwrap_or(0),
                        self.known.bylines.get(&work_id).map_or(0, Vec::len) as i32,
                    )
                } else {
                    (0, 0)
                };
                vec![work_id.into(), researcher_id.into(), position.into(), year.into(), authors.into()]
            })
            .collect();
        let links = [
            (
                authorship::Entity.into_iden(),
                vec![
                    authorship::Column::WorkId.into_iden(),
                    authorship::Column::ResearcherId.into_iden(),
                    authorship::Column::Position.into_iden(),
                    authorship::Column::WorkYear.into_iden(),
                    authorship::Column::WorkAuthorsCount.into_iden(),
                ],
                authorships,
                vec![authorship::Column::WorkId.into_iden(), authorship::Column::ResearcherId.into_iden()],
            ),
            (
                work_topic::Entity.into_iden(),
                vec![work_topic::Column::WorkId.into_iden(), work_topic::Column::TopicId.into_iden()],
                std::mem::take(&mut self.work_topics).into_iter().map(Vec::from).collect(),
                vec![work_topic::Column::WorkId.into_iden(), work_topic::Column::TopicId.into_iden()],
            ),
            (
                work_source::Entity.into_iden(),
                vec![
                    work_source::Column::Source.into_iden(),
                    work_source::Column::SourceId.into_iden(),
                    work_source::Column::WorkId.into_iden(),
                ],
                std::mem::take(&mut self.work_sources).into_iter().map(Vec::from).collect(),
                vec![work_source::Column::Source.into_iden(), work_source::Column::SourceId.into_iden()],
            ),
            (
                researcher_source::Entity.into_iden(),
                vec![
                    researcher_source::Column::Source.into_iden(),
                    researcher_source::Column::SourceId.into_iden(),
                    researcher_source::Column::ResearcherId.into_iden(),
                ],
                std::mem::take(&mut self.researcher_sources).into_iter().map(Vec::from).collect(),
                vec![researcher_source::Column::Source.into_iden(), researcher_source::Column::SourceId.into_iden()],
            ),
            (
                external_id::Entity.into_iden(),
                vec![
                    external_id::Column::ResearcherId.into_iden(),
                    external_id::Column::Scheme.into_iden(),
                    external_id::Column::Value.into_iden(),
                ],
                std::mem::take(&mut self.external_ids).into_iter().map(Vec::from).collect(),
                vec![external_id::Column::Scheme.into_iden(), external_id::Column::Value.into_iden()],
            ),
            (
                researcher_name::Entity.into_iden(),
                vec![researcher_name::Column::ResearcherId.into_iden(), researcher_name::Column::Name.into_iden()],
                std::mem::take(&mut self.researcher_names).into_iter().map(Vec::from).collect(),
                vec![researcher_name::Column::ResearcherId.into_iden(), researcher_name::Column::Name.into_iden()],
            ),
        ];
        for (table, columns, rows, key) in links {
            // The look-up saw every key the batch adds; the conflict clause
            // only guards against a writer that slipped in between.
            let guard = OnConflict::columns(key).do_nothing().to_owned();
            insert_rows(txn, table, &columns, rows, Some(guard)).await?;
        }
        Ok(())
    }
}

/// Inserts `rows` into `table`, as many per statement as the bound
/// parameters allow.
async fn insert_rows<T: IntoIden + Clone, C: IntoIden + Clone>(
    txn: &DatabaseTransaction,
    table: T,
    columns: &[C],
    rows: Vec<Vec<Value>>,
    on_conflict: Option<OnConflict>,
) -> AppResult<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut insert = Query::insert().into_table(table.clone()).columns(columns.iter().cloned()).to_owned();
        for row in chunk {
            insert.values_panic(row.iter().cloned().map(Expr::val));
        }
        if let Some(guard) = &on_conflict {
            insert.on_conflict(guard.clone());
        }
        statement::execute(txn, &insert).await?;
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct Slug {
    slug: String,
}

/// A slug for each name, in order: the name's own, or with `-2`, `-3`, …
/// when that is taken (in the catalogue or earlier in the list). An
/// existing record's slug never changes.
async fn free_slugs<'n>(txn: &DatabaseTransaction, names: impl Iterator<Item = &'n str>) -> AppResult<Vec<String>> {
    let bases: Vec<String> = names.map(slug_of).collect();
    let distinct: BTreeSet<&str> = bases.iter().map(String::as_str).collect();
    let mut taken: HashSet<String> = HashSet::new();
    let distinct: Vec<&str> = distinct.into_iter().collect();
    for chunk in distinct.chunks(1_000) {
        let select = Query::select()
            .column(researcher::Column::Slug)
            .from(researcher::Entity)
            .and_where(Expr::col(researcher::Column::Slug).is_in(chunk.iter().copied()))
            .to_owned();
        taken.extend(statement::models::<Slug>(txn, &select).await?.into_iter().map(|row| row.slug));
    }
    // Only a base that is taken, or wanted twice, needs its suffixes read.
    let mut wanted: HashMap<&str, usize> = HashMap::new();
    for base in &bases {
        *wanted.entry(base.as_str()).or_default() += 1;
    }
    let suffixed: Vec<&str> =
        wanted.iter().filter(|(base, count)| **count > 1 || taken.contains(**base)).map(|(base, _)| *base).collect();
    // One statement per hundred bases, not one per base.
    for chunk in suffixed.chunks(100) {
        let any = chunk
            .iter()
            .fold(Cond::any(), |any, base| any.add(Expr::col(researcher::Column::Slug).like(format!("{base}-%"))));
        let select =
            Query::select().column(researcher::Column::Slug).from(researcher::Entity).cond_where(any).to_owned();
        taken.extend(statement::models::<Slug>(txn, &select).await?.into_iter().map(|row| row.slug));
    }
    let mut slugs = Vec::with_capacity(bases.len());
    for base in bases {
        let slug = if taken.contains(&base) {
            (2..).map(|n| format!("{base}-{n}")).find(|slug| !taken.contains(slug)).unwrap_or_else(|| base.clone())
        } else {
            base
        };
        taken.insert(slug.clone());
        slugs.push(slug);
    }
    Ok(slugs)
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
