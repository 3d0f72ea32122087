//! The GraphQL layer: schema building and limits; types, root queries,
//! mutations and subscriptions, loaders, and the one pagination mechanism.
pub mod error_codes;
pub mod flat_list;
pub mod ids;
pub mod introspection;
pub mod limits;
pub mod loaders;
pub mod mutations;
pub mod pagination;
pub mod persisted;
pub mod queries;
pub mod subscriptions;
pub mod types;
pub mod viewer;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Schema, SchemaBuilder as GqlSchemaBuilder, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::domain::researcher_events::LiveEvents;
use crate::metrics::Metrics;
use crate::search::{Search, SimilarIndex};
use mutations::Mutation;
use queries::Query;
use subscriptions::SubscriptionRoot;

pub type AppSchema = Schema<Query, Mutation, SubscriptionRoot>;
pub type SchemaBuilder = GqlSchemaBuilder<Query, Mutation, SubscriptionRoot>;

/// The cost of a connection field: its page size times its selection, so
/// that nesting big pages inside big pages hits the complexity limit.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).unwrap_or(pagination::DEFAULT_PAGE_SIZE).clamp(1, pagination::MAX_PAGE_SIZE);
    list_cost(size as usize, child_complexity)
}

/// The cost of a list of at most `rows` items, each costing `child_complexity`.
pub fn list_cost(rows: usize, child_complexity: usize) -> usize {
    rows.saturating_mul(child_complexity.max(1))
}

/// Rows a byline is priced at. Most bylines are far shorter; the few with
/// hundreds of authors cost more than they are charged, within the time limits.
pub const PRICED_BYLINE: usize = 10;

/// Topics a work is priced at (works carry a handful).
pub const PRICED_WORK_TOPICS: usize = 5;

/// The cost of `similarResearchers`: its rows, plus the fixed work of
/// scoring candidates over the researcher's main topics.
pub fn similar_cost(first: Option<i32>, child_complexity: usize) -> usize {
    const SCORING: usize = 50;
    let rows = first.unwrap_or(5).clamp(1, pagination::MAX_PAGE_SIZE) as usize;
    SCORING + list_cost(rows, child_complexity)
}

/// The cost of `researchGraph`: it reads in proportion to its node `limit`
/// times its `depth`, and returns about as many edges as nodes; the
/// selection on each node or edge is scalars.
pub fn graph_cost(depth: Option<i32>, limit: Option<i32>, child_complexity: usize) -> usize {
    use crate::domain::research_graph::{DEFAULT_LIMIT, MAX_LIMIT};
    let depth = depth.unwrap_or(1).clamp(1, 2) as usize;
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    (2 * limit * depth).saturating_add(child_complexity)
}

/// The depth, complexity, recursion and directive limits every schema of
/// the service applies (a second line behind `limits::DocumentGuard`), and
/// introspection when it is turned off (a second line behind admission's
/// `introspection::refuse_introspection`).
pub(crate) fn with_limits(builder: SchemaBuilder, config: &Config) -> SchemaBuilder {
    let builder = builder
        .limit_depth(config.limits.max_depth)
        .limit_complexity(config.limits.max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(config.limits.max_directives);
    if config.web.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The schema as served: loaders and the database as data, and no
/// extension (see `limits::Pricer`, which validates every request with all
/// the rules and charges its cost first; this schema then only re-checks
/// what execution needs).
pub fn build_schema(
    db: &DatabaseConnection,
    config: &Config,
    metrics: &Metrics,
    search: Arc<dyn Search>,
    similar: SimilarIndex,
    live: Arc<LiveEvents>,
) -> AppSchema {
    let builder = Schema::build(Query::default(), Mutation, SubscriptionRoot)
        .data(db.clone())
        .data(search)
        .data(similar)
        .data(live)
        .validation_mode(ValidationMode::Fast);
    let builder = with_limits(builder, config);
    loaders::register(builder, db, metrics, Duration::from_micros(config.loader_delay_micros)).finish()
}

/// The SDL the code serves, as `export-schema` writes it to `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation, SubscriptionRoot).finish().sdl()
}
