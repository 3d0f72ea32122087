//! What the benchmark asks for, chosen straight from the database: the
//! researchers of a realistic mix, title words and name prefixes to search.
use std::collections::HashSet;

use anyhow::{bail, Context as _, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement};

/// How many researchers with the most works form the "popular" set.
const POPULAR: usize = 20;
/// How many others form the "long tail".
const LONG_TAIL: usize = 200;
/// How many words and name prefixes to search for.
const WORDS: usize = 20;
const PREFIXES: usize = 50;

#[derive(Debug, Clone)]
pub struct Researcher {
    pub id: i64,
    pub slug: String,
    pub display_name: String,
    pub works_count: i64,
}

impl Researcher {
    /// The researcher's global id: base64url, no padding, of `Researcher:<id>`.
    pub fn global_id(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Researcher:{}", self.id))
    }
}

#[derive(Debug)]
pub struct Dataset {
    pub backend: DbBackend,
    /// "SQLite 3.x" or "PostgreSQL 15.x".
    pub database: String,
    pub researchers: i64,
    pub works: i64,
    pub authorships: i64,
    pub popular: Vec<Researcher>,
    pub tail: Vec<Researcher>,
    /// The researcher with the most works.
    pub heaviest: Researcher,
    /// Common title words, for work search.
    pub words: Vec<String>,
    /// 3-4 letter name prefixes, for researcher search.
    pub prefixes: Vec<String>,
}

const RESEARCHER_COLUMNS: &str = "id, slug, display_name, CAST(works_count AS BIGINT) AS works_count";

impl Dataset {
    pub async fn load(db: &DatabaseConnection) -> Result<Self> {
        let backend = db.get_database_backend();
        let version_sql = match backend {
            DbBackend::Postgres => "SELECT current_setting('server_version') AS v",
            _ => "SELECT sqlite_version() AS v",
        };
        let version: String = one(db, version_sql).await?.try_get("", "v").context("reading the version")?;
        let database = match backend {
            DbBackend::Postgres => format!("PostgreSQL {version}"),
            DbBackend::Sqlite => format!("SQLite {version}"),
            other => format!("{other:?} {version}"),
        };
        let researchers = count(db, "researchers").await?;
        let works = count(db, "works").await?;
        let authorships = count(db, "authorships").await?;
        if researchers == 0 {
            bail!("the database has no researchers; seed it first (`scholargraph seed demo` or `seed synthetic`)");
        }

        let popular = researchers_where(
            db,
            &format!("SELECT {RESEARCHER_COLUMNS} FROM researchers ORDER BY works_count DESC, id ASC LIMIT {POPULAR}"),
        )
        .await?;
        let Some(heaviest) = popular.first().cloned() else {
            bail!("no researcher found");
        };
        let popular_ids: HashSet<i64> = popular.iter().map(|r| r.id).collect();
        // Pseudo-random but repeatable; on a small catalogue, whoever is left.
        let over = LONG_TAIL + POPULAR;
        let mut tail = researchers_where(
            db,
            &format!("SELECT {RESEARCHER_COLUMNS} FROM researchers WHERE id % 97 = 3 ORDER BY id LIMIT {over}"),
        )
        .await?;
        tail.retain(|r| !popular_ids.contains(&r.id));
        if tail.is_empty() {
            tail = researchers_where(
                db,
                &format!("SELECT {RESEARCHER_COLUMNS} FROM researchers ORDER BY id LIMIT {over}"),
            )
            .await?;
            tail.retain(|r| !popular_ids.contains(&r.id));
        }
        tail.truncate(LONG_TAIL);

        let mut titles = strings(db, "SELECT title AS s FROM works WHERE id % 17 = 5 ORDER BY id LIMIT 50").await?;
        if titles.len() < 10 {
            titles = strings(db, "SELECT title AS s FROM works ORDER BY id LIMIT 50").await?;
        }
        let words = distinct(titles.iter().filter_map(|title| title_word(title)), WORDS);
        let prefixes = distinct(popular.iter().chain(&tail).filter_map(|r| name_prefix(&r.display_name)), PREFIXES);

        Ok(Self { backend, database, researchers, works, authorships, popular, tail, heaviest, words, prefixes })
    }
}

async fn one(db: &DatabaseConnection, sql: &str) -> Result<QueryResult> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .with_context(|| format!("running `{sql}`"))?
        .with_context(|| format!("`{sql}` returned no row"))
}

async fn count(db: &DatabaseConnection, table: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    one(db, &sql).await?.try_get("", "n").with_context(|| format!("counting {table}"))
}

async fn researchers_where(db: &DatabaseConnection, sql: &str) -> Result<Vec<Researcher>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .with_context(|| format!("running `{sql}`"))?;
    rows.iter()
        .map(|row| {
            Ok(Researcher {
                id: row.try_get("", "id")?,
                slug: row.try_get("", "slug")?,
                display_name: row.try_get("", "display_name")?,
                works_count: row.try_get("", "works_count")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .context("reading researchers")
}

async fn strings(db: &DatabaseConnection, sql: &str) -> Result<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .with_context(|| format!("running `{sql}`"))?;
    rows.iter().map(|row| row.try_get::<String>("", "s")).collect::<Result<_, _>>().context("reading titles")
}

fn distinct(items: impl Iterator<Item = String>, max: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(item.clone())).take(max).collect()
}

const STOPWORDS: &[&str] = &[
    "about", "after", "among", "from", "into", "over", "than", "that", "their", "there", "these", "this", "through",
    "towards", "under", "upon", "using", "very", "what", "when", "where", "which", "while", "with", "within",
    "without",
];

/// The first word of a title that is worth searching for: four letters or
/// more, not a stop word, lower-cased.
fn title_word(title: &str) -> Option<String> {
    title.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).find(|word| {
        word.chars().count() >= 4 && word.chars().all(char::is_alphabetic) && !STOPWORDS.contains(&&**word)
    })
}

/// The first 4 letters (3 when that is all there is) of the surname, lower-cased.
fn name_prefix(display_name: &str) -> Option<String> {
    let surname = display_name.split_whitespace().last()?;
    let letters: Vec<char> = surname.chars().take_while(|c| c.is_alphabetic()).collect();
    if letters.len() < 3 {
        return None;
    }
    Some(letters.iter().take(4).collect::<String>().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_are_base64url_without_padding() {
        let r = Researcher { id: 3, slug: String::new(), display_name: String::new(), works_count: 0 };
        assert_eq!(r.global_id(), "UmVzZWFyY2hlcjoz");
    }

    #[test]
    fn picks_searchable_words_and_prefixes() {
        assert_eq!(title_word("On the Spin-Glass Phase of the model").as_deref(), Some("spin"));
        assert_eq!(title_word("A 3D map of it"), None);
        assert_eq!(name_prefix("Marc Mézard").as_deref(), Some("méza"));
        assert_eq!(name_prefix("Li Wu"), None);
        assert_eq!(name_prefix("Ann Lee").as_deref(), Some("lee"));
    }
}
