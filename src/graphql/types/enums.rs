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
pub enum ExternalIdScheme {
    Orcid,
    Openalex,
    Arxiv,
    Dblp,
    Scopus,
    Other,
}

impl ExternalIdScheme {
    /// Reads the scheme as stored (`orcid`, `openalex`, …); unknown ones are `OTHER`.
    pub fn from_stored(scheme: &str) -> Self {
        match scheme.to_ascii_lowercase().as_str() {
            "orcid" => Self::Orcid,
            "openalex" => Self::Openalex,
            "arxiv" => Self::Arxiv,
            "dblp" => Self::Dblp,
            "scopus" => Self::Scopus,
            _ => Self::Other,
        }
    }

    /// Where the identifier can be looked up, when the scheme has a resolver.
    pub fn url(self, value: &str) -> Option<String> {
        match self {
            Self::Orcid => Some(format!("https://orcid.org/{value}")),
            Self::Openalex => Some(format!("https://openalex.org/{value}")),
            Self::Arxiv => Some(format!("https://arxiv.org/a/{value}")),
            Self::Dblp => Some(format!("https://dblp.org/pid/{value}")),
            Self::Scopus | Self::Other => None,
        }
    }
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
    DisplayName,
    WorksCount,
    FollowersCount,
    /// Best match first; needs `filter.search`.
    Relevance,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::works::WorkOrderField")]
pub enum WorkOrderField {
    /// Works without a year sort as the earliest.
    Year,
    Title,
    CitedByCount,
    /// Best match first; needs `filter.search`.
    Relevance,
}
