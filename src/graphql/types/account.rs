//! Signed-in users and what they do to records: claims, invitations, and
//! the mutation inputs and payloads.
use super::Researcher;
use crate::domain::researcher_events::{self, EventKind};
use crate::domain::{claims, invites};
use crate::graphql::ids::{encode, NodeType};
use crate::graphql::loaders::{load_one, ResearcherById};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

type GqlResult<T> = async_graphql::Result<T>;

async fn researcher(ctx: &Context<'_>, id: i64) -> GqlResult<Researcher> {
    load_one::<ResearcherById>(ctx, id)
        .await?
        .map(Researcher::new)
        .ok_or_else(|| crate::error::AppError::not_found("researcher").into())
}

/// A signed-in user, as others see them.
#[derive(Clone)]
pub struct User {
    pub id: i64,
}

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        encode(NodeType::User, self.id)
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "claims::ClaimState")]
pub enum ClaimState {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "claims::ClaimMethod")]
pub enum ClaimMethod {
    /// The token's verified ORCID iD matched the record's.
    Orcid,
    /// A moderator approved the claim.
    Moderator,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClaimDecision {
    Approve,
    Reject,
}

/// A user's claim that an author record is theirs.
#[derive(Clone)]
pub struct Claim(pub claims::Claim);

#[Object]
impl Claim {
    pub async fn id(&self) -> ID {
        encode(NodeType::Claim, self.0.id)
    }

    async fn status(&self) -> ClaimState {
        self.0.state.into()
    }

    /// How an approved claim was verified.
    async fn method(&self) -> Option<ClaimMethod> {
        self.0.method.map(Into::into)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }

    async fn researcher(&self, ctx: &Context<'_>) -> GqlResult<Researcher> {
        researcher(ctx, self.0.researcher_id).await
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "invites::InviteState")]
pub enum InviteStatus {
    Pending,
    Accepted,
    Declined,
}

/// A signed-in user's invitation to collaborate, sent to a claimed record.
#[derive(Clone)]
pub struct CollaborationInvite(pub invites::Invite);

#[Object]
impl CollaborationInvite {
    pub async fn id(&self) -> ID {
        encode(NodeType::CollaborationInvite, self.0.id)
    }

    async fn message(&self) -> &str {
        &self.0.message
    }

    async fn status(&self) -> InviteStatus {
        self.0.state.into()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn from(&self) -> User {
        User { id: self.0.from_user_id }
    }

    async fn researcher(&self, ctx: &Context<'_>) -> GqlResult<Researcher> {
        researcher(ctx, self.0.researcher_id).await
    }
}

#[derive(InputObject)]
pub struct FollowResearcherInput {
    pub researcher_id: ID,
}

#[derive(SimpleObject)]
pub struct FollowResearcherPayload {
    pub researcher: Researcher,
}

#[derive(InputObject)]
pub struct UnfollowResearcherInput {
    pub researcher_id: ID,
}

#[derive(SimpleObject)]
pub struct UnfollowResearcherPayload {
    pub researcher: Researcher,
}

#[derive(InputObject)]
pub struct ClaimResearcherInput {
    pub researcher_id: ID,
    /// A note for the moderator who reviews the claim.
    pub message: Option<String>,
}

#[derive(SimpleObject)]
pub struct ClaimResearcherPayload {
    pub claim: Claim,
}

#[derive(InputObject)]
pub struct WithdrawClaimInput {
    pub claim_id: ID,
}

#[derive(SimpleObject)]
pub struct WithdrawClaimPayload {
    pub claim: Claim,
}

#[derive(InputObject)]
pub struct ReviewClaimInput {
    pub claim_id: ID,
    pub decision: ClaimDecision,
    pub note: Option<String>,
}

#[derive(SimpleObject)]
pub struct ReviewClaimPayload {
    pub claim: Claim,
}

#[derive(InputObject)]
pub struct UpdateResearcherProfileInput {
    pub researcher_id: ID,
    pub open_to_collaborate: Option<bool>,
}

#[derive(SimpleObject)]
pub struct UpdateResearcherProfilePayload {
    pub researcher: Researcher,
}

#[derive(InputObject)]
pub struct SendCollaborationInviteInput {
    pub researcher_id: ID,
    /// 1..2000 characters.
    pub message: String,
}

#[derive(SimpleObject)]
pub struct SendCollaborationInvitePayload {
    pub invitation: CollaborationInvite,
}

#[derive(InputObject)]
pub struct RespondToCollaborationInviteInput {
    pub invitation_id: ID,
    pub accept: bool,
}

#[derive(SimpleObject)]
pub struct RespondToCollaborationInvitePayload {
    pub invitation: CollaborationInvite,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResearcherEventKind {
    Followed,
    Unfollowed,
    ClaimUpdated,
    ProfileUpdated,
    WorksAdded,
}

impl From<EventKind> for ResearcherEventKind {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Followed => Self::Followed,
            EventKind::Unfollowed => Self::Unfollowed,
            EventKind::ClaimUpdated => Self::ClaimUpdated,
            EventKind::ProfileUpdated => Self::ProfileUpdated,
            EventKind::WorksAdded => Self::WorksAdded,
        }
    }
}

// What happened to a researcher record, and the record after it.
#[derive(SimpleObject)]
pub struct ResearcherEvent {
    pub kind: ResearcherEventKind,
    pub researcher: Researcher,
}

impl From<&researcher_events::ResearcherEvent> for ResearcherEvent {
    fn from(event: &researcher_events::ResearcherEvent) -> Self {
        let state = &event.researcher;
        Self {
            kind: event.kind.into(),
            researcher: Researcher::with_shared_parts(state.record.clone(), state.parts.clone()),
        }
    }
}
