//! What the document measure needs to know of the schema: for every field,
//! the type it returns and whether it is sized by a `first`/`last`/`limit`
//! argument. Read once from the served SDL, so it cannot drift from the code.
use std::collections::HashMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

use crate::domain::research_graph;
use crate::graphql::pagination::DEFAULT_PAGE_SIZE;

/// How many items a sized field returns when its argument is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizedBy {
    /// `first`/`last` (pages) or `limit` (the research graph).
    pub argument: SizeArgument,
    pub default: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeArgument {
    FirstOrLast,
    Limit,
}

#[derive(Debug, Clone)]
pub struct FieldShape {
    /// The named type the field returns, lists and non-null stripped.
    pub returns: String,
    pub sized_by: Option<SizedBy>,
}

/// Object and interface fields by type name, then field name.
#[derive(Debug, Default)]
pub struct SchemaShape {
    types: HashMap<String, HashMap<String, FieldShape>>,
}

impl SchemaShape {
    /// Reads the shape from an SDL document; an SDL that does not parse
    /// (never the case for the one async-graphql exports) gives an empty shape.
    pub fn from_sdl(sdl: &str) -> Self {
        let Ok(document) = parse_schema(sdl) else {
            tracing::error!("the served SDL does not parse: node counts are off");
            return Self::default();
        };
        let mut types = HashMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else { continue };
            let definition = definition.node;
            let fields = match definition.kind {
                TypeKind::Object(object) => object.fields,
                TypeKind::Interface(interface) => interface.fields,
                _ => continue,
            };
            let shapes = fields
                .into_iter()
                .map(|field| {
                    let field = field.node;
                    let arguments: Vec<&str> = field.arguments.iter().map(|a| a.node.name.node.as_str()).collect();
                    let sized_by = if arguments.contains(&"limit") {
                        Some(SizedBy { argument: SizeArgument::Limit, default: research_graph::DEFAULT_LIMIT as u64 })
                    } else if arguments.contains(&"first") || arguments.contains(&"last") {
                        Some(SizedBy { argument: SizeArgument::FirstOrLast, default: DEFAULT_PAGE_SIZE as u64 })
                    } else {
                        None
                    };
                    (field.name.node.to_string(), FieldShape { returns: named_type(&field.ty.node), sized_by })
                })
                .collect();
            types.insert(definition.name.node.to_string(), shapes);
        }
        Self { types }
    }

    pub fn field(&self, type_name: &str, field_name: &str) -> Option<&FieldShape> {
        self.types.get(type_name)?.get(field_name)
    }
}

fn named_type(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named_type(inner),
    }
}
