//! Automatic persisted queries, as Apollo clients speak them: a request may
//! name its document by `extensions.persistedQuery.sha256Hash` instead of
//! sending it. The first time a client sends the document with its hash,
//! which registers it; from then on the hash alone.
//!
//! The hash is resolved here, at admission, into the document's text, before
//! the document caps look at it, so a document named by its hash is checked
//! exactly as one sent in full (and its parse comes from the caps' cache of
//! admitted documents). That is why this is not async-graphql's
//! `ApolloPersistedQueries` extension: it runs inside the schema, after the
//! caps, and keeps parsed documents, which the caps on the text cannot
//! measure. A document is registered only once it has passed the caps and
//! validation, as Apollo Server does, so the store holds no document that
//! could not run. It is bounded by a count, and each document by
//! `GRAPHQL_MAX_QUERY_BYTES`.
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::Request;
use lru::LruCache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The request extension that names a persisted query.
const EXTENSION: &str = "persistedQuery";

/// `extensions.persistedQuery`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: i64,
    sha256_hash: String,
}

/// A document to register once it has been admitted and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    hash: String,
}

/// The persisted documents of this instance, by their SHA-256 (lower-case
/// hex), least recently used first out.
pub struct PersistedQueries {
    kept: Mutex<LruCache<String, Arc<str>>>,
}

impl PersistedQueries {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self { kept: Mutex::new(LruCache::new(capacity)) }
    }

    /// Whether `request` names a persisted query (with or without its document).
    pub fn is_named(request: &Request) -> bool {
        request.extensions.contains_key(EXTENSION)
    }

    /// Resolves the request's persisted query, if it names one: without a
    /// `query`, the document registered under its hash becomes the request's
    /// `query` (`PersistedQueryNotFound` if there is none); with one, the
    /// hash must be the document's, and the answer says to register it once
    /// it has been admitted. A request without the extension is left alone.
    pub fn resolve(&self, request: &mut Request) -> Result<Option<Registration>, AppError> {
        let Some(extension) = request.extensions.remove(EXTENSION) else { return Ok(None) };
        let invalid = || AppError::bad_input("`extensions.persistedQuery` must be `{ version: 1, sha256Hash }`");
        let extension = extension.into_json().map_err(|_| invalid())?;
        let persisted: PersistedQuery = serde_json::from_value(extension).map_err(|_| invalid())?;
        if persisted.version != 1 {
            return Err(AppError::bad_input(format!(
                "only version 1 of the persistedQuery extension is supported, not {}",
                persisted.version
            )));
        }
        if request.query.is_empty() {
            let document = self.lock().get(&persisted.sha256_hash).cloned();
            let document = document.ok_or(AppError::PersistedQueryNotFound)?;
            request.query = document.to_string();
            return Ok(None);
        }
        let hash = sha256_hex(&request.query);
        if hash != persisted.sha256_hash {
            return Err(AppError::bad_input("provided sha does not match query"));
        }
        Ok(Some(Registration { hash }))
    }

    /// Keeps `document` under the hash it was sent with.
    pub fn register(&self, registration: Registration, document: &str) {
        let mut kept = self.lock();
        if !kept.contains(&registration.hash) {
            kept.put(registration.hash, document.into());
        }
    }

    /// Every update completes under the lock, so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, LruCache<String, Arc<str>>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The SHA-256 of `text`, in lower-case hex, as Apollo clients send it.
pub fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use async_graphql::{Request, Value};
    use serde_json::json;

    use super::{sha256_hex, PersistedQueries};
    use crate::error::AppError;

    fn naming(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        let extension = json!({ "version": 1, "sha256Hash": hash });
        request.extensions.insert("persistedQuery".to_owned(), Value::from_json(extension).expect("a value"));
        request
    }

    #[test]
    fn the_hash_is_apollos() {
        // Apollo's example: sha256("{__typename}").
        assert_eq!(sha256_hex("{__typename}"), "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38");
    }

    #[test]
    fn a_document_is_found_by_its_hash_once_registered_and_the_oldest_goes_first() {
        let store = PersistedQueries::new(NonZeroUsize::new(2).expect("2"));
        let documents = ["{ a }", "{ b }", "{ c }"];
        let hash = |i: usize| sha256_hex(documents[i]);

        assert_eq!(store.resolve(&mut naming("", &hash(0))), Err(AppError::PersistedQueryNotFound));
        for document in documents {
            let mut request = naming(document, &sha256_hex(document));
            let registration = store.resolve(&mut request).expect("the hash matches").expect("to register");
            assert!(request.extensions.is_empty(), "the extension is consumed");
            store.register(registration, document);
        }
        assert_eq!(store.resolve(&mut naming("", &hash(0))), Err(AppError::PersistedQueryNotFound));
        let mut request = naming("", &hash(2));
        assert_eq!(store.resolve(&mut request), Ok(None));
        assert_eq!(request.query, "{ c }");
    }

    #[test]
    fn a_wrong_hash_or_version_is_bad_input() {
        let store = PersistedQueries::new(NonZeroUsize::new(2).expect("2"));
        let wrong = store.resolve(&mut naming("{ a }", &sha256_hex("{ b }")));
        assert_eq!(wrong, Err(AppError::bad_input("provided sha does not match query")));
        let mut request = Request::new("{ a }");
        request.extensions.insert("persistedQuery".to_owned(), Value::from_json(json!({ "version": 2 })).expect("v"));
        assert!(matches!(store.resolve(&mut request), Err(AppError::BadInput(_))));
        assert_eq!(store.resolve(&mut Request::new("{ a }")), Ok(None), "no extension, nothing to do");
    }
}
