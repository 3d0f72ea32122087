//! A synthetic catalogue shaped like real bibliographic data, deterministic
//! from a seed: heavy-tailed works per author and authors per work (with one
//! author of 20 000 works and one work of 1 000 authors at the default size),
//! co-authorship clustered by field and institution, years 1990–2026 leaning
//! recent, heavy-tailed citation counts, and titles and abstracts drawn from a
//! 24 000-word vocabulary with Zipf-like frequencies, so that a common word
//! is in about one title in nine and most words are rare.
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::DatabaseConnection;

use super::bulk::{BulkWriter, Cell};
use super::Progress;
use crate::domain::catalogue::LARGEST_COLLABORATIVE_BYLINE;
use crate::domain::names::sort_key;
use crate::domain::works::WorkKind;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub struct SyntheticSize {
    pub researchers: u64,
    pub works: u64,
    pub topics: u64,
    pub institutions: u64,
    pub follows: u64,
    /// Works of the most prolific author (capped at the number of works).
    pub prolific_works: u64,
    /// Authors of the largest collaboration (capped at the number of researchers).
    pub largest_byline: u64,
    pub seed: u64,
}

impl Default for SyntheticSize {
    fn default() -> Self {
        Self {
            researchers: 100_000,
            works: 1_000_000,
            topics: 4_500,
            institutions: 10_000,
            follows: 200_000,
            prolific_works: 20_000,
            largest_byline: 1_000,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub researchers: u64,
    pub works: u64,
    pub authorships: u64,
    pub follows: u64,
    pub elapsed: Duration,
}

/// Topics per field: co-authors mostly share a field, works take topics
/// from their field, which is what clusters the graph.
const TOPICS_PER_FIELD: u64 = 15;
const BATCH: u64 = 20_000;

const FIRST: &[&str] = &[
    "Ada", "Alan", "Alice", "Amir", "Ana", "Anna", "Bruno", "Carla", "Chen", "Clara", "Daniel", "David", "Elena",
    "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jana", "Jin", "Jonas", "Julia", "Karim",
    "Kenji", "Lara", "Lena", "Leo", "Lucas", "Maria", "Marta", "Mei", "Mila", "Nadia", "Nikos", "Nora", "Omar",
    "Paula", "Pedro", "Priya", "Rafael", "Rosa", "Sara", "Sofia", "Tariq", "Theo", "Uma", "Vera", "Wei", "Yara",
    "Yuki", "Zoe",
];
const LAST: &[&str] = &[
    "Abe",
    "Alvarez",
    "Bauer",
    "Becker",
    "Bianchi",
    "Brown",
    "Castro",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Gupta",
    "Haddad",
    "Hansen",
    "Ito",
    "Jensen",
    "Kim",
    "Kowalski",
    "Kumar",
    "Lambert",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Petrov",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Tanaka",
    "Wang",
    "Weber",
    "Wong",
    "Yamamoto",
    "Zhang",
    "Zimmermann",
];
const WORDS: &[&str] = &[
    "learning",
    "network",
    "quantum",
    "protein",
    "graph",
    "inference",
    "stochastic",
    "dynamics",
    "optimal",
    "robust",
    "neural",
    "model",
    "spectral",
    "bayesian",
    "sparse",
    "kernel",
    "manifold",
    "entropy",
    "signal",
    "control",
    "climate",
    "galaxy",
    "cell",
    "gene",
    "material",
    "catalyst",
    "polymer",
    "fluid",
    "turbulence",
    "lattice",
    "algorithm",
    "complexity",
    "random",
    "matrix",
    "field",
    "theory",
    "estimation",
    "sampling",
    "diffusion",
    "transport",
    "energy",
    "battery",
    "vision",
    "language",
    "speech",
    "privacy",
    "security",
    "market",
    "policy",
    "health",
    "cancer",
    "immune",
    "brain",
    "memory",
    "ecology",
    "ocean",
    "soil",
    "crystal",
    "magnetic",
    "optical",
];
const COUNTRIES: &[&str] = &["US", "GB", "DE", "FR", "IT", "CH", "CN", "JP", "IN", "BR", "CA", "NL", "ES", "SE", "KR"];
const KINDS: &[(WorkKind, f64)] = &[
    (WorkKind::Article, 0.55),
    (WorkKind::Preprint, 0.25),
    (WorkKind::Proceedings, 0.10),
    (WorkKind::Chapter, 0.03),
    (WorkKind::Book, 0.02),
    (WorkKind::Thesis, 0.02),
    (WorkKind::Dataset, 0.02),
    (WorkKind::Other, 0.01),
];

/// Real words for the most frequent ranks, most frequent first; the rest of
/// the vocabulary is made of syllables. No word is a prefix of another, so a
/// (prefix) search for one matches that word alone.
const COMMON: &[&str] = &[
    "learning",
    "model",
    "analysis",
    "network",
    "quantum",
    "data",
    "system",
    "protein",
    "theory",
    "dynamics",
    "graph",
    "inference",
    "method",
    "study",
    "stochastic",
    "optimal",
    "robust",
    "neural",
    "spectral",
    "bayesian",
    "sparse",
    "kernel",
    "manifold",
    "entropy",
    "signal",
    "control",
    "climate",
    "galaxy",
    "cell",
    "gene",
    "material",
    "catalyst",
    "polymer",
    "fluid",
    "turbulence",
    "lattice",
    "algorithm",
    "complexity",
    "random",
    "matrix",
    "field",
    "estimation",
    "sampling",
    "diffusion",
    "transport",
    "energy",
    "battery",
    "vision",
    "language",
    "speech",
    "privacy",
    "security",
    "market",
    "policy",
    "health",
    "cancer",
    "immune",
    "brain",
    "memory",
    "ecology",
    "ocean",
    "soil",
    "crystal",
    "magnetic",
    "optical",
    "effect",
    "approach",
    "evidence",
    "structure",
    "function",
    "design",
    "response",
    "framework",
    "evolution",
    "performance",
    "detection",
    "simulation",
    "measurement",
    "interaction",
    "surface",
    "temperature",
    "growth",
    "patient",
    "clinical",
    "treatment",
    "risk",
    "population",
    "species",
    "water",
    "carbon",
    "nitrogen",
    "oxygen",
    "hydrogen",
    "electron",
    "photon",
    "plasma",
    "laser",
    "spin",
    "phase",
    "transition",
    "symmetry",
    "gravity",
    "cosmic",
    "stellar",
    "planet",
    "solar",
    "wind",
    "flow",
    "heat",
    "pressure",
    "stress",
    "strain",
    "fracture",
    "fatigue",
    "alloy",
    "ceramic",
    "glass",
    "metal",
    "oxide",
    "nanoparticle",
    "thin",
    "film",
    "coating",
    "sensor",
    "circuit",
    "wireless",
    "channel",
    "antenna",
    "radar",
    "image",
    "video",
    "audio",
    "text",
    "semantic",
    "knowledge",
    "reasoning",
    "planning",
    "agent",
    "robot",
    "autonomous",
    "vehicle",
    "traffic",
    "urban",
    "rural",
    "economic",
    "financial",
    "labor",
    "education",
    "student",
    "teacher",
    "social",
    "cultural",
    "political",
    "legal",
    "ethical",
    "public",
    "global",
    "regional",
    "local",
    "genome",
    "sequencing",
    "expression",
    "regulation",
    "pathway",
    "receptor",
    "enzyme",
    "metabolism",
    "bacteria",
    "virus",
    "infection",
    "vaccine",
    "disease",
    "therapy",
    "drug",
    "surgery",
    "imaging",
    "tissue",
    "tumor",
    "mutation",
    "inflammation",
    "neuron",
    "cortex",
    "cognition",
    "behavior",
    "emotion",
    "sleep",
    "aging",
    "nutrition",
    "obesity",
    "diabetes",
    "cardiac",
    "kidney",
    "liver",
    "lung",
    "forest",
    "river",
    "coastal",
    "marine",
    "drought",
    "rainfall",
    "atmosphere",
    "aerosol",
    "pollution",
    "waste",
    "recycling",
    "sustainable",
    "renewable",
    "hybrid",
    "adaptive",
    "distributed",
    "parallel",
    "scalable",
    "efficient",
    "accurate",
    "nonlinear",
    "linear",
    "convex",
    "discrete",
    "continuous",
    "finite",
    "infinite",
    "boundary",
    "wave",
    "scattering",
    "resonance",
    "oscillation",
    "chaos",
    "topology",
    "geometry",
    "algebra",
    "operator",
    "equation",
    "solution",
    "proof",
    "conjecture",
    "bound",
    "limit",
    "convergence",
    "approximation",
];
/// Distinct words in the vocabulary.
const VOCABULARY: usize = 24_000;
/// Zipf–Mandelbrot `1 / (rank + OFFSET)^1`: exponent 1 in the tail and a
/// flattened head, so the most frequent word is about 0.13 % of all words and
/// turns up in a few percent of works (title and abstract, about 31 words),
/// as a common title word does in a real catalogue, while the median word is
/// a hundred times rarer.
const ZIPF_OFFSET: f64 = 150.0;
/// Share of words drawn from the work's field's own jargon.
const FIELD_SHARE: f64 = 0.2;
/// Jargon words per field, below the common words in the global ranking.
const JARGON: usize = 50;

/// The words of titles and abstracts, most frequent first, with the
/// cumulative Zipf weights to draw them in O(log n).
struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
    jargon_cumulative: Vec<f64>,
}

impl Vocabulary {
    /// The same for every seed: built from a fixed generator.
    fn get() -> &'static Self {
        static VOCABULARY_TABLE: std::sync::LazyLock<Vocabulary> = std::sync::LazyLock::new(Vocabulary::build);
        &VOCABULARY_TABLE
    }

