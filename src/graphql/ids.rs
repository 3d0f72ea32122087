//! Opaque global ids: base64url of `Type:number`. They round-trip through
//! `node(id:)`; a malformed id, or one of another type where a specific type
//! is expected, is `BAD_USER_INPUT`.
use async_graphql::ID;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Researcher,
    Work,
    Topic,
    Institution,
    User,
    Claim,
    CollaborationInvite,
}

impl NodeType {
    const ALL: [NodeType; 7] = [
        Self::Researcher,
        Self::Work,
        Self::Topic,
        Self::Institution,
        Self::User,
        Self::Claim,
        Self::CollaborationInvite,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Researcher => "Researcher",
            Self::Work => "Work",
            Self::Topic => "Topic",
            Self::Institution => "Institution",
            Self::User => "User",
            Self::Claim => "Claim",
            Self::CollaborationInvite => "CollaborationInvite",
        }
    }
}

pub fn encode(node_type: NodeType, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", node_type.name())))
}

pub fn decode(id: &str) -> AppResult<(NodeType, i64)> {
    let invalid = || AppError::bad_input(format!("`{id}` is not a valid id"));
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| invalid())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let (name, number) = text.split_once(':').ok_or_else(invalid)?;
    let node_type = NodeType::ALL.into_iter().find(|t| t.name() == name).ok_or_else(invalid)?;
    let number: i64 = number.parse().map_err(|_| invalid())?;
    if number <= 0 {
        return Err(invalid());
    }
    Ok((node_type, number))
}

/// Decodes an id that must name a `expected`.
pub fn decode_as(id: &str, expected: NodeType) -> AppResult<i64> {
    match decode(id)? {
        (node_type, number) if node_type == expected => Ok(number),
        _ => Err(AppError::bad_input(format!("`{id}` is not a {} id", expected.name()))),
    }
}
