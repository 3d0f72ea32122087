//! The public catalogue: researchers, works, topics and institutions.
use async_graphql::{Context, Object, ID};

use crate::domain::profiles::{self, RecordKey};
use crate::domain::{researchers, topics, works};
use crate::error::AppError;
use crate::graphql::ids::{decode_as, NodeType};
use crate::graphql::loaders::{load_one, InstitutionById, ResearcherById, TopicById, WorkById};
use crate::graphql::pagination::{connection, PageArgs, RelayConnection};
use crate::graphql::types::{
    researcher_order, work_order, Institution, Researcher, ResearcherFilter, ResearcherOrder, Topic, Work, WorkFilter,
    WorkOrder,
};
use crate::state::{db, search};

type GqlResult<T> = async_graphql::Result<T>;

#[derive(Default)]
pub struct CatalogueQuery;

/// Fields of `Researcher` that [`profiles::profile`] reads with the record.
const PROFILE_PARTS: [&str; 5] = ["externalIds", "affiliation", "claimStatus", "trust", "topics"];

/// Exactly one of a lookup's keys must be given.
fn exactly_one(keys: &[(&str, bool)]) -> Result<(), AppError> {
    let given: Vec<&str> = keys.iter().filter(|(_, present)| *present).map(|(name, _)| *name).collect();
    if given.len() == 1 {
        Ok(())
    } else {
        let names: Vec<String> = keys.iter().map(|(name, _)| format!("`{name}`")).collect();
        Err(AppError::bad_input(format!("pass exactly one of {}", names.join(", "))))
    }
}

#[Object]
impl CatalogueQuery {
    /// A researcher by global id, slug or ORCID iD (exactly one); null if none.
    async fn researcher(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
        orcid: Option<String>,
    ) -> GqlResult<Option<Researcher>> {
        exactly_one(&[("id", id.is_some()), ("slug", slug.is_some()), ("orcid", orcid.is_some())])?;
        let id = id.map(|id| decode_as(&id, NodeType::Researcher)).transpose()?;
        let key = match (id, slug.as_deref(), orcid.as_deref()) {
            (Some(id), _, _) => RecordKey::Id(id),
            (_, Some(slug), _) => RecordKey::Slug(slug),
            (_, _, Some(orcid)) => RecordKey::Orcid(orcid.trim()),
            _ => return Ok(None),
        };
        // A profile page reads the record with its parts in one statement.
        let selection = ctx.look_ahead();
        if PROFILE_PARTS.iter().any(|field| selection.field(field).exists()) {
            let found = profiles::profile(db(ctx), key).await?;
            return Ok(found.map(|(record, parts)| Researcher::with_parts(record, parts)));
        }
        let found = match key {
            RecordKey::Id(id) => load_one::<ResearcherById>(ctx, id).await?,
            RecordKey::Slug(slug) => researchers::by_slug(db(ctx), slug).await?,
            RecordKey::Orcid(orcid) => researchers::by_orcid(db(ctx), orcid).await?,
        };
        Ok(found.map(Researcher::new))
    }

    /// The researcher directory, with search, filters and orders.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn researchers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ResearcherFilter>,
        order_by: Option<ResearcherOrder>,
    ) -> GqlResult<RelayConnection<Researcher>> {
        let filter = filter.unwrap_or_default().to_domain()?;
        let order = researcher_order(order_by, &filter);
        let key = order.list_key();
        let request = PageArgs { first, after, last, before }.request(&key)?;
        let page = researchers::find(db(ctx), search(ctx), &filter, order, &request).await?;
        Ok(connection(&key, page, Researcher::new))
    }

    /// A work by global id, DOI or arXiv id (exactly one); null if none.
    async fn work(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        doi: Option<String>,
        arxiv_id: Option<String>,
    ) -> GqlResult<Option<Work>> {
        exactly_one(&[("id", id.is_some()), ("doi", doi.is_some()), ("arxivId", arxiv_id.is_some())])?;
        let found = if let Some(id) = id {
            load_one::<WorkById>(ctx, decode_as(&id, NodeType::Work)?).await?
        } else if let Some(doi) = doi {
            works::by_doi(db(ctx), &doi).await?
        } else if let Some(arxiv_id) = arxiv_id {
            works::by_arxiv_id(db(ctx), &arxiv_id).await?
        } else {
            None
        };
        Ok(found.map(Work))
    }

    /// Works across the catalogue, with search, filters and orders.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn works(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<WorkFilter>,
        order_by: Option<WorkOrder>,
    ) -> GqlResult<RelayConnection<Work>> {
        let filter = filter.unwrap_or_default().to_domain()?;
        let order = work_order(order_by, &filter);
        let key = order.list_key();
        let request = PageArgs { first, after, last, before }.request(&key)?;
        let page = works::find(db(ctx), search(ctx), &filter, order, &request).await?;
        Ok(connection(&key, page, Work))
    }

    async fn topic(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Topic>> {
        Ok(load_one::<TopicById>(ctx, decode_as(&id, NodeType::Topic)?).await?.map(Topic))
    }

    /// Topics by name; `search` keeps names that contain it.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn topics(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> GqlResult<RelayConnection<Topic>> {
        let request = PageArgs::forward(first, after).request(topics::LIST_KEY)?;
        let page = topics::list(db(ctx), search.as_deref(), &request).await?;
        Ok(connection(topics::LIST_KEY, page, Topic))
    }

    async fn institution(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Institution>> {
        Ok(load_one::<InstitutionById>(ctx, decode_as(&id, NodeType::Institution)?).await?.map(Institution))
    }
}
