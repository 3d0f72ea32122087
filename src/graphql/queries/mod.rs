//! Root query fields, grouped by subject.
mod catalogue;
mod node;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(node::NodeQuery, catalogue::CatalogueQuery, viewer::ViewerQuery);
