//! What every request handler shares.
use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::domain::changes::ChangeFeed;
use crate::domain::researcher_events::LiveEvents;
use crate::graphql::limits::{DocumentGuard, Pricer, RateLimiter};
use crate::graphql::persisted::PersistedQueries;
use crate::graphql::AppSchema;
use crate::http::ws::Sockets;
pub use crate::metrics::Metrics;
use crate::search::{Search, SimilarIndex, TantivySearch};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub config: Arc<Config>,
    /// This instance's metrics (its own registry: see `crate::metrics`).
    pub metrics: Arc<Metrics>,
    /// Verifies bearer tokens; `None` when no key is configured (then every
    /// request with a token is refused).
    pub auth: Option<Authenticator>,
    /// The document caps every operation passes before it is validated.
    pub guard: Arc<DocumentGuard>,
    /// Documents registered by their hash (automatic persisted queries).
    pub persisted: Arc<PersistedQueries>,
    /// Per-client cost budgets, shared with the pricer's cost charge.
    pub rate_limiter: Arc<RateLimiter>,
    /// Validates every request with all the rules and charges its cost,
    /// before `schema` runs it.
    pub pricer: Arc<Pricer>,
    /// This instance's search index (also in the schema's data, as `dyn Search`).
    pub search: TantivySearch,
    /// The topic profiles similar researchers are found in.
    pub similar: SimilarIndex,
    /// The change log as this instance follows it.
    pub changes: Arc<ChangeFeed>,
    /// Live researcher events, fanned out from `changes`.
    pub live: Arc<LiveEvents>,
    /// The open WebSocket connections: their cap, and their close at shutdown.
    pub sockets: Arc<Sockets>,
}

/// The database connection the schema was built with.
pub fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

/// The search engine the schema was built with.
pub fn search<'a>(ctx: &Context<'a>) -> &'a dyn Search {
    ctx.data_unchecked::<Arc<dyn Search>>().as_ref()
}

/// The live researcher events the schema was built with.
pub fn live<'a>(ctx: &Context<'a>) -> &'a LiveEvents {
    ctx.data_unchecked::<Arc<LiveEvents>>().as_ref()
}

/// The topic profiles the schema was built with.
pub fn similar<'a>(ctx: &Context<'a>) -> &'a SimilarIndex {
    ctx.data_unchecked::<SimilarIndex>()
}
