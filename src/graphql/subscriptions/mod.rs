//! Root subscription fields.
use async_graphql::{Context, Subscription, ID};
use futures_util::stream::{self, Stream};

use crate::error::AppError;
use crate::graphql::ids::{decode_as, NodeType};
use crate::graphql::types::ResearcherEvent;

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Live changes to a researcher record (follows, claims, profile edits).
    /// Events cross server instances through PostgreSQL; they arrive with the
    /// subscription issue, until then the stream ends at once.
    async fn researcher_events(
        &self,
        _ctx: &Context<'_>,
        researcher_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = ResearcherEvent>> {
        decode_as(&researcher_id, NodeType::Researcher)?;
        Err::<stream::Empty<ResearcherEvent>, _>(
            AppError::Forbidden("researcherEvents is not available yet".to_owned()).into(),
        )
    }
}
