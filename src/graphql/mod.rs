//! The GraphQL layer: schema building and limits; types, root queries,
//! mutations and subscriptions, loaders, and the one pagination mechanism.
mod error_codes;
pub mod ids;
pub mod loaders;
pub mod mutations;
pub mod pagination;
pub mod queries;
pub mod subscriptions;
pub mod types;
pub mod viewer;

use std::time::Duration;

use async_graphql::{Schema, SchemaBuilder as GqlSchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use mutations::Mutation;
use queries::Query;
use subscriptions::SubscriptionRoot;

pub type AppSchema = Schema<Query, Mutation, SubscriptionRoot>;
pub type SchemaBuilder = GqlSchemaBuilder<Query, Mutation, SubscriptionRoot>;

/// The cost of a connection field: its page size times its selection, so
/// that nesting big pages inside big pages hits the complexity limit.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).unwrap_or(pagination::DEFAULT_PAGE_SIZE).clamp(1, pagination::MAX_PAGE_SIZE);
    (size as usize).saturating_mul(child_complexity.max(1))
}

/// The schema as served: loaders and the database as data, depth and
/// complexity limits, and error codes on every error.
pub fn build_schema(db: &DatabaseConnection, config: &Config) -> AppSchema {
    let builder = Schema::build(Query::default(), Mutation, SubscriptionRoot)
        .data(db.clone())
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(20)
        .extension(error_codes::ErrorCodes);
    loaders::register(builder, db, Duration::from_micros(config.loader_delay_micros)).finish()
}

/// The SDL the code serves, as `export-schema` writes it to `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation, SubscriptionRoot).finish().sdl()
}
