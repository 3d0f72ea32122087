//! The research-graph explorer: a researcher's neighbourhood as nodes and
//! edges, bounded by a node limit.
//!
//! Depth 1 holds the researcher, their works, their co-authors, the topics
//! of their works and the institutions of every researcher in the graph.
//! Depth 2 adds the co-authors' co-authors (and their institutions), with
//! co-author links among all researchers present; it expands the 50
//! closest co-authors (by shared works).
//!
//! Each kind is first limited in SQL by its own importance (works by number
//! of authors and co-authors by shared works, `limit` of each; for each
//! expanded co-author, their closest co-authors, enough to fill twice the
//! room the first ring leaves under `limit`), so the cost is bounded by
//! `limit`, not by the researcher's output. A node's weight is then its weighted degree in that
//! neighbourhood (the sum of its edges' weights: shared works for co-author
//! links, 1 otherwise). When the neighbourhood has more than `limit` nodes,
//! the researcher is kept and then the heaviest nodes (ties: kind, then id);
//! edges with a cut end are dropped, so the answer is always a consistent
//! graph, and the same data always gives the same graph.
use std::collections::{BTreeMap, HashMap, HashSet};

use entity::{authorship, collaboration, institution, researcher, work};
use sea_orm::sea_query::{Expr, ExprTrait, Func, JoinType, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::statement::{self, literal};
use crate::error::{AppError, AppResult};

pub const MAX_LIMIT: i32 = 500;
/// Nodes returned when `limit` is left out.
pub const DEFAULT_LIMIT: i32 = 50;

/// How many of the closest co-authors depth 2 expands: their co-authors are
/// the second ring. Bounds the rows read for researchers with thousands of
/// co-authors.
const EXPANDED_COAUTHORS: usize = 50;

/// The most second-ring pairs read per node of the limit (shared among the
/// expanded co-authors).
const MAX_PAIRS_PER_NODE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Researcher,
    Work,
    Topic,
    Institution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    Authored,
    Coauthor,
    HasTopic,
    Affiliated,
}

pub type NodeKey = (NodeKind, i64);

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub key: NodeKey,
    pub label: String,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub source: NodeKey,
    pub target: NodeKey,
    pub kind: EdgeKind,
    pub weight: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, FromQueryResult)]
struct PersonRow {
    id: i64,
    display_name: String,
    affiliation_id: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct CoauthorRow {
    id: i64,
    display_name: String,
    affiliation_id: Option<i64>,
    shared: i64,
}

#[derive(Debug, FromQueryResult)]
struct WorkRow {
    id: i64,
    title: String,
}

#[derive(Debug, FromQueryResult)]
struct PairRow {
    a: i64,
    b: i64,
    n: i64,
}

#[derive(Debug, FromQueryResult)]
struct NamedRow {
    id: i64,
    name: String,
}

/// Validated arguments: `depth` 1..=2 (default 1), `limit` 1..=500 (default 50).
pub fn validate(depth: Option<i32>, limit: Option<i32>) -> AppResult<(u8, usize)> {
    let depth = depth.unwrap_or(1);
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=2).contains(&depth) {
        return Err(AppError::bad_input(format!("`depth` must be 1 or 2, got {depth}")));
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::bad_input(format!("`limit` must be between 1 and {MAX_LIMIT}, got {limit}")));
    }
    Ok((depth as u8, limit as usize))
}

/// The closest co-authors of every researcher in `ids`: for each, at most
/// `per_researcher` pairs (a, b, shared works), most shared works first, each
/// an index range of `ix_collaborations_order` read in order and stopped by
/// its `LIMIT`, so a co-author with 40 000 co-authors costs as little as one
/// with 40.
async fn closest_coauthors(db: &impl ConnectionTrait, ids: &[i64], per_researcher: usize) -> AppResult<Vec<PairRow>> {
    let sql = statement::top_rows_per_key(db.get_database_backend(), ids, "closest", |id| {
        Query::select()
            .expr_as(Expr::col(collaboration::Column::ResearcherId), "a")
            .expr_as(Expr::col(collaboration::Column::CoauthorId), "b")
            .expr_as(Func::cast_as(Expr::col(collaboration::Column::SharedWorks), "BIGINT"), "n")
            .from(collaboration::Entity)
            .and_where(Expr::col((collaboration::Entity, collaboration::Column::ResearcherId)).eq(id))
            // `ix_collaborations_order`'s expression.
            .order_by_expr(Expr::cust("-shared_works"), Order::Asc)
            .order_by(collaboration::Column::CoauthorSortName, Order::Asc)
            .order_by(collaboration::Column::CoauthorId, Order::Asc)
            .limit(per_researcher as u64)
            .to_owned()
    });
    match sql {
        Some(sql) => statement::models(db, &sql).await,
        None => Ok(Vec::new()),
    }
}

