use async_graphql::{Context, Object, ID};

use crate::error::AppError;
use crate::graphql::ids::{decode, NodeType};
use crate::graphql::loaders::{load_one, InstitutionById, ResearcherById, TopicById, WorkById};
use crate::graphql::types::{Institution, Node, Researcher, Topic, Work};

/// How many ids `nodes(ids:)` takes at once.
const MAX_NODES: usize = 100;

#[derive(Default)]
pub struct NodeQuery;

/// Resolves a global id; `None` when nothing has it. Accounts (users,
/// claims, invitations) are not public, so they do not resolve here.
async fn resolve(ctx: &Context<'_>, id: &str) -> Result<Option<Node>, AppError> {
    let (node_type, key) = decode(id)?;
    Ok(match node_type {
        NodeType::Researcher => {
            load_one::<ResearcherById>(ctx, key).await?.map(|m| Node::Researcher(Researcher::new(m)))
        }
        NodeType::Work => load_one::<WorkById>(ctx, key).await?.map(|m| Node::Work(Work(m))),
        NodeType::Topic => load_one::<TopicById>(ctx, key).await?.map(|m| Node::Topic(Topic(m))),
        NodeType::Institution => {
            load_one::<InstitutionById>(ctx, key).await?.map(|m| Node::Institution(Institution(m)))
        }
        NodeType::User | NodeType::Claim | NodeType::CollaborationInvite => None,
    })
}

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        Ok(resolve(ctx, &id).await?)
    }

    /// Fetches up to 100 objects by global id, in the order given.
    #[graphql(complexity = "crate::graphql::list_cost(ids.len(), child_complexity)")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input(format!("`ids` takes at most {MAX_NODES} ids")).into());
        }
        let lookups = ids.iter().map(|id| resolve(ctx, id));
        let nodes = futures_util::future::join_all(lookups).await;
        Ok(nodes.into_iter().collect::<Result<Vec<_>, _>>()?)
    }
}
