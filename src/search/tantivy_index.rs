//! The embedded engine behind [`Search`]: two tantivy indexes, works and
//! researchers, in a directory of their own (or in memory). Each commit
//! carries the change-log position it reflects, so a restarted instance
//! goes on from there; an index of another version, or none, is rebuilt
//! from the database.
//!
//! tantivy's calls block (indexing, commits, searching a large posting
//! list): they run on tokio's blocking pool, never on a request's worker.
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, RegexQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term, TERMINATED};
use tokio::sync::Semaphore;

use super::analysis;
use super::collector::{KeysetCollector, SortBy};
use super::fields::{self, id_term, ResearcherFields, WorkFields};
use super::{ResearcherQuery, Search, WorkQuery};
use crate::domain::changes::{self, Change, ChangeKind, Position};
use crate::domain::page::{Direction, Keyset, Page, PageRequest, TotalCount};
use crate::domain::researchers::{ResearcherOrder, ResearcherOrderField};
use crate::domain::search_documents::{self, Batch};
use crate::domain::works::{WorkOrder, WorkOrderField};
use crate::error::{AppError, AppResult};

/// Bumped whenever the fields or the analysis change: an index written by
/// another version is rebuilt at start.
const VERSION: u32 = 2;

/// A relevance list stops here by default, as GitHub's search stops at
/// 1 000 results: deeper pages of a ranking are not worth their cost to anyone.
pub const MAX_RELEVANCE_DEPTH: u64 = 1_000;

/// By default `totalCount` of a search is exact up to this many matches and
/// this number (a lower bound) above it, so that counting stays cheap
/// whatever the search.
pub const EXACT_COUNT_LIMIT: u64 = 100_000;

/// How deep a relevance list goes and how far a search's total is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    pub relevance_depth: u64,
    pub exact_count_limit: u64,
}

impl Default for SearchLimits {
    fn default() -> Self {
        Self { relevance_depth: MAX_RELEVANCE_DEPTH, exact_count_limit: EXACT_COUNT_LIMIT }
    }
}

/// A title's match weighs this many times an abstract's.
const TITLE_BOOST: f32 = 2.0;

/// Rows read from the database per batch while building.
const BUILD_BATCH: u64 = 5_000;

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// In memory: rebuilt at every start (tests, small demos).
    Memory,
    Directory(PathBuf),
}

impl IndexLocation {
    /// `memory` or a directory path.
    pub fn parse(value: &str) -> Self {
        if value == "memory" {
            Self::Memory
        } else {
            Self::Directory(PathBuf::from(value))
        }
    }
}

/// What a commit records about the index: the change-log position it
/// reflects, and the identity of the database it was built from.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    version: u32,
    xid: i64,
    id: i64,
    catalogue: String,
}

/// Whether the index can answer yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexStatus {
    /// Built (or being rebuilt in the background, answering from the old one).
    Ready,
    /// The first build is under way: `done` of `total` documents.
    Building { done: u64, total: u64 },
}

/// One tantivy index with its reader and its one writer.
struct Part<F> {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: F,
}