    fn build() -> Self {
        // Short, mostly consonant-vowel syllables: short words keep the
        // text, and the full-text indexes built from it, small.
        const ONSETS: &[&str] = &[
            "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "pr",
            "tr", "st",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ou"];
        const CODAS: &[&str] = &["", "", "", "", "", "", "n", "r", "s", "l", "m", "t"];
        let mut rng = StdRng::seed_from_u64(0x5c01_a7a9);
        let mut accepted = std::collections::BTreeSet::new();
        let mut words = Vec::with_capacity(VOCABULARY);
        let mut accept = |word: String, words: &mut Vec<String>| {
            let has_prefix = (1..word.len()).any(|k| accepted.contains(&word[..k]));
            let is_prefix = accepted.range(word.clone()..).next().is_some_and(|w: &String| w.starts_with(&word));
            if !has_prefix && !is_prefix {
                accepted.insert(word.clone());
                words.push(word);
            }
        };
        for word in COMMON {
            accept((*word).to_owned(), &mut words);
        }
        while words.len() < VOCABULARY {
            let syllables = match rng.random_range(0..20) {
                0..11 => 2,
                11..19 => 3,
                _ => 4,
            };
            let mut word = String::new();
            for _ in 0..syllables {
                word.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
                word.push_str(VOWELS[rng.random_range(0..VOWELS.len())]);
                word.push_str(CODAS[rng.random_range(0..CODAS.len())]);
            }
            accept(word, &mut words);
        }
        let zipf = |n: usize| {
            (1..=n)
                .scan(0.0, |total, rank| {
                    *total += 1.0 / (rank as f64 + ZIPF_OFFSET);
                    Some(*total)
                })
                .collect::<Vec<f64>>()
        };
        Self { cumulative: zipf(words.len()), jargon_cumulative: zipf(JARGON), words }
    }

    /// A rank from the cumulative weights.
    fn draw(rng: &mut StdRng, cumulative: &[f64]) -> usize {
        let total = cumulative[cumulative.len() - 1];
        let x = rng.random_range(0.0..total);
        cumulative.partition_point(|c| *c <= x).min(cumulative.len() - 1)
    }

    /// One word: mostly from the global Zipf ranking, sometimes from the
    /// field's jargon, a Zipf-ranked set of rarer words of its own.
    fn word(&self, rng: &mut StdRng, field: u64) -> &str {
        if rng.random_bool(FIELD_SHARE) {
            let j = Self::draw(rng, &self.jargon_cumulative) as u64;
            let head = COMMON.len();
            let mut h = (field << 8 | j).wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            h ^= h >> 31;
            &self.words[head + (h % (self.words.len() - head) as u64) as usize]
        } else {
            &self.words[Self::draw(rng, &self.cumulative)]
        }
    }
}

fn words(rng: &mut StdRng, field: u64, n: usize) -> String {
    let vocabulary = Vocabulary::get();
    (0..n).map(|_| vocabulary.word(rng, field)).collect::<Vec<_>>().join(" ")
}

/// Pareto(1, alpha): heavy-tailed, at least 1.
fn pareto(rng: &mut StdRng, alpha: f64) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    u.powf(-1.0 / alpha)
}

