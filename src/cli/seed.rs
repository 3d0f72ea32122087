use clap::Subcommand;

use crate::config::Config;
use crate::domain::seed::demo;
use crate::startup::{connect, migrate};

#[derive(Debug, Subcommand)]
pub enum Dataset {
    /// The demo dataset: Marc Mézard's works and co-authors. Does nothing if
    /// it is already there.
    Demo(#[command(flatten)] Config),
}

pub async fn run(dataset: Dataset) -> anyhow::Result<()> {
    match dataset {
        Dataset::Demo(config) => {
            let db = connect(&config, Default::default()).await?;
            migrate(&db).await?;
            match demo::seed(&db).await.map_err(|e| anyhow::anyhow!("seeding the demo dataset: {e:?}"))? {
                demo::Outcome::Seeded { researchers, works } => {
                    tracing::info!(researchers, works, "demo dataset loaded");
                }
                demo::Outcome::AlreadyPresent => tracing::info!("demo dataset already present; nothing to do"),
            }
            Ok(())
        }
    }
}
