//! `scholargraph import openalex|arxiv FILE…`.
use std::io::IsTerminal;

use clap::{Args, Subcommand, ValueEnum};

use crate::config::Config;
use crate::ingest::import::openalex::OpenAlexKind;
use crate::ingest::import::{self, Format, ImportOptions};
use crate::startup::{connect, migrate, PoolRole};

#[derive(Debug, Subcommand)]
pub enum Source {
    /// OpenAlex work or author objects: snapshot files (JSON Lines, gzipped
    /// or not) or API result pages (`{"meta": …, "results": […]}`).
    Openalex {
        #[command(flatten)]
        common: CommonArgs,
        /// Which objects the files hold; by default each object's id says.
        #[arg(long, value_enum, default_value_t = Objects::Auto)]
        objects: Objects,
    },
    /// arXiv API Atom feeds: each entry becomes a preprint.
    Arxiv {
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Objects {
    Auto,
    Works,
    Authors,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    config: Config,
    /// Files to read, in order; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<String>,
    /// Records per transaction [default: sized so that a transaction takes
    /// about a second, between 100 and 5 000 records].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: Option<u32>,
    /// Stop at the first malformed record instead of skipping it.
    #[arg(long)]
    strict: bool,
}

pub async fn run(source: Source) -> anyhow::Result<()> {
    let (common, format) = match source {
        Source::Openalex { common, objects } => {
            let kind = match objects {
                Objects::Auto => OpenAlexKind::Auto,
                Objects::Works => OpenAlexKind::Works,
                Objects::Authors => OpenAlexKind::Authors,
            };
            (common, Format::OpenAlex(kind))
        }
        Source::Arxiv { common } => (common, Format::Arxiv),
    };
    let db = connect(&common.config, Default::default(), PoolRole::Batch).await?;
    migrate(&db).await?;
    let options = ImportOptions {
        batch_size: common.batch_size.map(|size| size as usize),
        strict: common.strict,
        show_progress: std::io::stderr().is_terminal(),
    };
    let reads = import::read(&common.files, format);
    let summary = import::run(&db, reads, &options).await.map_err(|e| anyhow::anyhow!("importing: {}", e.message()))?;
    println!("{summary}");
    Ok(())
}