/// Researchers of one field with cumulative productivity weights, for
/// drawing authors in proportion to how much they publish.
struct Field {
    members: Vec<u64>,
    cumulative: Vec<f64>,
}

impl Field {
    fn draw(&self, rng: &mut StdRng) -> u64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
        let i = self.cumulative.partition_point(|c| *c <= x).min(self.members.len() - 1);
        self.members[i]
    }
}

/// Loads a synthetic catalogue into an empty database.
pub async fn seed(db: &DatabaseConnection, size: &SyntheticSize, show_progress: bool) -> AppResult<Report> {
    let started = Instant::now();
    if !super::demo::catalogue_is_empty(db).await? {
        return Err(AppError::Conflict("the catalogue is not empty: seed synthetic data into a fresh database".into()));
    }
    if size.researchers < 2 || size.works < 2 || size.topics < 1 || size.institutions < 1 {
        return Err(AppError::bad_input("sizes must be at least 2 researchers, 2 works, 1 topic and 1 institution"));
    }
    let mut writer = BulkWriter::begin(db, TABLES).await?;
    // Whatever happens in `load`, `finish` either commits all of it or rolls
    // all of it back, the indexes and keys set aside included.
    let outcome = load(&mut writer, size, show_progress).await;
    let (authorships, follows) = writer.finish(outcome).await?;
    Ok(Report { researchers: size.researchers, works: size.works, authorships, follows, elapsed: started.elapsed() })
}

