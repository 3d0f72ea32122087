//! The demo dataset: Marc Mézard's six works with their full author lists
//! (`demo.json`, from the product's reference profile page). Every co-author
//! is a researcher record; only identifiers that were checked (the arXiv ids)
//! are included.
use std::collections::HashMap;

use chrono::Utc;
use entity::{institution, researcher, topic};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};
use serde::Deserialize;

use crate::domain::catalogue::{add_work_in, NewWork};
use crate::domain::changes::{self, ChangeKind, NewChange};
use crate::domain::names::sort_key;
use crate::domain::works::WorkKind;
use crate::error::{AppError, AppResult};

const DATASET: &str = include_str!("demo.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dataset {
    institutions: Vec<Institution>,
    topics: Vec<String>,
    researchers: Vec<Researcher>,
    works: Vec<Work>,
}

#[derive(Deserialize)]
struct Institution {
    key: String,
    name: String,
    country: Option<String>,
    ror: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Researcher {
    slug: String,
    display_name: String,
    orcid: Option<String>,
    affiliation: Option<String>,
    open_to_collaborate: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Work {
    title: String,
    #[serde(rename = "abstract")]
    summary: Option<String>,
    kind: String,
    year: Option<i32>,
    venue: Option<String>,
    doi: Option<String>,
    arxiv_id: Option<String>,
    cited_by_count: i32,
    authors: Vec<String>,
    topics: Vec<String>,
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Seeded { researchers: usize, works: usize },
    AlreadyPresent,
}

/// Whether the catalogue holds no researcher at all.
pub async fn catalogue_is_empty(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(researcher::Entity::find().count(db).await? == 0)
}

/// Loads the demo dataset in one transaction; does nothing if it is there.
pub async fn seed(db: &DatabaseConnection) -> AppResult<Outcome> {
    let data: Dataset = serde_json::from_str(DATASET).map_err(AppError::internal)?;
    let txn = db.begin().await?;
    let marker = crate::domain::researchers::by_slug(&txn, &data.researchers[0].slug).await?;
    if marker.is_some() {
        return Ok(Outcome::AlreadyPresent);
    }
    let now = Utc::now();

    let mut institution_ids = HashMap::new();
    for inst in &data.institutions {
        let row = institution::Entity::insert(institution::ActiveModel {
            name: Set(inst.name.clone()),
            country: Set(inst.country.clone()),
            ror: Set(inst.ror.clone()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        institution_ids.insert(inst.key.as_str(), row.last_insert_id);
    }

    let mut topic_ids = HashMap::new();
    for name in &data.topics {
        let row = topic::Entity::insert(topic::ActiveModel { name: Set(name.clone()), ..Default::default() })
            .exec(&txn)
            .await?;
        topic_ids.insert(name.as_str(), row.last_insert_id);
    }

    let mut researcher_ids = HashMap::new();
    for r in &data.researchers {
        let affiliation_id = match &r.affiliation {
            Some(key) => Some(
                *institution_ids
                    .get(key.as_str())
                    .ok_or_else(|| AppError::internal(format!("demo data: unknown institution {key}")))?,
            ),
            None => None,
        };
        let row = researcher::Entity::insert(researcher::ActiveModel {
            slug: Set(r.slug.clone()),
            display_name: Set(r.display_name.clone()),
            sort_name: Set(sort_key(&r.display_name)),
            orcid: Set(r.orcid.clone()),
            open_to_collaborate: Set(r.open_to_collaborate),
            affiliation_id: Set(affiliation_id),
            works_count: Set(0),
            followers_count: Set(0),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        researcher_ids.insert(r.slug.as_str(), row.last_insert_id);
    }

    let added: Vec<NewChange> =
        researcher_ids.values().map(|id| NewChange::of_researcher(ChangeKind::ResearcherAdded, *id)).collect();
    changes::record(&txn, &added).await?;

    for w in &data.works {
        let authors = w
            .authors
            .iter()
            .map(|slug| {
                researcher_ids
                    .get(slug.as_str())
                    .copied()
                    .ok_or_else(|| AppError::internal(format!("demo data: unknown author {slug}")))
            })
            .collect::<AppResult<Vec<i64>>>()?;
        let topics = w
            .topics
            .iter()
            .map(|name| {
                topic_ids
                    .get(name.as_str())
                    .copied()
                    .ok_or_else(|| AppError::internal(format!("demo data: unknown topic {name}")))
            })
            .collect::<AppResult<Vec<i64>>>()?;
        let work = NewWork {
            title: w.title.clone(),
            summary: w.summary.clone(),
            kind: WorkKind::from_stored(&w.kind)?,
            year: w.year,
            venue: w.venue.clone(),
            doi: w.doi.clone(),
            arxiv_id: w.arxiv_id.clone(),
            cited_by_count: w.cited_by_count,
            authors,
            topics,
        };
        add_work_in(&txn, &work).await?;
    }
    txn.commit().await?;
    Ok(Outcome::Seeded { researchers: data.researchers.len(), works: data.works.len() })
}
