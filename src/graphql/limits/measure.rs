//! Measures a parsed document the way validation would walk it (every
//! fragment spread expanded) without expanding anything: each fragment is
//! measured once and its tally reused, so the measure is linear in the
//! document's size even when its expansion is exponential.
use std::collections::HashMap;

use async_graphql::parser::types::{
    Directive, ExecutableDocument, Field, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Positioned, Value as ConstValue, Variables};

use super::shape::{SchemaShape, SizeArgument, SizedBy};
use super::DocumentLimits;
use crate::domain::research_graph;
use crate::error::AppError;
use crate::graphql::pagination::MAX_PAGE_SIZE;

/// What a document costs to validate and, for the operation that runs, how
/// many objects its answer can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The type of the operation that runs (`None` when the document does
    /// not say which one: validation reports that).
    pub operation: Option<OperationType>,
    /// Field selections, fragment spreads and inline fragments over every
    /// definition, with fragments expanded.
    pub selections: u64,
    pub aliases: u64,
    /// The deepest field nesting, through fragments.
    pub depth: u64,
    /// Fields at the root of the operation that runs.
    pub root_fields: u64,
    /// Objects the answer can hold: every `first`/`last`/`limit`-sized list
    /// counts its size times the sizes of the lists it sits in, as GitHub
    /// counts nodes.
    pub nodes: u64,
}

/// Counts over one selection set, with fragments expanded. Saturating: an
/// exponential document reaches `u64::MAX`, never overflows.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    selections: u64,
    aliases: u64,
    depth: u64,
    top_fields: u64,
    nodes: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.selections = self.selections.saturating_add(other.selections);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
        self.nodes = self.nodes.saturating_add(other.nodes);
    }
}

enum Memo {
    InProgress,
    Done(Tally),
}

/// Measures `document` against `limits`; the first cap exceeded is a
/// `QUERY_TOO_COMPLEX` error naming it, a fragment cycle or an unknown
/// fragment `BAD_USER_INPUT`.
pub fn measure(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    shape: &SchemaShape,
    limits: &DocumentLimits,
) -> Result<Measure, AppError> {
    let selected = select_operation(document, operation_name);
    let mut walker = Walker::new(document, selected, variables, shape, limits);

    let mut total = Tally::default();
    let mut selected_tally = None;
    for (_, operation) in document.operations.iter() {
        walker.directives(&operation.node.directives, "the operation")?;
        let root = root_type(operation.node.ty);
        let tally = walker.selection_set(&operation.node.selection_set.node, Some(root))?;
        if tally.top_fields > limits.max_root_fields {
            return Err(too_complex(format!(
                "an operation selects {} root fields; at most {} are allowed",
                tally.top_fields, limits.max_root_fields
            )));
        }
        if selected.is_some_and(|s| std::ptr::eq(s, &operation.node)) {
            selected_tally = Some(tally);
        }
        total.add(tally);
        walker.check(&total)?;
    }
    // Validation visits every fragment definition on its own too.
    for (name, fragment) in &document.fragments {
        let tally = walker.fragment(name.as_str())?;
        walker.directives(&fragment.node.directives, "a fragment definition")?;
        total.add(tally);
        walker.check(&total)?;
    }

    let selected_tally = selected_tally.unwrap_or_default();
    check_nodes(&selected_tally, limits)?;
    Ok(Measure {
        operation: selected.map(|op| op.ty),
        selections: total.selections,
        aliases: total.aliases,
        depth: total.depth,
        root_fields: selected_tally.top_fields,
        nodes: selected_tally.nodes,
    })
}