impl<F> Part<F> {
    fn open(location: &IndexLocation, name: &str, schema: Schema, fields: F, threads: usize) -> anyhow::Result<Self> {
        let index = match location {
            IndexLocation::Memory => Index::create_in_ram(schema),
            IndexLocation::Directory(root) => open_dir(&root.join(name), schema)?,
        };
        index.tokenizers().register(analysis::TOKENIZER, analysis::analyzer());
        // 15 MB per thread is tantivy's floor; this much flushes segments of
        // tens of thousands of works during a build.
        let writer = index.writer_with_num_threads(threads, threads * 64_000_000)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { index, reader, writer: Mutex::new(writer), fields })
    }

    /// What the last commit recorded, if it was written by this version.
    fn payload(&self) -> anyhow::Result<Option<Payload>> {
        let payload = self.index.load_metas()?.payload;
        Ok(payload
            .and_then(|text| serde_json::from_str::<Payload>(&text).ok())
            .filter(|payload| payload.version == VERSION))
    }

    fn writer(&self) -> AppResult<std::sync::MutexGuard<'_, IndexWriter>> {
        self.writer.lock().map_err(|_| AppError::internal("search index writer poisoned"))
    }

    /// Replaces the documents with these ids by `docs` (a missing one is deleted).
    fn replace(&self, ids: &[i64], docs: Vec<TantivyDocument>, id_field: tantivy::schema::Field) -> AppResult<()> {
        let writer = self.writer()?;
        for id in ids {
            writer.delete_term(Term::from_field_u64(id_field, id_term(*id)));
        }
        for doc in docs {
            writer.add_document(doc).map_err(index_error)?;
        }
        Ok(())
    }

    fn commit(&self, position: Position, catalogue: &str) -> AppResult<()> {
        let payload = Payload { version: VERSION, xid: position.xid, id: position.id, catalogue: catalogue.to_owned() };
        let payload = serde_json::to_string(&payload).map_err(AppError::internal)?;
        let mut writer = self.writer()?;
        let mut prepared = writer.prepare_commit().map_err(index_error)?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(index_error)?;
        drop(writer);
        self.reader.reload().map_err(index_error)
    }
}

fn open_dir(path: &Path, schema: Schema) -> anyhow::Result<Index> {
    std::fs::create_dir_all(path)?;
    let directory = MmapDirectory::open(path)?;
    if Index::exists(&directory)? {
        let index = Index::open(directory)?;
        if index.schema() == schema {
            return Ok(index);
        }
        tracing::info!(path = %path.display(), "the search index has another schema: building it afresh");
        drop(index);
        std::fs::remove_dir_all(path)?;
        std::fs::create_dir_all(path)?;
        return Ok(Index::create_in_dir(path, schema)?);
    }
    Ok(Index::create(directory, schema, Default::default())?)
}

fn index_error(error: tantivy::TantivyError) -> AppError {
    AppError::internal(format_args!("search index: {error}"))
}

struct Inner {
    works: Part<WorkFields>,
    researchers: Part<ResearcherFields>,
    status: RwLock<IndexStatus>,
    limits: SearchLimits,
    /// Searches running at once: one per core. A search is CPU work with no
    /// waiting in it, so more at once only adds blocking-pool threads (each
    /// with its own allocator heap) and makes every search slower.
    searching: Semaphore,
}

/// The tantivy search engine; cheap to clone (one shared index).
#[derive(Clone)]
pub struct TantivySearch {
    inner: Arc<Inner>,
}

/// Progress of a build: `done` of `total` documents of `what`.
#[derive(Debug, Clone, Copy)]
pub struct BuildProgress {
    pub what: &'static str,
    pub done: u64,
    pub total: u64,
}

