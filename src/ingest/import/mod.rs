//! `scholargraph import`: OpenAlex and arXiv records into the catalogue.
//!
//! The read side: [`read`] turns input files into [`Read`]s, one per record
//! or per place that could not be read, streaming so that a snapshot of many
//! GB keeps memory flat. [`run`] reads them on a blocking thread and hands
//! them over through a bounded channel, then writes them in batches, one
//! transaction each ([`apply`]); a malformed record is reported with its
//! file and line and skipped (or, with `strict`, ends the run before the
//! batch it is in is written).
pub mod apply;
pub mod arxiv;
pub mod ids;
pub mod input;
mod lookup;
pub mod openalex;
pub mod records;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;

use self::apply::BatchOutcome;
use self::openalex::OpenAlexKind;
use self::records::{Read, Record};
use crate::error::{AppError, AppResult};

/// What the inputs hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenAlex work or author objects: a snapshot's JSON Lines or an API page.
    OpenAlex(OpenAlexKind),
    /// An arXiv API Atom feed.
    Arxiv,
}

/// Every record of every file in `paths` (`-` for standard input), in order,
/// each with its file and line. A file that cannot be opened, or a line that
/// cannot be read, is one `Err` item and reading goes on.
pub fn read(paths: &[String], format: Format) -> Reads {
    Reads { paths: paths.iter().cloned().collect(), format, current: None }
}

/// The iterator [`read`] returns.
pub struct Reads {
    paths: VecDeque<String>,
    format: Format,
    current: Option<(String, FileRecords)>,
}

type FileRecords = Box<dyn Iterator<Item = (u64, Result<Record, String>)> + Send>;

impl Iterator for Reads {
    type Item = Read;

    fn next(&mut self) -> Option<Read> {
        loop {
            if let Some((file, records)) = &mut self.current {
                if let Some((line, item)) = records.next() {
                    return Some(Read { file: file.clone(), line, item });
                }
                self.current = None;
            }
            let file = self.paths.pop_front()?;
            match input::open(&file) {
                Ok(opened) => {
                    let records: FileRecords = match self.format {
                        Format::OpenAlex(kind) => Box::new(openalex::Records::new(opened, kind)),
                        Format::Arxiv => Box::new(arxiv::Records::new(opened)),
                    };
                    self.current = Some((file, records));
                }
                Err(error) => return Some(Read { file, line: 1, item: Err(format!("cannot open: {error}")) }),
            }
        }
    }
}

/// How an import runs.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Records per transaction; `None` sizes each batch from the last one's
    /// time ([`BatchSizer`]).
    pub batch_size: Option<usize>,
    /// Stop at the first malformed record instead of skipping it.
    pub strict: bool,
    /// A progress bar on a terminal; log lines otherwise.
    pub show_progress: bool,
}

/// Sizes batches so that each holds its transaction (and on SQLite the
/// write lock, which the serving instances' writers queue for) about
/// [`BatchSizer::TARGET`]: larger batches write faster per record, longer
/// transactions keep the service's own writes waiting longer.
#[derive(Debug, Clone, Copy)]
pub struct BatchSizer {
    size: usize,
    fixed: bool,
}

impl BatchSizer {
    pub const TARGET: Duration = Duration::from_secs(1);
    pub const FIRST: usize = 500;
    pub const SMALLEST: usize = 100;
    pub const LARGEST: usize = 5_000;

