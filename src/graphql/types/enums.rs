//! Enums of the public API, converted to and from their domain twins.
use async_graphql::Enum;

use crate::domain;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

impl OrderDirection {
    pub fn descending(self) -> bool {
        self == Self::Desc
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::researchers::ClaimStatus")]
pub enum ClaimStatus {
    /// Nobody has claimed the record, and no claim awaits review.
    Unclaimed,
    /// A claim awaits a moderator's review.
    Pending,
    /// The record has an approved owner.
    Claimed,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::trust::TrustLevel")]
pub enum TrustLevel {
    /// Score 0–19.
    New,
    /// Score 20–39.
    Emerging,
    /// Score 40–69.
    Established,
    /// Score 70–100.
    Trusted,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::researchers::ExternalIdScheme")]
pub enum ExternalIdScheme {
    Orcid,
    Openalex,
    Arxiv,
    Dblp,
    Scopus,
    Other,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::works::WorkKind")]
pub enum WorkKind {
    Preprint,
    Article,
    Book,
    Chapter,
    Proceedings,
    Dataset,
    Thesis,
    Other,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::researchers::ResearcherOrderField")]
pub enum ResearcherOrderField {
    /// Alphabetical, ignoring case and accents; the same on every database.
    DisplayName,
    /// Best effort while works are added: a researcher whose count changes
    /// between two pages may be skipped or seen twice; every other one is
    /// seen exactly once.
    WorksCount,
    /// Best effort while people follow: a researcher whose follower count
    /// changes between two pages may be skipped or seen twice; every other
    /// one is seen exactly once.
    FollowersCount,
    /// Best match first (BM25), ties by id; needs `filter.search`. The list
    /// stops after the 1 000 best matches (`totalCount` still counts them
    /// all). Paging is exact within one instance while no write changes the
    /// scores, and best effort across writes and instances.
    Relevance,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::works::WorkOrderField")]
pub enum WorkOrderField {
    /// Works without a year sort as the earliest.
    Year,
    Title,
    CitedByCount,
    /// Best match first (BM25), ties by id; needs `filter.search`. The list
    /// stops after the 1 000 best matches (`totalCount` still counts them
    /// all). Paging is exact within one instance while no write changes the
    /// scores, and best effort across writes and instances.
    Relevance,
}
