//! Full-text search shared by the researcher and work listings: the user's
//! words become a prefix query for PostgreSQL (`tsquery`) or SQLite (FTS5),
//! and a `matches(id, rank)` CTE that listings join and sort by.
use sea_orm::sea_query::extension::postgres::PgBinOper;
use sea_orm::sea_query::extension::sqlite::SqliteBinOper;
use sea_orm::sea_query::{
    Asterisk, CommonTableExpression, Expr, ExprTrait, Func, FunctionCall, Query, SelectStatement, WithClause,
};
use sea_orm::DbBackend;

use super::statement::literal;

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

    /// The SQLite FTS5 table of the index.
    fn fts_table(self) -> &'static str {
        match self {
            Self::Researchers => "researchers_fts",
            Self::Works => "works_fts",
        }
    }
}

/// `to_tsquery('simple', terms)` for PostgreSQL.
fn to_tsquery(terms: &SearchTerms) -> FunctionCall {
    Func::cust("to_tsquery").arg(literal("simple")).arg(terms.tsquery())
}

/// The rows of `index` matching `terms`, as a `FROM` and `WHERE`: the
/// `tsvector` column on PostgreSQL, the FTS5 table on SQLite.
fn matching(backend: DbBackend, index: SearchIndex, terms: &SearchTerms) -> SelectStatement {
    match backend {
        DbBackend::Postgres => Query::select()
            .from(index.table())
            .and_where(Expr::col("search_vector").binary(PgBinOper::Matches, to_tsquery(terms)))
            .to_owned(),
        _ => Query::select()
            .from(index.fts_table())
            .and_where(Expr::col(index.fts_table()).binary(SqliteBinOper::Match, Expr::val(terms.fts5_query())))
            .to_owned(),
    }
}

/// `WITH matches AS (SELECT id, rank …)`: the rows that match, with a
/// relevance where higher is better (`ts_rank_cd` or minus FTS5's `bm25`).
pub fn matches_cte(backend: DbBackend, index: SearchIndex, terms: &SearchTerms) -> WithClause {
    let mut matches = matching(backend, index, terms);
    let mut cte = CommonTableExpression::new();
    match backend {
        DbBackend::Postgres => {
            let rank = Func::cust("ts_rank_cd").arg(Expr::col("search_vector")).arg(to_tsquery(terms));
            matches.column("id").expr_as(Func::cast_as(rank, "DOUBLE PRECISION"), "rank");
        }
        _ => {
            // `bm25` is lower for better matches.
            let rank = Expr::cust(format!("-bm25({})", index.fts_table()));
            matches.expr_as(Expr::col("rowid"), "id").expr_as(rank, "rank");
            cte.materialized(true);
        }
    }
    cte.table_name("matches").query(matches);
    WithClause::new().cte(cte).to_owned()
}

/// `SELECT COUNT(*) AS n`: how many rows match, straight from the full-text
/// index, for a listing filtered by the search alone (no join back to the
/// table, no ranking).
pub fn count_matches(backend: DbBackend, index: SearchIndex, terms: &SearchTerms) -> SelectStatement {
    matching(backend, index, terms).expr_as(Expr::col(Asterisk).count(), "n").to_owned()
}
