//! The import benchmark: writes an OpenAlex-shaped JSON Lines file of
//! synthetic works, imports it with `scholargraph import openalex` into the
//! given (empty) database, then imports it again, and prints works per
//! second and the importer's peak memory for both runs.
//!
//! Bylines are drawn like the synthetic seed's: mostly a handful of authors,
//! a long tail up to a thousand (see [`Draw::byline_size`]). Authors are
//! drawn from a pool of one per ten works, the prolific ones far more often than the rest.
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use crate::server::proc_status_kib;

/// A deterministic generator (splitmix64), so that one `--seed` always
/// writes the same file.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Authors on one byline, drawn as the synthetic seed draws them
    /// (`ingest::synthetic`): twice a Pareto draw of index 1.9, so mostly
    /// two to five authors, one work in eight six or more, one in fifty
    /// sixteen or more, a tail to a thousand.
    fn byline_size(&mut self) -> u64 {
        let u = self.unit().max(f64::EPSILON);
        ((u.powf(-1.0 / 1.9) * 2.0) as u64).clamp(1, 1000)
    }

    /// An author: the cube of a uniform draw favours the first (prolific) ones.
    fn author(&mut self, pool: u64) -> u64 {
        ((self.unit().powi(3) * pool as f64) as u64).min(pool - 1) + 1
    }
}

const WORDS: &[&str] = &[
    "spin",
    "glass",
    "inference",
    "network",
    "learning",
    "random",
    "matrix",
    "message",
    "passing",
    "neural",
    "dynamics",
    "entropy",
    "graph",
    "sparse",
    "model",
    "phase",
    "transition",
    "optimal",
    "algorithm",
    "estimation",
];

/// Writes `works` OpenAlex work objects, one per line.
pub fn write_works(path: &Path, works: u64, seed: u64) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut draw = Draw(seed);
    let pool = (works / 10).max(10);
    for n in 1..=works {
        let size = draw.byline_size().min(pool);
        let mut authors: Vec<u64> = Vec::with_capacity(size as usize);
        while (authors.len() as u64) < size {
            let author = draw.author(pool);
            if !authors.contains(&author) {
                authors.push(author);
            }
        }
        let authorships: Vec<_> = authors
            .iter()
            .enumerate()
            .map(|(i, a)| {
                json!({
                    "author_position": if i == 0 { "first" } else if i + 1 == authors.len() { "last" } else { "middle" },
                    "author": { "id": format!("https://openalex.org/A{a}"), "display_name": format!("Author {a}"), "orcid": null },
                    "institutions": [{ "id": format!("https://openalex.org/I{}", a % 1000 + 1),
                        "display_name": format!("Institution {}", a % 1000 + 1), "country_code": "fr", "ror": null }],
                })
            })
            .collect();
        let mut inverted = serde_json::Map::new();
        for position in 0..12u64 {
            let word = WORDS[draw.below(WORDS.len() as u64) as usize];
            let positions = inverted.entry(word).or_insert_with(|| json!([]));
            if let Some(list) = positions.as_array_mut() {
                list.push(json!(position));
            }
        }
        let topics: Vec<_> = (0..2)
            .map(|_| {
                let t = draw.below(4500) + 1;
                json!({ "id": format!("https://openalex.org/T{t}"), "display_name": format!("Topic {t}"), "score": 0.9 })
            })
            .collect();
        let work = json!({
            "id": format!("https://openalex.org/W{n}"),
            "doi": format!("https://doi.org/10.5555/bench.{n}"),
            "display_name": format!("Bench work {n} on {} {}", WORDS[(n % 20) as usize], WORDS[(n / 20 % 20) as usize]),
            "publication_year": 1990 + (n % 35),
            "type": "article",
            "cited_by_count": n % 100,
            "primary_location": { "source": { "display_name": format!("Journal {}", n % 500 + 1) } },
            "abstract_inverted_index": inverted,
            "authorships": authorships,
            "topics": topics,
        });
        serde_json::to_writer(&mut out, &work)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// One run of `scholargraph import openalex FILE`: its time, its peak
/// resident memory (`VmHWM`, polled every 100 ms) and what it printed.
struct ImportRun {
    elapsed: Duration,
    peak_kib: Option<u64>,
    summary: String,
}

async fn import_once(server_bin: &Path, database_url: &str, file: &Path) -> Result<ImportRun> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(server_bin)
        .args(["import", "openalex"])
        .arg(file)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", server_bin.display()))?;
    let pid = child.id().context("the importer's pid")?;
    let mut stdout = child.stdout.take().context("the importer's output")?;
    let collect = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text).await.map(|_| text)
    });
    let mut peak_kib = None;
    let status = loop {
        if let Some(hwm) = proc_status_kib(pid, "VmHWM") {
            peak_kib = Some(peak_kib.map_or(hwm, |peak: u64| peak.max(hwm)));
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let summary = collect.await??;
    anyhow::ensure!(status.success(), "the import failed ({status}):\n{summary}");
    Ok(ImportRun { elapsed: started.elapsed(), peak_kib, summary })
}

pub async fn run(server_bin: &Path, database_url: &str, works: u64, seed: u64, keep: Option<&Path>) -> Result<()> {
    let file = match keep {
        Some(path) => path.to_path_buf(),
        None => std::env::temp_dir().join(format!("scholargraph-bench-import-{works}-{seed}.jsonl")),
    };
    let started = Instant::now();
    write_works(&file, works, seed)?;
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!("scholargraph bench import, {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"));
    println!("database    {database_url}");
    println!(
        "input       {works} OpenAlex-shaped works, {:.0} MiB ({}), written in {:.1} s",
        bytes as f64 / 1048576.0,
        file.display(),
        started.elapsed().as_secs_f64()
    );
    println!("machine     {} CPUs", std::thread::available_parallelism().map_or(0, usize::from));
    let outcome = async {
        let first = import_once(server_bin, database_url, &file).await?;
        report("import", works, &first);
        let again = import_once(server_bin, database_url, &file).await?;
        report("re-import", works, &again);
        println!(
            "re-import speed: {:.2}x the first import's",
            first.elapsed.as_secs_f64() / again.elapsed.as_secs_f64().max(f64::EPSILON)
        );
        Ok(())
    }
    .await;
    if keep.is_none() {
        let _ = std::fs::remove_file(&file);
    }
    outcome
}

fn report(what: &str, works: u64, run: &ImportRun) {
    let secs = run.elapsed.as_secs_f64();
    let peak = run.peak_kib.map_or("unknown".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0));
    println!("{what:<10}  {secs:>8.1} s  {:>9.0} works/s  peak RSS {peak}", works as f64 / secs.max(f64::EPSILON));
    for line in run.summary.lines() {
        println!("            {line}");
    }
}
