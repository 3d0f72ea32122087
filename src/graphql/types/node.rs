use async_graphql::{Interface, ID};

use super::{Claim, CollaborationInvite, Institution, Researcher, Topic, User, Work};

/// Anything with a global id that `node(id:)` resolves.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Researcher(Researcher),
    Work(Work),
    Topic(Topic),
    Institution(Institution),
    User(User),
    Claim(Claim),
    CollaborationInvite(CollaborationInvite),
}
