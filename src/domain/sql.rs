//! A small SQL text builder: fragments with `?` placeholders and their
//! values, rendered for the connection's backend (`$1, $2, …` on
//! PostgreSQL). Statements written with it are shared by both databases.
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, QueryResult, Statement, Value};

use crate::error::AppResult;

#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self { text: text.to_owned(), values: Vec::new() }
    }

    /// Appends SQL text; it must not contain `?` (use [`Sql::bind`]).
    pub fn push(&mut self, text: &str) -> &mut Self {
        debug_assert!(!text.contains('?'), "placeholders are added with bind()");
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.values.push(value.into());
        self
    }

    /// Appends `?, ?, …` bound to every value, for `IN (…)` lists.
    pub fn bind_list<V: Into<Value> + Clone>(&mut self, values: &[V]) -> &mut Self {
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value.clone());
        }
        self
    }

    /// Appends one branch per item, `separator` between them: the per-key
    /// `LIMIT` reads joined by `UNION ALL` that stand in for `LATERAL`,
    /// which SQLite lacks.
    pub fn push_each<T>(
        &mut self,
        items: &[T],
        separator: &str,
        mut branch: impl FnMut(&mut Sql, usize, &T),
    ) -> &mut Self {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(separator);
            }
            branch(self, i, item);
        }
        self
    }

    pub fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.values.extend(other.values.iter().cloned());
        self
    }

    pub fn build(&self, backend: DbBackend) -> Statement {
        let text = match backend {
            DbBackend::Postgres => {
                let mut out = String::with_capacity(self.text.len() + 8);
                let mut n = 0;
                for ch in self.text.chars() {
                    if ch == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(ch);
                    }
                }
                out
            }
            _ => self.text.clone(),
        };
        Statement::from_sql_and_values(backend, text, self.values.clone())
    }

    pub async fn fetch_all(&self, db: &impl ConnectionTrait) -> AppResult<Vec<QueryResult>> {
        Ok(db.query_all_raw(self.build(db.get_database_backend())).await?)
    }

    pub async fn fetch_optional(&self, db: &impl ConnectionTrait) -> AppResult<Option<QueryResult>> {
        Ok(db.query_one_raw(self.build(db.get_database_backend())).await?)
    }

    pub async fn fetch_models<T: FromQueryResult>(&self, db: &impl ConnectionTrait) -> AppResult<Vec<T>> {
        let rows = self.fetch_all(db).await?;
        rows.iter().map(|row| T::from_query_result(row, "").map_err(Into::into)).collect()
    }

    /// Runs a `SELECT COUNT(*) AS n …` (or any statement with one `n` column).
    pub async fn fetch_count(&self, db: &impl ConnectionTrait) -> AppResult<i64> {
        match self.fetch_optional(db).await? {
            Some(row) => Ok(row.try_get::<i64>("", "n")?),
            None => Ok(0),
        }
    }
}
