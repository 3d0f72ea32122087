//! Long lists of plain objects answered without a future per field.
//!
//! async-graphql resolves every field of every object as a future of its own,
//! passed through each schema extension (with a registry lookup and a boxed
//! future per extension). For the research graph's nodes and edges, thousands
//! of objects of scalar fields, that cost more server CPU than reading the
//! graph. A [`FlatList`] is `[T!]!` in the schema (it registers `T` as is,
//! so validation and introspection see no difference) and writes each item's
//! selected fields straight into the answer.
use std::borrow::Cow;
use std::collections::HashMap;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, FragmentDefinition, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// An object whose fields are all plain values, known without I/O.
pub trait FlatObject: OutputType {
    /// The value of the field `name`; `None` for a field the type lacks
    /// (validation has already refused those).
    fn field(&self, name: &str) -> Option<Value>;
}

/// A list of [`FlatObject`]s, resolved in one pass.
pub struct FlatList<T>(pub Vec<T>);

impl<T: FlatObject> OutputType for FlatList<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        let mut selected = Vec::new();
        collect_fields(&ctx.item.node, &ctx.query_env.fragments, &mut selected);
        let type_name = Value::String(T::type_name().into_owned());
        let items = self
            .0
            .iter()
            .map(|item| {
                let object: IndexMap<Name, Value> = selected
                    .iter()
                    .map(|(key, name)| {
                        let value = match name.as_str() {
                            "__typename" => type_name.clone(),
                            name => item.field(name).unwrap_or(Value::Null),
                        };
                        (key.clone(), value)
                    })
                    .collect();
                Value::Object(object)
            })
            .collect();
        Ok(Value::List(items))
    }
}

/// The (response key, field name) pairs a selection set asks for, fragments
/// expanded, each response key once, in the order of first appearance (as
/// the executor orders an object's keys). Selections skipped by `@skip` or
/// `@include` were removed before execution began.
fn collect_fields(
    selection_set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    selected: &mut Vec<(Name, Name)>,
) {
    for selection in &selection_set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                if !selected.iter().any(|(k, _)| *k == key) {
                    selected.push((key, field.node.name.node.clone()));
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                    collect_fields(&fragment.node.selection_set.node, fragments, selected);
                }
            }
            Selection::InlineFragment(fragment) => {
                collect_fields(&fragment.node.selection_set.node, fragments, selected);
            }
        }
    }
}
