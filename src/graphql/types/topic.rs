use async_graphql::{Context, Object, ID};

use super::{Researcher, Work};
use crate::domain::researchers::{self, ResearcherFilter, ResearcherOrder};
use crate::domain::topics;
use crate::domain::works::{self, WorkFilter, WorkOrder};
use crate::graphql::ids::{encode, NodeType};
use crate::graphql::loaders::{load_one, WorksCountByTopic};
use crate::graphql::pagination::{connection, PageArgs, RelayConnection};
use crate::state::db;

type GqlResult<T> = async_graphql::Result<T>;

/// A research topic that works are classified under.
#[derive(Clone)]
pub struct Topic(pub topics::Topic);

#[Object]
impl Topic {
    pub async fn id(&self) -> ID {
        encode(NodeType::Topic, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Works classified under this topic.
    async fn works_count(&self, ctx: &Context<'_>) -> GqlResult<i64> {
        Ok(load_one::<WorksCountByTopic>(ctx, self.0.id).await?.unwrap_or(0))
    }

    /// Researchers with works on this topic, by name.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn researchers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<RelayConnection<Researcher>> {
        let filter = ResearcherFilter { topic_id: Some(self.0.id), ..Default::default() };
        let order = ResearcherOrder::default_for(&filter);
        let key = order.list_key();
        let page = researchers::list(db(ctx), &filter, order, &PageArgs::forward(first, after).request(&key)?).await?;
        Ok(connection(&key, page, Researcher::new))
    }

    /// Works on this topic, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn works(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<RelayConnection<Work>> {
        let filter = WorkFilter { topic_id: Some(self.0.id), ..Default::default() };
        let order = WorkOrder::default_for(&filter);
        let key = order.list_key();
        let page = works::list(db(ctx), &filter, order, &PageArgs::forward(first, after).request(&key)?, None).await?;
        Ok(connection(&key, page, Work))
    }
}
