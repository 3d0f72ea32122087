use async_graphql::{Context, Object, SimpleObject, ID};

use super::{Researcher, Topic, WorkKind};
use crate::domain;
use crate::graphql::ids::{encode, NodeType};
use crate::graphql::loaders::{load_one, AuthorshipsByWork, TopicsByWork};

type GqlResult<T> = async_graphql::Result<T>;

/// A paper, preprint, book or other scholarly work.
#[derive(Clone)]
pub struct Work(pub domain::works::Work);

#[Object]
impl Work {
    pub async fn id(&self) -> ID {
        encode(NodeType::Work, self.0.id)
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn r#abstract(&self) -> Option<&str> {
        self.0.r#abstract.as_deref()
    }

    async fn kind(&self) -> WorkKind {
        self.0.kind.into()
    }

    async fn year(&self) -> Option<i32> {
        self.0.year
    }

    async fn venue(&self) -> Option<&str> {
        self.0.venue.as_deref()
    }

    async fn doi(&self) -> Option<&str> {
        self.0.doi.as_deref()
    }

    async fn arxiv_id(&self) -> Option<&str> {
        self.0.arxiv_id.as_deref()
    }

    /// Citations counted by the source the work was imported from (0 when unknown).
    async fn cited_by_count(&self) -> i32 {
        self.0.cited_by_count
    }

    /// The byline, in order.
    #[graphql(complexity = "crate::graphql::list_cost(crate::graphql::PRICED_BYLINE, child_complexity)")]
    async fn authorships(&self, ctx: &Context<'_>) -> GqlResult<Vec<Authorship>> {
        let rows = load_one::<AuthorshipsByWork>(ctx, self.0.id).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|a| Authorship { position: a.position, researcher: Researcher::new(a.researcher) })
            .collect())
    }

    #[graphql(complexity = "crate::graphql::list_cost(crate::graphql::PRICED_WORK_TOPICS, child_complexity)")]
    async fn topics(&self, ctx: &Context<'_>) -> GqlResult<Vec<Topic>> {
        let topics = load_one::<TopicsByWork>(ctx, self.0.id).await?.unwrap_or_default();
        Ok(topics.into_iter().map(Topic).collect())
    }
}

#[derive(SimpleObject)]
pub struct Authorship {
    /// 1 for the first author.
    pub position: i32,
    pub researcher: Researcher,
}
