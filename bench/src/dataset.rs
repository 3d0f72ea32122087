//! What the benchmark asks for, chosen straight from the database: the
//! researchers of a realistic mix, title words and name prefixes to search.
use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context as _, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement};

/// How many researchers with the most works form the "popular" set.
const POPULAR: usize = 20;
/// How many others form the "long tail".
const LONG_TAIL: usize = 200;
/// How many titles are read to count word frequencies.
const TITLE_SAMPLE: usize = 5_000;
/// How many common words, median words and name prefixes to search for.
const COMMON_WORDS: usize = 5;
const MEDIAN_WORDS: usize = 20;
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
    /// The most frequent words in a sample of titles, for work search.
    pub common_words: Vec<String>,
    /// Words of median frequency among the words of the sample, for work search.
    pub median_words: Vec<String>,
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

        // One work in 13 (every work on a small catalogue), enough titles
        // for the frequencies of a million-work catalogue's words to show.
        let mut titles =
            strings(db, &format!("SELECT title AS s FROM works WHERE id % 13 = 5 ORDER BY id LIMIT {TITLE_SAMPLE}"))
                .await?;
        if titles.len() < 500 {
            titles = strings(db, &format!("SELECT title AS s FROM works ORDER BY id LIMIT {TITLE_SAMPLE}")).await?;
        }
        let (common_words, median_words) = common_and_median_words(&titles, COMMON_WORDS, MEDIAN_WORDS);
        let prefixes = distinct(popular.iter().chain(&tail).filter_map(|r| name_prefix(&r.display_name)), PREFIXES);

        Ok(Self {
            backend,
            database,
            researchers,
            works,
            authorships,
            popular,
            tail,
            heaviest,
            common_words,
            median_words,
            prefixes,
        })
    }
}

/// The researcher with the smallest id, if any.
pub async fn first_researcher(db: &DatabaseConnection) -> Result<Option<Researcher>> {
    let sql = format!("SELECT {RESEARCHER_COLUMNS} FROM researchers ORDER BY id ASC LIMIT 1");
    Ok(researchers_where(db, &sql).await?.into_iter().next())
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

/// The words of a title that are worth searching for: four letters or
/// more, not a stop word, lower-cased.
fn title_words(title: &str) -> impl Iterator<Item = String> + '_ {
    title.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).filter(|word| {
        word.chars().count() >= 4 && word.chars().all(char::is_alphabetic) && !STOPWORDS.contains(&&**word)
    })
}

/// From the words of `titles`: the `common` most frequent, and up to
/// `median` others of the median frequency among the words that occur
/// (spread over that frequency's words in alphabetical order). Counting
/// the titles themselves makes the choice fit any seeded catalogue.
fn common_and_median_words(titles: &[String], common: usize, median: usize) -> (Vec<String>, Vec<String>) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in titles.iter().flat_map(|title| title_words(title)) {
        *counts.entry(word).or_default() += 1;
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let Some((_, median_count)) = ranked.get(ranked.len() / 2).cloned() else {
        return (Vec::new(), Vec::new());
    };
    let (top, rest) = ranked.split_at(common.min(ranked.len()));
    let candidates: Vec<&String> = rest.iter().filter(|(_, n)| *n == median_count).map(|(word, _)| word).collect();
    let step = (candidates.len() / median.max(1)).max(1);
    let middle = candidates.into_iter().step_by(step).take(median).cloned().collect();
    (top.iter().map(|(word, _)| word.clone()).collect(), middle)
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
        let words: Vec<String> = title_words("On the Spin-Glass Phase of the model, with 3D maps").collect();
        assert_eq!(words, ["spin", "glass", "phase", "model", "maps"]);
        assert_eq!(title_words("A 3D map of it").next(), None);
        assert_eq!(name_prefix("Marc Mézard").as_deref(), Some("méza"));
        assert_eq!(name_prefix("Li Wu"), None);
        assert_eq!(name_prefix("Ann Lee").as_deref(), Some("lee"));
    }

    #[test]
    fn picks_common_and_median_words_by_their_counts() {
        let titles: Vec<String> = [
            "Graph models of graph spectra",
            "Graph kernels and spectra",
            "Graph flows, rare alpha",
            "Spectra of flows, rare beta",
            "Once gamma, once delta",
        ]
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
        // graph 4, spectra 3, flows 2, rare 2, once 2, and six words once.
        let (common, median) = common_and_median_words(&titles, 2, 3);
        assert_eq!(common, ["graph", "spectra"]);
        assert_eq!(median, ["alpha", "delta", "kernels"]);
        assert_eq!(common_and_median_words(&[], 2, 3), (vec![], vec![]));
    }
}
