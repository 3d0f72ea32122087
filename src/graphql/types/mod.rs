//! GraphQL object, input and enum types. They wrap domain data; entities
//! never derive GraphQL types, since the tables and the API change for
//! different reasons.
mod account;
mod enums;
mod graph;
mod inputs;
mod institution;
mod node;
mod researcher;
mod topic;
mod work;

pub use account::*;
pub use enums::*;
pub use graph::*;
pub use inputs::*;
pub use institution::Institution;
pub use node::Node;
pub use researcher::*;
pub use topic::Topic;
pub use work::{Authorship, Work};
