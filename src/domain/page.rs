//! Keyset pagination, the one mechanism behind every list: a listing is a
//! `FROM … WHERE …` with a sort expression; a page is the rows strictly after
//! (or before) a cursor's `(sort value, id)` in that order, so paging never
//! skips or repeats a row even while rows are added. No `OFFSET` anywhere.
use sea_orm::sea_query::{Asterisk, BinOper, Expr, ExprTrait, Func, Order, Query, SelectExpr, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::statement;
use crate::error::{AppError, AppResult};

/// The value a row sorts by, as kept in a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Float(f64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKind {
    Int,
    Float,
    Text,
}

impl SortKind {
    fn sql_type(self) -> &'static str {
        match self {
            Self::Int => "BIGINT",
            Self::Float => "DOUBLE PRECISION",
            Self::Text => "TEXT",
        }
    }
}

/// A row's position in a listing's order: its sort values, then its id.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    pub values: Vec<SortValue>,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`: rows after the cursor, in the listing's order.
    Forward,
    /// `last`/`before`: rows before the cursor, returned in the listing's order.
    Backward,
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub size: u64,
    pub direction: Direction,
    pub cursor: Option<Keyset>,
}

/// How a listing sorts: SQL expressions with their kinds, all in one
/// direction (negate a number to sort it the other way); ties are broken by
/// the row id in the same direction.
#[derive(Debug, Clone)]
pub struct SortSpec {
    pub keys: Vec<(Expr, SortKind)>,
    pub descending: bool,
}

impl SortSpec {
    pub fn by(expr: Expr, kind: SortKind, descending: bool) -> Self {
        Self { keys: vec![(expr, kind)], descending }
    }
}

/// A list that can be paged: the selected columns,
/// and a select holding only the list's `FROM`, joins and `WHERE`.
#[derive(Debug, Clone)]
pub struct Listing {
    pub columns: Vec<SelectExpr>,
    pub from_where: SelectStatement,
    pub id_expr: Expr,
    pub sort: SortSpec,
    /// How to count the whole list, when a cheaper statement than counting
    /// `from_where` (or a number in hand) gives the same number.
    pub count: Option<TotalCount>,
}

/// The total of a listing: a counting statement, run only when a client
/// asks for `totalCount`, or a number already in hand (a counter on a row
/// the request has read).
#[derive(Debug, Clone)]
pub enum TotalCount {
    Count(Box<SelectStatement>),
    Known(i64),
}

