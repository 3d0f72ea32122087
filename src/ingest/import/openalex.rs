//! OpenAlex work and author objects, as the snapshot gives them (JSON Lines:
//! one object per line, read a line at a time) and as the API gives them (a
//! page `{ "meta": …, "results": [ … ] }`, often pretty-printed over many
//! lines, read whole: a page is small).
//!
//! Every field is optional and may be `null`: the snapshot's older records
//! lack fields the newer ones have, and the API leaves out what it does not
//! know.
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read};

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::ids;
use super::records::{
    ImportedAuthor, ImportedInstitution, ImportedResearcher, ImportedTopic, ImportedWork, Record, Source,
};
use crate::domain::researchers::ExternalIdScheme;
use crate::domain::works::WorkKind;

/// Which OpenAlex objects an input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenAlexKind {
    /// Decided per object: by the letter of its id (`W…`, `A…`), else by the
    /// fields only one of the two has.
    #[default]
    Auto,
    Works,
    Authors,
}

/// An API page is read whole; anything larger is not a page (the API gives
/// at most 200 results per page, a few MB) and would be held in memory.
const PAGE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// The records of one OpenAlex input, each with the line it starts on.
pub struct Records<R> {
    input: R,
    kind: OpenAlexKind,
    state: State,
    /// The number of the line last read.
    line: u64,
    line_bytes: Vec<u8>,
}

enum State {
    /// Before the first non-blank line, which tells JSON Lines from a page.
    Start,
    JsonLines,
    Page(std::vec::IntoIter<(u64, Result<Record, String>)>),
    Done,
}

impl<R: BufRead> Records<R> {
    pub fn new(input: R, kind: OpenAlexKind) -> Self {
        Self { input, kind, state: State::Start, line: 0, line_bytes: Vec::new() }
    }

    /// Reads the rest of the input as one API page whose text starts with
    /// `first_line`.
    fn read_page(&mut self, first_line: String) -> Vec<(u64, Result<Record, String>)> {
        let page_line = self.line;
        let mut rest = Vec::new();
        let limit = PAGE_LIMIT_BYTES.saturating_sub(first_line.len() as u64);
        if let Err(error) = (&mut self.input).take(limit + 1).read_to_end(&mut rest) {
            return vec![(page_line, Err(format!("cannot read the input: {error}")))];
        }
        if rest.len() as u64 > limit {
            return vec![(
                page_line,
                Err(format!(
                    "the first line is not a JSON object, so the input was read as an API page, \
                     but it is larger than {} MiB",
                    PAGE_LIMIT_BYTES / (1024 * 1024)
                )),
            )];
        }
        let Ok(rest) = String::from_utf8(rest) else {
            return vec![(page_line, Err("the page is not UTF-8".to_owned()))];
        };
        page_records(&(first_line + &rest), page_line, self.kind)
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = (u64, Result<Record, String>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match &mut self.state {
                State::Done => return None,
                State::Page(records) => match records.next() {
                    Some(record) => return Some(record),
                    None => self.state = State::Done,
                },
                State::Start | State::JsonLines => {
                    self.line_bytes.clear();
                    match self.input.read_until(b'\n', &mut self.line_bytes) {
                        Ok(0) => {
                            self.state = State::Done;
                            return None;
                        }
                        Ok(_) => self.line += 1,
                        Err(error) => {
                            self.state = State::Done;
                            return Some((self.line + 1, Err(format!("cannot read the input: {error}"))));
                        }
                    }
                    let Ok(text) = std::str::from_utf8(&self.line_bytes) else {
                        return Some((self.line, Err("the line is not UTF-8".to_owned())));
                    };
                    let text = text.trim_start_matches('\u{feff}');
                    if text.trim().is_empty() {
                        continue;
                    }
                    if matches!(self.state, State::Start) {
                        if starts_a_page(text) {
                            let first_line = text.to_owned();
                            self.state = State::Page(self.read_page(first_line).into_iter());
                            continue;
                        }
                        self.state = State::JsonLines;
                    }
                    return Some((self.line, record_from_json(text.trim(), self.kind)));
                }
            }
        }
    }
}

/// Whether the first non-blank line begins an API page rather than being one
/// object of JSON Lines: it is not a complete JSON value on its own (a
/// pretty-printed `{`), or it is a whole page or a list on one line. A line
/// that is broken JSON (or a lone scalar) is taken for a bad line of JSON
/// Lines, so a snapshot with a damaged first line is still read a line at a
/// time.
fn starts_a_page(line: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => matches!(object.get("results"), Some(serde_json::Value::Array(_))),
        Ok(serde_json::Value::Array(_)) => true,
        Ok(_) => false,
        Err(error) => error.is_eof(),
    }
}

