//! The two indexes' schemas, and how a document from the database becomes
//! an indexed one. Text fields keep term frequencies (BM25) but no
//! positions (no phrase queries); filter fields are indexed terms; sort
//! values are fast fields; nothing is stored, the database has the rest.
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STRING,
};
use tantivy::TantivyDocument;

use super::analysis::TOKENIZER;
use crate::domain::researchers::ClaimStatus;
use crate::domain::search_documents::{ResearcherDocument, WorkDocument};

/// The document's id in the database: the key for updates and the last tie-break.
pub const ID: &str = "id";
pub const TITLE: &str = "title";
pub const ABSTRACT: &str = "abstract";
pub const YEAR: &str = "year";
pub const KIND: &str = "kind";
pub const TOPIC: &str = "topic";
pub const RESEARCHER: &str = "researcher";
pub const CITED_BY: &str = "cited_by";
/// The title's bytes, for the title order (bytewise, as on both databases).
pub const TITLE_SORT: &str = "title_sort";

pub const NAMES: &str = "names";
pub const SORT_NAME: &str = "sort_name";
pub const WORKS_COUNT: &str = "works_count";
pub const FOLLOWERS_COUNT: &str = "followers_count";
pub const INSTITUTION: &str = "institution";
pub const CLAIM_STATUS: &str = "claim_status";
pub const OPEN: &str = "open";

fn text() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqs),
    )
}

fn key() -> NumericOptions {
    NumericOptions::default().set_indexed().set_fast()
}

/// The works index's fields.
#[derive(Debug, Clone, Copy)]
pub struct WorkFields {
    pub id: Field,
    pub title: Field,
    pub r#abstract: Field,
    pub year: Field,
    pub kind: Field,
    pub topic: Field,
    pub researcher: Field,
    pub cited_by: Field,
    pub title_sort: Field,
}

impl WorkFields {
    pub fn schema() -> (Schema, Self) {
        let mut builder = Schema::builder();
        let fields = Self {
            id: builder.add_u64_field(ID, key()),
            title: builder.add_text_field(TITLE, text()),
            r#abstract: builder.add_text_field(ABSTRACT, text()),
            year: builder.add_i64_field(YEAR, INDEXED | FAST),
            kind: builder.add_text_field(KIND, STRING),
            topic: builder.add_u64_field(TOPIC, INDEXED),
            researcher: builder.add_u64_field(RESEARCHER, INDEXED),
            cited_by: builder.add_i64_field(CITED_BY, FAST),
            title_sort: builder.add_bytes_field(TITLE_SORT, FAST),
        };
        (builder.build(), fields)
    }

    pub fn document(&self, work: &WorkDocument) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.id, id_term(work.id));
        doc.add_text(self.title, &work.title);
        if let Some(text) = &work.r#abstract {
            doc.add_text(self.r#abstract, text);
        }
        if let Some(year) = work.year {
            doc.add_i64(self.year, i64::from(year));
        }
        doc.add_text(self.kind, work.kind.as_stored());
        for topic in &work.topic_ids {
            doc.add_u64(self.topic, id_term(*topic));
        }
        for researcher in &work.researcher_ids {
            doc.add_u64(self.researcher, id_term(*researcher));
        }
        doc.add_i64(self.cited_by, i64::from(work.cited_by_count));
        doc.add_bytes(self.title_sort, work.title.as_bytes());
        doc
    }
}

/// The researchers index's fields.
#[derive(Debug, Clone, Copy)]
pub struct ResearcherFields {
    pub id: Field,
    pub names: Field,
    pub sort_name: Field,
    pub works_count: Field,
    pub followers_count: Field,
    pub topic: Field,
    pub institution: Field,
    pub claim_status: Field,
    pub open: Field,
}

impl ResearcherFields {
    pub fn schema() -> (Schema, Self) {
        let mut builder = Schema::builder();
        let fields = Self {
            id: builder.add_u64_field(ID, key()),
            names: builder.add_text_field(NAMES, text()),
            sort_name: builder.add_bytes_field(SORT_NAME, FAST),
            works_count: builder.add_i64_field(WORKS_COUNT, FAST),
            followers_count: builder.add_i64_field(FOLLOWERS_COUNT, FAST),
            topic: builder.add_u64_field(TOPIC, INDEXED),
            institution: builder.add_u64_field(INSTITUTION, INDEXED),
            claim_status: builder.add_text_field(CLAIM_STATUS, STRING),
            open: builder.add_bool_field(OPEN, INDEXED),
        };
        (builder.build(), fields)
    }

    pub fn document(&self, researcher: &ResearcherDocument) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.id, id_term(researcher.id));
        for name in &researcher.names {
            doc.add_text(self.names, name);
        }
        doc.add_bytes(self.sort_name, researcher.sort_name.as_bytes());
        doc.add_i64(self.works_count, i64::from(researcher.works_count));
        doc.add_i64(self.followers_count, i64::from(researcher.followers_count));
        for topic in &researcher.topic_ids {
            doc.add_u64(self.topic, id_term(*topic));
        }
        if let Some(institution) = researcher.institution_id {
            doc.add_u64(self.institution, id_term(institution));
        }
        doc.add_text(self.claim_status, claim_status_term(researcher.claim_status));
        doc.add_bool(self.open, researcher.open_to_collaborate);
        doc
    }
}

/// Database ids are positive; a negative one (never written) maps to 0,
/// which matches nothing.
pub fn id_term(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

pub fn claim_status_term(status: ClaimStatus) -> &'static str {
    match status {
        ClaimStatus::Unclaimed => "UNCLAIMED",
        ClaimStatus::Pending => "PENDING",
        ClaimStatus::Claimed => "CLAIMED",
    }
}
