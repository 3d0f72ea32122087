//! The "floor": the profile page's data as one hand-written SQL statement,
//! straight against the database, with no HTTP and no GraphQL. It bounds from
//! below what the service can cost per profile page.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::dataset::Dataset;
use crate::load::{self, Request, Rng, Sample, Workload};

/// The researcher by slug, its counters, its first 10 works (newest first,
/// works without a year last, ties by id) and the works total, as one JSON document.
/// The ten authorships are picked from the `(researcher_id, work_year, work_id)`
/// index by the researcher's id as a constant (a scalar subquery), so both
/// databases read exactly ten index entries backwards instead of joining and
/// sorting all of a prolific author's works.
const SQLITE: &str = "\
WITH r AS (
  SELECT id, slug, display_name, orcid, open_to_collaborate, affiliation_id, works_count, followers_count
  FROM researchers WHERE slug = ?
),
w AS (
  SELECT wk.id, wk.title, wk.abstract, wk.kind, wk.year, wk.venue, wk.doi, wk.arxiv_id, wk.cited_by_count
  FROM (SELECT work_id, work_year FROM authorships WHERE researcher_id = (SELECT id FROM r)
        ORDER BY work_year DESC, work_id DESC LIMIT 10) a
  JOIN works wk ON wk.id = a.work_id
)
SELECT json_object(
  'id', r.id, 'slug', r.slug, 'displayName', r.display_name, 'orcid', r.orcid,
  'openToCollaborate', r.open_to_collaborate, 'affiliationId', r.affiliation_id,
  'worksCount', r.works_count, 'followersCount', r.followers_count,
  'worksTotal', r.works_count,
  'works', (SELECT json_group_array(json_object(
      'id', w.id, 'title', w.title, 'abstract', w.abstract, 'kind', w.kind, 'year', w.year, 'venue', w.venue,
      'doi', w.doi, 'arxivId', w.arxiv_id, 'citedByCount', w.cited_by_count)) FROM w)
) AS doc
FROM r";

const POSTGRES: &str = "\
WITH r AS (
  SELECT id, slug, display_name, orcid, open_to_collaborate, affiliation_id, works_count, followers_count
  FROM researchers WHERE slug = $1
),
w AS (
  SELECT wk.id, wk.title, wk.abstract, wk.kind, wk.year, wk.venue, wk.doi, wk.arxiv_id, wk.cited_by_count,
         COALESCE(wk.year, 0) AS sort_year
  FROM (SELECT work_id, work_year FROM authorships WHERE researcher_id = (SELECT id FROM r)
        ORDER BY work_year DESC, work_id DESC LIMIT 10) a
  JOIN works wk ON wk.id = a.work_id
)
SELECT json_build_object(
  'id', r.id, 'slug', r.slug, 'displayName', r.display_name, 'orcid', r.orcid,
  'openToCollaborate', r.open_to_collaborate, 'affiliationId', r.affiliation_id,
  'worksCount', r.works_count, 'followersCount', r.followers_count,
  'worksTotal', r.works_count,
  'works', COALESCE((SELECT json_agg(json_build_object(
      'id', w.id, 'title', w.title, 'abstract', w.abstract, 'kind', w.kind, 'year', w.year, 'venue', w.venue,
      'doi', w.doi, 'arxivId', w.arxiv_id, 'citedByCount', w.cited_by_count) ORDER BY w.sort_year DESC, w.id DESC)
    FROM w), '[]'::json)
)::text AS doc
FROM r";

struct ProfileStatement {
    db: DatabaseConnection,
    sql: &'static str,
    slugs: Workload<String>,
}

impl Request for ProfileStatement {
    fn send(&self, rng: &mut Rng) -> impl Future<Output = Result<(), String>> + Send {
        let slug = self.slugs.pick(rng).cloned();
        async move {
            let slug = slug.ok_or("no slug to ask for")?;
            let statement = Statement::from_sql_and_values(self.db.get_database_backend(), self.sql, [slug.into()]);
            let row = self.db.query_one_raw(statement).await.map_err(|err| err.to_string())?;
            let doc: String = row.ok_or("no row")?.try_get("", "doc").map_err(|err| err.to_string())?;
            if doc.is_empty() {
                return Err("empty document".to_owned());
            }
            Ok(())
        }
    }
}

/// Drives the statement like an operation, over `db` (a pool of
/// `concurrency` connections), with the typical mix of slugs.
pub async fn measure(
    db: &DatabaseConnection,
    data: &Dataset,
    concurrency: u32,
    warmup: Duration,
    duration: Duration,
) -> Result<Option<Sample>> {
    let sql = match data.backend {
        DbBackend::Postgres => POSTGRES,
        _ => SQLITE,
    };
    let slugs = Workload::mix(
        data.popular.iter().map(|r| r.slug.clone()).collect(),
        data.tail.iter().map(|r| r.slug.clone()).collect(),
    );
    if slugs.is_empty() {
        return Ok(None);
    }
    let request = Arc::new(ProfileStatement { db: db.clone(), sql, slugs });
    load::drive(request.clone(), concurrency, warmup).await;
    Ok(Some(load::drive(request, concurrency, duration).await))
}