impl TantivySearch {
    /// Opens (or creates) the index at `location`; [`Self::position`] says
    /// whether it holds a build.
    pub fn open(location: &IndexLocation, limits: SearchLimits) -> anyhow::Result<Self> {
        let (schema, fields) = WorkFields::schema();
        let works = Part::open(location, "works", schema, fields, 2)?;
        let (schema, fields) = ResearcherFields::schema();
        let researchers = Part::open(location, "researchers", schema, fields, 1)?;
        let status = RwLock::new(IndexStatus::Building { done: 0, total: 0 });
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let inner = Inner { works, researchers, status, limits, searching: Semaphore::new(cores) };
        // Not ready until the follower has checked which database the
        // index was built from (`accept`) or rebuilt it.
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The change-log position both indexes reflect; `None` when either has
    /// never been built by this version.
    pub fn position(&self) -> anyhow::Result<Option<Position>> {
        let works = self.inner.works.payload()?;
        let researchers = self.inner.researchers.payload()?;
        Ok(works
            .zip(researchers)
            .map(|(w, r)| Position { xid: w.xid, id: w.id }.min(Position { xid: r.xid, id: r.id })))
    }

    /// The identity of the database the index was built from
    /// (`changes::catalogue_identity`); `None` when it has no build.
    pub fn catalogue(&self) -> anyhow::Result<Option<String>> {
        Ok(self.inner.works.payload()?.map(|payload| payload.catalogue))
    }

    pub fn status(&self) -> IndexStatus {
        self.inner.status.read().map_or(IndexStatus::Building { done: 0, total: 0 }, |status| *status)
    }

    /// Serves the index as it is: the follower found it built from this database.
    pub fn accept(&self) {
        self.set_status(IndexStatus::Ready);
    }

    fn set_status(&self, status: IndexStatus) {
        if let Ok(mut current) = self.inner.status.write() {
            *current = status;
        }
    }

    fn ensure_ready(&self) -> AppResult<()> {
        match self.status() {
            IndexStatus::Ready => Ok(()),
            IndexStatus::Building { done, total } => Err(AppError::Unavailable(format!(
                "the search index is being built ({done} of {total} documents); try again shortly"
            ))),
        }
    }

    /// Builds both indexes afresh from the database and returns the
    /// change-log position they reflect. The position is taken first, so a
    /// change committed during the build is applied again afterwards
    /// (applying a change re-reads its rows: doing it twice is harmless).
    /// Searches keep answering from the previous commit until this one lands.
    pub async fn rebuild(
        &self,
        db: &DatabaseConnection,
        report: &(dyn Fn(BuildProgress) + Send + Sync),
    ) -> AppResult<Position> {
        let first_build = self.status() != IndexStatus::Ready;
        let catalogue = changes::catalogue_identity(db).await?;
        let position = changes::head(db).await?;
        let works_total = count(db, "works").await?;
        let researchers_total = count(db, "researchers").await?;
        let total = works_total + researchers_total;
        let started = Instant::now();
        self.blocking(|inner| inner.works.writer()?.delete_all_documents().map(|_| ()).map_err(index_error)).await?;
        self.blocking(|inner| inner.researchers.writer()?.delete_all_documents().map(|_| ()).map_err(index_error))
            .await?;

        let mut done = 0;
        let mut after = 0;
        let mut next = search_documents::works(db, Batch::After { id: after, limit: BUILD_BATCH });
        loop {
            let batch = next.await?;
            let Some(last) = batch.last().map(|doc| doc.id) else { break };
            after = last;
            done += batch.len() as u64;
            // Index this batch while the database reads the next one.
            let indexing = self.blocking(move |inner| {
                let docs = batch.iter().map(|doc| inner.works.fields.document(doc)).collect();
                inner.works.replace(&[], docs, inner.works.fields.id)
            });
            next = search_documents::works(db, Batch::After { id: after, limit: BUILD_BATCH });
            indexing.await?;
            report(BuildProgress { what: "works", done, total: works_total });
            if first_build {
                self.set_status(IndexStatus::Building { done, total });
            }
        }
        let mut after = 0;
        loop {
            let batch = search_documents::researchers(db, Batch::After { id: after, limit: BUILD_BATCH }).await?;
            let Some(last) = batch.last().map(|doc| doc.id) else { break };
            after = last;
            done += batch.len() as u64;
            self.blocking(move |inner| {
                let docs = batch.iter().map(|doc| inner.researchers.fields.document(doc)).collect();
                inner.researchers.replace(&[], docs, inner.researchers.fields.id)
            })
            .await?;
            report(BuildProgress { what: "researchers", done: done - works_total, total: researchers_total });
            if first_build {
                self.set_status(IndexStatus::Building { done, total });
            }
        }
        self.blocking(move |inner| {
            inner.works.commit(position, &catalogue)?;
            inner.researchers.commit(position, &catalogue)
        })
        .await?;
        self.set_status(IndexStatus::Ready);
        tracing::info!(works = works_total, researchers = researchers_total, took = ?started.elapsed(), "search index built");
        Ok(position)
    }

    /// Brings the index up to date with `batch` (changes in log order) and
    /// records the position of the last one. A change of the catalogue as a
    /// whole (a bulk load) rebuilds everything.
    pub async fn apply(&self, db: &DatabaseConnection, batch: &[Change]) -> AppResult<()> {
        let Some(last) = batch.last().map(|change| change.position) else { return Ok(()) };
        if batch.iter().any(|change| change.kind == ChangeKind::CatalogueReloaded) {
            self.rebuild(db, &|_| {}).await?;
            return Ok(());
        }
        let mut work_ids = Vec::new();
        let mut researcher_ids = Vec::new();
        for change in batch {
            match change.kind {
                ChangeKind::WorkAdded | ChangeKind::WorkUpdated => work_ids.push(change.subject_id),
                ChangeKind::AuthorshipAdded => {
                    work_ids.push(change.subject_id);
                    researcher_ids.extend(change.researcher_id);
                }
                ChangeKind::ResearcherAdded
                | ChangeKind::Followed
                | ChangeKind::Unfollowed
                | ChangeKind::ClaimUpdated
                | ChangeKind::ProfileUpdated
                | ChangeKind::ResearcherUpdated => researcher_ids.extend(change.researcher_id),
                ChangeKind::CatalogueReloaded => {}
            }
        }
        for ids in [&mut work_ids, &mut researcher_ids] {
            ids.sort_unstable();
            ids.dedup();
        }
        let works = search_documents::works(db, Batch::Ids(&work_ids)).await?;
        let researchers = search_documents::researchers(db, Batch::Ids(&researcher_ids)).await?;
        self.blocking(move |inner| {
            let docs = works.iter().map(|doc| inner.works.fields.document(doc)).collect();
            inner.works.replace(&work_ids, docs, inner.works.fields.id)?;
            let docs = researchers.iter().map(|doc| inner.researchers.fields.document(doc)).collect();
            inner.researchers.replace(&researcher_ids, docs, inner.researchers.fields.id)?;
            // The database the index was built from stays the one on record.
            let built_from = inner.works.payload().map_err(AppError::internal)?.map(|p| p.catalogue);
            let catalogue = built_from.ok_or_else(|| AppError::internal("applying changes to an index never built"))?;
            inner.works.commit(last, &catalogue)?;
            inner.researchers.commit(last, &catalogue)
        })
        .await
    }

    /// Runs blocking index work on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner)).await.map_err(AppError::internal)?
    }

