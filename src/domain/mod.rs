//! The domain layer: the only code that talks SQL. One module per subject;
//! functions take a connection and return plain data or an `AppError`.
pub mod catalogue;
pub mod changes;
pub mod claims;
pub mod follows;
pub mod graph;
pub mod institutions;
pub mod invites;
pub mod names;
pub mod page;
pub mod profiles;
pub mod research_graph;
pub mod researcher_events;
pub mod researchers;
pub mod search_documents;
pub mod statement;
pub mod stats;
pub mod topics;
pub mod trust;
pub mod users;
pub mod works;

use std::collections::HashMap;
use std::hash::Hash;

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::error::AppResult;

/// Begins a transaction for a mutation. On SQLite it takes the write lock at
/// `BEGIN` (`IMMEDIATE`), so concurrent writers queue for it instead of
/// failing when a read snapshot turns stale; PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    Ok(db
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?)
}

/// Reads an enum stored as text: the one of `all` whose stored form is
/// `value`. A value this code does not know is an error, never a guess.
pub(crate) fn from_stored<T: Copy>(
    all: &[T],
    as_stored: fn(T) -> &'static str,
    what: &str,
    value: &str,
) -> AppResult<T> {
    all.iter()
        .copied()
        .find(|candidate| as_stored(*candidate) == value)
        .ok_or_else(|| crate::error::AppError::internal(format_args!("unknown {what} {value:?} in the database")))
}

/// Groups rows by key, keeping their order: the shape every batch loader answers.
pub fn group_by<K: Eq + Hash, V>(rows: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for (key, value) in rows {
        map.entry(key).or_default().push(value);
    }
    map
}
