//! Keyset paging inside the index: the best `want` documents strictly after
//! a cursor in a list's order, ties broken by the database id (the order
//! the database listings use, so pages never skip or repeat a hit whatever
//! the segments). A relevance list (score, highest first) is read with
//! `for_each_pruning`, which lets block-max WAND skip blocks that cannot
//! beat the page; other orders read every match's fast field.
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{BytesColumn, Column, TermOrdHit};
use tantivy::query::Weight;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, TERMINATED};

use super::fields;
use crate::domain::page::{Keyset, SortValue};

/// What a list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// BM25, as a float.
    Score,
    /// An i64 fast field; a document without a value sorts as 0.
    Int(&'static str),
    /// A bytes fast field, compared bytewise.
    Bytes(&'static str),
}

/// The best `want` hits after `after` in the order (`descending` applies to
/// the sort value and the id alike).
#[derive(Debug, Clone)]
pub struct KeysetCollector {
    pub sort: SortBy,
    pub descending: bool,
    pub after: Option<Keyset>,
    pub want: usize,
}

/// The hits, best first, and how many matches came before the cursor and
/// after it (`following` counts every match after it, kept or not; when the
/// scan was pruned it misses the pruned ones).
#[derive(Debug, Default)]
pub struct Collected {
    pub hits: Vec<Keyset>,
    pub preceding: u64,
    pub following: u64,
}

/// A position in one segment's order, as a pair compared as a tuple:
/// smaller is better (earlier in the list).
type Rank = (u64, u64);

enum SegmentKeys {
    Score,
    Int(Column<i64>),
    Bytes(BytesColumn),
}

pub struct SegmentKeysetCollector {
    keys: SegmentKeys,
    ids: Column<u64>,
    descending: bool,
    after: Option<Rank>,
    want: usize,
    /// The best hits so far, the worst on top, with their scores' bits.
    heap: BinaryHeap<(Rank, DocId, u32)>,
    preceding: u64,
    following: u64,
}

/// Where `(key, id)` stands in the order: ascending as is, descending
/// complemented, so that smaller is always earlier.
fn rank(descending: bool, key: u64, id: u64) -> Rank {
    if descending {
        (!key, !id)
    } else {
        (key, id)
    }
}

fn score_key(score: f64) -> u64 {
    tantivy::f64_to_u64(score)
}

impl Collector for KeysetCollector {
    type Fruit = Collected;
    type Child = SegmentKeysetCollector;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        let fast = reader.fast_fields();
        let keys = match self.sort {
            SortBy::Score => SegmentKeys::Score,
            SortBy::Int(field) => SegmentKeys::Int(fast.i64(field)?),
            SortBy::Bytes(field) => SegmentKeys::Bytes(
                fast.bytes(field)?
                    .ok_or_else(|| tantivy::TantivyError::SchemaError(format!("{field} is not a bytes fast field")))?,
            ),
        };
        // The cursor's place among this segment's values.
        let after = match &self.after {
            None => None,
            Some(cursor) => {
                let id = fields::id_term(cursor.id);
                let key = match (&keys, cursor.values.first()) {
                    // Scores are f32: a cursor's score, read back from its text
                    // (where the last digit of an f64 may not survive), is the
                    // nearest f32, which is the hit's own score again.
                    (SegmentKeys::Score, Some(SortValue::Float(score))) => {
                        Some((score_key(f64::from(*score as f32)), id))
                    }
                    (SegmentKeys::Int(_), Some(SortValue::Int(value))) => Some((tantivy::i64_to_u64(*value), id)),
                    // Ordinals follow byte order within a segment. A value the
                    // segment lacks sits just before the next one: at (next, 0),
                    // below every real id (ids start at 1), the documents of
                    // `next` come after it ascending and before it descending.
                    (SegmentKeys::Bytes(column), Some(SortValue::Text(text))) => {
                        Some(match column.dictionary().term_ord_or_next(text.as_bytes())? {
                            TermOrdHit::Exact(ord) => (ord, id),
                            TermOrdHit::Next(ord) => (ord, 0),
                        })
                    }
                    _ => None,
                };
                let (key, id) = key.ok_or_else(|| {
                    tantivy::TantivyError::InvalidArgument("cursor does not belong to this order".into())
                })?;
                Some(rank(self.descending, key, id))
            }
        };
        Ok(SegmentKeysetCollector {
            keys,
            ids: fast.u64(fields::ID)?,
            descending: self.descending,
            after,
            want: self.want,
            heap: BinaryHeap::with_capacity(self.want.min(1024) + 1),
            preceding: 0,
            following: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == SortBy::Score
    }

    fn merge_fruits(&self, segments: Vec<SegmentHits>) -> tantivy::Result<Collected> {
        let mut collected = Collected::default();
        let mut hits = Vec::new();
        for segment in segments {
            collected.preceding += segment.preceding;
            collected.following += segment.following;
            hits.extend(segment.hits);
        }
        hits.sort_by(|a, b| compare(a, b, self.descending));
        hits.truncate(self.want);
        collected.hits = hits;
        Ok(collected)
    }

    /// A relevance list, best first, raises the bar as the page fills: only
    /// documents scoring at least the page's worst can still enter, and
    /// block-max WAND skips the rest. (Equal scores are let through, since
    /// the id decides between them.)
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentHits> {
        let mut segment = self.for_segment(segment_ord, reader)?;
        let alive = reader.alive_bitset();
        let is_alive = |doc: DocId| alive.is_none_or(|bits| bits.is_alive(doc));
        if self.sort == SortBy::Score && self.descending {
            weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
                if is_alive(doc) {
                    segment.collect(doc, score);
                }
                segment.threshold()
            })?;
        } else if self.requires_scoring() {
            weight.for_each(reader, &mut |doc, score| {
                if is_alive(doc) {
                    segment.collect(doc, score);
                }
            })?;
        } else {
            let mut scorer = weight.scorer(reader, 1.0)?;
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                if is_alive(doc) {
                    segment.collect(doc, 0.0);
                }
                doc = scorer.advance();
            }
        }
        Ok(segment.harvest())
    }
}