    /// Runs a search on the blocking pool once one of the per-core slots is free.
    async fn search<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let _slot = self.inner.searching.acquire().await.map_err(AppError::internal)?;
        self.blocking(work).await
    }
}

async fn count(db: &DatabaseConnection, table: &'static str) -> AppResult<u64> {
    use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Query};
    let select = Query::select().expr_as(Expr::col(Asterisk).count(), "n").from(table).to_owned();
    let n = crate::domain::statement::count(db, &select).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// `Must` of every clause, or the one clause alone.
fn all_of(mut clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.len() == 1 {
        if let Some(only) = clauses.pop() {
            return only;
        }
    }
    Box::new(BooleanQuery::new(clauses.into_iter().map(|clause| (Occur::Must, clause)).collect()))
}

/// A filter: matches like `query`, adds nothing to the score.
fn filter(query: impl Query) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

fn term_filter(term: Term) -> Box<dyn Query> {
    filter(TermQuery::new(term, IndexRecordOption::Basic))
}

impl WorkFields {
    /// Each word in the title or the abstract (the title's BM25 boosted).
    /// A one-word search without filters is a plain union of two terms,
    /// which block-max WAND prunes.
    fn query(&self, query: &WorkQuery) -> Box<dyn Query> {
        let mut clauses: Vec<Box<dyn Query>> = query
            .words
            .iter()
            .map(|word| {
                let in_title = TermQuery::new(Term::from_field_text(self.title, word), IndexRecordOption::WithFreqs);
                let in_abstract =
                    TermQuery::new(Term::from_field_text(self.r#abstract, word), IndexRecordOption::WithFreqs);
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, Box::new(BoostQuery::new(Box::new(in_title), TITLE_BOOST)) as Box<dyn Query>),
                    (Occur::Should, Box::new(in_abstract)),
                ])) as Box<dyn Query>
            })
            .collect();
        if query.year_from.is_some() || query.year_to.is_some() {
            let bound = |year: Option<i32>| {
                year.map_or(Bound::Unbounded, |y| Bound::Included(Term::from_field_i64(self.year, i64::from(y))))
            };
            clauses.push(filter(RangeQuery::new(bound(query.year_from), bound(query.year_to))));
        }
        if let Some(kind) = query.kind {
            clauses.push(term_filter(Term::from_field_text(self.kind, kind.as_stored())));
        }
        if let Some(topic) = query.topic_id {
            clauses.push(term_filter(Term::from_field_u64(self.topic, id_term(topic))));
        }
        if let Some(researcher) = query.researcher_id {
            clauses.push(term_filter(Term::from_field_u64(self.researcher, id_term(researcher))));
        }
        all_of(clauses)
    }
}

