//! What only signed-in users see.
use async_graphql::{Context, Object};

use crate::error::AppError;
use crate::graphql::pagination::RelayConnection;
use crate::graphql::types::{Claim, ClaimState, CollaborationInvite, Researcher};

type GqlResult<T> = async_graphql::Result<T>;

#[derive(Default)]
pub struct ViewerQuery;

/// The signed-in user's own view.
pub struct Viewer;

#[Object]
impl Viewer {
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID::default()
    }

    async fn roles(&self) -> Vec<String> {
        Vec::new()
    }

    async fn following(&self, _first: Option<i32>, _after: Option<String>) -> GqlResult<RelayConnection<Researcher>> {
        Err(AppError::Unauthenticated("sign in to see who you follow".to_owned()).into())
    }

    async fn claims(&self) -> Vec<Claim> {
        Vec::new()
    }

    async fn invitations(&self) -> Vec<CollaborationInvite> {
        Vec::new()
    }
}

#[Object]
impl ViewerQuery {
    /// The signed-in user; null when anonymous.
    async fn viewer(&self, _ctx: &Context<'_>) -> Option<Viewer> {
        None
    }

    /// The moderators' review queue, oldest first.
    async fn claims(
        &self,
        _ctx: &Context<'_>,
        _status: Option<ClaimState>,
        _first: Option<i32>,
        _after: Option<String>,
    ) -> GqlResult<RelayConnection<Claim>> {
        Err(AppError::Unauthenticated("sign in as a moderator to see claims".to_owned()).into())
    }
}
