//! Batch loaders: every per-item lookup goes through one of these, so a list
//! of N items costs one statement per kind of lookup, not N. Each loader is
//! one domain call with `WHERE … IN (…)` answered as a map.
use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;

use crate::domain::institutions::Institution;
use crate::domain::researchers::{ExternalId, RecordStanding, Researcher, TopicShare};
use crate::domain::stats::ResearcherStats;
use crate::domain::topics::Topic;
use crate::domain::works::{Authorship, Work};
use crate::domain::{follows, institutions, researchers, stats, topics, works};
use crate::error::AppError;

macro_rules! batch_loader {
    ($(#[$doc:meta])* $name:ident: $value:ty = $fetch:path) => {
        $(#[$doc])*
        pub struct $name(DatabaseConnection);

        impl Loader<i64> for $name {
            type Value = $value;
            type Error = AppError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, $value>, AppError> {
                $fetch(&self.0, keys).await
            }
        }
    };
}

batch_loader!(ResearcherById: Researcher = researchers::by_ids);
batch_loader!(WorkById: Work = works::by_ids);
batch_loader!(TopicById: Topic = topics::by_ids);
batch_loader!(InstitutionById: Institution = institutions::by_ids);
batch_loader!(ExternalIdsByResearcher: Vec<ExternalId> = researchers::external_ids_by_researchers);
batch_loader!(
    /// Topic profile of a researcher, most frequent topic first.
    MainTopicsByResearcher: Vec<TopicShare> = researchers::main_topics
);
batch_loader!(StandingByResearcher: RecordStanding = researchers::standings);
batch_loader!(StatsByResearcher: ResearcherStats = stats::by_researchers);
batch_loader!(AuthorshipsByWork: Vec<Authorship> = works::authorships_by_works);
batch_loader!(TopicsByWork: Vec<Topic> = works::topics_by_works);
batch_loader!(WorksCountByTopic: i64 = topics::works_counts);

/// Batches "does user U follow researcher R" over a page of researchers.
pub struct FollowsByPair(DatabaseConnection);

impl Loader<(i64, i64)> for FollowsByPair {
    type Value = ();
    type Error = AppError;

    async fn load(&self, keys: &[(i64, i64)]) -> Result<HashMap<(i64, i64), ()>, AppError> {
        let found = follows::existing(&self.0, keys).await?;
        Ok(found.into_iter().filter(|pair| keys.contains(pair)).map(|pair| (pair, ())).collect())
    }
}

/// Every loader, registered once as schema data, gathering keys for `delay`
/// before it queries (keys of one list arrive within one poll of the
/// resolvers, so the window only has to cover that poll; see `Config`).
/// None caches: each batch reads the database as it is now, so a mutation's
/// payload is never stale.
pub fn register(
    builder: crate::graphql::SchemaBuilder,
    db: &DatabaseConnection,
    delay: Duration,
) -> crate::graphql::SchemaBuilder {
    let loader = LoaderFactory { db: db.clone(), delay };
    builder
        .data(DataLoader::new(FollowsByPair(db.clone()), tokio::spawn).delay(delay))
        .data(loader.make(ResearcherById))
        .data(loader.make(WorkById))
        .data(loader.make(TopicById))
        .data(loader.make(InstitutionById))
        .data(loader.make(ExternalIdsByResearcher))
        .data(loader.make(MainTopicsByResearcher))
        .data(loader.make(StandingByResearcher))
        .data(loader.make(StatsByResearcher))
        .data(loader.make(AuthorshipsByWork))
        .data(loader.make(TopicsByWork))
        .data(loader.make(WorksCountByTopic))
}

/// Loads one value through the loader of type `T` registered on the schema.
pub async fn load_one<T: Loader<i64, Error = AppError>>(
    ctx: &async_graphql::Context<'_>,
    key: i64,
) -> Result<Option<T::Value>, AppError> {
    ctx.data_unchecked::<DataLoader<T>>().load_one(key).await
}

struct LoaderFactory {
    db: DatabaseConnection,
    delay: Duration,
}

impl LoaderFactory {
    fn make<T: Loader<i64>>(&self, new: fn(DatabaseConnection) -> T) -> DataLoader<T> {
        DataLoader::new(new(self.db.clone()), tokio::spawn).delay(self.delay)
    }
}