/// Measures a document that `measure` admitted before, under the same
/// limits, as `first`: its document-wide counts cannot have changed, so only
/// the operation that runs is walked again, for what depends on the request
/// (which operation, and the page sizes its variables ask for).
pub fn remeasure(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    shape: &SchemaShape,
    limits: &DocumentLimits,
    first: &Measure,
) -> Result<Measure, AppError> {
    let selected = select_operation(document, operation_name);
    let tally = match selected {
        Some(operation) => Walker::new(document, selected, variables, shape, limits)
            .selection_set(&operation.selection_set.node, Some(root_type(operation.ty)))?,
        None => Tally::default(),
    };
    check_nodes(&tally, limits)?;
    Ok(Measure { operation: selected.map(|op| op.ty), root_fields: tally.top_fields, nodes: tally.nodes, ..*first })
}

fn check_nodes(selected: &Tally, limits: &DocumentLimits) -> Result<(), AppError> {
    if selected.nodes > limits.max_nodes {
        return Err(too_complex(format!(
            "the answer could hold {} objects; at most {} are allowed (ask for smaller pages)",
            display_count(selected.nodes),
            limits.max_nodes
        )));
    }
    Ok(())
}

/// The operation that would run: the named one, or the only one.
fn select_operation<'d>(document: &'d ExecutableDocument, name: Option<&str>) -> Option<&'d OperationDefinition> {
    let mut operations = document.operations.iter();
    match name {
        Some(name) => operations.find(|(op_name, _)| op_name.map(|n| n.as_str()) == Some(name)).map(|(_, op)| &op.node),
        None => {
            let (_, first) = operations.next()?;
            operations.next().is_none().then_some(&first.node)
        }
    }
}

fn root_type(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => "Subscription",
    }
}

fn too_complex(message: String) -> AppError {
    AppError::TooComplex(message)
}

fn display_count(n: u64) -> String {
    if n == u64::MAX {
        "more than 18 quintillion".to_owned()
    } else {
        n.to_string()
    }
}

struct Walker<'d> {
    document: &'d ExecutableDocument,
    shape: &'d SchemaShape,
    limits: &'d DocumentLimits,
    variables: &'d Variables,
    /// Default values of the running operation's variables.
    defaults: HashMap<&'d str, &'d ConstValue>,
    memo: HashMap<&'d str, Memo>,
    /// The fragments being measured, outermost first.
    chain: Vec<&'d str>,
}

impl<'d> Walker<'d> {
    fn new(
        document: &'d ExecutableDocument,
        selected: Option<&'d OperationDefinition>,
        variables: &'d Variables,
        shape: &'d SchemaShape,
        limits: &'d DocumentLimits,
    ) -> Self {
        let defaults = selected
            .map(|op| {
                op.variable_definitions
                    .iter()
                    .filter_map(|v| Some((v.node.name.node.as_str(), &v.node.default_value.as_ref()?.node)))
                    .collect()
            })
            .unwrap_or_default();
        Self { document, shape, limits, variables, defaults, memo: HashMap::new(), chain: Vec::new() }
    }