#[tracing::instrument(skip(db))]
pub async fn research_graph(
    db: &impl ConnectionTrait,
    researcher_id: i64,
    depth: u8,
    limit: usize,
) -> AppResult<Graph> {
    let person = Query::select()
        .columns([researcher::Column::Id, researcher::Column::DisplayName, researcher::Column::AffiliationId])
        .from(researcher::Entity)
        .to_owned();
    let center = person.clone().and_where(Expr::col(researcher::Column::Id).eq(researcher_id)).to_owned();
    let Some(me) = statement::models::<PersonRow>(db, &center).await?.into_iter().next() else {
        return Err(AppError::not_found("researcher"));
    };

    let works_sql = Query::select()
        .expr_as(Expr::col(("w", work::Column::Id)), "id")
        .expr_as(Expr::col(("w", work::Column::Title)), "title")
        .from_as(authorship::Entity, "a")
        .join_as(
            JoinType::Join,
            work::Entity,
            "w",
            Expr::col(("w", work::Column::Id)).equals(("a", authorship::Column::WorkId)),
        )
        .and_where(Expr::col(("a", authorship::Column::ResearcherId)).eq(researcher_id))
        // `ix_authorships_researcher_weight`, read in order: `limit` entries
        // however many works the researcher has.
        .order_by(("a", authorship::Column::WorkAuthorsCount), Order::Desc)
        .order_by(("a", authorship::Column::WorkId), Order::Asc)
        .limit(limit as u64)
        .to_owned();
    let works: Vec<WorkRow> = statement::models(db, &works_sql).await?;

    let coauthors_sql = Query::select()
        .expr_as(Expr::col(("r", researcher::Column::Id)), "id")
        .expr_as(Expr::col(("r", researcher::Column::DisplayName)), "display_name")
        .expr_as(Expr::col(("r", researcher::Column::AffiliationId)), "affiliation_id")
        .expr_as(Func::cast_as(Expr::col(("c", collaboration::Column::SharedWorks)), "BIGINT"), "shared")
        .from_as(collaboration::Entity, "c")
        .join_as(
            JoinType::Join,
            researcher::Entity,
            "r",
            Expr::col(("r", researcher::Column::Id)).equals(("c", collaboration::Column::CoauthorId)),
        )
        .and_where(Expr::col(("c", collaboration::Column::ResearcherId)).eq(researcher_id))
        // `ix_collaborations_order`'s expression.
        .order_by_expr(Expr::cust("-c.shared_works"), Order::Asc)
        .order_by(("c", collaboration::Column::CoauthorSortName), Order::Asc)
        .order_by(("c", collaboration::Column::CoauthorId), Order::Asc)
        .limit(limit as u64)
        .to_owned();
    let coauthors: Vec<CoauthorRow> = statement::models(db, &coauthors_sql).await?;

    let mut labels: HashMap<NodeKey, String> = HashMap::new();
    let mut edges: Vec<Edge> = Vec::new();
    let mut affiliations: Vec<(i64, i64)> = Vec::new();
    let researcher = |id| (NodeKind::Researcher, id);

    labels.insert(researcher(me.id), me.display_name.clone());
    affiliations.extend(me.affiliation_id.map(|i| (me.id, i)));
    for w in &works {
        labels.insert((NodeKind::Work, w.id), w.title.clone());
    }
    let work_ids: Vec<i64> = works.iter().map(|w| w.id).collect();
    for c in &coauthors {
        labels.insert(researcher(c.id), c.display_name.clone());
        affiliations.extend(c.affiliation_id.map(|i| (c.id, i)));
        edges.push(Edge {
            source: researcher(me.id),
            target: researcher(c.id),
            kind: EdgeKind::Coauthor,
            weight: c.shared,
        });
    }

    if !work_ids.is_empty() {
        // Bylines of the works present, restricted to the researchers
        // present: AUTHORED edges. A popular author's largest works carry
        // thousands of other names, none of them in the graph.
        let present = std::iter::once(me.id).chain(coauthors.iter().map(|c| c.id));
        let bylines = Query::select()
            .expr_as(Expr::col(authorship::Column::WorkId), "a")
            .expr_as(Expr::col(authorship::Column::ResearcherId), "b")
            .expr_as(Func::cast_as(literal(1), "BIGINT"), "n")
            .from(authorship::Entity)
            .and_where(Expr::col(authorship::Column::WorkId).is_in(work_ids.iter().copied()))
            .and_where(Expr::col(authorship::Column::ResearcherId).is_in(present))
            .to_owned();
        for row in statement::models::<PairRow>(db, &bylines).await? {
            edges.push(Edge {
                source: researcher(row.b),
                target: (NodeKind::Work, row.a),
                kind: EdgeKind::Authored,
                weight: 1,
            });
        }
        for (work_id, topics) in super::works::topics_by_works(db, &work_ids).await? {
            for topic in topics {
                labels.insert((NodeKind::Topic, topic.id), topic.name);
                edges.push(Edge {
                    source: (NodeKind::Work, work_id),
                    target: (NodeKind::Topic, topic.id),
                    kind: EdgeKind::HasTopic,
                    weight: 1,
                });
            }
        }
    }

    if depth == 2 && !coauthors.is_empty() {
        // The closest co-authors are expanded (they are listed by shared works).
        let first_ring: Vec<i64> = coauthors.iter().take(EXPANDED_COAUTHORS).map(|c| c.id).collect();
        // Enough pairs to fill twice the room left under the limit, so the
        // weight-ranked cut still has a choice; never more than 8 per node.
        let room = limit.saturating_sub(labels.len()).max(1);
        let per_coauthor =
            (2 * room).div_ceil(first_ring.len()).min(MAX_PAIRS_PER_NODE * limit / first_ring.len()).max(1);
        let pairs = closest_coauthors(db, &first_ring, per_coauthor).await?;
        let second_ring: Vec<i64> = pairs
            .iter()
            .map(|p| p.b)
            .filter(|b| !labels.contains_key(&researcher(*b)))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !second_ring.is_empty() {
            let people = person.clone().and_where(Expr::col(researcher::Column::Id).is_in(second_ring)).to_owned();
            for p in statement::models::<PersonRow>(db, &people).await? {
                labels.insert(researcher(p.id), p.display_name);
                affiliations.extend(p.affiliation_id.map(|i| (p.id, i)));
            }
        }
        // Each unordered pair once; the researcher's own links are there already.
        for p in pairs.iter().filter(|p| p.a < p.b || !first_ring.contains(&p.b)) {
            if p.a != me.id && p.b != me.id && labels.contains_key(&researcher(p.b)) {
                edges.push(Edge {
                    source: researcher(p.a),
                    target: researcher(p.b),
                    kind: EdgeKind::Coauthor,
                    weight: p.n,
                });
            }
        }
    }

    let institution_ids: Vec<i64> = affiliations.iter().map(|(_, i)| *i).collect::<HashSet<_>>().into_iter().collect();
    if !institution_ids.is_empty() {
        let names = Query::select()
            .columns([institution::Column::Id, institution::Column::Name])
            .from(institution::Entity)
            .and_where(Expr::col(institution::Column::Id).is_in(institution_ids))
            .to_owned();
        for row in statement::models::<NamedRow>(db, &names).await? {
            labels.insert((NodeKind::Institution, row.id), row.name);
        }
        for (person, institution) in affiliations {
            edges.push(Edge {
                source: researcher(person),
                target: (NodeKind::Institution, institution),
                kind: EdgeKind::Affiliated,
                weight: 1,
            });
        }
    }

    Ok(cut(researcher(me.id), labels, edges, limit))
}

