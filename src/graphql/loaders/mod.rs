//! Batch loaders: every per-item lookup goes through one of these, so a list
//! of N items costs one statement per kind of lookup, not N. Each loader is
//! one domain call with `WHERE … IN (…)` answered as a map.
use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{external_id, institution, researcher, topic, work};
use sea_orm::DatabaseConnection;

use crate::domain::researchers::{CoauthorCounts, RecordStanding, TopicShare};
use crate::domain::stats::ResearcherStats;
use crate::domain::works::AuthorshipRow;
use crate::domain::{institutions, researchers, stats, topics, works};
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

batch_loader!(ResearcherById: researcher::Model = researchers::by_ids);
batch_loader!(WorkById: work::Model = works::by_ids);
batch_loader!(TopicById: topic::Model = topics::by_ids);
batch_loader!(InstitutionById: institution::Model = institutions::by_ids);
batch_loader!(ExternalIdsByResearcher: Vec<external_id::Model> = researchers::external_ids_by_researchers);
batch_loader!(
    /// Topic profile of a researcher, most frequent topic first.
    TopicProfileByResearcher: Vec<TopicShare> = researchers::topic_profiles
);
batch_loader!(CoauthorCountsByResearcher: CoauthorCounts = researchers::coauthor_counts);
batch_loader!(StandingByResearcher: RecordStanding = researchers::standings);
batch_loader!(StatsByResearcher: ResearcherStats = stats::by_researchers);
batch_loader!(AuthorshipsByWork: Vec<AuthorshipRow> = works::authorships_by_works);
batch_loader!(TopicsByWork: Vec<topic::Model> = works::topics_by_works);
batch_loader!(WorksCountByTopic: i64 = topics::works_counts);

/// How long a loader waits to gather keys before it queries. Keys asked for
/// in the same poll (all items of one list) are batched regardless; the wait
/// only lets concurrent requests share a batch.
pub const BATCH_DELAY: Duration = Duration::from_millis(1);

/// Every loader, registered once as schema data. None caches: each batch
/// reads the database as it is now, so a mutation's payload is never stale.
pub fn register(builder: crate::graphql::SchemaBuilder, db: &DatabaseConnection) -> crate::graphql::SchemaBuilder {
    fn loader<T: Loader<i64>>(l: T) -> DataLoader<T> {
        DataLoader::new(l, tokio::spawn).delay(BATCH_DELAY)
    }
    builder
        .data(loader(ResearcherById(db.clone())))
        .data(loader(WorkById(db.clone())))
        .data(loader(TopicById(db.clone())))
        .data(loader(InstitutionById(db.clone())))
        .data(loader(ExternalIdsByResearcher(db.clone())))
        .data(loader(TopicProfileByResearcher(db.clone())))
        .data(loader(CoauthorCountsByResearcher(db.clone())))
        .data(loader(StandingByResearcher(db.clone())))
        .data(loader(StatsByResearcher(db.clone())))
        .data(loader(AuthorshipsByWork(db.clone())))
        .data(loader(TopicsByWork(db.clone())))
        .data(loader(WorksCountByTopic(db.clone())))
}

/// Loads one value through the loader of type `T` registered on the schema.
pub async fn load_one<T: Loader<i64, Error = AppError>>(
    ctx: &async_graphql::Context<'_>,
    key: i64,
) -> Result<Option<T::Value>, AppError> {
    ctx.data_unchecked::<DataLoader<T>>().load_one(key).await
}
