//! Similar researchers, answered from an in-memory copy of the topic
//! profiles (`researcher_topics`: works per researcher and topic). It is
//! derived from the database like the search index: loaded at start, kept
//! current from the change log (a new authorship changes its author's
//! profile), reloaded on a bulk load. A request then costs microseconds and
//! no statement, where the same steps in SQL (main topics, the best
//! candidates of each, their dot products) cost four statements.
//!
//! The ranking is the one the SQL had, step for step: the researcher's 25
//! main topics (most works first, ties by topic id, highest first); the 30
//! researchers with the most works in each (ties by id, highest first) as
//! candidates; candidates ordered by dot² / |profile|², ties by id; the
//! score is the cosine between the main topics and the whole profile.
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use sea_orm::DatabaseConnection;

use crate::domain::changes::{Change, ChangeKind};
use crate::domain::search_documents::{self, Batch, TopicProfile};
use crate::error::{AppError, AppResult};

/// How many of a researcher's topics describe them for similarity.
const MAIN_TOPICS: usize = 25;
/// How many researchers of each main topic are candidates.
const CANDIDATES_PER_TOPIC: usize = 30;
/// Researchers loaded per batch (about 25 topic rows each at the default size).
const LOAD_BATCH: u64 = 5_000;

/// One similar researcher.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarHit {
    pub researcher_id: i64,
    /// Cosine of the main topics and the other's whole profile, 0..1.
    pub score: f64,
    /// The main topics the other researcher has too, in the main topics' order.
    pub shared_topic_ids: Vec<i64>,
}

/// Ids and counts are kept as `u32`, half the memory of the database's
/// `i64` (2.5 million profile rows at the default size). A value that does
/// not fit (never in practice) leaves its row out rather than wrap.
type Compact = (u32, u32);

#[derive(Default)]
struct Profiles {
    /// Each researcher's profile: (topic, works), by topic id.
    researchers: HashMap<u32, Box<[Compact]>>,
    /// Each topic's researchers: (works, researcher), most works first, ties
    /// by id (highest first).
    topics: HashMap<u32, Vec<Compact>>,
}

fn compact(profile: &TopicProfile) -> Box<[Compact]> {
    profile
        .iter()
        .filter_map(|&(topic, works)| Some((u32::try_from(topic).ok()?, u32::try_from(works).ok()?)))
        .collect()
}

impl Profiles {
    fn set(&mut self, researcher_id: i64, profile: &TopicProfile) {
        let Ok(researcher) = u32::try_from(researcher_id) else { return };
        if let Some(old) = self.researchers.remove(&researcher) {
            for &(topic, works) in old.iter() {
                if let Some(list) = self.topics.get_mut(&topic) {
                    if let Ok(at) = list.binary_search_by(|probe| rank(*probe).cmp(&rank((works, researcher)))) {
                        list.remove(at);
                    }
                }
            }
        }
        let profile = compact(profile);
        for &(topic, works) in profile.iter() {
            let list = self.topics.entry(topic).or_default();
            let at =
                list.binary_search_by(|probe| rank(*probe).cmp(&rank((works, researcher)))).unwrap_or_else(|at| at);
            list.insert(at, (works, researcher));
        }
        if !profile.is_empty() {
            self.researchers.insert(researcher, profile);
        }
    }

    /// Gives back what the lists grew by while loading.
    fn shrink(&mut self) {
        self.topics.values_mut().for_each(Vec::shrink_to_fit);
        self.topics.shrink_to_fit();
        self.researchers.shrink_to_fit();
    }
}

/// A topic's list order: most works first, then the highest id.
fn rank((works, researcher): Compact) -> (std::cmp::Reverse<u32>, std::cmp::Reverse<u32>) {
    (std::cmp::Reverse(works), std::cmp::Reverse(researcher))
}

fn works_in(profile: &[Compact], topic: u32) -> Option<i64> {
    profile.binary_search_by_key(&topic, |(t, _)| *t).ok().map(|at| i64::from(profile[at].1))
}

/// The topic profiles of every researcher; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct SimilarIndex {
    profiles: Arc<RwLock<Profiles>>,
    loaded: Arc<AtomicBool>,
}

impl SimilarIndex {
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Loads every profile from the database, replacing what was there.
    pub async fn load(&self, db: &DatabaseConnection) -> AppResult<()> {
        let mut fresh = Profiles::default();
        let mut after = 0;
        loop {
            let batch = search_documents::topic_profiles(db, Batch::After { id: after, limit: LOAD_BATCH }).await?;
            let Some((last, _)) = batch.last() else { break };
            after = *last;
            for (id, profile) in &batch {
                fresh.set(*id, profile);
            }
        }
        fresh.shrink();
        *self.write()? = fresh;
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// Re-reads the profiles `changes` touched (the authors of new works,
    /// researchers an import changed);
    /// a bulk load reloads everything.
    pub async fn apply(&self, db: &DatabaseConnection, changes: &[Change]) -> AppResult<()> {
        if changes.iter().any(|change| change.kind == ChangeKind::CatalogueReloaded) {
            return self.load(db).await;
        }
        let mut ids: Vec<i64> = changes
            .iter()
            .filter(|change| matches!(change.kind, ChangeKind::AuthorshipAdded | ChangeKind::ResearcherUpdated))
            .filter_map(|change| change.researcher_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(());
        }
        let profiles = search_documents::topic_profiles(db, Batch::Ids(&ids)).await?;
        let mut current = self.write()?;
        for (id, profile) in &profiles {
            current.set(*id, profile);
        }
        Ok(())
    }

    fn write(&self) -> AppResult<std::sync::RwLockWriteGuard<'_, Profiles>> {
        self.profiles.write().map_err(|_| AppError::internal("similarity profiles poisoned"))
    }

