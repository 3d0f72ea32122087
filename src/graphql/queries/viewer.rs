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
        Ok(connection(&key, page, Researcher::new))
    }

    /// The user's newest claims, newest first: `first` 1..100, default 50.
    #[graphql(complexity = "crate::graphql::list_cost(viewer_list_size(first), child_complexity)")]
    async fn claims(&self, ctx: &Context<'_>, first: Option<i32>) -> GqlResult<Vec<Claim>> {
        let limit = viewer_list_limit(first)?;
        Ok(claims::of_user(db(ctx), self.0.user_id, limit).await?.into_iter().map(Claim).collect())
    }

    /// The newest invitations received by the records the user owns, newest
    /// first: `first` 1..100, default 50.
    #[graphql(complexity = "crate::graphql::list_cost(viewer_list_size(first), child_complexity)")]
    async fn invitations(&self, ctx: &Context<'_>, first: Option<i32>) -> GqlResult<Vec<CollaborationInvite>> {
        let limit = viewer_list_limit(first)?;
        Ok(invites::received_by(db(ctx), self.0.user_id, limit).await?.into_iter().map(CollaborationInvite).collect())
    }
}

/// The viewer's plain lists (claims, invitations) stay lists, as the
/// contract selects them, but bounded.
const VIEWER_LIST_DEFAULT: i32 = 50;

fn viewer_list_size(first: Option<i32>) -> usize {
    first.unwrap_or(VIEWER_LIST_DEFAULT).clamp(1, crate::graphql::pagination::MAX_PAGE_SIZE) as usize
}

fn viewer_list_limit(first: Option<i32>) -> Result<u64, AppError> {
    let first = first.unwrap_or(VIEWER_LIST_DEFAULT);
    let max = crate::graphql::pagination::MAX_PAGE_SIZE;
    if !(1..=max).contains(&first) {
        return Err(AppError::bad_input(format!("`first` must be between 1 and {max}, got {first}")));
    }
    Ok(first as u64)
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
