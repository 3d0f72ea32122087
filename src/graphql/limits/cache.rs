//! Documents that passed the caps, kept by their text: a client sends the
//! same few operations over and over with new variables, and parsing them
//! again each time is most of what the limits cost. Bounded by the number of
//! documents and by the bytes of their text (their parse grows with it), so
//! that a stream of unique documents evicts old ones instead of growing it.
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

use super::Measure;

/// How many parsed documents are kept.
pub const MAX_ENTRIES: NonZeroUsize = NonZeroUsize::new(256).expect("256 is not zero");

/// How many bytes of document text the kept documents may hold in all. A
/// parse is many times larger than its text (a node per field, argument or
/// value), so the budget is kept small: it still holds over a hundred
/// documents of the frontend's size (1–2 KB).
pub const MAX_QUERY_BYTES: usize = 256 * 1024;

/// A document that passed the caps, and what measuring it found.
pub struct AdmittedDocument {
    pub document: ExecutableDocument,
    /// The measure of its first admission; its document-wide counts hold
    /// for every later one.
    pub measure: Measure,
}

pub struct DocumentCache {
    kept: Mutex<Kept>,
    max_bytes: usize,
}

struct Kept {
    documents: LruCache<Box<str>, Arc<AdmittedDocument>>,
    bytes: usize,
}

impl DocumentCache {
    pub fn new(max_entries: NonZeroUsize, max_bytes: usize) -> Self {
        Self { kept: Mutex::new(Kept { documents: LruCache::new(max_entries), bytes: 0 }), max_bytes }
    }

    pub fn get(&self, query: &str) -> Option<Arc<AdmittedDocument>> {
        self.lock().documents.get(query).cloned()
    }

    pub fn insert(&self, query: &str, admitted: AdmittedDocument) {
        if query.len() > self.max_bytes {
            return;
        }
        let admitted = Arc::new(admitted);
        let mut kept = self.lock();
        let Kept { documents, bytes } = &mut *kept;
        // Two requests may have parsed the same new document at once.
        if documents.contains(query) {
            return;
        }
        *bytes += query.len();
        if let Some((evicted, _)) = documents.push(query.into(), admitted) {
            *bytes -= evicted.len();
        }
        while *bytes > self.max_bytes {
            let Some((evicted, _)) = documents.pop_lru() else { break };
            *bytes -= evicted.len();
        }
    }

    /// The number of documents kept and the bytes of their text.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.documents.len(), kept.bytes)
    }

    /// A panic elsewhere cannot leave the cache inconsistent (every update is
    /// completed under the lock before it is released), so a poisoned lock
    /// is used as is.
    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::{AdmittedDocument, DocumentCache};
    use crate::graphql::limits::Measure;

    fn admitted(query: &str) -> AdmittedDocument {
        let document = async_graphql::parser::parse_query(query).expect("a valid document");
        let measure = Measure { operation: None, selections: 1, aliases: 0, depth: 1, root_fields: 1, nodes: 0 };
        AdmittedDocument { document, measure }
    }

    #[test]
    fn the_cache_keeps_at_most_its_entries_and_its_bytes() {
        let cache = DocumentCache::new(NonZeroUsize::new(3).expect("3"), 40);
        for name in ["a", "b", "c", "d"] {
            let query = format!("{{ {name} }}");
            cache.insert(&query, admitted(&query));
        }
        assert_eq!(cache.size(), (3, 15));
        assert!(cache.get("{ a }").is_none(), "the oldest went first");
        assert!(cache.get("{ d }").is_some());

        // Bytes bound it before the count does: the two least recently
        // used go to make room for 34 bytes.
        let long = format!("{{ {} }}", "x".repeat(30));
        cache.insert(&long, admitted(&long));
        assert_eq!(cache.size(), (2, 39));
        assert!(cache.get(&long).is_some() && cache.get("{ d }").is_some());

        // A document larger than the whole budget is not kept.
        let huge = format!("{{ {} }}", "y".repeat(50));
        cache.insert(&huge, admitted(&huge));
        assert!(cache.get(&huge).is_none());
        assert_eq!(cache.size(), (2, 39));
    }
}
