//! The trust snapshot of a researcher record: a 0..100 score summed from
//! documented signals, its band, and the verification level.
//!
//! | signal            | points                                     |
//! |-------------------|--------------------------------------------|
//! | `external_source` | 15 when linked to arXiv, OpenAlex, ORCID or a DOI |
//! | `orcid`           | 10 when an ORCID iD is on the record       |
//! | `works`           | 1 per work, at most 20                     |
//! | `followers`       | 1 per 10 followers, at most 10             |
//! | `claimed`         | 20 when a moderator approved the claim; 30 when verified by ORCID |
//!
//! Verification level: 0 no external identifier; 1 linked to an external
//! scholarly source; 2 claimed, approved by a moderator; 3 claimed with an
//! ORCID iD the identity provider verified.

use super::claims::ClaimMethod;
use super::researchers::{RecordStanding, Researcher};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustLevel {
    New,
    Emerging,
    Established,
    Trusted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSignal {
    pub key: &'static str,
    pub label: &'static str,
    pub points: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSnapshot {
    pub score: i32,
    pub level: TrustLevel,
    pub verification_level: i32,
    pub signals: Vec<TrustSignal>,
}

pub fn verification_level(record: &Researcher, standing: &RecordStanding) -> i32 {
    match standing.approved_method {
        Some(ClaimMethod::Orcid) => 3,
        Some(ClaimMethod::Moderator) => 2,
        None if record.orcid.is_some() || standing.has_external_id || standing.has_linked_work => 1,
        None => 0,
    }
}

pub fn level_for(score: i32) -> TrustLevel {
    match score {
        ..=19 => TrustLevel::New,
        20..=39 => TrustLevel::Emerging,
        40..=69 => TrustLevel::Established,
        _ => TrustLevel::Trusted,
    }
}

/// Computes the snapshot; only signals that earn points are listed.
pub fn snapshot(record: &Researcher, standing: &RecordStanding) -> TrustSnapshot {
    let verification_level = verification_level(record, standing);
    let candidates = [
        TrustSignal {
            key: "external_source",
            label: "Linked to an external scholarly source",
            points: if verification_level >= 1 { 15 } else { 0 },
        },
        TrustSignal { key: "orcid", label: "ORCID iD on record", points: if record.orcid.is_some() { 10 } else { 0 } },
        TrustSignal {
            key: "works",
            label: "Published works (1 point each, up to 20)",
            points: record.counts.works.clamp(0, 20),
        },
        TrustSignal {
            key: "followers",
            label: "Followers (1 point per 10, up to 10)",
            points: (record.counts.followers / 10).clamp(0, 10),
        },
        match verification_level {
            3 => TrustSignal { key: "claimed", label: "Claimed with a verified ORCID iD", points: 30 },
            2 => TrustSignal { key: "claimed", label: "Claimed, approved by a moderator", points: 20 },
            _ => TrustSignal { key: "claimed", label: "Claimed", points: 0 },
        },
    ];
    let signals: Vec<TrustSignal> = candidates.into_iter().filter(|s| s.points > 0).collect();
    let score = signals.iter().map(|s| s.points).sum::<i32>().min(100);
    TrustSnapshot { score, level: level_for(score), verification_level, signals }
}