fn compare(a: &Keyset, b: &Keyset, descending: bool) -> Ordering {
    let by_value = match (a.values.first(), b.values.first()) {
        (Some(SortValue::Float(x)), Some(SortValue::Float(y))) => x.total_cmp(y),
        (Some(SortValue::Int(x)), Some(SortValue::Int(y))) => x.cmp(y),
        (Some(SortValue::Text(x)), Some(SortValue::Text(y))) => x.as_bytes().cmp(y.as_bytes()),
        _ => Ordering::Equal,
    };
    let order = by_value.then(a.id.cmp(&b.id));
    if descending {
        order.reverse()
    } else {
        order
    }
}

/// One segment's hits with their sort values.
pub struct SegmentHits {
    hits: Vec<Keyset>,
    preceding: u64,
    following: u64,
}

impl SegmentKeysetCollector {
    /// Scores a document must exceed to matter: below the page's worst once
    /// the page is full (one step below, so that ties reach the id check).
    fn threshold(&self) -> Score {
        match self.heap.peek() {
            Some((_, _, worst)) if self.heap.len() >= self.want => {
                let below = f32::from_bits(worst.saturating_sub(1));
                if f32::from_bits(*worst) > 0.0 {
                    below
                } else {
                    Score::MIN
                }
            }
            _ => Score::MIN,
        }
    }
}

impl SegmentCollector for SegmentKeysetCollector {
    type Fruit = SegmentHits;

    fn collect(&mut self, doc: DocId, score: Score) {
        let key = match &self.keys {
            SegmentKeys::Score => score_key(f64::from(score)),
            SegmentKeys::Int(column) => tantivy::i64_to_u64(column.first(doc).unwrap_or(0)),
            SegmentKeys::Bytes(column) => column.term_ords(doc).next().unwrap_or(0),
        };
        let id = self.ids.first(doc).unwrap_or(0);
        let rank = rank(self.descending, key, id);
        if self.after.is_some_and(|after| rank <= after) {
            self.preceding += 1;
            return;
        }
        self.following += 1;
        if self.want == 0 {
            return;
        }
        if self.heap.len() < self.want {
            self.heap.push((rank, doc, score.to_bits()));
        } else if self.heap.peek().is_some_and(|(worst, _, _)| rank < *worst) {
            self.heap.pop();
            self.heap.push((rank, doc, score.to_bits()));
        }
    }

    fn harvest(self) -> SegmentHits {
        let mut text = Vec::new();
        let hits = self
            .heap
            .into_iter()
            .map(|(_, doc, score)| {
                let id = i64::try_from(self.ids.first(doc).unwrap_or(0)).unwrap_or(i64::MAX);
                let value = match &self.keys {
                    SegmentKeys::Score => SortValue::Float(f64::from(f32::from_bits(score))),
                    SegmentKeys::Int(column) => SortValue::Int(column.first(doc).unwrap_or(0)),
                    SegmentKeys::Bytes(column) => {
                        text.clear();
                        if let Some(ord) = column.term_ords(doc).next() {
                            // An unreadable ordinal leaves the value empty; it cannot happen
                            // for an ordinal the column itself returned.
                            let _ = column.ord_to_bytes(ord, &mut text);
                        }
                        SortValue::Text(String::from_utf8_lossy(&text).into_owned())
                    }
                };
                Keyset { values: vec![value], id }
            })
            .collect();
        SegmentHits { hits, preceding: self.preceding, following: self.following }
    }
}