impl ResearcherFields {
    /// Each word as a name, or as the start of one (as-you-type): a whole
    /// word scores its BM25 plus 1, a prefix alone 1.
    fn query(&self, query: &ResearcherQuery) -> Box<dyn Query> {
        let mut clauses: Vec<Box<dyn Query>> = query
            .words
            .iter()
            .map(|word| {
                let whole = TermQuery::new(Term::from_field_text(self.names, word), IndexRecordOption::WithFreqs);
                // The analyzer leaves letters and digits only: no regex syntax.
                let prefix: Box<dyn Query> = match RegexQuery::from_pattern(&format!("{word}.*"), self.names) {
                    Ok(prefix) => Box::new(prefix),
                    Err(_) => Box::new(whole.clone()),
                };
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, Box::new(whole) as Box<dyn Query>),
                    (Occur::Should, prefix),
                ])) as Box<dyn Query>
            })
            .collect();
        if let Some(topic) = query.topic_id {
            clauses.push(term_filter(Term::from_field_u64(self.topic, id_term(topic))));
        }
        if let Some(institution) = query.institution_id {
            clauses.push(term_filter(Term::from_field_u64(self.institution, id_term(institution))));
        }
        if let Some(status) = query.claim_status {
            clauses.push(term_filter(Term::from_field_text(self.claim_status, fields::claim_status_term(status))));
        }
        if let Some(open) = query.open_to_collaborate {
            clauses.push(term_filter(Term::from_field_bool(self.open, open)));
        }
        all_of(clauses)
    }
}

#[async_trait]
impl Search for TantivySearch {
    async fn works(&self, query: WorkQuery, order: WorkOrder, page: PageRequest) -> AppResult<Page<i64>> {
        self.ensure_ready()?;
        if query.words.is_empty() {
            return Ok(Page::empty());
        }
        let sort = match order.field {
            WorkOrderField::Relevance => SortBy::Score,
            WorkOrderField::Year => SortBy::Int(fields::YEAR),
            WorkOrderField::Title => SortBy::Bytes(fields::TITLE_SORT),
            WorkOrderField::CitedByCount => SortBy::Int(fields::CITED_BY),
        };
        self.search(move |inner| {
            let query = inner.works.fields.query(&query);
            page_of(&inner.works.reader.searcher(), query.as_ref(), sort, order.descending, &page, inner.limits)
        })
        .await
    }

    async fn researchers(
        &self,
        query: ResearcherQuery,
        order: ResearcherOrder,
        page: PageRequest,
    ) -> AppResult<Page<i64>> {
        self.ensure_ready()?;
        if query.words.is_empty() {
            return Ok(Page::empty());
        }
        let sort = match order.field {
            ResearcherOrderField::Relevance => SortBy::Score,
            ResearcherOrderField::DisplayName => SortBy::Bytes(fields::SORT_NAME),
            ResearcherOrderField::WorksCount => SortBy::Int(fields::WORKS_COUNT),
            ResearcherOrderField::FollowersCount => SortBy::Int(fields::FOLLOWERS_COUNT),
        };
        self.search(move |inner| {
            let query = inner.researchers.fields.query(&query);
            page_of(&inner.researchers.reader.searcher(), query.as_ref(), sort, order.descending, &page, inner.limits)
        })
        .await
    }
}