/// The records of a whole API page (or of a bare array of objects, or of a
/// single object), each with the line where its object starts.
fn page_records(text: &str, first_line: u64, kind: OpenAlexKind) -> Vec<(u64, Result<Record, String>)> {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow, default)]
        results: Option<Vec<&'a RawValue>>,
    }
    let objects: Vec<&RawValue> = match text.trim_start().as_bytes().first() {
        Some(b'[') => match serde_json::from_str(text) {
            Ok(objects) => objects,
            Err(error) => return vec![(first_line, Err(format!("not a JSON array of objects: {error}")))],
        },
        _ => match serde_json::from_str::<Page>(text) {
            Ok(Page { results: Some(results) }) => results,
            Ok(Page { results: None }) => return vec![(first_line, record_from_json(text.trim(), kind))],
            Err(error) => return vec![(first_line, Err(format!("not a JSON object nor an API page: {error}")))],
        },
    };
    let mut line = first_line;
    let mut counted_to = 0;
    objects
        .into_iter()
        .map(|object| {
            // The raw value borrows from `text`, so its address gives its offset.
            let offset = (object.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize).min(text.len());
            line += text.as_bytes()[counted_to..offset.max(counted_to)].iter().filter(|&&b| b == b'\n').count() as u64;
            counted_to = counted_to.max(offset);
            (line, record_from_json(object.get(), kind))
        })
        .collect()
}

/// One OpenAlex object, a work or an author as `kind` says or as it looks.
pub fn record_from_json(json: &str, kind: OpenAlexKind) -> Result<Record, String> {
    let kind = match kind {
        OpenAlexKind::Auto => detect_kind(json)?,
        chosen => chosen,
    };
    match kind {
        OpenAlexKind::Authors => serde_json::from_str::<Author>(json)
            .map_err(|error| format!("not an OpenAlex author: {error}"))
            .and_then(Author::into_researcher)
            .map(|researcher| Record::Researcher(Box::new(researcher))),
        _ => serde_json::from_str::<Work>(json)
            .map_err(|error| format!("not an OpenAlex work: {error}"))
            .and_then(Work::into_work)
            .map(|work| Record::Work(Box::new(work))),
    }
}

/// A work or an author: by the letter of the id first (the one thing OpenAlex
/// always sets), then by fields only works or only authors have.
fn detect_kind(json: &str) -> Result<OpenAlexKind, String> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        authorships: Option<IgnoredAny>,
        #[serde(default)]
        publication_year: Option<IgnoredAny>,
        #[serde(default)]
        abstract_inverted_index: Option<IgnoredAny>,
        #[serde(default)]
        works_count: Option<IgnoredAny>,
        #[serde(default)]
        last_known_institution: Option<IgnoredAny>,
        #[serde(default)]
        last_known_institutions: Option<IgnoredAny>,
        #[serde(default)]
        display_name_alternatives: Option<IgnoredAny>,
    }
    let probe: Probe = serde_json::from_str(json).map_err(|error| format!("not a JSON object: {error}"))?;
    let id = probe.id.as_deref().unwrap_or_default();
    if ids::openalex_id(id, 'W').is_some() {
        return Ok(OpenAlexKind::Works);
    }
    if ids::openalex_id(id, 'A').is_some() {
        return Ok(OpenAlexKind::Authors);
    }
    if probe.authorships.is_some() || probe.publication_year.is_some() || probe.abstract_inverted_index.is_some() {
        return Ok(OpenAlexKind::Works);
    }
    if probe.works_count.is_some()
        || probe.last_known_institution.is_some()
        || probe.last_known_institutions.is_some()
        || probe.display_name_alternatives.is_some()
    {
        return Ok(OpenAlexKind::Authors);
    }
    Err(format!("neither an OpenAlex work nor an author (id {:?})", probe.id.unwrap_or_default()))
}