/// Every table the load writes, whose indexes and foreign keys it sets aside.
const TABLES: &[&str] = &[
    "institutions",
    "topics",
    "researchers",
    "works",
    "authorships",
    "work_topics",
    "users",
    "follows",
    "collaborations",
    "researcher_topics",
    "researcher_facets",
];

/// Writes the catalogue; returns the authorships and follows written.
async fn load(writer: &mut BulkWriter, size: &SyntheticSize, show_progress: bool) -> AppResult<(u64, u64)> {
    let mut rng = StdRng::seed_from_u64(size.seed);
    let fields = size.topics.div_ceil(TOPICS_PER_FIELD);

    // Institutions and topics.
    let institutions: Vec<Vec<Cell>> = (1..=size.institutions)
        .map(|id| {
            vec![
                Cell::Int(id as i64),
                Cell::Text(format!("Institute of {} {id}", WORDS[id as usize % WORDS.len()])),
                Cell::Text(COUNTRIES[id as usize % COUNTRIES.len()].to_owned()),
            ]
        })
        .collect();
    writer.write("institutions", &["id", "name", "country"], &institutions).await?;
    let topics: Vec<Vec<Cell>> = (1..=size.topics)
        .map(|id| {
            let field = (id - 1) / TOPICS_PER_FIELD;
            vec![
                Cell::Int(id as i64),
                Cell::Text(format!(
                    "{} {} {id}",
                    WORDS[field as usize % WORDS.len()],
                    WORDS[id as usize % WORDS.len()]
                )),
            ]
        })
        .collect();
    writer.write("topics", &["id", "name"], &topics).await?;

    // Researchers: a field, an institution (a few are large) and a
    // heavy-tailed productivity; researcher 1 is the most prolific.
    let mut field_members: Vec<Field> =
        (0..fields).map(|_| Field { members: Vec::new(), cumulative: Vec::new() }).collect();
    let mut institution_of = vec![0u64; size.researchers as usize + 1];
    let mut field_of = vec![0u64; size.researchers as usize + 1];
    let mut sort_names: Vec<String> = vec![String::new(); size.researchers as usize + 1];
    let progress = Progress::new(show_progress, size.researchers, "researchers");
    let mut batch = Vec::with_capacity(BATCH as usize);
    for id in 1..=size.researchers {
        let field = rng.random_range(0..fields);
        let institution = ((pareto(&mut rng, 1.2) as u64).min(size.institutions) + id * 7) % size.institutions + 1;
        let weight = pareto(&mut rng, 1.6);
        field_of[id as usize] = field;
        institution_of[id as usize] = institution;
        let members = &mut field_members[field as usize];
        let previous = members.cumulative.last().copied().unwrap_or(0.0);
        members.members.push(id);
        members.cumulative.push(previous + weight);
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        let display_name = format!("{first} {last}");
        sort_names[id as usize] = sort_key(&display_name);
        batch.push(vec![
            Cell::Int(id as i64),
            Cell::Text(format!("{}-{}-{id}", first.to_lowercase(), last.to_lowercase())),
            Cell::Text(display_name),
            Cell::Text(sort_names[id as usize].clone()),
            Cell::Bool(rng.random_bool(0.2)),
            Cell::Int(institution as i64),
            Cell::Int(0),
            Cell::Int(0),
            Cell::Now,
        ]);
        if batch.len() as u64 == BATCH || id == size.researchers {
            writer
                .write(
                    "researchers",
                    &[
                        "id",
                        "slug",
                        "display_name",
                        "sort_name",
                        "open_to_collaborate",
                        "affiliation_id",
                        "works_count",
                        "followers_count",
                        "created_at",
                    ],
                    &batch,
                )
                .await?;
            progress.0.inc(batch.len() as u64);
            batch.clear();
        }
    }
    progress.0.finish();
    let mut by_institution: Vec<Vec<u64>> = vec![Vec::new(); size.institutions as usize + 1];
    for id in 1..=size.researchers {
        by_institution[institution_of[id as usize] as usize].push(id);
    }

    // Works with their bylines and topics.
    let prolific = size.prolific_works.min(size.works);
    let largest = size.largest_byline.min(size.researchers);
    let progress = Progress::new(show_progress, size.works, "works");
    let (mut works, mut bylines, mut links) = (Vec::new(), Vec::new(), Vec::new());
    let mut authorships = 0u64;
    let mut pairs = CoauthorPairs::default();
    for id in 1..=size.works {
        let lead = field_members[rng.random_range(0..fields) as usize].draw_nonempty(&mut rng, &field_members);
        let field = field_of[lead as usize];
        let mut authors = vec![lead];
        // Only the designated work reaches the largest byline.
        let wanted = if id == 2 {
            largest as usize
        } else {
            ((pareto(&mut rng, 1.9) * 2.0) as usize).min((largest as usize).saturating_sub(1).max(1))
        };
        let mut attempts = 0;
        while authors.len() < wanted.min(size.researchers as usize) && attempts < wanted * 4 + 8 {
            attempts += 1;
            let candidate = if id == 2 {
                rng.random_range(1..=size.researchers)
            } else if rng.random_bool(0.3) {
                let colleagues = &by_institution[institution_of[lead as usize] as usize];
                colleagues[rng.random_range(0..colleagues.len())]
            } else {
                field_members[field as usize].draw(&mut rng)
            };
            if !authors.contains(&candidate) {
                authors.push(candidate);
            }
        }
        if id <= prolific && !authors.contains(&1) {
            authors.insert(rng.random_range(0..=authors.len().min(3)), 1);
        }
        let year = 2026 - ((-(rng.random_range(f64::EPSILON..1.0f64)).ln() * 9.0) as i64).min(36);
        let kind = {
            let mut x: f64 = rng.random();
            KINDS.iter().find(|(_, p)| {
                x -= p;
                x < 0.0
            })
        }
        .map_or(WorkKind::Other, |(k, _)| *k)
        .as_stored();
        let title_len = rng.random_range(5..11);
        let title = words(&mut rng, field, title_len);
        let summary = words(&mut rng, field, 24);
        works.push(vec![
            Cell::Int(id as i64),
            Cell::Text(format!("{}{}", title[..1].to_uppercase(), &title[1..])),
            Cell::Text(format!("We study {summary}.")),
            Cell::Text(kind.to_owned()),
            Cell::Int(year),
            if rng.random_bool(0.9) {
                Cell::Text(format!("Journal of {} {}", WORDS[field as usize % WORDS.len()], field % 40))
            } else {
                Cell::Null
            },
            Cell::Int((pareto(&mut rng, 1.3) - 1.0).min(100_000.0) as i64),
            Cell::Int(authors.len() as i64),
            Cell::Now,
        ]);
        for (position, author) in authors.iter().enumerate() {
            bylines.push(vec![
                Cell::Int(id as i64),
                Cell::Int(*author as i64),
                Cell::Int(position as i64 + 1),
                Cell::Int(year),
                Cell::Int(authors.len() as i64),
            ]);
        }
        authorships += authors.len() as u64;
        pairs.add_byline(&authors, year as u16);
        let first_topic = field * TOPICS_PER_FIELD + 1;
        let topic_count = rng.random_range(1..=3u64);
        let mut chosen: Vec<u64> = Vec::new();
        for _ in 0..topic_count {
            let topic = (first_topic + rng.random_range(0..TOPICS_PER_FIELD)).min(size.topics);
            if !chosen.contains(&topic) {
                chosen.push(topic);
                links.push(vec![Cell::Int(id as i64), Cell::Int(topic as i64)]);
            }
        }
        if works.len() as u64 == BATCH || id == size.works {
            writer
                .write(
                    "works",
                    &[
                        "id",
                        "title",
                        "abstract",
                        "kind",
                        "year",
                        "venue",
                        "cited_by_count",
                        "authors_count",
                        "created_at",
                    ],
                    &works,
                )
                .await?;
            writer
                .write(
                    "authorships",
                    &["work_id", "researcher_id", "position", "work_year", "work_authors_count"],
                    &bylines,
                )
                .await?;
            writer.write("work_topics", &["work_id", "topic_id"], &links).await?;
            progress.0.inc(works.len() as u64);
            works.clear();
            bylines.clear();
            links.clear();
        }
    }
    progress.0.finish();

    // Synthetic users follow researchers, popular ones more often.
    let users = (size.follows / 10).max(1);
    let user_rows: Vec<Vec<Cell>> = (1..=users)
        .map(|id| vec![Cell::Int(id as i64), Cell::Text(format!("synthetic-user-{id}")), Cell::Now])
        .collect();
    writer.write("users", &["id", "subject", "created_at"], &user_rows).await?;
    let mut follows = std::collections::HashSet::new();
    let mut attempts = 0;
    while (follows.len() as u64) < size.follows && attempts < size.follows * 3 {
        attempts += 1;
        let user = rng.random_range(1..=users);
        let researcher = field_members[rng.random_range(0..fields) as usize].draw_nonempty(&mut rng, &field_members);
        follows.insert((user, researcher));
    }
    let mut follow_rows: Vec<(u64, u64)> = follows.into_iter().collect();
    follow_rows.sort_unstable();
    let follow_cells: Vec<Vec<Cell>> =
        follow_rows.iter().map(|(u, r)| vec![Cell::Int(*u as i64), Cell::Int(*r as i64), Cell::Now]).collect();
    for chunk in follow_cells.chunks(BATCH as usize) {
        writer.write("follows", &["user_id", "researcher_id", "created_at"], chunk).await?;
    }

    // Counters and summaries from grouped counts, then the indexes set aside.
    let finishing = Progress::new(
        show_progress,
        writer.set_aside_count() as u64 + 2 + super::recount::SUMMARIES.len() as u64,
        "indexes",
    );
    writer
        .execute(
            "UPDATE researchers SET works_count = c.n FROM (SELECT researcher_id, COUNT(*) AS n FROM authorships \
             GROUP BY researcher_id) AS c WHERE researchers.id = c.researcher_id",
        )
        .await?;
    writer
        .execute(
            "UPDATE researchers SET followers_count = c.n FROM (SELECT researcher_id, COUNT(*) AS n FROM follows \
             GROUP BY researcher_id) AS c WHERE researchers.id = c.researcher_id",
        )
        .await?;
    finishing.0.inc(2);
    finishing.0.set_message("co-authors");
    pairs.write(writer, &sort_names).await?;
    finishing.0.set_message("summaries");
    for sql in super::recount::SUMMARIES {
        writer.execute(sql).await?;
        finishing.0.inc(1);
    }
    finishing.0.set_message("indexes");
    writer.restore(|| finishing.0.inc(1)).await?;
    finishing.0.finish();
    writer.reset_sequences(&["institutions", "topics", "researchers", "works", "users"]).await?;
    Ok((authorships, follow_rows.len() as u64))
}

