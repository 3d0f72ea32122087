use clap::Subcommand;

use crate::config::Config;
use crate::ingest::{demo, synthetic};
use crate::startup::{connect, migrate, PoolRole};

#[derive(Debug, Subcommand)]
pub enum Dataset {
    /// The demo dataset: Marc Mézard's works and co-authors. Does nothing if
    /// it is already there.
    Demo(#[command(flatten)] Config),
    /// A large synthetic catalogue, deterministic from `--seed`, bulk-loaded
    /// into an empty database (defaults: 100 000 researchers, 1 000 000 works).
    Synthetic {
        #[command(flatten)]
        config: Config,
        #[arg(long, default_value_t = 100_000)]
        researchers: u64,
        #[arg(long, default_value_t = 1_000_000)]
        works: u64,
        #[arg(long, default_value_t = 4_500)]
        topics: u64,
        #[arg(long, default_value_t = 10_000)]
        institutions: u64,
        #[arg(long, default_value_t = 200_000)]
        follows: u64,
        /// Works of the most prolific author.
        #[arg(long, default_value_t = 20_000)]
        prolific_works: u64,
        /// Authors of the largest collaboration.
        #[arg(long, default_value_t = 1_000)]
        largest_byline: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Hide the progress bars.
        #[arg(long)]
        quiet: bool,
    },
}

/// Seeding always starts from the current schema.
async fn migrated(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = connect(config, Default::default(), PoolRole::Batch).await?;
    migrate(&db).await?;
    Ok(db)
}

pub async fn run(dataset: Dataset) -> anyhow::Result<()> {
    match dataset {
        Dataset::Demo(config) => {
            let db = migrated(&config).await?;
            match demo::seed(&db).await.map_err(|e| anyhow::anyhow!("seeding the demo dataset: {e:?}"))? {
                demo::Outcome::Seeded { researchers, works } => {
                    tracing::info!(researchers, works, "demo dataset loaded");
                }
                demo::Outcome::AlreadyPresent => tracing::info!("demo dataset already present; nothing to do"),
            }
            Ok(())
        }
        Dataset::Synthetic {
            config,
            researchers,
            works,
            topics,
            institutions,
            follows,
            prolific_works,
            largest_byline,
            seed,
            quiet,
        } => {
            let db = migrated(&config).await?;
            let size = synthetic::SyntheticSize {
                researchers,
                works,
                topics,
                institutions,
                follows,
                prolific_works,
                largest_byline,
                seed,
            };
            let report = synthetic::seed(&db, &size, !quiet)
                .await
                .map_err(|e| anyhow::anyhow!("seeding synthetic data: {e:?}"))?;
            println!(
                "loaded {} researchers, {} works, {} authorships and {} follows in {:.1} s",
                report.researchers,
                report.works,
                report.authorships,
                report.follows,
                report.elapsed.as_secs_f64()
            );
            Ok(())
        }
    }
}
