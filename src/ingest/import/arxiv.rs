//! arXiv API Atom feeds: `<feed>` with one `<entry>` per paper, read as a
//! stream of XML events so a large feed is never held whole. Elements are
//! matched by namespace, not by prefix: Atom (`http://www.w3.org/2005/Atom`)
//! and arXiv's extensions (`http://arxiv.org/schemas/atom`), whatever
//! prefixes a feed binds them to.
use std::io::{self, BufRead, Read};

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::ids;
use super::records::{ImportedAuthor, ImportedInstitution, ImportedTopic, ImportedWork, Record, Source};
use crate::domain::works::WorkKind;

const ATOM: &str = "http://www.w3.org/2005/Atom";
const ARXIV: &str = "http://arxiv.org/schemas/atom";

/// The records of one arXiv feed, each with the line its `<entry>` starts on.
pub struct Records<R> {
    reader: NsReader<LineCounting<R>>,
    event_bytes: Vec<u8>,
    feed: Feed,
    done: bool,
}

/// What has been read of the feed so far.
#[derive(Default)]
struct Feed {
    saw_feed: bool,
    /// The entry being read, with the elements open inside it.
    entry: Option<Entry>,
    open: Vec<Element>,
}

/// The namespaces a feed's elements are matched by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespace {
    Atom,
    Arxiv,
    Other,
}

impl Namespace {
    fn of(resolved: &ResolveResult) -> Self {
        match resolved {
            ResolveResult::Bound(namespace) if namespace.0 == ATOM => Self::Atom,
            ResolveResult::Bound(namespace) if namespace.0 == ARXIV => Self::Arxiv,
            _ => Self::Other,
        }
    }
}

/// Counts the line breaks the XML reader has consumed, which tells the line
/// an event starts on without keeping any of the text.
struct LineCounting<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for LineCounting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(out)?;
        self.newlines += count_newlines(&out[..read]);
        Ok(read)
    }
}

impl<R: BufRead> BufRead for LineCounting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if amount > 0 {
            // The bytes to consume are still in the buffer: this reads nothing.
            if let Ok(available) = self.inner.fill_buf() {
                self.newlines += count_newlines(&available[..amount.min(available.len())]);
            }
        }
        self.inner.consume(amount);
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// What an open element inside an entry is, as far as the record cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Id,
    Title,
    Summary,
    Published,
    Author,
    AuthorName,
    Affiliation,
    Doi,
    JournalRef,
    Other,
}

impl Element {
    /// Whether the element's text is a value of the record.
    fn holds_text(self) -> bool {
        !matches!(self, Self::Author | Self::Other)
    }
}

#[derive(Debug, Default)]
struct Entry {
    line: u64,
    id: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    published: Option<String>,
    authors: Vec<EntryAuthor>,
    doi: Option<String>,
    journal_ref: Option<String>,
    primary_category: Option<String>,
    categories: Vec<String>,
    /// The text of the element being read.
    text: String,
}

#[derive(Debug, Default)]
struct EntryAuthor {
    name: String,
    affiliations: Vec<String>,
}

impl<R: BufRead> Records<R> {
    pub fn new(input: R) -> Self {
        Self {
            reader: NsReader::from_reader(LineCounting { inner: input, newlines: 0 }),
            event_bytes: Vec::new(),
            feed: Feed::default(),
            done: false,
        }
    }