    fn selection_set(&mut self, set: &'d SelectionSet, parent: Option<&'d str>) -> Result<Tally, AppError> {
        let mut tally = Tally::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => tally.add(self.field(&field.node, parent)?),
                Selection::FragmentSpread(spread) => {
                    self.directives(&spread.node.directives, "a fragment spread")?;
                    let mut fragment = self.fragment(spread.node.fragment_name.node.as_str())?;
                    fragment.selections = fragment.selections.saturating_add(1);
                    tally.add(fragment);
                }
                Selection::InlineFragment(inline) => {
                    self.directives(&inline.node.directives, "an inline fragment")?;
                    let on = inline.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()).or(parent);
                    let mut inner = self.selection_set(&inline.node.selection_set.node, on)?;
                    inner.selections = inner.selections.saturating_add(1);
                    tally.add(inner);
                }
            }
            self.check(&tally)?;
        }
        Ok(tally)
    }

    fn field(&mut self, field: &'d Field, parent: Option<&'d str>) -> Result<Tally, AppError> {
        self.directives(&field.directives, "a field")?;
        let shape = parent.and_then(|t| self.shape.field(t, field.name.node.as_str()));
        let children = self.selection_set(&field.selection_set.node, shape.map(|s| s.returns.as_str()))?;
        let nodes = match shape.and_then(|s| s.sized_by) {
            Some(sized) => self.size(field, sized).saturating_mul(children.nodes.saturating_add(1)),
            None => children.nodes,
        };
        Ok(Tally {
            selections: children.selections.saturating_add(1),
            aliases: children.aliases.saturating_add(u64::from(field.alias.is_some())),
            depth: children.depth.saturating_add(1),
            top_fields: 1,
            nodes,
        })
    }

    /// A fragment's tally, measured the first time it is spread.
    fn fragment(&mut self, name: &'d str) -> Result<Tally, AppError> {
        match self.memo.get(name) {
            Some(Memo::Done(tally)) => return Ok(*tally),
            Some(Memo::InProgress) => {
                let start = self.chain.iter().position(|n| *n == name).unwrap_or_default();
                let cycle = self.chain[start..].join(" → ");
                return Err(AppError::bad_input(format!(
                    "fragment `{name}` spreads itself ({cycle} → {name}); fragments must not form cycles"
                )));
            }
            None => {}
        }
        let Some(definition) = self.document.fragments.get(name) else {
            return Err(AppError::bad_input(format!("unknown fragment `{name}`")));
        };
        if self.chain.len() as u64 >= self.limits.max_fragment_depth {
            return Err(too_complex(format!(
                "fragments spread fragments more than {} levels deep",
                self.limits.max_fragment_depth
            )));
        }
        self.memo.insert(name, Memo::InProgress);
        self.chain.push(name);
        let on = definition.node.type_condition.node.on.node.as_str();
        let tally = self.selection_set(&definition.node.selection_set.node, Some(on))?;
        self.chain.pop();
        self.memo.insert(name, Memo::Done(tally));
        Ok(tally)
    }

    fn directives(&self, directives: &[Positioned<Directive>], place: &str) -> Result<(), AppError> {
        if directives.len() as u64 > self.limits.max_directives {
            return Err(too_complex(format!(
                "{place} carries {} directives; at most {} are allowed",
                directives.len(),
                self.limits.max_directives
            )));
        }
        Ok(())
    }

    /// Stops the walk as soon as a running total passes a cap, so a bomb
    /// costs no more than the cap to measure.
    fn check(&self, tally: &Tally) -> Result<(), AppError> {
        let limits = self.limits;
        if tally.selections > limits.max_selections {
            return Err(too_complex(format!(
                "the document expands to more than {} field selections once fragments are spread",
                limits.max_selections
            )));
        }
        if tally.aliases > limits.max_aliases {
            return Err(too_complex(format!(
                "the document uses more than {} aliases once fragments are spread",
                limits.max_aliases
            )));
        }
        if tally.depth > limits.max_depth {
            return Err(too_complex(format!("the document nests fields more than {} levels deep", limits.max_depth)));
        }
        Ok(())
    }

    /// The size a sized field asks for (its argument, or the default),
    /// clamped to what the field can return; out-of-range values are the
    /// resolver's to refuse.
    fn size(&self, field: &Field, sized: SizedBy) -> u64 {
        let (names, max): (&[&str], u64) = match sized.argument {
            SizeArgument::FirstOrLast => (&["first", "last"], MAX_PAGE_SIZE as u64),
            SizeArgument::Limit => (&["limit"], research_graph::MAX_LIMIT as u64),
        };
        field
            .arguments
            .iter()
            .filter(|(name, _)| names.contains(&name.node.as_str()))
            .filter_map(|(_, value)| {
                let constant = value.node.clone().into_const_with(|name| {
                    self.variables.get(&name).or_else(|| self.defaults.get(name.as_str()).copied()).cloned().ok_or(())
                });
                match constant {
                    Ok(ConstValue::Number(n)) => n.as_i64(),
                    _ => None,
                }
            })
            .max()
            .map_or(sized.default, |n| n.clamp(1, max as i64) as u64)
    }
}
