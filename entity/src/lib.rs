//! SeaORM entities: one module per table, nothing but the table's shape.
pub mod authorship;
pub mod catalogue_change;
pub mod catalogue_identity;
pub mod claim;
pub mod collaboration;
pub mod collaboration_invite;
pub mod external_id;
pub mod follow;
pub mod institution;
pub mod researcher;
pub mod researcher_facet;
pub mod researcher_topic;
pub mod topic;
pub mod user;
pub mod work;
pub mod work_topic;
