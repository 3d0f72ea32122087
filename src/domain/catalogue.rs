//! Adding works to the catalogue, with every counter and summary table that
//! depends on them updated in the same transaction: `researchers.works_count`,
//! `works.authors_count`, `authorships.work_year` and `.work_authors_count`,
//! `researcher_topics`, `researcher_facets`, `collaborations` and the
//! researchers' co-author, linked-work and topic-profile counters. The change
//! log gets one `WORK_ADDED` row for the work and one `AUTHORSHIP_ADDED` row
//! per author (so a reader of one researcher's changes needs no join), also
//! in the same transaction.
use chrono::Utc;
use entity::{authorship, collaboration, researcher, researcher_facet, researcher_topic, topic, work, work_topic};
use sea_orm::sea_query::{
    Asterisk, BinOper, CaseStatement, Expr, ExprTrait, Func, JoinType, OnConflict, Query, UnionType,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::begin_write;
use super::changes::{self, ChangeKind, NewChange};
use super::statement::{self, literal, subquery};
use super::works::WorkKind;
use crate::error::{AppError, AppResult};

/// The longest byline whose authors become each other's collaborators.
/// A consortium paper (hundreds or thousands of authors) would add a pair
/// row for every two of them, growing with the square of the byline, and
/// would make everyone on it a "collaborator" of everyone else; its authors
/// still count it among their works, topics and facets. 100 is also where
/// OpenAlex truncates a work's author list.
pub const LARGEST_COLLABORATIVE_BYLINE: usize = 100;

#[derive(Debug, Clone)]
pub struct NewWork {
    pub title: String,
    pub summary: Option<String>,
    pub kind: WorkKind,
    pub year: Option<i32>,
    pub venue: Option<String>,
    pub doi: Option<String>,
    pub arxiv_id: Option<String>,
    pub cited_by_count: i32,
    /// Researcher ids in byline order, without repeats.
    pub authors: Vec<i64>,
    pub topics: Vec<i64>,
}

/// Adds a work and its byline and topics in one transaction; returns its id.
pub async fn add_work(db: &DatabaseConnection, work: &NewWork) -> AppResult<i64> {
    let txn = begin_write(db).await?;
    let id = add_work_in(&txn, work).await?;
    txn.commit().await?;
    Ok(id)
}

/// Adds a work inside the caller's transaction.
pub async fn add_work_in(txn: &DatabaseTransaction, work: &NewWork) -> AppResult<i64> {
    let mut authors = work.authors.clone();
    authors.sort_unstable();
    authors.dedup();
    if authors.is_empty() || authors.len() != work.authors.len() {
        return Err(AppError::bad_input("a work needs at least one author, each listed once"));
    }
    // A topic listed twice links once.
    let mut topic_ids = work.topics.clone();
    topic_ids.sort_unstable();
    topic_ids.dedup();
    // Unknown ids are the caller's mistake (NOT_FOUND), not a foreign-key failure (INTERNAL).
    let known_authors =
        researcher::Entity::find().filter(researcher::Column::Id.is_in(authors.iter().copied())).count(txn).await?;
    if known_authors != authors.len() as u64 {
        return Err(AppError::not_found("an author of the work (researcher)"));
    }
    let known_topics =
        topic::Entity::find().filter(topic::Column::Id.is_in(topic_ids.iter().copied())).count(txn).await?;
    if known_topics != topic_ids.len() as u64 {
        return Err(AppError::not_found("a topic of the work"));
    }
    let authors = &work.authors;
    let work_id = insert_work_row(txn, work).await?;
    let year_key = work.year.unwrap_or(0);

    for (position, author) in authors.iter().enumerate() {
        let byline = Query::insert()
            .into_table(authorship::Entity)
            .columns([
                authorship::Column::WorkId,
                authorship::Column::ResearcherId,
                authorship::Column::Position,
                authorship::Column::WorkYear,
                authorship::Column::WorkAuthorsCount,
            ])
            .values_panic([
                work_id.into(),
                (*author).into(),
                (position as i32 + 1).into(),
                year_key.into(),
                (authors.len() as i32).into(),
            ])
            .to_owned();
        statement::execute(txn, &byline).await?;
    }
    for topic in &topic_ids {
        let link = Query::insert()
            .into_table(work_topic::Entity)
            .columns([work_topic::Column::WorkId, work_topic::Column::TopicId])
            .values_panic([work_id.into(), (*topic).into()])
            .to_owned();
        statement::execute(txn, &link).await?;
    }

    let of_authors = Expr::col(researcher::Column::Id).is_in(authors.iter().copied());
    let counters = Query::update()
        .table(researcher::Entity)
        .value(researcher::Column::WorksCount, Expr::col(researcher::Column::WorksCount).add(1))
        .and_where(of_authors.clone())
        .to_owned();
    statement::execute(txn, &counters).await?;
    let topics = Query::insert()
        .into_table(researcher_topic::Entity)
        .columns([
            researcher_topic::Column::ResearcherId,
            researcher_topic::Column::TopicId,
            researcher_topic::Column::WorksCount,
        ])
        .select_from(
            Query::select()
                .column(("a", authorship::Column::ResearcherId))
                .column(("wt", work_topic::Column::TopicId))
                .expr(literal(1))
                .from_as(authorship::Entity, "a")
                .join_as(
                    JoinType::Join,
                    work_topic::Entity,
                    "wt",
                    Expr::col(("wt", work_topic::Column::WorkId)).equals(("a", authorship::Column::WorkId)),
                )
                .and_where(Expr::col(("a", authorship::Column::WorkId)).eq(work_id))
                .to_owned(),
        )
        .map_err(AppError::internal)?
        .on_conflict(
            OnConflict::columns([researcher_topic::Column::ResearcherId, researcher_topic::Column::TopicId])
                .value(
                    researcher_topic::Column::WorksCount,
                    Expr::col((researcher_topic::Entity, researcher_topic::Column::WorksCount)).add(1),
                )
                .to_owned(),
        )
        .to_owned();
    statement::execute(txn, &topics).await?;
    if !work.topics.is_empty() {
        let of_researcher = || {
            Expr::col(("t", researcher_topic::Column::ResearcherId))
                .equals((researcher::Entity, researcher::Column::Id))
        };
        let works_count = || Expr::col(("t", researcher_topic::Column::WorksCount));
        let norm2 = Query::select()
            .expr(Func::coalesce([
                Func::sum(Func::cast_as(works_count(), "BIGINT").mul(works_count())).into(),
                literal(0),
            ]))
            .from_as(researcher_topic::Entity, "t")
            .and_where(of_researcher())
            .to_owned();
        let topics_count = Query::select()
            .expr(Expr::col(Asterisk).count())
            .from_as(researcher_topic::Entity, "t")
            .and_where(of_researcher())
            .to_owned();
        let norms = Query::update()
            .table(researcher::Entity)
            .value(researcher::Column::TopicNorm2, subquery(norm2))
            .value(researcher::Column::TopicsCount, subquery(topics_count))
            .and_where(of_authors.clone())
            .to_owned();
        statement::execute(txn, &norms).await?;
    }
    // The work's year, kind and venue, once per author. SQLite needs the
    // `WHERE` to parse `ON CONFLICT` after a compound `SELECT`.
    let bylines = || {
        Query::select()
            .column(("a", authorship::Column::ResearcherId))
            .from_as(authorship::Entity, "a")
            .join_as(
                JoinType::Join,
                work::Entity,
                "w",
                Expr::col(("w", work::Column::Id)).equals(("a", authorship::Column::WorkId)),
            )
            .and_where(Expr::col(("a", authorship::Column::WorkId)).eq(work_id))
            .to_owned()
    };
    let each_facet = bylines()
        .expr_as(literal("year"), "facet")
        .expr_as(Func::cast_as(Expr::col(("w", work::Column::Year)), "VARCHAR(8)"), "value")
        .and_where(Expr::col(("w", work::Column::Year)).is_not_null())
        .unions([
            (UnionType::All, bylines().expr(literal("kind")).column(("w", work::Column::Kind)).to_owned()),
            (
                UnionType::All,
                bylines()
                    .expr(literal("venue"))
                    .column(("w", work::Column::Venue))
                    .and_where(Expr::col(("w", work::Column::Venue)).is_not_null())
                    .to_owned(),
            ),
        ])
        .to_owned();
    let facets = Query::insert()
        .into_table(researcher_facet::Entity)
        .columns([
            researcher_facet::Column::ResearcherId,
            researcher_facet::Column::Facet,
            researcher_facet::Column::Value,
            researcher_facet::Column::WorksCount,
        ])
        .select_from(
            Query::select()
                .columns([("f", "researcher_id"), ("f", "facet"), ("f", "value")])
                .expr(literal(1))
                .from_subquery(each_facet, "f")
                .and_where(Expr::cust("1 = 1"))
                .to_owned(),
        )
        .map_err(AppError::internal)?
        .on_conflict(
            OnConflict::columns([
                researcher_facet::Column::ResearcherId,
                researcher_facet::Column::Facet,
                researcher_facet::Column::Value,
            ])
            .value(
                researcher_facet::Column::WorksCount,
                Expr::col((researcher_facet::Entity, researcher_facet::Column::WorksCount)).add(1),
            )
            .to_owned(),
        )
        .to_owned();
    statement::execute(txn, &facets).await?;
    // Both directions of every co-author pair; first and last year ignore
    // works without a year.
    let pair_rows = Query::select()
        .column(("a", authorship::Column::ResearcherId))
        .column(("b", authorship::Column::ResearcherId))
        .expr(literal(1))
        .column(("w", work::Column::Year))
        .column(("w", work::Column::Year))
        .column(("r", researcher::Column::SortName))
        .from_as(authorship::Entity, "a")
        .join_as(
            JoinType::Join,
            authorship::Entity,
            "b",
            Expr::col(("b", authorship::Column::WorkId)).equals(("a", authorship::Column::WorkId)).and(
                Expr::col(("b", authorship::Column::ResearcherId)).not_equals(("a", authorship::Column::ResearcherId)),
            ),
        )
        .join_as(
            JoinType::Join,
            work::Entity,
            "w",
            Expr::col(("w", work::Column::Id)).equals(("a", authorship::Column::WorkId)),
        )
        .join_as(
            JoinType::Join,
            researcher::Entity,
            "r",
            Expr::col(("r", researcher::Column::Id)).equals(("b", authorship::Column::ResearcherId)),
        )
        .and_where(Expr::col(("a", authorship::Column::WorkId)).eq(work_id))
        .and_where(Expr::col(("w", work::Column::AuthorsCount)).lte(LARGEST_COLLABORATIVE_BYLINE as i64))
        .to_owned();
    // The earlier (later) of the kept and the new year, a missing year
    // never winning.
    let year_bound = |column: collaboration::Column, new_wins: BinOper| {
        let kept = || Expr::col((collaboration::Entity, column));
        let new = || Expr::col(("excluded", column));
        CaseStatement::new()
            .case(new().is_null(), kept())
            .case(kept().is_null().or(new().binary(new_wins, kept())), new())
            .finally(kept())
    };
    let pairs = Query::insert()
        .into_table(collaboration::Entity)
        .columns([
            collaboration::Column::ResearcherId,
            collaboration::Column::CoauthorId,
            collaboration::Column::SharedWorks,
            collaboration::Column::FirstYear,
            collaboration::Column::LastYear,
            collaboration::Column::CoauthorSortName,
        ])
        .select_from(pair_rows)
        .map_err(AppError::internal)?
        .on_conflict(
            OnConflict::columns([collaboration::Column::ResearcherId, collaboration::Column::CoauthorId])
                .values([
                    (
                        collaboration::Column::SharedWorks,
                        Expr::col((collaboration::Entity, collaboration::Column::SharedWorks)).add(1),
                    ),
                    (
                        collaboration::Column::FirstYear,
                        year_bound(collaboration::Column::FirstYear, BinOper::SmallerThan).into(),
                    ),
                    (
                        collaboration::Column::LastYear,
                        year_bound(collaboration::Column::LastYear, BinOper::GreaterThan).into(),
                    ),
                ])
                .to_owned(),
        )
        .to_owned();
    statement::execute(txn, &pairs).await?;
    let linked = i32::from(work.doi.is_some() || work.arxiv_id.is_some());
    let coauthors = || {
        Query::select()
            .expr(Expr::col(Asterisk).count())
            .from_as(collaboration::Entity, "c")
            .and_where(
                Expr::col(("c", collaboration::Column::ResearcherId))
                    .equals((researcher::Entity, researcher::Column::Id)),
            )
            .to_owned()
    };
    let counters = Query::update()
        .table(researcher::Entity)
        .value(researcher::Column::CollaboratorsCount, subquery(coauthors()))
        .value(
            researcher::Column::CloseCollaboratorsCount,
            subquery(coauthors().and_where(Expr::col(("c", collaboration::Column::SharedWorks)).gte(2)).to_owned()),
        )
        .value(researcher::Column::LinkedWorksCount, Expr::col(researcher::Column::LinkedWorksCount).add(linked))
        .and_where(of_authors)
        .to_owned();
    statement::execute(txn, &counters).await?;
    let mut added = vec![NewChange { kind: ChangeKind::WorkAdded, subject_id: work_id, researcher_id: None }];
    added.extend(authors.iter().map(|&author| NewChange {
        kind: ChangeKind::AuthorshipAdded,
        subject_id: work_id,
        researcher_id: Some(author),
    }));
    changes::record(txn, &added).await?;
    Ok(work_id)
}

/// Inserts the work's own row (its byline counted as `authors_count`) and
/// returns its id; the caller writes the byline, topics and summaries. A DOI
/// or arXiv id another work holds is a `CONFLICT`.
pub async fn insert_work_row(txn: &DatabaseTransaction, work: &NewWork) -> AppResult<i64> {
    let mut insert = Query::insert().into_table(work::Entity).columns(WORK_ROW_COLUMNS).to_owned();
    insert.values_panic(work_row(work)).returning_col(work::Column::Id);
    let row = txn
        .query_one(&insert)
        .await
        .map_err(|e| AppError::conflict_on_unique(e, "a work with this DOI or arXiv id exists"))?;
    Ok(row.ok_or(AppError::Internal)?.try_get("", "id")?)
}

/// Inserts many works' own rows under ids the caller reserved (an import
/// batch), as [`insert_work_row`] inserts one.
pub async fn insert_work_rows(txn: &DatabaseTransaction, works: &[(i64, NewWork)]) -> AppResult<()> {
    // A fixed size keeps the statement's text, so a prepared one is reused.
    for chunk in works.chunks(256) {
        let mut insert = Query::insert()
            .into_table(work::Entity)
            .columns(std::iter::once(work::Column::Id).chain(WORK_ROW_COLUMNS))
            .to_owned();
        for (id, work) in chunk {
            insert.values_panic(std::iter::once(Expr::val(*id)).chain(work_row(work)));
        }
        txn.execute(&insert)
            .await
            .map_err(|e| AppError::conflict_on_unique(e, "a work with this DOI or arXiv id exists"))?;
    }
    Ok(())
}

const WORK_ROW_COLUMNS: [work::Column; 10] = [
    work::Column::Title,
    work::Column::Abstract,
    work::Column::Kind,
    work::Column::Year,
    work::Column::Venue,
    work::Column::Doi,
    work::Column::ArxivId,
    work::Column::CitedByCount,
    work::Column::AuthorsCount,
    work::Column::CreatedAt,
];

fn work_row(work: &NewWork) -> [Expr; 10] {
    [
        work.title.clone().into(),
        work.summary.clone().into(),
        work.kind.as_stored().into(),
        work.year.into(),
        work.venue.clone().into(),
        work.doi.clone().into(),
        work.arxiv_id.clone().into(),
        work.cited_by_count.into(),
        (work.authors.len() as i32).into(),
        Utc::now().into(),
    ]
}
