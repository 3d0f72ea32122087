//! Filter and order inputs, converted to their domain forms (ids decoded).
use async_graphql::{InputObject, ID};

use super::{ClaimStatus, OrderDirection, ResearcherOrderField, WorkKind, WorkOrderField};
use crate::domain::{researchers, works};
use crate::error::AppResult;
use crate::graphql::ids::{decode_as, NodeType};

fn decode_opt(id: &Option<ID>, node_type: NodeType) -> AppResult<Option<i64>> {
    id.as_deref().map(|id| decode_as(id, node_type)).transpose()
}

#[derive(InputObject, Default)]
pub struct ResearcherFilter {
    /// Words of a name the researcher is known by, each a whole word or the
    /// start of one (as you type); case and accents are ignored ("mezard"
    /// finds Mézard). A search with no letter or digit matches nothing.
    pub search: Option<String>,
    /// Researchers with at least one work on this topic.
    pub topic_id: Option<ID>,
    /// Researchers affiliated with this institution.
    pub institution_id: Option<ID>,
    pub claim_status: Option<ClaimStatus>,
    pub open_to_collaborate: Option<bool>,
}

impl ResearcherFilter {
    pub fn to_domain(&self) -> AppResult<researchers::ResearcherFilter> {
        Ok(researchers::ResearcherFilter {
            search: self.search.clone(),
            topic_id: decode_opt(&self.topic_id, NodeType::Topic)?,
            institution_id: decode_opt(&self.institution_id, NodeType::Institution)?,
            claim_status: self.claim_status.map(Into::into),
            open_to_collaborate: self.open_to_collaborate,
            followed_by: None,
        })
    }
}

#[derive(InputObject)]
pub struct ResearcherOrder {
    pub field: ResearcherOrderField,
    pub direction: OrderDirection,
}

/// The order asked for, or the default for the filter.
pub fn researcher_order(
    order: Option<ResearcherOrder>,
    filter: &researchers::ResearcherFilter,
) -> researchers::ResearcherOrder {
    match order {
        Some(o) => researchers::ResearcherOrder { field: o.field.into(), descending: o.direction.descending() },
        None => researchers::ResearcherOrder::default_for(filter),
    }
}

#[derive(InputObject, Default)]
pub struct WorkFilter {
    /// Words of the title or abstract, all of them, as whole words; case and
    /// accents are ignored. A search with no letter or digit matches nothing.
    pub search: Option<String>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub kind: Option<WorkKind>,
    pub topic_id: Option<ID>,
    pub researcher_id: Option<ID>,
}

impl WorkFilter {
    pub fn to_domain(&self) -> AppResult<works::WorkFilter> {
        Ok(works::WorkFilter {
            search: self.search.clone(),
            year_from: self.year_from,
            year_to: self.year_to,
            kind: self.kind.map(Into::into),
            topic_id: decode_opt(&self.topic_id, NodeType::Topic)?,
            researcher_id: decode_opt(&self.researcher_id, NodeType::Researcher)?,
        })
    }
}

#[derive(InputObject, Default)]
pub struct ResearcherWorksFilter {
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub kind: Option<WorkKind>,
    pub topic_id: Option<ID>,
}

impl ResearcherWorksFilter {
    pub fn to_domain(&self, researcher_id: i64) -> AppResult<works::WorkFilter> {
        Ok(works::WorkFilter {
            search: None,
            year_from: self.year_from,
            year_to: self.year_to,
            kind: self.kind.map(Into::into),
            topic_id: decode_opt(&self.topic_id, NodeType::Topic)?,
            researcher_id: Some(researcher_id),
        })
    }
}

#[derive(InputObject)]
pub struct WorkOrder {
    pub field: WorkOrderField,
    pub direction: OrderDirection,
}

pub fn work_order(order: Option<WorkOrder>, filter: &works::WorkFilter) -> works::WorkOrder {
    match order {
        Some(o) => works::WorkOrder { field: o.field.into(), descending: o.direction.descending() },
        None => works::WorkOrder::default_for(filter),
    }
}
