use async_graphql::{Context, Object, ID};

use super::Researcher;
use crate::domain::institutions;
use crate::domain::researchers::{self, ResearcherFilter, ResearcherOrder};
use crate::graphql::ids::{encode, NodeType};
use crate::graphql::pagination::{connection, PageArgs, RelayConnection};
use crate::state::db;

type GqlResult<T> = async_graphql::Result<T>;

/// A university, institute or company that researchers are affiliated with.
#[derive(Clone)]
pub struct Institution(pub institutions::Institution);

#[Object]
impl Institution {
    pub async fn id(&self) -> ID {
        encode(NodeType::Institution, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// ISO 3166-1 alpha-2 country code.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }

    /// The Research Organization Registry id, when known.
    async fn ror(&self) -> Option<&str> {
        self.0.ror.as_deref()
    }

    /// Researchers affiliated with the institution, by name.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn researchers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<RelayConnection<Researcher>> {
        let filter = ResearcherFilter { institution_id: Some(self.0.id), ..Default::default() };
        let order = ResearcherOrder::default_for(&filter);
        let key = order.list_key();
        let page = researchers::list(db(ctx), &filter, order, &PageArgs::forward(first, after).request(&key)?).await?;
        Ok(connection(&key, page, Researcher::new))
    }
}
