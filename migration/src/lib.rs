//! Schema changes, one file per change, applied in order by [`Migrator`].
pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migrator;

/// A migration written as plain SQL that is the same on PostgreSQL and
/// SQLite: `UP` and `DOWN` statement lists run in order.
macro_rules! plain_sql_migration {
    () => {
        #[derive(DeriveMigrationName)]
        pub struct Migration;

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                crate::execute_all(manager, UP).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                crate::execute_all(manager, DOWN).await
            }
        }
    };
}
pub(crate) use plain_sql_migration;

/// A migration written as plain SQL per backend: `POSTGRES_UP`,
/// `POSTGRES_DOWN`, `SQLITE_UP` and `SQLITE_DOWN` run in order.
macro_rules! per_backend_sql_migration {
    () => {
        #[derive(DeriveMigrationName)]
        pub struct Migration;

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                crate::per_backend(manager, POSTGRES_UP, SQLITE_UP).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                crate::per_backend(manager, POSTGRES_DOWN, SQLITE_DOWN).await
            }
        }
    };
}
pub(crate) use per_backend_sql_migration;

mod m20261125_000001_create_catalogue;
mod m20261125_000002_create_accounts;
mod m20261125_000003_create_search;
mod m20261125_000004_create_summaries;
mod m20261125_000005_collaborator_order;
mod m20261125_000006_researcher_counters;
mod m20261125_000007_researcher_facets;
mod m20261125_000008_drop_collaborations_rank;
mod m20261125_000009_researcher_topic_norm;
mod m20261125_000010_researcher_topic_rank;
mod m20261130_000011_works_doi_lower;
mod m20261130_000012_sort_keys;
mod m20261130_000013_catalogue_changes;
mod m20261130_000014_drop_database_search;
mod m20261130_000015_authorship_work_weight;
mod m20261130_000016_catalogue_identity;
mod m20261130_000017_import_sources;

/// Runs plain SQL statements in order: the migrations written as SQL that
/// is the same on PostgreSQL and SQLite.
pub(crate) async fn execute_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Runs the statements written for the connection's database.
pub(crate) async fn per_backend(manager: &SchemaManager<'_>, postgres: &[&str], sqlite: &[&str]) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        DbBackend::Sqlite => sqlite,
        other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
    };
    execute_all(manager, statements).await
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_catalogue::Migration),
            Box::new(m20261125_000002_create_accounts::Migration),
            Box::new(m20261125_000003_create_search::Migration),
            Box::new(m20261125_000004_create_summaries::Migration),
            Box::new(m20261125_000005_collaborator_order::Migration),
            Box::new(m20261125_000006_researcher_counters::Migration),
            Box::new(m20261125_000007_researcher_facets::Migration),
            Box::new(m20261125_000008_drop_collaborations_rank::Migration),
            Box::new(m20261125_000009_researcher_topic_norm::Migration),
            Box::new(m20261125_000010_researcher_topic_rank::Migration),
            Box::new(m20261130_000011_works_doi_lower::Migration),
            Box::new(m20261130_000012_sort_keys::Migration),
            Box::new(m20261130_000013_catalogue_changes::Migration),
            Box::new(m20261130_000014_drop_database_search::Migration),
            Box::new(m20261130_000015_authorship_work_weight::Migration),
            Box::new(m20261130_000016_catalogue_identity::Migration),
            Box::new(m20261130_000017_import_sources::Migration),
        ]
    }
}
