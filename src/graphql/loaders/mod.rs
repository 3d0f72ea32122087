//! Batch loaders: every per-item lookup goes through one of these, so a list
//! of N items costs one statement per kind of lookup, not N. Each loader is
//! one domain call with `WHERE … IN (…)` answered as a map.
use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use futures_util::future::BoxFuture;
use prometheus::Histogram;
use sea_orm::DatabaseConnection;
use tracing::Instrument;

use crate::domain::institutions::Institution;
use crate::domain::researchers::{ExternalId, RecordStanding, Researcher, TopicShare};
use crate::domain::stats::ResearcherStats;
use crate::domain::topics::Topic;
use crate::domain::works::{Authorship, Work};
use crate::domain::{follows, institutions, researchers, stats, topics, works};
use crate::error::AppError;
use crate::metrics::{observe, Metrics};

macro_rules! batch_loader {
    ($(#[$doc:meta])* $name:ident: $value:ty = $fetch:path) => {
        $(#[$doc])*
        pub struct $name {
            db: DatabaseConnection,
            batch_sizes: Histogram,
        }

        impl Batched for $name {
            fn new(db: DatabaseConnection, batch_sizes: Histogram) -> Self {
                Self { db, batch_sizes }
            }
        }

        impl Loader<i64> for $name {
            type Value = $value;
            type Error = AppError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, $value>, AppError> {
                self.batch_sizes.observe(keys.len() as f64);
                $fetch(&self.db, keys).await
            }
        }
    };
}

/// A loader made of the serving pool and the histogram of its batch sizes.
trait Batched {
    fn new(db: DatabaseConnection, batch_sizes: Histogram) -> Self;
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
pub struct FollowsByPair {
    db: DatabaseConnection,
    batch_sizes: Histogram,
}

impl Batched for FollowsByPair {
    fn new(db: DatabaseConnection, batch_sizes: Histogram) -> Self {
        Self { db, batch_sizes }
    }
}

impl Loader<(i64, i64)> for FollowsByPair {
    type Value = ();
    type Error = AppError;

    async fn load(&self, keys: &[(i64, i64)]) -> Result<HashMap<(i64, i64), ()>, AppError> {
        self.batch_sizes.observe(keys.len() as f64);
        let found = follows::existing(&self.db, keys).await?;
        Ok(found.into_iter().filter(|pair| keys.contains(pair)).map(|pair| (pair, ())).collect())
    }
}

/// Every loader, registered once as schema data, gathering keys for `delay`
/// before it queries (keys of one list arrive within one poll of the
/// resolvers, so the window only has to cover that poll; see `Config`).
/// None caches: each batch reads the database as it is now, so a mutation's
/// payload is never stale. Each records its batch sizes in `metrics`.
pub fn register(
    builder: crate::graphql::SchemaBuilder,
    db: &DatabaseConnection,
    metrics: &Metrics,
    delay: Duration,
) -> crate::graphql::SchemaBuilder {
    let loader = LoaderFactory { db: db.clone(), metrics, delay };
    builder
        .data(loader.make::<FollowsByPair, (i64, i64)>())
        .data(loader.make::<ResearcherById, i64>())
        .data(loader.make::<WorkById, i64>())
        .data(loader.make::<TopicById, i64>())
        .data(loader.make::<InstitutionById, i64>())
        .data(loader.make::<ExternalIdsByResearcher, i64>())
        .data(loader.make::<MainTopicsByResearcher, i64>())
        .data(loader.make::<StandingByResearcher, i64>())
        .data(loader.make::<StatsByResearcher, i64>())
        .data(loader.make::<AuthorshipsByWork, i64>())
        .data(loader.make::<TopicsByWork, i64>())
        .data(loader.make::<WorksCountByTopic, i64>())
}

/// Loads one value through the loader of type `T` registered on the schema.
pub async fn load_one<T: Loader<i64, Error = AppError>>(
    ctx: &async_graphql::Context<'_>,
    key: i64,
) -> Result<Option<T::Value>, AppError> {
    ctx.data_unchecked::<DataLoader<T>>().load_one(key).await
}

struct LoaderFactory<'a> {
    db: DatabaseConnection,
    metrics: &'a Metrics,
    delay: Duration,
}

impl LoaderFactory<'_> {
    /// The loader `T`, named by its type in the metrics. Its batches run in tasks
    /// of their own that stay in the span and the operation of the request
    /// that opened the batch, so that their statements are counted there
    /// (a batch shared by concurrent requests counts once, for the first).
    fn make<T: Batched + Loader<K>, K: Send + Sync + std::hash::Hash + Eq + Clone + 'static>(&self) -> DataLoader<T> {
        let name = std::any::type_name::<T>().rsplit("::").next().unwrap_or_default();
        let loader = T::new(self.db.clone(), self.metrics.loader_batch_sizes(name));
        DataLoader::new(loader, spawn_in_request).delay(self.delay)
    }
}

/// Spawns a loader's batch in the current request's span and operation.
fn spawn_in_request(batch: BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()> {
    let span = tracing::Span::current();
    let operation = observe::current();
    tokio::spawn(observe::within(operation, batch.instrument(span)))
}
