//! What only signed-in users see.
use async_graphql::{Context, Object, ID};

use crate::domain::researchers::{self, ResearcherFilter, ResearcherOrder, ResearcherOrderField};
use crate::domain::{claims, invites};
use crate::error::AppError;
use crate::graphql::ids::{encode, NodeType};
use crate::graphql::pagination::{connection, PageArgs, RelayConnection};
use crate::graphql::types::{Claim, ClaimState, CollaborationInvite, Researcher};
use crate::graphql::viewer::{self, RequestViewer};
use crate::state::db;

type GqlResult<T> = async_graphql::Result<T>;

#[derive(Default)]
pub struct ViewerQuery;

/// The signed-in user's own view.
pub struct Viewer(RequestViewer);

#[Object]
impl Viewer {
    /// The user's global id (a `User`).
    async fn id(&self) -> ID {
        encode(NodeType::User, self.0.user_id)
    }

    /// Roles from the token, such as `moderator`.
    async fn roles(&self) -> &[String] {
        &self.0.roles
    }

    /// Researchers the user follows, by name.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn following(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<RelayConnection<Researcher>> {
        let filter = ResearcherFilter { followed_by: Some(self.0.user_id), ..Default::default() };
        let order = ResearcherOrder { field: ResearcherOrderField::DisplayName, descending: false };
        let key = format!("following:{}", order.list_key());
        let page = researchers::list(db(ctx), &filter, order, &PageArgs::forward(first, after).request(&key)?).await?;
        Ok(connection(&key, page, Researcher))
    }

    /// The user's claims, newest first.
    async fn claims(&self, ctx: &Context<'_>) -> GqlResult<Vec<Claim>> {
        Ok(claims::of_user(db(ctx), self.0.user_id).await?.into_iter().map(Claim).collect())
    }

    /// Invitations received by the records the user owns, newest first.
    async fn invitations(&self, ctx: &Context<'_>) -> GqlResult<Vec<CollaborationInvite>> {
        Ok(invites::received_by(db(ctx), self.0.user_id).await?.into_iter().map(CollaborationInvite).collect())
    }
}

#[Object]
impl ViewerQuery {
    /// The signed-in user; null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<Viewer> {
        viewer::viewer(ctx).cloned().map(Viewer)
    }

    /// The moderators' review queue, oldest first; all claims without `status`.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn claims(
        &self,
        ctx: &Context<'_>,
        status: Option<ClaimState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<RelayConnection<Claim>> {
        let viewer = viewer::require(ctx)?;
        if !viewer.is_moderator() {
            return Err(AppError::Forbidden("only moderators see the claims queue".to_owned()).into());
        }
        let request = PageArgs::forward(first, after).request(claims::QUEUE_LIST)?;
        let page = claims::queue(db(ctx), status.map(Into::into), &request).await?;
        Ok(connection(claims::QUEUE_LIST, page, Claim))
    }
}
