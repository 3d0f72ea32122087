//! The command line: `scholargraph [serve|migrate|seed demo|seed synthetic|import openalex|import arxiv|search-index rebuild|recount|export-schema|token]`.
mod export_schema;
mod import;
mod search_index;
mod seed;
mod serve;
mod token;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(name = "scholargraph", version, about = "GraphQL API behind researcher profile pages")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default): migrates first; on an empty embedded
    /// SQLite database also loads the demo dataset.
    Serve(#[command(flatten)] Config),
    /// Apply pending database migrations.
    Migrate(#[command(flatten)] Config),
    /// Load a dataset (migrates first).
    Seed {
        #[command(subcommand)]
        dataset: seed::Dataset,
    },
    /// Import OpenAlex or arXiv records from files or standard input
    /// (migrates first).
    Import {
        #[command(subcommand)]
        source: import::Source,
    },
    /// Manage this instance's search index.
    SearchIndex {
        #[command(subcommand)]
        action: search_index::Action,
    },
    /// Rebuild every counter and summary from the base tables, in one
    /// transaction (after a repair by hand, or to check nothing drifted).
    Recount(#[command(flatten)] Config),
    /// Print a development token (HS256, needs JWT_SECRET) to paste into GraphiQL.
    Token(token::TokenArgs),
    /// Print the GraphQL schema (SDL) the code serves, or write it to a file.
    ExportSchema {
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(config)) => serve::run(config).await,
        None => serve::run(Config::parse_from_env()).await,
        Some(Command::Migrate(config)) => {
            let db = crate::startup::connect(&config, Default::default(), crate::startup::PoolRole::Batch).await?;
            crate::startup::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Seed { dataset }) => seed::run(dataset).await,
        Some(Command::Recount(config)) => {
            let db = crate::startup::connect(&config, Default::default(), crate::startup::PoolRole::Batch).await?;
            crate::startup::migrate(&db).await?;
            let took = crate::ingest::recount::run(&db, std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .await
                .map_err(|e| anyhow::anyhow!("recounting: {e:?}"))?;
            println!("recounted every counter and summary in {:.1} s", took.as_secs_f64());
            Ok(())
        }
        Some(Command::Import { source }) => import::run(source).await,
        Some(Command::SearchIndex { action }) => search_index::run(action).await,
        Some(Command::ExportSchema { output }) => export_schema::run(output),
        Some(Command::Token(args)) => token::run(args),
    }
}
