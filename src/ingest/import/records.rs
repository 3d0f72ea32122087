//! What the importers read, whatever the source: plain records in the
//! domain's vocabulary, before any identity is resolved. The parsers
//! (`openalex`, `arxiv`) only produce these; `apply` matches and writes them.
use crate::domain::researchers::ExternalIdScheme;
use crate::domain::works::WorkKind;

/// Where a record came from; stored with every researcher and work it
/// creates or updates, so a later merge or correction can be traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    OpenAlex,
    Arxiv,
}

impl Source {
    /// The form stored in `source_records.source`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::OpenAlex => "openalex",
            Self::Arxiv => "arxiv",
        }
    }
}

/// A work as one source describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedWork {
    pub source: Source,
    /// The source's own id: OpenAlex's short id (`W2741809807`), or the
    /// arXiv id without its version (`2509.05041`).
    pub source_id: String,
    pub title: String,
    /// Plain text (OpenAlex's inverted index is rebuilt into words in order).
    pub summary: Option<String>,
    pub kind: WorkKind,
    pub year: Option<i32>,
    pub venue: Option<String>,
    /// Lower case, without a resolver prefix (`10.48550/arxiv.2509.05041`).
    pub doi: Option<String>,
    /// Without a version (`2509.05041`, `cond-mat/0211567`).
    pub arxiv_id: Option<String>,
    /// OpenAlex's short id, when the work is known to OpenAlex.
    pub openalex_id: Option<String>,
    /// `None` when the source does not count citations (arXiv).
    pub cited_by_count: Option<i32>,
    /// In byline order, each author once.
    pub authors: Vec<ImportedAuthor>,
    pub topics: Vec<ImportedTopic>,
}

/// An author as a byline names them.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedAuthor {
    pub name: String,
    /// OpenAlex's short id (`A5023888391`); arXiv gives none.
    pub openalex_id: Option<String>,
    /// The bare iD (`0000-0002-1825-0097`).
    pub orcid: Option<String>,
    /// Institutions given for this authorship (OpenAlex), or affiliation
    /// names (arXiv's `arxiv:affiliation`, name only).
    pub institutions: Vec<ImportedInstitution>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedInstitution {
    /// OpenAlex's short id (`I4210166444`).
    pub openalex_id: Option<String>,
    pub name: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// The bare ROR id (`05a0dhs15`).
    pub ror: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedTopic {
    /// OpenAlex's short id (`T11636`); `None` for an arXiv category.
    pub openalex_id: Option<String>,
    /// OpenAlex's display name, or the arXiv category code (`cs.LG`).
    pub name: String,
}

/// A researcher as OpenAlex's author object describes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedResearcher {
    pub source: Source,
    /// OpenAlex's short id (`A5023888391`).
    pub openalex_id: String,
    pub display_name: String,
    pub alternative_names: Vec<String>,
    pub orcid: Option<String>,
    /// Other identifiers the source lists (Scopus, ...), ORCID and OpenAlex aside.
    pub other_ids: Vec<(ExternalIdScheme, String)>,
    /// The most recent institution first.
    pub last_known_institutions: Vec<ImportedInstitution>,
    /// Every affiliation with the years it was seen.
    pub affiliations: Vec<(ImportedInstitution, Vec<i32>)>,
}

/// One record of the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Work(Box<ImportedWork>),
    Researcher(Box<ImportedResearcher>),
}

/// A record, or why the input at that place could not be read, with the
/// place: the file as given on the command line (`-` for standard input)
/// and the 1-based line where the record starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub file: String,
    pub line: u64,
    pub item: Result<Record, String>,
}