    /// Reads events up to the end of the next entry.
    fn next_entry(&mut self) -> Option<(u64, Result<Record, String>)> {
        loop {
            // Text before an element is consumed up to its `<`, so the lines
            // consumed so far are the lines before the next event.
            let line = self.reader.get_mut().newlines + 1;
            self.event_bytes.clear();
            let (namespace, event) = match self.reader.read_resolved_event_into(&mut self.event_bytes) {
                Ok((resolved, event)) => (Namespace::of(&resolved), event),
                Err(error) => {
                    self.done = true;
                    return Some((line, Err(format!("malformed XML, reading stops here: {error}"))));
                }
            };
            let feed = &mut self.feed;
            match event {
                Event::Start(start) => {
                    if let Some(record) = feed.open(line, namespace, &start, false) {
                        return Some(record);
                    }
                }
                Event::Empty(start) => {
                    if let Some(record) = feed.open(line, namespace, &start, true) {
                        return Some(record);
                    }
                }
                Event::End(_) => {
                    if let Some(record) = feed.close() {
                        return Some(record);
                    }
                }
                Event::Text(text) => feed.add_text(&text.xml10_content()),
                Event::CData(data) => feed.add_text(&data.xml10_content()),
                Event::GeneralRef(reference) => feed.add_text(&resolve_reference(&reference)),
                Event::Eof => {
                    self.done = true;
                    if let Some(entry) = feed.entry.take() {
                        let reason = format!("the feed ends inside the entry that starts on line {}", entry.line);
                        return Some((entry.line, Err(reason)));
                    }
                    if !feed.saw_feed {
                        return Some((line, Err(format!("no Atom feed: expected <feed xmlns=\"{ATOM}\">"))));
                    }
                    return None;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }
}

impl Feed {
    /// An element opens (`empty`: and closes at once); an entry that ends
    /// here is returned.
    fn open(
        &mut self,
        line: u64,
        namespace: Namespace,
        start: &BytesStart,
        empty: bool,
    ) -> Option<(u64, Result<Record, String>)> {
        let local = start.local_name().into_inner();
        let Some(entry) = &mut self.entry else {
            match (namespace, local) {
                (Namespace::Atom, "feed") => self.saw_feed = true,
                (Namespace::Atom, "entry") if empty => return Some((line, Entry::default().into_record())),
                (Namespace::Atom, "entry") => {
                    self.entry = Some(Entry { line, ..Entry::default() });
                    self.open.clear();
                }
                _ => {}
            }
            return None;
        };
        let element = match (self.open.last(), namespace, local) {
            (None, Namespace::Atom, "id") => Element::Id,
            (None, Namespace::Atom, "title") => Element::Title,
            (None, Namespace::Atom, "summary") => Element::Summary,
            (None, Namespace::Atom, "published") => Element::Published,
            (None, Namespace::Atom, "author") => Element::Author,
            (None, Namespace::Arxiv, "doi") => Element::Doi,
            (None, Namespace::Arxiv, "journal_ref") => Element::JournalRef,
            (None, Namespace::Arxiv, "primary_category") => {
                entry.primary_category = term(start);
                Element::Other
            }
            (None, Namespace::Atom, "category") => {
                entry.categories.extend(term(start));
                Element::Other
            }
            (Some(Element::Author), Namespace::Atom, "name") => Element::AuthorName,
            (Some(Element::Author), Namespace::Arxiv, "affiliation") => Element::Affiliation,
            _ => Element::Other,
        };
        if element == Element::Author {
            entry.authors.push(EntryAuthor::default());
        }
        if !empty {
            if element.holds_text() {
                entry.text.clear();
            }
            self.open.push(element);
        }
        None
    }

    /// An element closes; the entry, when it is the one closing, is returned.
    fn close(&mut self) -> Option<(u64, Result<Record, String>)> {
        let entry = self.entry.as_mut()?;
        let Some(element) = self.open.pop() else {
            let entry = self.entry.take()?;
            return Some((entry.line, entry.into_record()));
        };
        if !element.holds_text() {
            return None;
        }
        let value = std::mem::take(&mut entry.text);
        match element {
            Element::Id => entry.id = Some(value),
            Element::Title => entry.title = Some(value),
            Element::Summary => entry.summary = Some(value),
            Element::Published => entry.published = Some(value),
            Element::Doi => entry.doi = Some(value),
            Element::JournalRef => entry.journal_ref = Some(value),
            Element::AuthorName => {
                if let Some(author) = entry.authors.last_mut() {
                    author.name = value;
                }
            }
            Element::Affiliation => {
                if let Some(author) = entry.authors.last_mut() {
                    author.affiliations.push(value);
                }
            }
            Element::Author | Element::Other => {}
        }
        None
    }

    fn add_text(&mut self, text: &str) {
        if let (Some(entry), Some(element)) = (&mut self.entry, self.open.last()) {
            if element.holds_text() {
                entry.text.push_str(text);
            }
        }
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = (u64, Result<Record, String>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.next_entry()
    }
}

/// The `term` attribute of a category element.
fn term(start: &BytesStart) -> Option<String> {
    let attribute = start.try_get_attribute("term").ok()??;
    let value = attribute.normalized_value(XmlVersion::Implicit1_0).ok()?;
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// An entity or character reference as text; one that XML does not define
/// is kept as written.
fn resolve_reference(reference: &BytesRef) -> String {
    if let Ok(Some(character)) = reference.resolve_char_ref() {
        return character.to_string();
    }
    match quick_xml::escape::resolve_predefined_entity(reference) {
        Some(text) => text.to_owned(),
        None => format!("&{};", &**reference),
    }
}

/// Runs of whitespace (arXiv wraps titles and abstracts over lines) as one
/// space, trimmed; `None` when nothing is left.
fn collapse_whitespace(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl Entry {
    fn into_record(self) -> Result<Record, String> {
        let written_id = self.id.as_deref().map(str::trim).unwrap_or_default();
        if written_id.is_empty() {
            return Err("entry has no id".to_owned());
        }
        let arxiv_id = ids::arxiv_id_from_url(written_id)
            .or_else(|| ids::arxiv_id(written_id))
            .ok_or_else(|| format!("entry id {written_id:?} is not an arXiv id"))?;
        let title = self
            .title
            .as_deref()
            .and_then(collapse_whitespace)
            .ok_or_else(|| format!("entry {arxiv_id} has no title"))?;
        let year = self
            .published
            .as_deref()
            .map(str::trim)
            .and_then(|published| published.get(..4))
            .filter(|year| year.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|year| year.parse().ok());

        let mut topics: Vec<ImportedTopic> = Vec::new();
        for code in self.primary_category.into_iter().chain(self.categories) {
            if !topics.iter().any(|topic| topic.name == code) {
                topics.push(ImportedTopic { openalex_id: None, name: code });
            }
        }
        let authors = self
            .authors
            .into_iter()
            .filter_map(|author| {
                Some(ImportedAuthor {
                    name: collapse_whitespace(&author.name)?,
                    openalex_id: None,
                    orcid: None,
                    institutions: author
                        .affiliations
                        .iter()
                        .filter_map(|affiliation| collapse_whitespace(affiliation))
                        .map(|name| ImportedInstitution { openalex_id: None, name, country: None, ror: None })
                        .collect(),
                })
            })
            .collect();

        Ok(Record::Work(Box::new(ImportedWork {
            source: Source::Arxiv,
            source_id: arxiv_id.clone(),
            title,
            summary: self.summary.as_deref().and_then(collapse_whitespace),
            kind: WorkKind::Preprint,
            year,
            venue: self.journal_ref.as_deref().and_then(collapse_whitespace).or_else(|| Some("arXiv".to_owned())),
            doi: self.doi.as_deref().and_then(ids::normalize_doi),
            arxiv_id: Some(arxiv_id),
            openalex_id: None,
            cited_by_count: None,
            authors,
            topics,
        })))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn records(feed: &str) -> Vec<(u64, Result<Record, String>)> {
        Records::new(Cursor::new(feed.to_owned())).collect()
    }

    fn work(record: &Result<Record, String>) -> &ImportedWork {
        match record {
            Ok(Record::Work(work)) => work,
            other => panic!("expected a work, got {other:?}"),
        }
    }

    const FEED_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>ArXiv Query</title>
  <id>http://arxiv.org/api/feed-id</id>
"#;

    #[test]
    fn an_entry_is_mapped_field_by_field() {
        let feed = format!(
            "{FEED_START}{}",
            r#"  <entry>
    <id>http://arxiv.org/abs/2509.05041v2</id>
    <published>2025-09-05T12:00:00Z</published>
    <title>Dynamical Learning in Deep
      Asymmetric   Recurrent Neural Networks</title>
    <summary>  We investigate recurrent
 neural networks &amp; their &#x3C;dynamics&gt;.
    </summary>
    <author><name>Davide Badalotti</name><arxiv:affiliation>Bocconi University</arxiv:affiliation></author>
    <author>
      <name>Marc Mézard</name>
      <arxiv:affiliation>Bocconi University</arxiv:affiliation>
      <arxiv:affiliation> ENS </arxiv:affiliation>
    </author>
    <arxiv:doi>10.48550/arXiv.2509.05041</arxiv:doi>
    <arxiv:journal_ref>Phys. Rev.
      X 15 (2025)</arxiv:journal_ref>
    <arxiv:primary_category term="cond-mat.dis-nn" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cond-mat.dis-nn" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"#
        );
        let read = records(&feed);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, 5);
        let work = work(&read[0].1);
        assert_eq!(work.source, Source::Arxiv);
        assert_eq!(work.source_id, "2509.05041");
        assert_eq!(work.arxiv_id.as_deref(), Some("2509.05041"));
        assert_eq!(work.title, "Dynamical Learning in Deep Asymmetric Recurrent Neural Networks");
        assert_eq!(work.summary.as_deref(), Some("We investigate recurrent neural networks & their <dynamics>."));
        assert_eq!(work.year, Some(2025));
        assert_eq!(work.kind, WorkKind::Preprint);
        assert_eq!(work.doi.as_deref(), Some("10.48550/arxiv.2509.05041"));
        assert_eq!(work.venue.as_deref(), Some("Phys. Rev. X 15 (2025)"));
        assert_eq!((work.openalex_id.as_deref(), work.cited_by_count), (None, None));
        let names: Vec<&str> = work.authors.iter().map(|author| author.name.as_str()).collect();
        assert_eq!(names, ["Davide Badalotti", "Marc Mézard"]);
        let affiliations: Vec<&str> =
            work.authors[1].institutions.iter().map(|institution| institution.name.as_str()).collect();
        assert_eq!(affiliations, ["Bocconi University", "ENS"]);
        assert_eq!(
            work.authors[1].institutions[1],
            ImportedInstitution { openalex_id: None, name: "ENS".to_owned(), country: None, ror: None }
        );
        let topics: Vec<(&str, Option<&str>)> =
            work.topics.iter().map(|topic| (topic.name.as_str(), topic.openalex_id.as_deref())).collect();
        assert_eq!(topics, [("cond-mat.dis-nn", None), ("cs.LG", None)]);
    }

    #[test]
    fn versioned_arxiv_ids_are_one_id_and_old_style_ids_are_read() {
        let feed = format!(
            "{FEED_START}{}",
            r#"<entry><id>http://arxiv.org/abs/1701.06981v1</id><title>A</title></entry>
<entry><id>http://arxiv.org/abs/1701.06981v3</id><title>A</title></entry>
<entry><id>http://arxiv.org/abs/cond-mat/0211567v2</id><title>Old</title></entry>
</feed>"#
        );
        let ids: Vec<String> = records(&feed).iter().map(|(_, record)| work(record).source_id.clone()).collect();
        assert_eq!(ids, ["1701.06981", "1701.06981", "cond-mat/0211567"]);
    }

    #[test]
    fn elements_are_matched_by_namespace_not_by_prefix() {
        let feed = r#"<a:feed xmlns:a="http://www.w3.org/2005/Atom" xmlns:x="http://arxiv.org/schemas/atom"
        xmlns="urn:something-else">
  <a:entry>
    <a:id>http://arxiv.org/abs/2002.09339v2</a:id>
    <title>Not Atom: ignored</title>
    <a:title>Generalisation error</a:title>
    <x:journal_ref>J. Stat. Mech.</x:journal_ref>
    <journal_ref>not arXiv's: ignored</journal_ref>
    <a:author><a:name>Federica Gerace</a:name></a:author>
    <author><name>Not an author</name></author>
    <x:primary_category term="stat.ML"/>
    <a:category term="cs.LG"/>
    <category term="not.atom"/>
  </a:entry>
</a:feed>"#;
        let read = records(feed);
        assert_eq!(read.len(), 1);
        let work = work(&read[0].1);
        assert_eq!(work.title, "Generalisation error");
        assert_eq!(work.venue.as_deref(), Some("J. Stat. Mech."));
        assert_eq!(work.authors.len(), 1);
        let topics: Vec<&str> = work.topics.iter().map(|topic| topic.name.as_str()).collect();
        assert_eq!(topics, ["stat.ML", "cs.LG"]);
    }

    #[test]
    fn the_feed_title_and_id_are_not_an_entry() {
        let feed = format!("{FEED_START}</feed>");
        assert_eq!(records(&feed), []);
    }

    #[test]
    fn an_entry_without_an_id_or_a_title_is_malformed_and_the_next_is_still_read() {
        let feed = format!(
            "{FEED_START}{}",
            r#"<entry><title>No id</title></entry>
<entry><id>http://arxiv.org/abs/2110.08775v1</id><title>  </title></entry>
<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_x</id><title>Error</title></entry>
<entry><id>http://arxiv.org/abs/2110.08775v1</id><title>Fine</title></entry>
</feed>"#
        );
        let read = records(&feed);
        assert_eq!(read.len(), 4);
        assert_eq!(read[0], (5, Err("entry has no id".to_owned())));
        assert_eq!(read[1], (6, Err("entry 2110.08775 has no title".to_owned())));
        assert!(read[2].1.as_ref().is_err_and(|reason| reason.contains("is not an arXiv id")));
        assert_eq!((read[3].0, work(&read[3].1).title.as_str()), (8, "Fine"));
    }

    #[test]
    fn without_journal_ref_the_venue_is_arxiv() {
        let feed =
            format!("{FEED_START}<entry><id>http://arxiv.org/abs/2006.14709v1</id><title>T</title></entry></feed>");
        assert_eq!(work(&records(&feed)[0].1).venue.as_deref(), Some("arXiv"));
    }

    #[test]
    fn malformed_xml_ends_the_file_with_one_error_at_its_line() {
        let feed = format!(
            "{FEED_START}{}",
            r#"<entry><id>http://arxiv.org/abs/2006.14709v1</id><title>T</title></entry>
<entry><id>http://arxiv.org/abs/2006.14710v1</id>
<title>Broken</wrong></entry>
<entry><id>http://arxiv.org/abs/2006.14711v1</id><title>Never read</title></entry>
</feed>"#
        );
        let read = records(&feed);
        assert_eq!(read.len(), 2, "{read:?}");
        assert_eq!(work(&read[0].1).source_id, "2006.14709");
        assert_eq!(read[1].0, 7);
        assert!(read[1].1.as_ref().is_err_and(|reason| reason.starts_with("malformed XML")), "{:?}", read[1].1);
    }

    #[test]
    fn a_feed_cut_inside_an_entry_is_one_error() {
        let feed = format!("{FEED_START}<entry><id>http://arxiv.org/abs/2006.14709v1</id><title>T</title>");
        let read = records(&feed);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, 5);
        assert!(read[0].1.is_err());
    }

    #[test]
    fn input_that_is_not_an_atom_feed_is_one_error() {
        let read = records("{\"id\":\"W1\"}\n");
        assert_eq!(read.len(), 1);
        assert!(read[0].1.as_ref().is_err_and(|reason| reason.starts_with("no Atom feed")));
    }
}
