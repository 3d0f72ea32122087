//! `Researcher` and the objects of its profile.
use std::sync::Arc;

use async_graphql::connection::{ConnectionNameType, EdgeNameType};
use async_graphql::{Context, Object, OutputType, SimpleObject, ID};

use super::{
    ClaimStatus, ExternalIdScheme, Institution, ResearcherWorksFilter, Topic, TrustLevel, Work, WorkKind, WorkOrder,
};
use crate::domain::profiles::ProfileParts;
use crate::domain::researchers::{self, RecordStanding, TopicShare, MAX_TOPICS};
use crate::domain::topics;
use crate::domain::{graph, trust, works};
use crate::error::AppError;
use crate::graphql::ids::{encode, NodeType};
use crate::graphql::loaders::{
    load_one, ExternalIdsByResearcher, InstitutionById, MainTopicsByResearcher, StandingByResearcher, StatsByResearcher,
};
use crate::graphql::pagination::{connection, connection_with, PageArgs, RelayConnection};
use crate::graphql::types::graph::{ResearchGraph, SimilarResearcher};
use crate::graphql::types::inputs::work_order;
use crate::state::db;

type GqlResult<T> = async_graphql::Result<T>;

/// A public author record, imported from arXiv or OpenAlex.
#[derive(Clone)]
pub struct Researcher {
    pub record: researchers::Researcher,
    /// The profile's parts, when the record was read with them (a lookup of
    /// one record); otherwise each part goes through its batch loader.
    parts: Option<Arc<ProfileParts>>,
}

impl Researcher {
    pub fn new(record: researchers::Researcher) -> Self {
        Self { record, parts: None }
    }

    pub fn with_parts(record: researchers::Researcher, parts: ProfileParts) -> Self {
        Self::with_shared_parts(record, Arc::new(parts))
    }

    /// With parts read once for many responses (a live event's subscribers).
    pub fn with_shared_parts(record: researchers::Researcher, parts: Arc<ProfileParts>) -> Self {
        Self { record, parts: Some(parts) }
    }

    async fn standing(&self, ctx: &Context<'_>) -> Result<RecordStanding, AppError> {
        if let Some(parts) = &self.parts {
            return Ok(parts.standing.clone());
        }
        Ok(load_one::<StandingByResearcher>(ctx, self.record.id).await?.unwrap_or_default())
    }

    async fn main_topics(&self, ctx: &Context<'_>) -> Result<Vec<TopicShare>, AppError> {
        if let Some(parts) = &self.parts {
            return Ok(parts.main_topics.clone());
        }
        Ok(load_one::<MainTopicsByResearcher>(ctx, self.record.id).await?.unwrap_or_default())
    }
}

#[Object]
impl Researcher {
    pub async fn id(&self) -> ID {
        encode(NodeType::Researcher, self.record.id)
    }

    /// The record's URL name, unique.
    async fn slug(&self) -> &str {
        &self.record.slug
    }

    async fn display_name(&self) -> &str {
        &self.record.display_name
    }

    /// The ORCID iD, when known (`0000-0000-0000-0000`).
    async fn orcid(&self) -> Option<&str> {
        self.record.orcid.as_deref()
    }

    /// Identifiers of this researcher in other scholarly sources.
    async fn external_ids(&self, ctx: &Context<'_>) -> GqlResult<Vec<ExternalId>> {
        let ids = match &self.parts {
            Some(parts) => parts.external_ids.clone(),
            None => load_one::<ExternalIdsByResearcher>(ctx, self.record.id).await?.unwrap_or_default(),
        };
        Ok(ids.into_iter().map(ExternalId).collect())
    }

    /// The current institution, when imported.
    async fn affiliation(&self, ctx: &Context<'_>) -> GqlResult<Option<Institution>> {
        if let Some(parts) = &self.parts {
            return Ok(parts.affiliation.clone().map(Institution));
        }
        let Some(id) = self.record.affiliation_id else { return Ok(None) };
        Ok(load_one::<InstitutionById>(ctx, id).await?.map(Institution))
    }

    async fn open_to_collaborate(&self) -> bool {
        self.record.open_to_collaborate
    }

