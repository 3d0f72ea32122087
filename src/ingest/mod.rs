//! The batch write side: loading data sets into the catalogue (the demo, the
//! synthetic catalogue and its bulk load) and recounting every counter and
//! summary from the base tables. It uses the domain's types and bulk SQL of
//! its own; the serving side never calls it.
pub mod bulk;
pub mod demo;
pub mod import;
pub mod recount;
pub mod sort_keys;
pub mod synthetic;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr for long batch work, or a hidden one.
struct Progress(ProgressBar);

impl Progress {
    fn new(enabled: bool, total: u64, what: &str) -> Self {
        let bar = if enabled { ProgressBar::new(total) } else { ProgressBar::hidden() };
        if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Self(bar)
    }
}