/// Weighs every node by its weighted degree, keeps `center` and the heaviest
/// others up to `limit`, and drops edges with a cut end.
fn cut(center: NodeKey, labels: HashMap<NodeKey, String>, edges: Vec<Edge>, limit: usize) -> Graph {
    let edges: Vec<Edge> =
        edges.into_iter().filter(|e| labels.contains_key(&e.source) && labels.contains_key(&e.target)).collect();
    let mut weights: BTreeMap<NodeKey, f64> = labels.keys().map(|k| (*k, 0.0)).collect();
    for e in &edges {
        *weights.entry(e.source).or_default() += e.weight as f64;
        *weights.entry(e.target).or_default() += e.weight as f64;
    }
    let mut ranked: Vec<(NodeKey, f64)> = weights.into_iter().collect();
    ranked.sort_by(|a, b| {
        let center_first = (b.0 == center).cmp(&(a.0 == center));
        center_first.then(b.1.total_cmp(&a.1)).then(a.0.cmp(&b.0))
    });
    ranked.truncate(limit);
    let kept: HashSet<NodeKey> = ranked.iter().map(|(k, _)| *k).collect();
    let mut labels = labels;
    let nodes = ranked
        .into_iter()
        .map(|(key, weight)| Node { key, label: labels.remove(&key).unwrap_or_default(), weight })
        .collect();
    let mut edges: Vec<Edge> =
        edges.into_iter().filter(|e| kept.contains(&e.source) && kept.contains(&e.target)).collect();
    edges.sort_by_key(|e| (e.kind, e.source, e.target));
    edges.dedup();
    Graph { nodes, edges }
}