impl Field {
    /// Draws from this field, or from the next non-empty one.
    fn draw_nonempty(&self, rng: &mut StdRng, all: &[Field]) -> u64 {
        if !self.members.is_empty() {
            return self.draw(rng);
        }
        all.iter().find(|f| !f.members.is_empty()).map_or(1, |f| f.draw(rng))
    }
}

/// Co-author pairs gathered while the bylines are generated, so that the
/// 30 M-row `collaborations` summary of the default size is written in key
/// order with `COPY` (or multi-row inserts) instead of grouping 50 M joined
/// rows in the database. The recount test checks it against a `GROUP BY`.
#[derive(Default)]
struct CoauthorPairs {
    /// One entry per work and unordered pair: `a << 32 | b` with `a < b`, and the year.
    occurrences: Vec<(u64, u16)>,
}

impl CoauthorPairs {
    fn add_byline(&mut self, authors: &[u64], year: u16) {
        if authors.len() > LARGEST_COLLABORATIVE_BYLINE {
            return;
        }
        for (i, a) in authors.iter().enumerate() {
            for b in &authors[i + 1..] {
                let (low, high) = if a < b { (*a, *b) } else { (*b, *a) };
                self.occurrences.push((low << 32 | high, year));
            }
        }
    }

    /// Writes both directions of every pair, with shared works and first
    /// and last year, in primary-key order.
    async fn write(self, writer: &mut BulkWriter, sort_names: &[String]) -> AppResult<()> {
        let mut occurrences = self.occurrences;
        occurrences.sort_unstable();
        // (researcher << 32 | coauthor, shared works, first year, last year)
        let mut rows: Vec<(u64, u32, u16, u16)> = Vec::with_capacity(occurrences.len());
        for (key, year) in occurrences {
            match rows.last_mut() {
                Some(last) if last.0 == key => {
                    last.1 += 1;
                    last.2 = last.2.min(year);
                    last.3 = last.3.max(year);
                }
                _ => rows.push((key, 1, year, year)),
            }
        }
        let mirrored: Vec<(u64, u32, u16, u16)> =
            rows.iter().map(|&(key, n, first, last)| ((key & 0xFFFF_FFFF) << 32 | key >> 32, n, first, last)).collect();
        rows.extend(mirrored);
        rows.sort_unstable_by_key(|row| row.0);
        let columns = ["researcher_id", "coauthor_id", "shared_works", "first_year", "last_year", "coauthor_sort_name"];
        for chunk in rows.chunks(200_000) {
            let cells: Vec<Vec<Cell>> = chunk
                .iter()
                .map(|&(key, n, first, last)| {
                    let coauthor = key & 0xFFFF_FFFF;
                    vec![
                        Cell::Int((key >> 32) as i64),
                        Cell::Int(coauthor as i64),
                        Cell::Int(i64::from(n)),
                        Cell::Int(i64::from(first)),
                        Cell::Int(i64::from(last)),
                        Cell::Text(sort_names.get(coauthor as usize).cloned().unwrap_or_default()),
                    ]
                })
                .collect();
            writer.write("collaborations", &columns, &cells).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Counts of every vocabulary word over `n` title words, fields drawn
    /// as the default size has them.
    fn sample(n: usize) -> Vec<usize> {
        let vocabulary = Vocabulary::get();
        let index: HashMap<&str, usize> = vocabulary.words.iter().enumerate().map(|(i, w)| (w.as_str(), i)).collect();
        let mut counts = vec![0; vocabulary.words.len()];
        let mut rng = StdRng::seed_from_u64(1);
        let fields = SyntheticSize::default().topics.div_ceil(TOPICS_PER_FIELD);
        for _ in 0..n {
            let field = rng.random_range(0..fields);
            counts[index[vocabulary.word(&mut rng, field)]] += 1;
        }
        counts
    }

    #[test]
    fn the_vocabulary_is_large_and_prefix_free() {
        let words = &Vocabulary::get().words;
        let mut sorted: Vec<&String> = words.iter().collect();
        sorted.sort();
        sorted.dedup();
        assert!(sorted.len() >= 20_000, "{} distinct words", sorted.len());
        assert!(sorted.iter().all(|w| w.len() >= 4 && w.bytes().all(|b| b.is_ascii_lowercase())));
        assert!(sorted.windows(2).all(|pair| !pair[1].starts_with(pair[0].as_str())), "a word is a prefix of another");
        assert_eq!(words[0], "learning");
    }

    #[test]
    fn title_words_have_zipf_like_frequencies() {
        let n = 200_000;
        let mut counts = sample(n);
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let share = |count: usize| count as f64 / n as f64;
        // A common word is in a few percent of works of about 31 words ...
        let in_works = 1.0 - (1.0 - share(counts[0])).powi(31);
        assert!((0.01..0.10).contains(&in_works), "the most frequent word is in {in_works:.4} of works");
        // ... the median word is rare ...
        let median = counts[counts.len() / 2];
        assert!(share(median) < 0.0001, "the median word is {:.6}", share(median));
        // ... and the tail is long: most of the vocabulary turns up.
        let drawn = counts.iter().filter(|c| **c > 0).count();
        assert!(drawn * 2 > counts.len(), "{drawn} of {} words drawn", counts.len());
        // The ten most frequent words are a small part of the text, not all of it.
        let top: usize = counts[..10].iter().sum();
        assert!((0.005..0.05).contains(&share(top)), "the top ten words are {:.3}", share(top));
    }

    #[test]
    fn fields_shift_which_words_are_frequent() {
        let vocabulary = Vocabulary::get();
        let top = |field: u64| {
            let mut rng = StdRng::seed_from_u64(2);
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for _ in 0..20_000 {
                *counts.entry(vocabulary.word(&mut rng, field)).or_default() += 1;
            }
            let mut jargon: Vec<(&str, usize)> = counts.into_iter().filter(|(w, _)| !COMMON.contains(w)).collect();
            jargon.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            jargon[0].0.to_owned()
        };
        assert_ne!(top(0), top(1));
    }
}
