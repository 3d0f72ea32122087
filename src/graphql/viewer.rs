//! The signed-in user of a request, as resolvers see it. The HTTP layer
//! verifies the token and puts a `RequestViewer` into the request's data;
//! a request without one is anonymous.
use async_graphql::dataloader::DataLoader;
use async_graphql::Context;

use crate::error::AppError;
use crate::graphql::loaders::FollowsByPair;

pub const MODERATOR_ROLE: &str = "moderator";

#[derive(Debug, Clone)]
pub struct RequestViewer {
    pub user_id: i64,
    /// The ORCID iD the identity provider verified (the token's `orcid`).
    pub orcid: Option<String>,
    pub roles: Vec<String>,
}

impl RequestViewer {
    pub fn is_moderator(&self) -> bool {
        self.roles.iter().any(|r| r == MODERATOR_ROLE)
    }
}

pub fn viewer<'a>(ctx: &Context<'a>) -> Option<&'a RequestViewer> {
    ctx.data_opt::<RequestViewer>()
}

/// The viewer, or `UNAUTHENTICATED` for an anonymous request.
pub fn require<'a>(ctx: &Context<'a>) -> Result<&'a RequestViewer, AppError> {
    viewer(ctx).ok_or_else(|| AppError::Unauthenticated("sign in to do this".to_owned()))
}

/// Whether the viewer follows `researcher_id`; false when anonymous.
pub async fn is_following(ctx: &Context<'_>, researcher_id: i64) -> async_graphql::Result<bool> {
    let Some(viewer) = viewer(ctx) else { return Ok(false) };
    let loader = ctx.data_unchecked::<DataLoader<FollowsByPair>>();
    Ok(loader.load_one((viewer.user_id, researcher_id)).await?.is_some())
}