    async fn claim_status(&self, ctx: &Context<'_>) -> GqlResult<ClaimStatus> {
        Ok(self.standing(ctx).await?.claim_status().into())
    }

    /// Whether the signed-in user follows this researcher; false when anonymous.
    async fn viewer_is_following(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        crate::graphql::viewer::is_following(ctx, self.record.id).await
    }

    async fn trust(&self, ctx: &Context<'_>) -> GqlResult<TrustSnapshot> {
        Ok(TrustSnapshot(trust::snapshot(&self.record, &self.standing(ctx).await?)))
    }

    async fn counts(&self) -> ResearcherCounts {
        ResearcherCounts(self.record.counts)
    }

    /// The researcher's topics, most works first (ties by topic id): `first`
    /// 1..100, default 10.
    #[graphql(complexity = "crate::graphql::list_cost(first.unwrap_or(10).clamp(1, 100) as usize, child_complexity)")]
    async fn topics(&self, ctx: &Context<'_>, first: Option<i32>) -> GqlResult<Vec<ResearcherTopic>> {
        let first = first.unwrap_or(10);
        if !(1..=MAX_TOPICS as i32).contains(&first) {
            return Err(AppError::bad_input(format!("`first` must be between 1 and {MAX_TOPICS}, got {first}")).into());
        }
        let works_count = self.record.counts.works.max(1) as f64;
        Ok(self
            .main_topics(ctx)
            .await?
            .into_iter()
            .take(first as usize)
            .map(|t| ResearcherTopic {
                topic: Topic(topics::Topic { id: t.topic_id, name: t.topic_name }),
                works_count: t.works_count,
                share: t.works_count as f64 / works_count,
            })
            .collect())
    }

    /// The researcher's works; newest first unless `orderBy` says otherwise.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn works(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ResearcherWorksFilter>,
        order_by: Option<WorkOrder>,
    ) -> GqlResult<RelayConnection<Work>> {
        let filter = filter.unwrap_or_default().to_domain(self.record.id)?;
        let order = work_order(order_by, &filter);
        let key = order.list_key();
        let request = PageArgs { first, after, last, before }.request(&key)?;
        let page = works::list(db(ctx), &filter, order, &request, Some(self.record.counts.works)).await?;
        Ok(connection(&key, page, Work))
    }

    /// Co-authors, by shared works (most first), then name. Best effort while
    /// works are added: a co-author whose shared works change between two
    /// pages may be skipped or seen twice; every other one is seen once.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn collaborators(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(desc = "Keep co-authors with at least this many shared works (default 1).")] min_shared_works: Option<
            i32,
        >,
    ) -> GqlResult<RelayConnection<Researcher, CollaboratorEdgeFields, CollaboratorConnectionName, CollaboratorEdgeName>>
    {
        let request = PageArgs::forward(first, after).request(graph::COLLABORATORS_LIST)?;
        let page = graph::collaborators(db(ctx), self.record.id, min_shared_works.unwrap_or(1), &request).await?;
        Ok(connection_with(graph::COLLABORATORS_LIST, page, |c| {
            (
                Researcher::new(c.researcher),
                CollaboratorEdgeFields {
                    shared_works: c.shared_works,
                    first_year: c.first_year,
                    last_year: c.last_year,
                },
            )
        }))
    }

    /// Other researchers with the most similar topic profiles.
    #[graphql(complexity = "crate::graphql::similar_cost(first, child_complexity)")]
    async fn similar_researchers(&self, ctx: &Context<'_>, first: Option<i32>) -> GqlResult<Vec<SimilarResearcher>> {
        SimilarResearcher::for_researcher(ctx, self.record.id, first).await
    }

    /// The researcher's neighbourhood: works, co-authors, topics, institutions.
    #[graphql(complexity = "crate::graphql::graph_cost(depth, limit, child_complexity)")]
    async fn research_graph(
        &self,
        ctx: &Context<'_>,
        depth: Option<i32>,
        limit: Option<i32>,
    ) -> GqlResult<ResearchGraph> {
        ResearchGraph::around(ctx, self.record.id, depth, limit).await
    }

    async fn stats(&self, ctx: &Context<'_>) -> GqlResult<ResearcherStats> {
        let stats = load_one::<StatsByResearcher>(ctx, self.record.id).await?.unwrap_or_default();
        Ok(ResearcherStats {
            first_year: stats.first_year,
            last_year: stats.last_year,
            works_by_year: stats.works_by_year.into_iter().map(|(year, count)| YearCount { year, count }).collect(),
            works_by_kind: stats
                .works_by_kind
                .into_iter()
                .map(|(kind, count)| KindCount { kind: kind.into(), count })
                .collect(),
            venues: stats.venues.into_iter().map(|(venue, count)| VenueCount { venue, count }).collect(),
        })
    }
}

