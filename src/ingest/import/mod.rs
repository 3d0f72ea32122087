//! `scholargraph import`: OpenAlex and arXiv records into the catalogue.
//!
//! The input is read on a blocking thread and handed over through a bounded
//! channel, so memory stays flat however large the file. Records are
//! written in batches, one transaction each ([`apply`]); a malformed record
//! is reported with its file and line and skipped (or, with `strict`, ends
//! the run before the batch it is in is written).
pub mod apply;
pub mod records;

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;

use self::apply::BatchOutcome;
use self::records::{Read, Record};
use crate::error::{AppError, AppResult};

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Records per transaction.
    pub batch_size: usize,
    /// Stop at the first malformed record instead of skipping it.
    pub strict: bool,
    /// A progress bar on a terminal; log lines otherwise.
    pub show_progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { batch_size: DEFAULT_BATCH_SIZE, strict: false, show_progress: false }
    }
}

/// Records per transaction unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// Skipped records listed one by one in the summary; the rest are counted.
const SKIPPED_LISTED: usize = 20;

/// A record that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// Records read, skipped ones included.
    pub read: u64,
    pub written: BatchOutcome,
    pub skipped: u64,
    /// The first skipped records.
    pub skipped_examples: Vec<Skipped>,
    pub batches: u64,
    pub elapsed: Duration,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = &self.written;
        let secs = self.elapsed.as_secs_f64();
        writeln!(f, "read {} records in {:.1} s ({} batches)", self.read, secs, self.batches)?;
        writeln!(
            f,
            "works:       {} inserted, {} updated, {} unchanged",
            w.works_inserted, w.works_updated, w.works_unchanged
        )?;
        writeln!(
            f,
            "researchers: {} inserted, {} updated, {} unchanged",
            w.researchers_inserted, w.researchers_updated, w.researchers_unchanged
        )?;
        write!(f, "skipped:     {}", self.skipped)?;
        for skipped in &self.skipped_examples {
            write!(f, "\n  {}:{}: {}", skipped.file, skipped.line, skipped.reason)?;
        }
        if self.skipped > self.skipped_examples.len() as u64 {
            write!(f, "\n  … and {} more (each was logged)", self.skipped - self.skipped_examples.len() as u64)?;
        }
        Ok(())
    }
}

/// Imports every record `reads` yields.
pub async fn run(
    db: &DatabaseConnection,
    reads: impl Iterator<Item = Read> + Send + 'static,
    options: &ImportOptions,
) -> AppResult<ImportSummary> {
    let started = Instant::now();
    let batch_size = options.batch_size.max(1);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Read>(batch_size * 2);
    let reader = tokio::task::spawn_blocking(move || {
        for read in reads {
            if sender.blocking_send(read).is_err() {
                break; // The import stopped (an error, or `strict`).
            }
        }
    });
    let progress = ImportProgress::new(options.show_progress);
    let mut summary = ImportSummary::default();
    let mut batch: Vec<Record> = Vec::with_capacity(batch_size);
    let mut outcome = Ok(());
    while let Some(read) = receiver.recv().await {
        summary.read += 1;
        match read.item {
            Ok(record) => batch.push(record),
            Err(reason) if options.strict => {
                outcome = Err(AppError::bad_input(format!("{}:{}: {reason} (--strict)", read.file, read.line)));
                break;
            }
            Err(reason) => {
                tracing::warn!(file = %read.file, line = read.line, %reason, "skipped a malformed record");
                summary.skipped += 1;
                if summary.skipped_examples.len() < SKIPPED_LISTED {
                    summary.skipped_examples.push(Skipped { file: read.file, line: read.line, reason });
                }
            }
        }
        if batch.len() >= batch_size {
            if let Err(error) = write_batch(db, &mut batch, &mut summary).await {
                outcome = Err(error);
                break;
            }
            progress.show(&summary, started);
        }
    }
    if outcome.is_ok() && !batch.is_empty() {
        outcome = write_batch(db, &mut batch, &mut summary).await;
    }
    drop(receiver);
    reader.await.map_err(AppError::internal)?;
    summary.elapsed = started.elapsed();
    progress.finish(&summary, started);
    outcome.map(|()| summary)
}

async fn write_batch(db: &DatabaseConnection, batch: &mut Vec<Record>, summary: &mut ImportSummary) -> AppResult<()> {
    let outcome = apply::apply_batch(db, batch).await?;
    summary.written.add(&outcome);
    summary.batches += 1;
    batch.clear();
    Ok(())
}

/// A bar with counts and rate on a terminal; a log line every few seconds
/// otherwise.
struct ImportProgress {
    bar: Option<ProgressBar>,
    last_log: std::sync::Mutex<Instant>,
}

/// Between two progress log lines when no terminal shows a bar.
const LOG_EVERY: Duration = Duration::from_secs(5);

impl ImportProgress {
    fn new(on_terminal: bool) -> Self {
        let bar = on_terminal.then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} import {elapsed} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar, last_log: std::sync::Mutex::new(Instant::now()) }
    }

    fn line(summary: &ImportSummary, started: Instant) -> String {
        let w = &summary.written;
        let rate = summary.read as f64 / started.elapsed().as_secs_f64().max(0.001);
        format!(
            "{} read ({rate:.0}/s): works {} new, {} updated, {} unchanged; researchers {} new, {} updated; {} skipped",
            summary.read,
            w.works_inserted,
            w.works_updated,
            w.works_unchanged,
            w.researchers_inserted,
            w.researchers_updated,
            summary.skipped
        )
    }

    fn show(&self, summary: &ImportSummary, started: Instant) {
        match &self.bar {
            Some(bar) => bar.set_message(Self::line(summary, started)),
            None => {
                let Ok(mut last) = self.last_log.lock() else { return };
                if last.elapsed() >= LOG_EVERY {
                    *last = Instant::now();
                    tracing::info!("{}", Self::line(summary, started));
                }
            }
        }
    }

    fn finish(&self, summary: &ImportSummary, started: Instant) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(Self::line(summary, started));
        }
    }
}
