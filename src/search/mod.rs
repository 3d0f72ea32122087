//! Search: the researcher and work listings' `search` filter. An embedded
//! engine (tantivy) answers it the same way on SQLite and PostgreSQL; the
//! database stays the source of truth, and the index is derived from it:
//! built from the database when missing, kept current from the change log
//! (`domain::changes`), rebuilt by `scholargraph search-index rebuild`.
//!
//! Similar researchers come from an in-memory copy of the topic profiles
//! ([`SimilarIndex`]), derived and followed the same way.
//!
//! The [`Search`] trait is the line between the listings and the engine:
//! it takes a search with its filters, an order and a page, and answers
//! the ids of one page. A deployment that outgrows one machine's index
//! can put an external engine behind it, fed by the same change log.
mod analysis;
mod collector;
mod fields;
mod follower;
mod similar;
mod tantivy_index;

use async_trait::async_trait;

pub use analysis::Words;
pub use follower::follow;
pub use similar::{SimilarHit, SimilarIndex};
pub use tantivy_index::{
    BuildProgress, IndexLocation, IndexStatus, SearchLimits, TantivySearch, EXACT_COUNT_LIMIT, MAX_RELEVANCE_DEPTH,
};

use crate::domain::page::{Page, PageRequest};
use crate::domain::researchers::{ClaimStatus, ResearcherOrder};
use crate::domain::works::{WorkKind, WorkOrder};
use crate::error::AppResult;

/// A work search: its words (all must match) and filters.
#[derive(Debug, Clone)]
pub struct WorkQuery {
    pub words: Words,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub kind: Option<WorkKind>,
    pub topic_id: Option<i64>,
    pub researcher_id: Option<i64>,
}

/// A researcher search: its words (each a name or a name's start) and filters.
#[derive(Debug, Clone)]
pub struct ResearcherQuery {
    pub words: Words,
    pub topic_id: Option<i64>,
    pub institution_id: Option<i64>,
    pub claim_status: Option<ClaimStatus>,
    pub open_to_collaborate: Option<bool>,
}

/// What the listings need of a search engine: one page of matching ids in
/// an order, with keyset cursors, and the total.
#[async_trait]
pub trait Search: Send + Sync {
    async fn works(&self, query: WorkQuery, order: WorkOrder, page: PageRequest) -> AppResult<Page<i64>>;

    async fn researchers(
        &self,
        query: ResearcherQuery,
        order: ResearcherOrder,
        page: PageRequest,
    ) -> AppResult<Page<i64>>;
}
