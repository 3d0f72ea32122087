//! `scholargraph search-index rebuild`: builds this instance's search index
//! afresh from the database, with a progress bar, while the service is
//! stopped (an index has one writer at a time) or into another directory.
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::search::{BuildProgress, TantivySearch};
use crate::startup::{connect, migrate, PoolRole};

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Rebuild the index at `SEARCH_INDEX` from the database.
    Rebuild(#[command(flatten)] Config),
}

pub async fn run(action: Action) -> anyhow::Result<()> {
    let Action::Rebuild(config) = action;
    let db = connect(&config, Default::default(), PoolRole::Batch).await?;
    migrate(&db).await?;
    let search = TantivySearch::open(&config.search_index_location(), config.search_limits())?;
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let report = {
        let bar = bar.clone();
        move |progress: BuildProgress| {
            bar.set_message(progress.what);
            bar.set_length(progress.total);
            bar.set_position(progress.done);
        }
    };
    let started = std::time::Instant::now();
    let position =
        search.rebuild(&db, &report).await.map_err(|e| anyhow::anyhow!("rebuilding the search index: {e:?}"))?;
    bar.finish();
    println!(
        "rebuilt the search index at {} in {:.1} s (change log position {}:{})",
        config.search_index,
        started.elapsed().as_secs_f64(),
        position.xid,
        position.id
    );
    Ok(())
}
