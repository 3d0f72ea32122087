//! Root mutation fields. Every one needs a signed-in user; until sign-in
//! lands (the authentication issue) they answer `UNAUTHENTICATED`.
use async_graphql::{Context, Object};

use crate::error::AppError;
use crate::graphql::types::*;

type GqlResult<T> = async_graphql::Result<T>;

#[derive(Default)]
pub struct Mutation;

fn sign_in_required<T>() -> GqlResult<T> {
    Err(AppError::Unauthenticated("sign in to do this".to_owned()).into())
}

#[Object]
impl Mutation {
    async fn follow_researcher(
        &self,
        _ctx: &Context<'_>,
        _input: FollowResearcherInput,
    ) -> GqlResult<FollowResearcherPayload> {
        sign_in_required()
    }

    async fn unfollow_researcher(
        &self,
        _ctx: &Context<'_>,
        _input: UnfollowResearcherInput,
    ) -> GqlResult<UnfollowResearcherPayload> {
        sign_in_required()
    }

    async fn claim_researcher(
        &self,
        _ctx: &Context<'_>,
        _input: ClaimResearcherInput,
    ) -> GqlResult<ClaimResearcherPayload> {
        sign_in_required()
    }

    async fn withdraw_claim(&self, _ctx: &Context<'_>, _input: WithdrawClaimInput) -> GqlResult<WithdrawClaimPayload> {
        sign_in_required()
    }

    async fn review_claim(&self, _ctx: &Context<'_>, _input: ReviewClaimInput) -> GqlResult<ReviewClaimPayload> {
        sign_in_required()
    }

    async fn update_researcher_profile(
        &self,
        _ctx: &Context<'_>,
        _input: UpdateResearcherProfileInput,
    ) -> GqlResult<UpdateResearcherProfilePayload> {
        sign_in_required()
    }

    async fn send_collaboration_invite(
        &self,
        _ctx: &Context<'_>,
        _input: SendCollaborationInviteInput,
    ) -> GqlResult<SendCollaborationInvitePayload> {
        sign_in_required()
    }

    async fn respond_to_collaboration_invite(
        &self,
        _ctx: &Context<'_>,
        _input: RespondToCollaborationInviteInput,
    ) -> GqlResult<RespondToCollaborationInvitePayload> {
        sign_in_required()
    }
}
