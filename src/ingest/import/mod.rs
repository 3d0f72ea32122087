//! `scholargraph import`: OpenAlex and arXiv records into the catalogue.
//!
//! The read side: [`read`] turns input files into [`Read`]s, one per record
//! or per place that could not be read, streaming so that a snapshot of many
//! GB keeps memory flat. It is synchronous (`std::io`); the caller runs it on
//! a blocking thread.
pub mod arxiv;
pub mod ids;
pub mod input;
pub mod openalex;
pub mod records;

use std::collections::VecDeque;

use self::openalex::OpenAlexKind;
use self::records::{Read, Record};

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
