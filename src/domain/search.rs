//! Full-text search shared by the researcher and work listings: the user's
//! words become a prefix query for PostgreSQL (`tsquery`) or SQLite (FTS5),
//! and a `matches(id, rank)` CTE that listings join and sort by.
use sea_orm::DbBackend;

use super::sql::Sql;

const MAX_TERMS: usize = 8;
const MAX_TERM_CHARS: usize = 64;

/// The words of a search, lowercased, with everything but letters and digits
/// dropped, so that no query syntax reaches the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// `None` for a blank search (no filter). A search with no letter or
    /// digit (say `%_\\`) has no words: it matches nothing (`is_empty`), as a
    /// search box answers an empty list rather than an error.
    pub fn parse(input: Option<&str>) -> Option<Self> {
        let input = input.filter(|s| !s.trim().is_empty())?;
        let terms: Vec<String> = input
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(MAX_TERM_CHARS).collect::<String>().to_lowercase())
            .take(MAX_TERMS)
            .collect();
        Some(Self(terms))
    }

    /// No words to look for: nothing matches.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn tsquery(&self) -> String {
        self.0.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ")
    }

    fn fts5_query(&self) -> String {
        self.0.iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(" AND ")
    }
}

/// Which full-text index to search.
#[derive(Debug, Clone, Copy)]
pub enum SearchIndex {
    Researchers,
    Works,
}

impl SearchIndex {
    fn table(self) -> &'static str {
        match self {
            Self::Researchers => "researchers",
            Self::Works => "works",
        }
    }
}

/// `WITH matches AS (SELECT id, rank …)`: the rows that match, with a
/// relevance where higher is better (`ts_rank_cd` or minus FTS5's `bm25`).
pub fn matches_cte(backend: DbBackend, index: SearchIndex, terms: &SearchTerms) -> Sql {
    let table = index.table();
    let mut sql = Sql::default();
    match backend {
        DbBackend::Postgres => {
            sql.push("WITH matches AS (SELECT id, CAST(ts_rank_cd(search_vector, to_tsquery('simple', ")
                .bind(terms.tsquery())
                .push(&format!(
                    ")) AS DOUBLE PRECISION) AS rank FROM {table} WHERE search_vector @@ to_tsquery('simple', "
                ))
                .bind(terms.tsquery())
                .push("))");
        }
        _ => {
            sql.push(&format!(
                "WITH matches AS MATERIALIZED (SELECT rowid AS id, -bm25({table}_fts) AS rank FROM {table}_fts WHERE {table}_fts MATCH "
            ))
            .bind(terms.fts5_query())
            .push(")");
        }
    }
    sql
}

/// `SELECT COUNT(*) AS n`: how many rows match, straight from the full-text
/// index, for a listing filtered by the search alone (no join back to the
/// table, no ranking).
pub fn count_matches(backend: DbBackend, index: SearchIndex, terms: &SearchTerms) -> Sql {
    let table = index.table();
    let mut sql = Sql::default();
    match backend {
        DbBackend::Postgres => {
            sql.push(&format!("SELECT COUNT(*) AS n FROM {table} WHERE search_vector @@ to_tsquery('simple', "))
                .bind(terms.tsquery())
                .push(")");
        }
        _ => {
            sql.push(&format!("SELECT COUNT(*) AS n FROM {table}_fts WHERE {table}_fts MATCH "))
                .bind(terms.fts5_query());
        }
    }
    sql
}
