//! The domain layer: the only code that talks SQL. One module per subject;
//! functions take a connection and return plain data or an `AppError`.
pub mod graph;
pub mod institutions;
pub mod page;
pub mod researchers;
pub mod search;
pub mod seed;
pub mod sql;
pub mod stats;
pub mod topics;
pub mod trust;
pub mod works;

use std::collections::HashMap;
use std::hash::Hash;

/// Groups rows by key, keeping their order: the shape every batch loader answers.
pub fn group_by<K: Eq + Hash, V>(rows: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for (key, value) in rows {
        map.entry(key).or_default().push(value);
    }
    map
}