/// One page of a search, in the database listings' shape: ids with their
/// cursors, whether more lie on either side, and the total.
fn page_of(
    searcher: &Searcher,
    query: &dyn Query,
    sort: SortBy,
    descending: bool,
    page: &PageRequest,
    limits: SearchLimits,
) -> AppResult<Page<i64>> {
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    let collect = |descending: bool, after: Option<Keyset>, want: usize| {
        searcher.search(query, &KeysetCollector { sort, descending, after, want }).map_err(|error| match error {
            tantivy::TantivyError::InvalidArgument(message) => AppError::bad_input(message),
            other => index_error(other),
        })
    };
    let relevance = sort == SortBy::Score;
    let depth = usize::try_from(limits.relevance_depth).unwrap_or(usize::MAX);
    let (items, has_previous, has_next) = match (page.direction, relevance, &page.cursor) {
        (Direction::Forward, _, cursor) => {
            let collected = collect(descending, cursor.clone(), size + 1)?;
            let mut hits = collected.hits;
            let mut more = hits.len() > size;
            hits.truncate(size);
            if relevance {
                // Ranks start after the hits before the cursor.
                let room = depth.saturating_sub(usize::try_from(collected.preceding).unwrap_or(usize::MAX));
                more = more && room > size;
                hits.truncate(room);
            }
            (hits, collected.preceding > 0, more)
        }
        (Direction::Backward, false, cursor) => {
            let collected = collect(!descending, cursor.clone(), size + 1)?;
            let mut hits = collected.hits;
            let more = hits.len() > size;
            hits.truncate(size);
            hits.reverse();
            (hits, more, collected.preceding > 0)
        }
        // The hits just above the cursor, read upwards (without pruning);
        // `following` is then the cursor's rank.
        (Direction::Backward, true, Some(cursor)) => {
            let collected = collect(!descending, Some(cursor.clone()), size + 1)?;
            let mut hits = collected.hits;
            let more = hits.len() > size;
            hits.truncate(size);
            hits.reverse();
            let beyond = usize::try_from(collected.following.saturating_sub(limits.relevance_depth)).unwrap_or(0);
            hits.truncate(hits.len().saturating_sub(beyond));
            (hits, more, collected.preceding > 0)
        }
        // `last` alone: the end of the list, which stops at its depth.
        (Direction::Backward, true, None) => {
            let collected = collect(descending, None, depth)?;
            let mut hits = collected.hits;
            let start = hits.len().saturating_sub(size);
            let tail = hits.split_off(start);
            (tail, start > 0, false)
        }
    };
    let total = count_up_to(searcher, query, limits.exact_count_limit)?;
    Ok(Page {
        items: items.into_iter().map(|key| (key.id, key)).collect(),
        has_previous,
        has_next,
        total: TotalCount::Known(i64::try_from(total).unwrap_or(i64::MAX)),
    })
}

/// How many documents match, stopping at `limit`: each segment's matches
/// are walked without scoring, a separate pass from the top-k (which skips
/// most of them).
fn count_up_to(searcher: &Searcher, query: &dyn Query, limit: u64) -> AppResult<u64> {
    let weight = query.weight(tantivy::query::EnableScoring::disabled_from_searcher(searcher)).map_err(index_error)?;
    let mut count = 0;
    for reader in searcher.segment_readers() {
        let alive = reader.alive_bitset();
        let mut scorer = weight.scorer(reader, 1.0).map_err(index_error)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|bits| bits.is_alive(doc)) {
                count += 1;
                if count >= limit {
                    return Ok(count);
                }
            }
            doc = scorer.advance();
        }
    }
    Ok(count)
}