/// `null` read as the type's default, for lists that may be `null`.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Work {
    id: Option<String>,
    doi: Option<String>,
    display_name: Option<String>,
    title: Option<String>,
    publication_year: Option<i64>,
    #[serde(rename = "type")]
    work_type: Option<String>,
    primary_location: Option<Location>,
    best_oa_location: Option<Location>,
    #[serde(deserialize_with = "nullable")]
    locations: Vec<Location>,
    cited_by_count: Option<i64>,
    abstract_inverted_index: Option<HashMap<String, Vec<u64>>>,
    /// In byline order. Each has an `author_position` (first, middle, last),
    /// which the order of the list already says, so it is not read.
    #[serde(deserialize_with = "nullable")]
    authorships: Vec<Authorship>,
    /// `None` (absent or `null`) lets `primary_topic` stand in.
    topics: Option<Vec<Topic>>,
    primary_topic: Option<Topic>,
    #[serde(deserialize_with = "nullable")]
    counts_by_year: Vec<CountByYear>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Location {
    landing_page_url: Option<String>,
    pdf_url: Option<String>,
    source: Option<LocationSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LocationSource {
    display_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Authorship {
    author: Option<AuthorRef>,
    raw_author_name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    institutions: Vec<Institution>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AuthorRef {
    id: Option<String>,
    display_name: Option<String>,
    orcid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Institution {
    id: Option<String>,
    display_name: Option<String>,
    ror: Option<String>,
    country_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Topic {
    id: Option<String>,
    display_name: Option<String>,
}

/// Works and citations per year. Read so the object's whole documented shape
/// is known here, but the records have no place for it today: dropped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(dead_code)]
struct CountByYear {
    year: Option<i64>,
    works_count: Option<i64>,
    cited_by_count: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Author {
    id: Option<String>,
    display_name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    display_name_alternatives: Vec<Option<String>>,
    orcid: Option<String>,
    ids: Option<AuthorIds>,
    /// Current records list several; older ones have the single
    /// `last_known_institution`.
    last_known_institutions: Option<Vec<Institution>>,
    last_known_institution: Option<Institution>,
    #[serde(deserialize_with = "nullable")]
    affiliations: Vec<Affiliation>,
    #[serde(deserialize_with = "nullable")]
    counts_by_year: Vec<CountByYear>,
}

/// Twitter and Wikipedia are listed too; they do not identify a researcher
/// in the catalogue's sense and are not read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AuthorIds {
    orcid: Option<String>,
    scopus: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Affiliation {
    institution: Option<Institution>,
    #[serde(deserialize_with = "nullable")]
    years: Vec<i64>,
}

/// Trimmed text, `None` when there is none.
fn text(value: Option<String>) -> Option<String> {
    let value = value?;
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn work_kind(openalex_type: Option<&str>) -> WorkKind {
    match openalex_type.map(str::trim).unwrap_or_default() {
        "article" => WorkKind::Article,
        "preprint" | "posted-content" => WorkKind::Preprint,
        "book" => WorkKind::Book,
        "book-chapter" => WorkKind::Chapter,
        "proceedings" | "proceedings-article" => WorkKind::Proceedings,
        "dataset" => WorkKind::Dataset,
        "dissertation" => WorkKind::Thesis,
        _ => WorkKind::Other,
    }
}

/// The abstract as plain text: every word at each of its positions, in
/// position order, separated by single spaces.
fn rebuild_abstract(index: &HashMap<String, Vec<u64>>) -> Option<String> {
    let mut placed: Vec<(u64, &str)> =
        index.iter().flat_map(|(word, positions)| positions.iter().map(move |&at| (at, word.as_str()))).collect();
    placed.sort_unstable();
    let words: Vec<&str> = placed.into_iter().map(|(_, word)| word).collect();
    let text = words.join(" ");
    (!text.trim().is_empty()).then_some(text)
}

/// An institution; one without a name is left out, as the catalogue has
/// nothing to show for it.
fn institution(raw: Institution) -> Option<ImportedInstitution> {
    Some(ImportedInstitution {
        name: text(raw.display_name)?,
        openalex_id: raw.id.as_deref().and_then(|id| ids::openalex_id(id, 'I')),
        country: text(raw.country_code).map(|code| code.to_ascii_uppercase()),
        ror: raw.ror.as_deref().and_then(ids::ror),
    })
}

impl Work {
    fn into_work(self) -> Result<ImportedWork, String> {
        let Work {
            id,
            doi,
            display_name,
            title,
            publication_year,
            work_type,
            primary_location,
            best_oa_location,
            locations,
            cited_by_count,
            abstract_inverted_index,
            authorships,
            topics,
            primary_topic,
            counts_by_year: _,
        } = self;
        let written_id = id.unwrap_or_default();
        let openalex_id = ids::openalex_id(&written_id, 'W')
            .ok_or_else(|| format!("work id {written_id:?} is not an OpenAlex work id"))?;
        let title =
            text(display_name).or_else(|| text(title)).ok_or_else(|| format!("work {openalex_id} has no title"))?;
        let doi = doi.as_deref().and_then(ids::normalize_doi);
        let arxiv_id = doi.as_deref().and_then(ids::arxiv_id_from_doi).or_else(|| {
            primary_location
                .iter()
                .chain(best_oa_location.iter())
                .chain(locations.iter())
                .flat_map(|location| [location.landing_page_url.as_deref(), location.pdf_url.as_deref()])
                .flatten()
                .find_map(ids::arxiv_id_from_url)
        });
        let venue = primary_location.and_then(|location| text(location.source?.display_name));

        let mut seen_authors = HashSet::new();
        let authors = authorships
            .into_iter()
            .filter_map(|authorship| {
                let author = authorship.author.unwrap_or_default();
                let openalex_id = author.id.as_deref().and_then(|id| ids::openalex_id(id, 'A'));
                let name = text(author.display_name).or_else(|| text(authorship.raw_author_name));
                if name.is_none() && openalex_id.is_none() {
                    return None;
                }
                if let Some(id) = &openalex_id {
                    if !seen_authors.insert(id.clone()) {
                        return None;
                    }
                }
                Some(ImportedAuthor {
                    // An author known by id alone keeps their place in the
                    // byline; the id finds them in the catalogue.
                    name: name.unwrap_or_default(),
                    openalex_id,
                    orcid: author.orcid.as_deref().and_then(ids::orcid),
                    institutions: authorship.institutions.into_iter().filter_map(institution).collect(),
                })
            })
            .collect();

        let topics = match topics {
            Some(topics) if !topics.is_empty() => topics,
            _ => primary_topic.into_iter().collect(),
        };
        let mut seen_topics = HashSet::new();
        let topics = topics
            .into_iter()
            .filter_map(|topic| {
                let name = text(topic.display_name)?;
                let openalex_id = topic.id.as_deref().and_then(|id| ids::openalex_id(id, 'T'));
                seen_topics
                    .insert(openalex_id.clone().unwrap_or_else(|| name.clone()))
                    .then_some(ImportedTopic { openalex_id, name })
            })
            .collect();

        Ok(ImportedWork {
            source: Source::OpenAlex,
            source_id: openalex_id.clone(),
            title,
            summary: abstract_inverted_index.as_ref().and_then(rebuild_abstract),
            kind: work_kind(work_type.as_deref()),
            year: publication_year.and_then(|year| i32::try_from(year).ok()),
            venue,
            doi,
            arxiv_id,
            openalex_id: Some(openalex_id),
            cited_by_count: cited_by_count.and_then(|count| i32::try_from(count).ok()),
            authors,
            topics,
        })
    }
}

impl Author {
    fn into_researcher(self) -> Result<ImportedResearcher, String> {
        let Author {
            id,
            display_name,
            display_name_alternatives,
            orcid,
            ids: listed_ids,
            last_known_institutions,
            last_known_institution,
            affiliations,
            counts_by_year: _,
        } = self;
        let written_id = id.unwrap_or_default();
        let openalex_id = ids::openalex_id(&written_id, 'A')
            .ok_or_else(|| format!("author id {written_id:?} is not an OpenAlex author id"))?;
        let mut alternatives: Vec<String> = display_name_alternatives.into_iter().filter_map(text).collect();
        let display_name = text(display_name)
            .or_else(|| alternatives.first().cloned())
            .ok_or_else(|| format!("author {openalex_id} has no name"))?;
        let mut seen_names = HashSet::from([display_name.clone()]);
        alternatives.retain(|name| seen_names.insert(name.clone()));

        let listed_ids = listed_ids.unwrap_or_default();
        let orcid = orcid.or(listed_ids.orcid).as_deref().and_then(ids::orcid);
        let other_ids = listed_ids
            .scopus
            .as_deref()
            .and_then(ids::scopus_author_id)
            .map(|scopus| (ExternalIdScheme::Scopus, scopus))
            .into_iter()
            .collect();
        let last_known_institutions = match last_known_institutions {
            Some(institutions) if !institutions.is_empty() => institutions,
            _ => last_known_institution.into_iter().collect(),
        };

        Ok(ImportedResearcher {
            source: Source::OpenAlex,
            openalex_id,
            display_name,
            alternative_names: alternatives,
            orcid,
            other_ids,
            last_known_institutions: last_known_institutions.into_iter().filter_map(institution).collect(),
            affiliations: affiliations
                .into_iter()
                .filter_map(|affiliation| {
                    let years = affiliation.years.into_iter().filter_map(|year| i32::try_from(year).ok()).collect();
                    Some((institution(affiliation.institution?)?, years))
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn records(text: &str, kind: OpenAlexKind) -> Vec<(u64, Result<Record, String>)> {
        Records::new(Cursor::new(text.to_owned()), kind).collect()
    }

    fn work(record: &Result<Record, String>) -> &ImportedWork {
        match record {
            Ok(Record::Work(work)) => work,
            other => panic!("expected a work, got {other:?}"),
        }
    }

    fn researcher(record: &Result<Record, String>) -> &ImportedResearcher {
        match record {
            Ok(Record::Researcher(researcher)) => researcher,
            other => panic!("expected a researcher, got {other:?}"),
        }
    }

    #[test]
    fn the_inverted_index_is_rebuilt_in_position_order() {
        let line = r#"{"id":"https://openalex.org/W1","title":"T",
            "abstract_inverted_index":{"the":[0,4],"cat":[1],"sat":[2],"on":[3],"mat.":[5]}}"#
            .replace('\n', " ");
        let read = records(&line, OpenAlexKind::Auto);
        assert_eq!(work(&read[0].1).summary.as_deref(), Some("the cat sat on the mat."));
    }

    #[test]
    fn an_empty_inverted_index_is_no_abstract() {
        let read = records(r#"{"id":"W1","title":"T","abstract_inverted_index":{}}"#, OpenAlexKind::Auto);
        assert_eq!(work(&read[0].1).summary, None);
    }

    #[test]
    fn a_work_is_mapped_field_by_field() {
        let line = r#"{"id":"https://openalex.org/W2741809807","doi":"https://doi.org/10.7717/PEERJ.4375",
            "display_name":"The state of OA","title":"ignored when display_name is set","publication_year":2018,
            "type":"article","cited_by_count":12,
            "primary_location":{"landing_page_url":"https://peerj.com/articles/4375","source":{"display_name":"PeerJ"}},
            "authorships":[
              {"author_position":"first","author":{"id":"https://openalex.org/A5023888391","display_name":"Heather Piwowar","orcid":"https://orcid.org/0000-0003-1613-5981"},
               "institutions":[{"id":"https://openalex.org/I4210166444","display_name":"Impactstory","ror":"https://ror.org/05a0dhs15","country_code":"us"}]},
              {"author_position":"last","author":{"id":null,"display_name":null},"raw_author_name":"  Jason Priem "},
              {"author_position":"middle","author":{"id":"https://openalex.org/A5023888391","display_name":"Heather P."}},
              {"author_position":"middle","author":{},"raw_author_name":null}
            ],
            "topics":[{"id":"https://openalex.org/T10102","display_name":"scientometrics and bibliometrics research"}],
            "counts_by_year":[{"year":2023,"cited_by_count":3}]}"#
            .replace('\n', " ");
        let read = records(&line, OpenAlexKind::Works);
        let work = work(&read[0].1);
        assert_eq!(work.source, Source::OpenAlex);
        assert_eq!(work.source_id, "W2741809807");
        assert_eq!(work.openalex_id.as_deref(), Some("W2741809807"));
        assert_eq!(work.title, "The state of OA");
        assert_eq!(work.doi.as_deref(), Some("10.7717/peerj.4375"));
        assert_eq!(work.year, Some(2018));
        assert_eq!(work.kind, WorkKind::Article);
        assert_eq!(work.venue.as_deref(), Some("PeerJ"));
        assert_eq!(work.cited_by_count, Some(12));
        assert_eq!(work.arxiv_id, None);
        let names: Vec<&str> = work.authors.iter().map(|author| author.name.as_str()).collect();
        assert_eq!(names, ["Heather Piwowar", "Jason Priem"], "duplicate id and nameless authorships dropped");
        let first = &work.authors[0];
        assert_eq!(first.openalex_id.as_deref(), Some("A5023888391"));
        assert_eq!(first.orcid.as_deref(), Some("0000-0003-1613-5981"));
        assert_eq!(
            first.institutions,
            [ImportedInstitution {
                openalex_id: Some("I4210166444".to_owned()),
                name: "Impactstory".to_owned(),
                country: Some("US".to_owned()),
                ror: Some("05a0dhs15".to_owned()),
            }]
        );
        assert_eq!(work.authors[1].openalex_id, None);
        assert_eq!(
            work.topics,
            [ImportedTopic {
                openalex_id: Some("T10102".to_owned()),
                name: "scientometrics and bibliometrics research".to_owned()
            }]
        );
    }

    #[test]
    fn the_byline_keeps_the_order_of_the_array_whatever_the_author_position() {
        let line = r#"{"id":"W1","title":"T","authorships":[
            {"author_position":"last","author":{"id":"A3","display_name":"Third"}},
            {"author_position":"first","author":{"id":"A1","display_name":"First"}}]}"#
            .replace('\n', " ");
        let read = records(&line, OpenAlexKind::Works);
        let names: Vec<&str> = work(&read[0].1).authors.iter().map(|author| author.name.as_str()).collect();
        assert_eq!(names, ["Third", "First"]);
    }

    #[test]
    fn work_types_map_to_work_kinds() {
        for (openalex_type, kind) in [
            ("article", WorkKind::Article),
            ("preprint", WorkKind::Preprint),
            ("posted-content", WorkKind::Preprint),
            ("book", WorkKind::Book),
            ("book-chapter", WorkKind::Chapter),
            ("proceedings", WorkKind::Proceedings),
            ("proceedings-article", WorkKind::Proceedings),
            ("dataset", WorkKind::Dataset),
            ("dissertation", WorkKind::Thesis),
            ("editorial", WorkKind::Other),
        ] {
            assert_eq!(work_kind(Some(openalex_type)), kind, "{openalex_type}");
        }
        assert_eq!(work_kind(None), WorkKind::Other);
    }

    #[test]
    fn the_arxiv_id_comes_from_an_arxiv_doi() {
        let line = r#"{"id":"W1","title":"T","doi":"https://doi.org/10.48550/ARXIV.2509.05041"}"#;
        let read = records(line, OpenAlexKind::Works);
        let work = work(&read[0].1);
        assert_eq!(work.doi.as_deref(), Some("10.48550/arxiv.2509.05041"));
        assert_eq!(work.arxiv_id.as_deref(), Some("2509.05041"));
    }

    #[test]
    fn the_arxiv_id_comes_from_a_landing_page_url_on_arxiv_org() {
        let line = r#"{"id":"W1","title":"T","doi":"https://doi.org/10.1103/physrevx.10.041044",
            "primary_location":{"landing_page_url":"https://doi.org/10.1103/physrevx.10.041044"},
            "best_oa_location":null,
            "locations":[{"landing_page_url":"https://journals.aps.org/prx/abstract/10.1103"},
                         {"landing_page_url":"https://arxiv.org/abs/2002.09339v3"}]}"#
            .replace('\n', " ");
        let read = records(&line, OpenAlexKind::Works);
        assert_eq!(work(&read[0].1).arxiv_id.as_deref(), Some("2002.09339"));

        let old_style = r#"{"id":"W2","title":"T","best_oa_location":{"landing_page_url":"http://arxiv.org/abs/cond-mat/0211567v2"}}"#;
        let read = records(old_style, OpenAlexKind::Works);
        assert_eq!(work(&read[0].1).arxiv_id.as_deref(), Some("cond-mat/0211567"));
    }

    #[test]
    fn null_and_missing_fields_leave_the_record_empty_not_broken() {
        let nulls = r#"{"id":"https://openalex.org/W1","doi":null,"display_name":null,"title":"Only a title",
            "publication_year":null,"type":null,"primary_location":null,"best_oa_location":null,"locations":null,
            "cited_by_count":null,"abstract_inverted_index":null,"authorships":null,"topics":null,
            "primary_topic":null,"counts_by_year":null}"#
            .replace('\n', " ");
        let missing = r#"{"id":"https://openalex.org/W1","title":"Only a title"}"#;
        for line in [nulls.as_str(), missing] {
            let read = records(line, OpenAlexKind::Auto);
            let work = work(&read[0].1);
            assert_eq!(work.title, "Only a title");
            assert_eq!(work.kind, WorkKind::Other);
            assert_eq!((work.year, work.doi.as_deref(), work.venue.as_deref()), (None, None, None));
            assert_eq!((work.summary.as_deref(), work.cited_by_count), (None, None));
            assert!(work.authors.is_empty() && work.topics.is_empty());
        }

        let author = r#"{"id":"https://openalex.org/A1","display_name":"Someone","display_name_alternatives":null,
            "orcid":null,"ids":null,"last_known_institutions":null,"last_known_institution":null,
            "affiliations":null,"counts_by_year":null}"#
            .replace('\n', " ");
        let read = records(&author, OpenAlexKind::Auto);
        let researcher = researcher(&read[0].1);
        assert_eq!(researcher.display_name, "Someone");
        assert!(researcher.alternative_names.is_empty() && researcher.other_ids.is_empty());
        assert!(researcher.last_known_institutions.is_empty() && researcher.affiliations.is_empty());
    }

    #[test]
    fn a_work_without_a_title_is_malformed() {
        let read = records(r#"{"id":"https://openalex.org/W7","display_name":" ","title":null}"#, OpenAlexKind::Auto);
        assert_eq!(read[0].1, Err("work W7 has no title".to_owned()));
    }

    #[test]
    fn primary_topic_stands_in_when_topics_are_absent() {
        let line =
            r#"{"id":"W1","title":"T","primary_topic":{"id":"https://openalex.org/T11636","display_name":"AI"}}"#;
        let read = records(line, OpenAlexKind::Works);
        assert_eq!(
            work(&read[0].1).topics,
            [ImportedTopic { openalex_id: Some("T11636".to_owned()), name: "AI".to_owned() }]
        );
    }

    #[test]
    fn a_malformed_line_is_reported_with_its_line_number_and_the_next_line_is_still_read() {
        let text =
            "{\"id\":\"W1\",\"title\":\"One\"}\n\n{\"id\":\"W2\",\"title\":\n{\"id\":\"W3\",\"title\":\"Three\"}\n";
        let read = records(text, OpenAlexKind::Auto);
        assert_eq!(read.len(), 3);
        assert_eq!((read[0].0, work(&read[0].1).title.as_str()), (1, "One"));
        assert_eq!(read[1].0, 3);
        assert!(read[1].1.as_ref().is_err_and(|reason| reason.contains("JSON")), "{:?}", read[1].1);
        assert_eq!((read[2].0, work(&read[2].1).title.as_str()), (4, "Three"));
    }

    #[test]
    fn a_broken_first_line_does_not_turn_json_lines_into_a_page() {
        let text = "{\"id\": oops}\n{\"id\":\"W2\",\"title\":\"Two\"}\n";
        let read = records(text, OpenAlexKind::Auto);
        assert_eq!(read.len(), 2);
        assert!(read[0].1.is_err());
        assert_eq!((read[1].0, work(&read[1].1).title.as_str()), (2, "Two"));
    }

    #[test]
    fn an_api_page_is_read_whole_and_json_lines_a_line_at_a_time() {
        let page = r#"{
  "meta": {"count": 2, "page": 1, "per_page": 25},
  "results": [
    {
      "id": "https://openalex.org/W1",
      "title": "One"
    },
    {"id": "https://openalex.org/A2", "display_name": "Two"}
  ],
  "group_by": []
}
"#;
        let read = records(page, OpenAlexKind::Auto);
        assert_eq!(read.len(), 2);
        assert_eq!((read[0].0, work(&read[0].1).title.as_str()), (4, "One"));
        assert_eq!((read[1].0, researcher(&read[1].1).display_name.as_str()), (8, "Two"));

        let one_line_page = r#"{"meta":{"count":1},"results":[{"id":"W1","title":"One"}]}"#;
        let read = records(one_line_page, OpenAlexKind::Auto);
        assert_eq!((read.len(), work(&read[0].1).title.as_str()), (1, "One"));

        let json_lines = "{\"id\":\"W1\",\"title\":\"One\"}\n{\"id\":\"W2\",\"title\":\"Two\"}\n";
        let lines: Vec<u64> = records(json_lines, OpenAlexKind::Auto).into_iter().map(|(line, _)| line).collect();
        assert_eq!(lines, [1, 2]);
    }

    #[test]
    fn a_single_pretty_printed_object_is_one_record() {
        let text = "\n{\n  \"id\": \"https://openalex.org/W9\",\n  \"title\": \"Nine\"\n}\n";
        let read = records(text, OpenAlexKind::Auto);
        assert_eq!(read.len(), 1);
        assert_eq!((read[0].0, work(&read[0].1).source_id.as_str()), (2, "W9"));
    }

    #[test]
    fn a_page_that_is_not_json_is_one_error() {
        let read = records("{\n  \"results\": [\n", OpenAlexKind::Auto);
        assert_eq!(read.len(), 1);
        assert!(read[0].1.is_err());
    }

    #[test]
    fn works_and_authors_are_told_apart_by_id_first_then_by_fields() {
        for (object, is_work) in [
            (r#"{"id":"https://openalex.org/W1","display_name":"A work","works_count":3}"#, true),
            (r#"{"id":"https://openalex.org/A1","display_name":"An author","publication_year":2020}"#, false),
            (r#"{"display_name":"A work","publication_year":2020,"id":"urn:x"}"#, true),
            (r#"{"display_name":"An author","works_count":3,"id":"urn:x"}"#, false),
        ] {
            let kind = detect_kind(object);
            assert_eq!(kind, Ok(if is_work { OpenAlexKind::Works } else { OpenAlexKind::Authors }), "{object}");
        }
        assert!(detect_kind(r#"{"id":"https://openalex.org/I1","display_name":"An institution"}"#).is_err());
    }

    #[test]
    fn an_author_is_mapped_field_by_field() {
        let line = r#"{"id":"https://openalex.org/A5023888391","display_name":"Jason Priem",
            "display_name_alternatives":["Jason Priem","J. Priem",null,"  "],
            "orcid":"https://orcid.org/0000-0001-6187-6610",
            "ids":{"openalex":"https://openalex.org/A5023888391","orcid":"https://orcid.org/0000-0001-6187-6610",
                   "scopus":"http://www.scopus.com/inward/authorDetails.url?authorID=36455008000&partnerID=MN8TOARS",
                   "twitter":"https://twitter.com/jasonpriem"},
            "last_known_institutions":[{"id":"https://openalex.org/I4200000001","display_name":"OurResearch","country_code":"ca","ror":"https://ror.org/02nr0ka47"}],
            "affiliations":[{"institution":{"id":"https://openalex.org/I4200000001","display_name":"OurResearch"},"years":[2022,2021]},
                            {"institution":{"id":"https://openalex.org/I1","display_name":null},"years":[2010]}],
            "counts_by_year":[{"year":2023,"works_count":1,"cited_by_count":40}]}"#
            .replace('\n', " ");
        let read = records(&line, OpenAlexKind::Authors);
        let researcher = researcher(&read[0].1);
        assert_eq!(researcher.source, Source::OpenAlex);
        assert_eq!(researcher.openalex_id, "A5023888391");
        assert_eq!(researcher.display_name, "Jason Priem");
        assert_eq!(researcher.alternative_names, ["J. Priem"]);
        assert_eq!(researcher.orcid.as_deref(), Some("0000-0001-6187-6610"));
        assert_eq!(researcher.other_ids, [(ExternalIdScheme::Scopus, "36455008000".to_owned())]);
        let our_research = ImportedInstitution {
            openalex_id: Some("I4200000001".to_owned()),
            name: "OurResearch".to_owned(),
            country: Some("CA".to_owned()),
            ror: Some("02nr0ka47".to_owned()),
        };
        assert_eq!(researcher.last_known_institutions, std::slice::from_ref(&our_research));
        let without_country = ImportedInstitution { country: None, ror: None, ..our_research };
        assert_eq!(researcher.affiliations, [(without_country, vec![2022, 2021])]);
    }

    #[test]
    fn authors_with_last_known_institution_and_with_last_known_institutions_both_have_one() {
        let older = r#"{"id":"A1","display_name":"Older","last_known_institution":{"id":"I1","display_name":"Old U"}}"#;
        let newer =
            r#"{"id":"A2","display_name":"Newer","last_known_institutions":[{"id":"I2","display_name":"New U"}],
            "last_known_institution":null}"#
                .replace('\n', " ");
        let text = format!("{older}\n{newer}\n");
        let read = records(&text, OpenAlexKind::Auto);
        let names: Vec<Vec<&str>> = read
            .iter()
            .map(|(_, record)| {
                researcher(record).last_known_institutions.iter().map(|institution| institution.name.as_str()).collect()
            })
            .collect();
        assert_eq!(names, [vec!["Old U"], vec!["New U"]]);
    }

    #[test]
    fn an_author_without_an_openalex_id_is_malformed() {
        let read = records(r#"{"display_name":"Nobody","works_count":1}"#, OpenAlexKind::Auto);
        assert!(read[0].1.as_ref().is_err_and(|reason| reason.contains("not an OpenAlex author id")));
    }
}
