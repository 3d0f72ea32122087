//! The one Relay mechanism: validates `first`/`last`/`after`/`before`, turns
//! opaque cursors into keysets and back, and builds connections from pages.
//!
//! A cursor is base64url of `[list, sortValue, id]`, where `list` names the
//! list and its order (say `works:YEAR:DESC`): a cursor from another list or
//! order, or one that was tampered with, is `BAD_USER_INPUT`.
use async_graphql::connection::{
    Connection, ConnectionNameType, DefaultConnectionName, DefaultEdgeName, Edge, EdgeNameType, EmptyFields,
    EnableNodesField,
};
use async_graphql::{Context, Object, ObjectType, OutputType};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::page::{Direction, Keyset, Page, PageRequest, SortValue, TotalCount};
use crate::error::{AppError, AppResult};
use crate::state::db;

pub const MAX_PAGE_SIZE: i32 = 100;
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// The four Relay arguments as a client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn forward(first: Option<i32>, after: Option<String>) -> Self {
        Self { first, after, last: None, before: None }
    }

    /// Validates the arguments against the list they page (`list` as in the
    /// module docs). Sizes outside 1..=100 are errors, never clamped.
    pub fn request(&self, list: &str) -> AppResult<PageRequest> {
        let check = |name: &str, value: i32| {
            if (1..=MAX_PAGE_SIZE).contains(&value) {
                Ok(value as u64)
            } else {
                Err(AppError::bad_input(format!("`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {value}")))
            }
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(AppError::bad_input("pass `first` or `last`, not both")),
            (_, Some(last)) => {
                if self.after.is_some() {
                    return Err(AppError::bad_input("`after` goes with `first`; use `before` with `last`"));
                }
                Ok(PageRequest {
                    size: check("last", last)?,
                    direction: Direction::Backward,
                    cursor: self.before.as_deref().map(|c| decode_cursor(c, list)).transpose()?,
                })
            }
            (first, None) => {
                if self.before.is_some() {
                    return Err(AppError::bad_input("`before` goes with `last`; use `after` with `first`"));
                }
                Ok(PageRequest {
                    size: check("first", first.unwrap_or(DEFAULT_PAGE_SIZE))?,
                    direction: Direction::Forward,
                    cursor: self.after.as_deref().map(|c| decode_cursor(c, list)).transpose()?,
                })
            }
        }
    }
}

pub fn encode_cursor(list: &str, key: &Keyset) -> String {
    let json = serde_json::json!([list, key.values, key.id]);
    URL_SAFE_NO_PAD.encode(json.to_string())
}

pub fn decode_cursor(cursor: &str, list: &str) -> AppResult<Keyset> {
    let invalid = || AppError::bad_input("invalid cursor");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (cursor_list, values, id): (String, Vec<SortValue>, i64) =
        serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if cursor_list != list {
        return Err(AppError::bad_input("cursor does not belong to this list or order"));
    }
    Ok(Keyset { values, id })
}

/// `totalCount`, counted only when selected.
pub struct Totals(pub TotalCount);

#[Object]
impl Totals {
    /// The number of items in the whole list, across all pages: exact,
    /// except that a search reports at most 100 000 (then a lower bound).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.0.resolve(db(ctx)).await?)
    }
}

pub type RelayConnection<N, E = EmptyFields, Name = DefaultConnectionName, EdgeName = DefaultEdgeName> =
    Connection<String, N, Totals, E, Name, EdgeName, EnableNodesField>;

/// Builds a connection from a page, with extra edge fields from `edge_fields`.
pub fn connection_with<T, N, E, Name, EName>(
    list: &str,
    page: Page<T>,
    mut node_and_fields: impl FnMut(T) -> (N, E),
) -> RelayConnection<N, E, Name, EName>
where
    N: OutputType,
    E: ObjectType,
    Name: ConnectionNameType,
    EName: EdgeNameType,
{
    let mut connection = Connection::with_additional_fields(page.has_previous, page.has_next, Totals(page.total));
    connection.edges.extend(page.items.into_iter().map(|(item, key)| {
        let (node, fields) = node_and_fields(item);
        Edge::with_additional_fields(encode_cursor(list, &key), node, fields)
    }));
    connection
}

/// Builds a connection whose edges carry only `cursor` and `node`.
pub fn connection<T, N: OutputType>(list: &str, page: Page<T>, mut node: impl FnMut(T) -> N) -> RelayConnection<N> {
    connection_with(list, page, |item| (node(item), EmptyFields))
}
