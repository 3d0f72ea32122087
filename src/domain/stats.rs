//! A researcher's publication statistics, from the `researcher_facets` summary.
use std::collections::{BTreeMap, HashMap};

use entity::researcher_facet;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::statement;
use super::works::WorkKind;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResearcherStats {
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
    /// Ascending by year; works without a year are left out.
    pub works_by_year: Vec<(i32, i64)>,
    /// Most frequent first, then by kind.
    pub works_by_kind: Vec<(WorkKind, i64)>,
    /// Most frequent first, then by name; works without a venue are left out.
    pub venues: Vec<(String, i64)>,
}

#[derive(Debug, FromQueryResult)]
struct Facet {
    researcher_id: i64,
    facet: String,
    value: String,
    works_count: i32,
}

fn ranked(mut counts: Vec<(String, i64)>) -> Vec<(String, i64)> {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// Statistics of each researcher in `ids` from the `researcher_facets`
/// summary: a few hundred rows even for an author of 20 000 works.
pub async fn by_researchers(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, ResearcherStats>> {
    let select = Query::select()
        .columns([
            researcher_facet::Column::ResearcherId,
            researcher_facet::Column::Facet,
            researcher_facet::Column::Value,
            researcher_facet::Column::WorksCount,
        ])
        .from(researcher_facet::Entity)
        .and_where(Expr::col(researcher_facet::Column::ResearcherId).is_in(ids.iter().copied()))
        .to_owned();
    let facets: Vec<Facet> = statement::models(db, &select).await?;

    #[derive(Default)]
    struct Tally {
        years: BTreeMap<i32, i64>,
        kinds: Vec<(String, i64)>,
        venues: Vec<(String, i64)>,
    }
    let mut tallies: HashMap<i64, Tally> = HashMap::new();
    for f in facets {
        let tally = tallies.entry(f.researcher_id).or_default();
        let n = i64::from(f.works_count);
        match f.facet.as_str() {
            "year" => {
                let year =
                    f.value.parse::<i32>().map_err(|_| AppError::internal(format!("bad year facet {:?}", f.value)))?;
                tally.years.insert(year, n);
            }
            "kind" => tally.kinds.push((f.value, n)),
            "venue" => tally.venues.push((f.value, n)),
            other => return Err(AppError::internal(format!("unknown facet {other:?}"))),
        }
    }
    tallies
        .into_iter()
        .map(|(id, t)| {
            let works_by_kind = ranked(t.kinds)
                .into_iter()
                .map(|(kind, n)| Ok((WorkKind::from_stored(&kind)?, n)))
                .collect::<AppResult<_>>()?;
            let stats = ResearcherStats {
                first_year: t.years.keys().next().copied(),
                last_year: t.years.keys().next_back().copied(),
                works_by_year: t.years.into_iter().collect(),
                works_by_kind,
                venues: ranked(t.venues),
            };
            Ok((id, stats))
        })
        .collect()
}
