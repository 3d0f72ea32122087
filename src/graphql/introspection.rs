//! Introspection can be turned off (`INTROSPECTION=false`). async-graphql's
//! `disable_introspection` then answers `__schema` and `__type` with a
//! silent `null`; a client learns more from an error, as Apollo Server
//! gives one, so admission refuses such a document first.
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::error::AppError;

/// Refuses a document that selects `__schema` or `__type` anywhere (in an
/// operation or a fragment, used or not). `__typename` is not introspection
/// of the schema and stays allowed.
pub fn refuse_introspection(document: &ExecutableDocument) -> Result<(), AppError> {
    let mut pending: Vec<&SelectionSet> =
        document.operations.iter().map(|(_, op)| &op.node.selection_set.node).collect();
    pending.extend(document.fragments.values().map(|fragment| &fragment.node.selection_set.node));
    while let Some(set) = pending.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if matches!(field.node.name.node.as_str(), "__schema" | "__type") {
                        return Err(AppError::bad_input("introspection is turned off on this server"));
                    }
                    pending.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => pending.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::refuse_introspection;

    fn refused(query: &str) -> bool {
        let document = async_graphql::parser::parse_query(query).expect("a valid document");
        refuse_introspection(&document).is_err()
    }

    #[test]
    fn schema_and_type_are_refused_wherever_they_are_and_typename_is_not() {
        assert!(refused("{ __schema { queryType { name } } }"));
        assert!(refused("query A { __typename } query B { __type(name: \"Query\") { name } }"));
        assert!(refused("{ ...F } fragment F on Query { ... on Query { __schema { types { name } } } }"));
        assert!(!refused("{ __typename researcher(slug: \"x\") { __typename id } }"));
    }
}