    pub fn new(fixed: Option<usize>) -> Self {
        match fixed {
            Some(size) => Self { size: size.max(1), fixed: true },
            None => Self { size: Self::FIRST, fixed: false },
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The next batch's size after one of `records` took `took`: halfway to
    /// the size that would have taken [`BatchSizer::TARGET`].
    pub fn after(&mut self, records: usize, took: Duration) {
        if self.fixed || records == 0 {
            return;
        }
        let ideal = records as f64 * Self::TARGET.as_secs_f64() / took.as_secs_f64().max(0.001);
        self.size = ((self.size as f64 + ideal) / 2.0).clamp(Self::SMALLEST as f64, Self::LARGEST as f64) as usize;
    }
}

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
    let mut sizer = BatchSizer::new(options.batch_size);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Read>(sizer.size().max(BatchSizer::LARGEST));
    let reader = tokio::task::spawn_blocking(move || {
        for read in reads {
            if sender.blocking_send(read).is_err() {
                break; // The import stopped (an error, or `strict`).
            }
        }
    });
    let progress = ImportProgress::new(options.show_progress);
    let mut summary = ImportSummary::default();
    let mut batch: Vec<Record> = Vec::with_capacity(sizer.size());
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
        if batch.len() >= sizer.size() {
            let (records, writing) = (batch.len(), Instant::now());
            if let Err(error) = write_batch(db, &mut batch, &mut summary).await {
                outcome = Err(error);
                break;
            }
            sizer.after(records, writing.elapsed());
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write;

    use serde::Deserialize;

    use super::records::{ImportedWork, Source};
    use super::*;
    use crate::domain::works::WorkKind;

    fn fixture(name: &str) -> String {
        format!("{}/tests/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[derive(Deserialize)]
    struct Demo {
        researchers: Vec<DemoResearcher>,
        works: Vec<DemoWork>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct DemoResearcher {
        slug: String,
        display_name: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct DemoWork {
        title: String,
        #[serde(rename = "abstract")]
        summary: String,
        year: i32,
        arxiv_id: String,
        authors: Vec<String>,
        topics: Vec<String>,
    }

    fn demo() -> Demo {
        let text = std::fs::read_to_string(format!("{}/src/ingest/demo.json", env!("CARGO_MANIFEST_DIR")))
            .expect("demo.json is readable");
        serde_json::from_str(&text).expect("demo.json parses")
    }

    fn works_of(path: &str, format: Format) -> Vec<ImportedWork> {
        read(&[fixture(path)], format)
            .map(|read| match read.item {
                Ok(Record::Work(work)) => *work,
                other => panic!("{}:{}: expected a work, got {other:?}", read.file, read.line),
            })
            .collect()
    }

    /// What both fixtures of works must say of the demo's six works.
    fn assert_matches_the_demo(works: &[ImportedWork]) {
        let demo = demo();
        let names: HashMap<&str, &str> =
            demo.researchers.iter().map(|r| (r.slug.as_str(), r.display_name.as_str())).collect();
        assert_eq!(works.len(), 6);
        for (work, expected) in works.iter().zip(&demo.works) {
            assert_eq!(work.arxiv_id.as_deref(), Some(expected.arxiv_id.as_str()));
            assert_eq!(work.title, expected.title);
            assert_eq!(work.summary.as_deref(), Some(expected.summary.as_str()), "{}", expected.arxiv_id);
            assert_eq!(work.kind, WorkKind::Preprint);
            assert_eq!(work.venue.as_deref(), Some("arXiv"));
            let byline: Vec<&str> = work.authors.iter().map(|author| author.name.as_str()).collect();
            let expected_byline: Vec<&str> = expected.authors.iter().map(|slug| names[slug.as_str()]).collect();
            assert_eq!(byline, expected_byline);
            assert!(byline.contains(&"Marc Mézard"), "{}", expected.arxiv_id);
        }
    }

    #[test]
    fn the_openalex_works_fixture_is_the_six_demo_works() {
        let works = works_of("openalex-works.jsonl", Format::OpenAlex(OpenAlexKind::Auto));
        assert_matches_the_demo(&works);
        let demo = demo();
        for (work, expected) in works.iter().zip(&demo.works) {
            assert_eq!(work.source, Source::OpenAlex);
            assert_eq!(work.year, Some(expected.year));
            assert_eq!(work.doi, Some(format!("10.48550/arxiv.{}", expected.arxiv_id)));
            assert_eq!(work.cited_by_count, Some(0));
            let topics: Vec<&str> = work.topics.iter().map(|topic| topic.name.as_str()).collect();
            assert_eq!(topics, expected.topics);
            assert!(work.openalex_id.as_deref().is_some_and(|id| id.starts_with("W000000000")));
        }
    }

    #[test]
    fn the_arxiv_fixture_is_the_six_demo_works() {
        let works = works_of("arxiv.atom", Format::Arxiv);
        assert_matches_the_demo(&works);
        for work in &works {
            assert_eq!(work.source, Source::Arxiv);
            let arxiv_id = work.arxiv_id.as_deref().unwrap_or_default();
            // `published` carries the year of the arXiv id, not the demo's.
            assert_eq!(work.year, arxiv_id.get(..2).and_then(|yy| yy.parse::<i32>().ok()).map(|yy| 2000 + yy));
            assert_eq!(work.source_id, arxiv_id);
            assert_eq!(work.doi, None);
            assert!(!work.topics.is_empty());
        }
    }

    #[test]
    fn the_openalex_authors_fixture_is_the_demo_researchers() {
        let demo = demo();
        let researchers: Vec<_> = read(&[fixture("openalex-authors.json")], Format::OpenAlex(OpenAlexKind::Auto))
            .map(|read| match read.item {
                Ok(Record::Researcher(researcher)) => *researcher,
                other => panic!("{}:{}: expected a researcher, got {other:?}", read.file, read.line),
            })
            .collect();
        let names: Vec<&str> = researchers.iter().map(|r| r.display_name.as_str()).collect();
        let expected: Vec<&str> = demo.researchers.iter().map(|r| r.display_name.as_str()).collect();
        assert_eq!(names, expected);
        let mezard = researchers.iter().find(|r| r.display_name == "Marc Mézard").expect("Marc Mézard is listed");
        assert_eq!(mezard.alternative_names, ["Marc Mezard", "M. Mézard"]);

        let works = works_of("openalex-works.jsonl", Format::OpenAlex(OpenAlexKind::Works));
        let mezard_on_works: Vec<Option<&str>> = works
            .iter()
            .map(|work| work.authors.iter().find(|a| a.name == "Marc Mézard").and_then(|a| a.openalex_id.as_deref()))
            .collect();
        assert_eq!(mezard_on_works, vec![Some(mezard.openalex_id.as_str()); 6], "one id for him everywhere");
    }

    #[test]
    fn batches_grow_toward_a_second_of_writing_within_bounds_unless_fixed() {
        let mut sizer = BatchSizer::new(None);
        assert_eq!(sizer.size(), 500);
        sizer.after(500, Duration::from_millis(250)); // 2 000 would take a second
        assert_eq!(sizer.size(), 1_250);
        for _ in 0..10 {
            sizer.after(sizer.size(), Duration::from_millis(10));
        }
        assert_eq!(sizer.size(), BatchSizer::LARGEST);
        for _ in 0..10 {
            sizer.after(sizer.size(), Duration::from_secs(30));
        }
        assert_eq!(sizer.size(), BatchSizer::SMALLEST);
        let mut fixed = BatchSizer::new(Some(7));
        fixed.after(7, Duration::from_secs(30));
        assert_eq!(fixed.size(), 7);
    }

    #[test]
    fn every_file_is_read_in_order_and_a_missing_one_is_one_error() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let second = dir.path().join("second.jsonl");
        let mut file = std::fs::File::create(&second)?;
        writeln!(file, "{{\"id\":\"W2\",\"title\":\"Two\"}}")?;
        writeln!(file, "not json")?;
        let missing = dir.path().join("missing.jsonl").to_string_lossy().into_owned();
        let second = second.to_string_lossy().into_owned();
        let paths = [fixture("openalex-works.jsonl"), missing.clone(), second.clone()];

        let reads: Vec<Read> = read(&paths, Format::OpenAlex(OpenAlexKind::Auto)).collect();
        let places: Vec<(&str, u64, bool)> =
            reads.iter().map(|read| (read.file.as_str(), read.line, read.item.is_ok())).collect();
        let first = paths[0].as_str();
        assert_eq!(
            places,
            [
                (first, 1, true),
                (first, 2, true),
                (first, 3, true),
                (first, 4, true),
                (first, 5, true),
                (first, 6, true),
                (missing.as_str(), 1, false),
                (second.as_str(), 1, true),
                (second.as_str(), 2, false),
            ]
        );
        Ok(())
    }
}
