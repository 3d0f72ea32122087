//! Root subscription fields.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_graphql::{Context, Subscription, ID};
use futures_util::stream::{self, Stream};

use crate::domain::researchers;
use crate::graphql::ids::{decode_as, NodeType};
use crate::graphql::types::ResearcherEvent;
use crate::state::{db, live};

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Live changes to a researcher record: follows, claims, profile edits
    /// and new works, each with the record as it is after the change. Events
    /// raised on any server instance, or by an import, reach every instance.
    async fn researcher_events(
        &self,
        ctx: &Context<'_>,
        researcher_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = ResearcherEvent>> {
        let id = decode_as(&researcher_id, NodeType::Researcher)?;
        // Subscribed before the check, so that nothing between the two is missed.
        let subscription = live(ctx).subscribe(id);
        researchers::ensure_exists(db(ctx), id).await?;
        let missed = ctx.data_opt::<MissedEvents>().cloned();
        Ok(stream::unfold((subscription, missed), |(mut subscription, missed)| async move {
            let (event, skipped) = subscription.next().await?;
            if let Some(missed) = &missed {
                missed.add(skipped);
            }
            Some((ResearcherEvent::from(event.as_ref()), (subscription, missed)))
        }))
    }
}

/// The events a subscription skipped because its client fell behind, shared
/// with the transport, which reports them with the next response as
/// `extensions.missedEvents`.
#[derive(Clone, Default)]
pub struct MissedEvents(Arc<AtomicU64>);

impl MissedEvents {
    fn add(&self, skipped: u64) {
        self.0.fetch_add(skipped, Ordering::Relaxed);
    }

    /// The events skipped since the last call.
    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}