pub struct CollaboratorConnectionName;
impl ConnectionNameType for CollaboratorConnectionName {
    fn type_name<T: OutputType>() -> String {
        "CollaboratorConnection".to_owned()
    }
}

pub struct CollaboratorEdgeName;
impl EdgeNameType for CollaboratorEdgeName {
    fn type_name<T: OutputType>() -> String {
        "CollaboratorEdge".to_owned()
    }
}

#[derive(SimpleObject)]
pub struct CollaboratorEdgeFields {
    /// Works both researchers authored.
    pub shared_works: i64,
    /// Year of their first shared work.
    pub first_year: Option<i32>,
    /// Year of their latest shared work.
    pub last_year: Option<i32>,
}

pub struct ExternalId(researchers::ExternalId);

#[Object]
impl ExternalId {
    async fn scheme(&self) -> ExternalIdScheme {
        self.0.scheme.into()
    }

    async fn value(&self) -> &str {
        &self.0.value
    }

    async fn url(&self) -> Option<String> {
        self.0.scheme.url(&self.0.value)
    }
}

/// A quick read of how far a record can be trusted; see `trust.signals`.
pub struct TrustSnapshot(trust::TrustSnapshot);

#[Object]
impl TrustSnapshot {
    /// 0..100: the sum of the signals' points, capped at 100.
    async fn score(&self) -> i32 {
        self.0.score
    }

    async fn level(&self) -> TrustLevel {
        self.0.level.into()
    }

    /// 0: no external identifier; 1: linked to an external scholarly source;
    /// 2: claimed, approved by a moderator; 3: claimed with a verified ORCID iD.
    async fn verification_level(&self) -> i32 {
        self.0.verification_level
    }

    /// The signals that earned points.
    async fn signals(&self) -> Vec<TrustSignal> {
        self.0.signals.iter().map(|s| TrustSignal { key: s.key, label: s.label, points: s.points }).collect()
    }
}

#[derive(SimpleObject)]
pub struct TrustSignal {
    pub key: &'static str,
    pub label: &'static str,
    pub points: i32,
}

pub struct ResearcherCounts(researchers::ResearcherCounts);

#[Object]
impl ResearcherCounts {
    /// Works the researcher authored.
    async fn works(&self) -> i32 {
        self.0.works
    }

    /// Users following the researcher.
    async fn followers(&self) -> i32 {
        self.0.followers
    }

    /// Distinct topics over the researcher's works.
    async fn topics(&self) -> i64 {
        i64::from(self.0.topics)
    }

    /// Distinct co-authors.
    async fn collaborators(&self) -> i32 {
        self.0.collaborators
    }

    /// Co-authors with at least two shared works.
    async fn close_collaborators(&self) -> i32 {
        self.0.close_collaborators
    }
}

#[derive(SimpleObject)]
pub struct ResearcherTopic {
    pub topic: Topic,
    /// The researcher's works on this topic.
    pub works_count: i64,
    /// `worksCount` over the researcher's works count, 0..1.
    pub share: f64,
}

#[derive(SimpleObject)]
pub struct ResearcherStats {
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
    /// Ascending by year.
    pub works_by_year: Vec<YearCount>,
    /// Most frequent first.
    pub works_by_kind: Vec<KindCount>,
    /// Most frequent first.
    pub venues: Vec<VenueCount>,
}

#[derive(SimpleObject)]
pub struct YearCount {
    pub year: i32,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct KindCount {
    pub kind: WorkKind,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct VenueCount {
    pub venue: String,
    pub count: i64,
}
