//! The research-graph explorer and similar researchers.

use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Enum, SimpleObject, Value, ID};

use super::{Researcher, Topic};
use crate::domain::{graph, research_graph};
use crate::error::AppError;
use crate::graphql::flat_list::{FlatList, FlatObject};
use crate::graphql::ids::{encode, NodeType};
use crate::state::{db, similar};

type GqlResult<T> = async_graphql::Result<T>;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum GraphNodeKind {
    Researcher,
    Work,
    Topic,
    Institution,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "research_graph::EdgeKind")]
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

impl FlatObject for GraphNode {
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "id" => Value::String(self.id.to_string()),
            "kind" => enum_value(self.kind),
            "label" => Value::String(self.label.clone()),
            "weight" => Value::from(self.weight),
            _ => return None,
        })
    }
}

impl FlatObject for GraphEdge {
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "source" => Value::String(self.source.to_string()),
            "target" => Value::String(self.target.to_string()),
            "kind" => enum_value(self.kind),
            "weight" => Value::from(self.weight),
            _ => return None,
        })
    }
}

// Nodes and edges are flat lists: a depth-2 graph holds thousands of them.
#[derive(SimpleObject)]
pub struct ResearchGraph {
    pub nodes: FlatList<GraphNode>,
    pub edges: FlatList<GraphEdge>,
}

fn node_id(key: research_graph::NodeKey) -> ID {
    let node_type = match key.0 {
        research_graph::NodeKind::Researcher => NodeType::Researcher,
        research_graph::NodeKind::Work => NodeType::Work,
        research_graph::NodeKind::Topic => NodeType::Topic,
        research_graph::NodeKind::Institution => NodeType::Institution,
    };
    encode(node_type, key.1)
}

impl ResearchGraph {
    pub async fn around(
        ctx: &Context<'_>,
        researcher_id: i64,
        depth: Option<i32>,
        limit: Option<i32>,
    ) -> GqlResult<Self> {
        let (depth, limit) = research_graph::validate(depth, limit)?;
        let graph = research_graph::research_graph(db(ctx), researcher_id, depth, limit).await?;
        let nodes = graph
            .nodes
            .into_iter()
            .map(|n| GraphNode {
                id: node_id(n.key),
                kind: match n.key.0 {
                    research_graph::NodeKind::Researcher => GraphNodeKind::Researcher,
                    research_graph::NodeKind::Work => GraphNodeKind::Work,
                    research_graph::NodeKind::Topic => GraphNodeKind::Topic,
                    research_graph::NodeKind::Institution => GraphNodeKind::Institution,
                },
                label: n.label,
                weight: n.weight,
            })
            .collect();
        let edges = graph
            .edges
            .into_iter()
            .map(|e| GraphEdge {
                source: node_id(e.source),
                target: node_id(e.target),
                kind: e.kind.into(),
                weight: e.weight,
            })
            .collect();
        Ok(ResearchGraph { nodes: FlatList(nodes), edges: FlatList(edges) })
    }
}

#[derive(SimpleObject)]
pub struct SimilarResearcher {
    pub researcher: Researcher,
    /// Cosine similarity of the researcher's main topics (their 25 topics
    /// with the most works) and this researcher's topic profile, 0..1.
    pub score: f64,
    /// The researcher's main topics that this researcher shares.
    pub shared_topics: Vec<Topic>,
}

impl SimilarResearcher {
    /// `first` 1..100, default 5.
    pub async fn for_researcher(ctx: &Context<'_>, researcher_id: i64, first: Option<i32>) -> GqlResult<Vec<Self>> {
        let first = first.unwrap_or(5);
        if !(1..=100).contains(&first) {
            return Err(AppError::bad_input(format!("`first` must be between 1 and 100, got {first}")).into());
        }
        let similar = graph::similar_researchers(db(ctx), similar(ctx), researcher_id, first as usize).await?;
        Ok(similar
            .into_iter()
            .map(|s| SimilarResearcher {
                researcher: Researcher::new(s.researcher),
                score: s.score,
                shared_topics: s.shared_topics.into_iter().map(Topic).collect(),
            })
            .collect())
    }
}
