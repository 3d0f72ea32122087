//! The research-graph explorer and similar researchers.
use async_graphql::{Context, Enum, SimpleObject, ID};

use super::{Researcher, Topic};
use crate::error::AppError;

type GqlResult<T> = async_graphql::Result<T>;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum GraphNodeKind {
    Researcher,
    Work,
    Topic,
    Institution,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum GraphEdgeKind {
    Authored,
    Coauthor,
    HasTopic,
    Affiliated,
}

#[derive(SimpleObject)]
pub struct GraphNode {
    /// A global id that `node(id:)` resolves.
    pub id: ID,
    pub kind: GraphNodeKind,
    pub label: String,
    pub weight: f64,
}

#[derive(SimpleObject)]
pub struct GraphEdge {
    pub source: ID,
    pub target: ID,
    pub kind: GraphEdgeKind,
    pub weight: i64,
}

#[derive(SimpleObject)]
pub struct ResearchGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

impl ResearchGraph {
    pub async fn around(_ctx: &Context<'_>, _researcher_id: i64, _depth: Option<i32>, _limit: Option<i32>) -> GqlResult<Self> {
        Err(AppError::Forbidden("researchGraph is not available yet".to_owned()).into())
    }
}

#[derive(SimpleObject)]
pub struct SimilarResearcher {
    pub researcher: Researcher,
    /// Cosine similarity of the two topic profiles, 0..1.
    pub score: f64,
    pub shared_topics: Vec<Topic>,
}

impl SimilarResearcher {
    pub async fn for_researcher(_ctx: &Context<'_>, _researcher_id: i64, _first: Option<i32>) -> GqlResult<Vec<Self>> {
        Err(AppError::Forbidden("similarResearchers is not available yet".to_owned()).into())
    }
}