impl TotalCount {
    pub async fn resolve(&self, db: &impl ConnectionTrait) -> AppResult<i64> {
        match self {
            Self::Count(select) => statement::count(db, select.as_ref()).await,
            Self::Known(n) => Ok(*n),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(T, Keyset)>,
    pub has_previous: bool,
    pub has_next: bool,
    pub total: TotalCount,
}

impl<T> Page<T> {
    /// A page of a list that has nothing in it.
    pub fn empty() -> Self {
        Self { items: Vec::new(), has_previous: false, has_next: false, total: TotalCount::Known(0) }
    }

    /// The same page with each item converted: rows read by a listing
    /// become the domain's types.
    pub fn map<U>(self, mut convert: impl FnMut(T) -> U) -> Page<U> {
        let items = self.items.into_iter().map(|(item, key)| (convert(item), key)).collect();
        Page { items, has_previous: self.has_previous, has_next: self.has_next, total: self.total }
    }

    /// The same page with each item converted, leaving out those `convert`
    /// has nothing for (a search hit the database no longer holds).
    pub fn filter_map<U>(self, mut convert: impl FnMut(T) -> Option<U>) -> Page<U> {
        let items = self.items.into_iter().filter_map(|(item, key)| Some((convert(item)?, key))).collect();
        Page { items, has_previous: self.has_previous, has_next: self.has_next, total: self.total }
    }

    pub fn try_map<U, E>(self, mut convert: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        let items =
            self.items.into_iter().map(|(item, key)| Ok((convert(item)?, key))).collect::<Result<Vec<_>, E>>()?;
        Ok(Page { items, has_previous: self.has_previous, has_next: self.has_next, total: self.total })
    }
}

impl SortValue {
    fn matches(&self, kind: SortKind) -> bool {
        matches!(
            (self, kind),
            (Self::Int(_), SortKind::Int) | (Self::Float(_), SortKind::Float) | (Self::Text(_), SortKind::Text)
        )
    }

    fn to_value(&self) -> Value {
        match self {
            Self::Int(v) => (*v).into(),
            Self::Float(v) => (*v).into(),
            Self::Text(v) => v.clone().into(),
        }
    }
}

impl Listing {
    /// `(sort…, id) <op> (value…, id)` for a cursor: one row-value
    /// comparison, which the listing's index serves as a range.
    fn keyset_condition(&self, op: BinOper, key: &Keyset) -> Expr {
        let mut row: Vec<Expr> = self.sort.keys.iter().map(|(expr, _)| expr.clone()).collect();
        row.push(self.id_expr.clone());
        let mut values: Vec<Expr> = key.values.iter().map(|value| Expr::val(value.to_value())).collect();
        values.push(Expr::val(key.id));
        Expr::tuple(row).binary(op, Expr::tuple(values))
    }

    pub fn count_sql(&self) -> SelectStatement {
        let mut select = self.from_where.clone();
        select.expr_as(Expr::col(Asterisk).count(), "n");
        select
    }

    /// `(SELECT COUNT(*) …)`: 1 when a row lies on the `op` side of the
    /// cursor, else 0; reads at most one row.
    fn beyond_probe(&self, op: BinOper, key: &Keyset) -> Expr {
        let mut one = self.from_where.clone();
        one.expr_as(statement::literal(1), "one").and_where(self.keyset_condition(op, key)).limit(1);
        let probe = Query::select().expr(Expr::col(Asterisk).count()).from_subquery(one, "probe").to_owned();
        statement::subquery(probe)
    }

    fn valid_cursor(&self, key: &Keyset) -> bool {
        key.values.len() == self.sort.keys.len()
            && key.values.iter().zip(&self.sort.keys).all(|(value, (_, kind))| value.matches(*kind))
    }

    /// Fetches one page: `size + 1` rows tell whether more follow, and, when
    /// a cursor is given, a probe for one row on the cursor's other side tells
    /// whether rows precede it. The probe rides in the page statement as an
    /// uncorrelated subquery (run once); only an empty page needs it apart.
    pub async fn fetch<T: FromQueryResult>(&self, db: &impl ConnectionTrait, req: &PageRequest) -> AppResult<Page<T>> {
        if let Some(key) = &req.cursor {
            if !self.valid_cursor(key) {
                return Err(AppError::bad_input("cursor does not belong to this list or order"));
            }
        }
        // Reading forward in a descending order means "smaller than the cursor".
        let forward = req.direction == Direction::Forward;
        let descending_scan = self.sort.descending == forward;
        let (after_op, before_op) = if descending_scan {
            (BinOper::SmallerThan, BinOper::GreaterThanOrEqual)
        } else {
            (BinOper::GreaterThan, BinOper::SmallerThanOrEqual)
        };
        let order = if descending_scan { Order::Desc } else { Order::Asc };

        let mut select = self.from_where.clone();
        select.exprs(self.columns.iter().cloned());
        for (i, (expr, kind)) in self.sort.keys.iter().enumerate() {
            select.expr_as(Func::cast_as(expr.clone(), kind.sql_type()), format!("sort_key_{i}"));
            select.order_by_expr(expr.clone(), order.clone());
        }
        select.expr_as(self.id_expr.clone(), "sort_id");
        if let Some(key) = &req.cursor {
            select.expr_as(self.beyond_probe(before_op, key), "beyond_cursor");
            select.and_where(self.keyset_condition(after_op, key));
        }
        select.order_by_expr(self.id_expr.clone(), order).limit(req.size + 1);
        let rows = statement::rows(db, &select).await?;
        let more = rows.len() as u64 > req.size;
        let mut items = rows
            .iter()
            .take(req.size as usize)
            .map(|row| Ok((T::from_query_result(row, "")?, self.read_keyset(row)?)))
            .collect::<AppResult<Vec<_>>>()?;

        let beyond_cursor = match (&req.cursor, rows.first()) {
            (None, _) => false,
            (Some(_), Some(row)) => row.try_get::<i64>("", "beyond_cursor")? > 0,
            (Some(key), None) => {
                let probe = Query::select().expr_as(self.beyond_probe(before_op, key), "n").to_owned();
                statement::count(db, &probe).await? > 0
            }
        };

        let (has_previous, has_next) = if forward {
            (beyond_cursor, more)
        } else {
            items.reverse();
            (more, beyond_cursor)
        };
        let total = self.count.clone().unwrap_or_else(|| TotalCount::Count(Box::new(self.count_sql())));
        Ok(Page { items, has_previous, has_next, total })
    }

    fn read_keyset(&self, row: &QueryResult) -> AppResult<Keyset> {
        let values = self
            .sort
            .keys
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| {
                let column = format!("sort_key_{i}");
                Ok(match kind {
                    SortKind::Int => SortValue::Int(row.try_get("", &column)?),
                    SortKind::Float => SortValue::Float(row.try_get("", &column)?),
                    SortKind::Text => SortValue::Text(row.try_get("", &column)?),
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Keyset { values, id: row.try_get("", "sort_id")? })
    }
}
