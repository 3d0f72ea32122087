//! What one document may cost, checked before async-graphql parses and
//! validates it: validation walks every expanded fragment spread on a
//! runtime worker, so a 1 KB document whose fragments spread each other can
//! otherwise hold a worker for minutes. The raw text is scanned first (bytes,
//! tokens, bracket nesting), then parsed once (the parse is kept in the
//! request for the executor) and measured with each fragment measured once.
//! A document that passes is kept, parsed and measured, for the next request
//! that sends the same text.
//! async-graphql's own depth, directive and complexity limits stay on as a
//! second line.
mod cache;
mod cost;
mod lexer;
mod measure;
mod rate;
mod shape;

use async_graphql::Request;
use cache::{AdmittedDocument, DocumentCache};

pub use cost::{Payer, Pricer};
pub use measure::Measure;
pub use rate::{retry_after_secs, ClientKey, RateLimiter, RateSettings, ThrottleStatus};
pub use shape::SchemaShape;

use crate::error::AppError;

/// Caps on a document. The defaults leave every contract operation and the
/// standard introspection query a wide margin (README, "Limits").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLimits {
    pub max_query_bytes: usize,
    pub max_tokens: usize,
    /// Bracket nesting in the raw text; bounds the parser's recursion.
    pub max_nesting: usize,
    /// Field selections, spreads and inline fragments with fragments expanded.
    pub max_selections: u64,
    pub max_aliases: u64,
    /// Field nesting, through fragments.
    pub max_depth: u64,
    /// How deep fragments may spread fragments.
    pub max_fragment_depth: u64,
    pub max_root_fields: u64,
    /// Directives on one field, spread, fragment or operation.
    pub max_directives: u64,
    /// Objects one answer may hold (sized lists times their enclosing sizes).
    pub max_nodes: u64,
}

/// Checks documents against the caps, knowing the schema's sized fields.
pub struct DocumentGuard {
    limits: DocumentLimits,
    shape: SchemaShape,
    admitted: DocumentCache,
}

impl DocumentGuard {
    /// A guard for the schema whose SDL is `sdl`.
    pub fn new(limits: DocumentLimits, sdl: &str) -> Self {
        Self {
            limits,
            shape: SchemaShape::from_sdl(sdl),
            admitted: DocumentCache::new(cache::MAX_ENTRIES, cache::MAX_QUERY_BYTES),
        }
    }

    /// Measures the request's document, leaving the parse in the request.
    /// `Ok(None)` for a document that does not parse: the executor reports
    /// it with its usual message and location (parsing is linear, and the
    /// token cap bounds it). A document admitted before is neither scanned
    /// nor parsed again: its parse is copied from the cache, and only its
    /// running operation is measured again, for the request's variables.
    /// Validation still runs on every request.
    pub fn admit(&self, request: &mut Request) -> Result<Option<Measure>, AppError> {
        let limits = &self.limits;
        if request.query.len() > limits.max_query_bytes {
            return Err(AppError::TooComplex(format!(
                "the document is {} bytes; at most {} are allowed",
                request.query.len(),
                limits.max_query_bytes
            )));
        }
        if let Some(admitted) = self.admitted.get(&request.query) {
            let measure = measure::remeasure(
                &admitted.document,
                request.operation_name.as_deref(),
                &request.variables,
                &self.shape,
                limits,
                &admitted.measure,
            )?;
            request.set_parsed_query(admitted.document.clone());
            return Ok(Some(measure));
        }
        lexer::count_tokens(&request.query, limits.max_tokens, limits.max_nesting).map_err(|limit| match limit {
            lexer::LexicalLimit::Tokens(max) => {
                AppError::TooComplex(format!("the document has more than {max} tokens"))
            }
            lexer::LexicalLimit::Nesting(max) => {
                AppError::TooComplex(format!("the document nests brackets more than {max} levels deep"))
            }
        })?;
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else { return Ok(None) };
        let measure =
            measure::measure(&document, request.operation_name.as_deref(), &request.variables, &self.shape, limits)?;
        self.admitted.insert(&request.query, AdmittedDocument { document: document.clone(), measure });
        request.set_parsed_query(document);
        Ok(Some(measure))
    }
}
