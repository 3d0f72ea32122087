//! A researcher's publication statistics, from one grouped statement.
use std::collections::{BTreeMap, HashMap};

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::sql::Sql;
use crate::error::AppResult;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResearcherStats {
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
    /// Ascending by year; works without a year are left out.
    pub works_by_year: Vec<(i32, i64)>,
    /// Most frequent first, then by kind.
    pub works_by_kind: Vec<(String, i64)>,
    /// Most frequent first, then by name; works without a venue are left out.
    pub venues: Vec<(String, i64)>,
}

#[derive(Debug, FromQueryResult)]
struct Group {
    researcher_id: i64,
    year: Option<i32>,
    kind: String,
    venue: Option<String>,
    n: i64,
}

fn ranked(counts: HashMap<String, i64>) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

pub async fn by_researchers(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, ResearcherStats>> {
    let mut sql = Sql::new(
        "SELECT a.researcher_id AS researcher_id, w.year AS year, w.kind AS kind, w.venue AS venue, COUNT(*) AS n \
         FROM authorships a JOIN works w ON w.id = a.work_id WHERE a.researcher_id IN (",
    );
    sql.bind_list(ids).push(") GROUP BY a.researcher_id, w.year, w.kind, w.venue");
    let groups: Vec<Group> = sql.fetch_models(db).await?;

    #[derive(Default)]
    struct Tally {
        years: BTreeMap<i32, i64>,
        kinds: HashMap<String, i64>,
        venues: HashMap<String, i64>,
    }
    let mut tallies: HashMap<i64, Tally> = HashMap::new();
    for g in groups {
        let tally = tallies.entry(g.researcher_id).or_default();
        if let Some(year) = g.year {
            *tally.years.entry(year).or_default() += g.n;
        }
        *tally.kinds.entry(g.kind).or_default() += g.n;
        if let Some(venue) = g.venue {
            *tally.venues.entry(venue).or_default() += g.n;
        }
    }
    Ok(tallies
        .into_iter()
        .map(|(id, t)| {
            let stats = ResearcherStats {
                first_year: t.years.keys().next().copied(),
                last_year: t.years.keys().next_back().copied(),
                works_by_year: t.years.into_iter().collect(),
                works_by_kind: ranked(t.kinds),
                venues: ranked(t.venues),
            };
            (id, stats)
        })
        .collect())
}
