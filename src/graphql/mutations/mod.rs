//! Root mutation fields: each decodes its input, checks who is asking, and
//! hands over to one domain call that runs in one transaction.
use async_graphql::{Context, Object};

use crate::domain::{claims, follows, invites, researchers};
use crate::error::AppError;
use crate::graphql::ids::{decode_as, NodeType};
use crate::graphql::types::*;
use crate::graphql::viewer::require;
use crate::state::db;

type GqlResult<T> = async_graphql::Result<T>;

#[derive(Default)]
pub struct Mutation;

async fn researcher(ctx: &Context<'_>, id: i64) -> Result<Researcher, AppError> {
    researchers::by_ids(db(ctx), &[id])
        .await?
        .remove(&id)
        .map(Researcher::new)
        .ok_or_else(|| AppError::not_found("researcher"))
}

#[Object]
impl Mutation {
    /// Follows a researcher; following again changes nothing.
    async fn follow_researcher(
        &self,
        ctx: &Context<'_>,
        input: FollowResearcherInput,
    ) -> GqlResult<FollowResearcherPayload> {
        let viewer = require(ctx)?;
        let id = decode_as(&input.researcher_id, NodeType::Researcher)?;
        follows::follow(db(ctx), viewer.user_id, id).await?;
        Ok(FollowResearcherPayload { researcher: researcher(ctx, id).await? })
    }

    /// Unfollows a researcher; unfollowing again changes nothing.
    async fn unfollow_researcher(
        &self,
        ctx: &Context<'_>,
        input: UnfollowResearcherInput,
    ) -> GqlResult<UnfollowResearcherPayload> {
        let viewer = require(ctx)?;
        let id = decode_as(&input.researcher_id, NodeType::Researcher)?;
        follows::unfollow(db(ctx), viewer.user_id, id).await?;
        Ok(UnfollowResearcherPayload { researcher: researcher(ctx, id).await? })
    }

    /// Claims an author record as one's own: approved at once when the
    /// token's verified ORCID iD matches the record's, pending otherwise.
    async fn claim_researcher(
        &self,
        ctx: &Context<'_>,
        input: ClaimResearcherInput,
    ) -> GqlResult<ClaimResearcherPayload> {
        let viewer = require(ctx)?;
        let id = decode_as(&input.researcher_id, NodeType::Researcher)?;
        let claimant = claims::Claimant { user_id: viewer.user_id, orcid: viewer.orcid.as_deref() };
        let claim = claims::claim(db(ctx), &claimant, id, input.message).await?;
        Ok(ClaimResearcherPayload { claim: Claim(claim) })
    }

    /// Withdraws one's own pending or approved claim.
    async fn withdraw_claim(&self, ctx: &Context<'_>, input: WithdrawClaimInput) -> GqlResult<WithdrawClaimPayload> {
        let viewer = require(ctx)?;
        let id = decode_as(&input.claim_id, NodeType::Claim)?;
        let claim = claims::withdraw(db(ctx), viewer.user_id, id).await?;
        Ok(WithdrawClaimPayload { claim: Claim(claim) })
    }

    /// Approves or rejects a pending claim (moderators only).
    async fn review_claim(&self, ctx: &Context<'_>, input: ReviewClaimInput) -> GqlResult<ReviewClaimPayload> {
        let viewer = require(ctx)?;
        if !viewer.is_moderator() {
            return Err(AppError::Forbidden("only moderators review claims".to_owned()).into());
        }
        let id = decode_as(&input.claim_id, NodeType::Claim)?;
        let decision = match input.decision {
            ClaimDecision::Approve => claims::Decision::Approve,
            ClaimDecision::Reject => claims::Decision::Reject,
        };
        let claim = claims::review(db(ctx), viewer.user_id, id, decision, input.note).await?;
        Ok(ReviewClaimPayload { claim: Claim(claim) })
    }

    /// Edits a record's profile (its approved owner only).
    async fn update_researcher_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateResearcherProfileInput,
    ) -> GqlResult<UpdateResearcherProfilePayload> {
        let viewer = require(ctx)?;
        let id = decode_as(&input.researcher_id, NodeType::Researcher)?;
        let updated = researchers::update_profile(db(ctx), viewer.user_id, id, input.open_to_collaborate).await?;
        Ok(UpdateResearcherProfilePayload { researcher: Researcher::new(updated) })
    }

    /// Invites a claimed researcher to collaborate.
    async fn send_collaboration_invite(
        &self,
        ctx: &Context<'_>,
        input: SendCollaborationInviteInput,
    ) -> GqlResult<SendCollaborationInvitePayload> {
        let viewer = require(ctx)?;
        let id = decode_as(&input.researcher_id, NodeType::Researcher)?;
        let invitation = invites::send(db(ctx), viewer.user_id, id, &input.message).await?;
        Ok(SendCollaborationInvitePayload { invitation: CollaborationInvite(invitation) })
    }

    /// Accepts or declines an invitation to one's record, once.
    async fn respond_to_collaboration_invite(
        &self,
        ctx: &Context<'_>,
        input: RespondToCollaborationInviteInput,
    ) -> GqlResult<RespondToCollaborationInvitePayload> {
        let viewer = require(ctx)?;
        let id = decode_as(&input.invitation_id, NodeType::CollaborationInvite)?;
        let invitation = invites::respond(db(ctx), viewer.user_id, id, input.accept).await?;
        Ok(RespondToCollaborationInvitePayload { invitation: CollaborationInvite(invitation) })
    }
}