    /// The `limit` researchers most similar to `researcher_id`, best first.
    pub fn similar(&self, researcher_id: i64, limit: usize) -> AppResult<Vec<SimilarHit>> {
        if !self.is_loaded() {
            return Err(AppError::Unavailable("similar researchers are being loaded; try again shortly".to_owned()));
        }
        let profiles = self.profiles.read().map_err(|_| AppError::internal("similarity profiles poisoned"))?;
        let Ok(me) = u32::try_from(researcher_id) else { return Ok(Vec::new()) };
        let Some(mine) = profiles.researchers.get(&me) else { return Ok(Vec::new()) };
        let mut main = mine.to_vec();
        main.sort_unstable_by_key(|&(topic, works)| (std::cmp::Reverse(works), std::cmp::Reverse(topic)));
        main.truncate(MAIN_TOPICS);
        let square = |works: u32| i64::from(works) * i64::from(works);
        let my_norm2: f64 = main.iter().map(|&(_, works)| square(works) as f64).sum();

        let candidates: BTreeSet<u32> = main
            .iter()
            .filter_map(|(topic, _)| profiles.topics.get(topic))
            .flat_map(|list| list.iter().take(CANDIDATES_PER_TOPIC).map(|(_, id)| *id))
            .filter(|id| *id != me)
            .collect();
        let mut scored: Vec<(f64, u32, f64, f64)> = candidates
            .into_iter()
            .filter_map(|id| {
                let profile = profiles.researchers.get(&id)?;
                let dot: i64 =
                    main.iter().map(|&(topic, works)| works_in(profile, topic).unwrap_or(0) * i64::from(works)).sum();
                let norm2: i64 = profile.iter().map(|&(_, works)| square(works)).sum();
                (norm2 > 0).then(|| {
                    let dot = dot as f64;
                    (dot * dot / norm2 as f64, id, dot, norm2 as f64)
                })
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(limit);
        Ok(scored
            .into_iter()
            .map(|(_, id, dot, norm2)| {
                let denominator = (norm2 * my_norm2).sqrt();
                let score = if denominator > 0.0 { (dot / denominator).clamp(0.0, 1.0) } else { 0.0 };
                let profile = profiles.researchers.get(&id);
                let shared_topic_ids = main
                    .iter()
                    .map(|(topic, _)| *topic)
                    .filter(|topic| profile.is_some_and(|p| works_in(p, *topic).is_some()))
                    .map(i64::from)
                    .collect();
                SimilarHit { researcher_id: i64::from(id), score, shared_topic_ids }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::{Profiles, SimilarIndex};

    fn index(profiles: &[(i64, &[(i64, i64)])]) -> SimilarIndex {
        let index = SimilarIndex::default();
        {
            let mut all = index.profiles.write().expect("lock");
            for (id, profile) in profiles {
                all.set(*id, &profile.to_vec());
            }
        }
        index.loaded.store(true, std::sync::atomic::Ordering::Release);
        index
    }

    #[test]
    fn scores_are_cosines_and_ties_go_to_the_lower_id() {
        // A = {X: 2, Y: 1}, B = {X: 1, Y: 2}, C = {Z: 1}, D = {X: 1}, E = {X: 1}.
        let index =
            index(&[(1, &[(1, 2), (2, 1)]), (2, &[(1, 1), (2, 2)]), (3, &[(3, 1)]), (4, &[(1, 1)]), (5, &[(1, 1)])]);
        let hits = index.similar(1, 10).expect("similar");
        let ids: Vec<i64> = hits.iter().map(|h| h.researcher_id).collect();
        assert_eq!(ids, [4, 5, 2]);
        assert!((hits[0].score - 2.0 / 5f64.sqrt()).abs() < 1e-12);
        assert!((hits[2].score - 0.8).abs() < 1e-12);
        assert_eq!(hits[2].shared_topic_ids, [1, 2]);
    }

    #[test]
    fn replacing_a_profile_moves_the_researcher_in_every_topic_list() {
        let mut profiles = Profiles::default();
        profiles.set(1, &vec![(1, 5), (2, 1)]);
        profiles.set(2, &vec![(1, 3)]);
        assert_eq!(profiles.topics[&1], [(5, 1), (3, 2)]);
        profiles.set(1, &vec![(1, 2)]);
        assert_eq!(profiles.topics[&1], [(3, 2), (2, 1)]);
        assert!(profiles.topics[&2].is_empty());
        profiles.set(2, &vec![]);
        assert!(!profiles.researchers.contains_key(&2));
    }
}
