//! Plain-text output: the header, the results table, memory and the floor.
use std::path::Path;
use std::time::Duration;

use crate::cpu::CpuSpent;
use crate::dataset::Dataset;
use crate::load::Sample;
use crate::server::PeakMemory;

pub struct Header<'a> {
    pub database_url: &'a str,
    pub data: &'a Dataset,
    pub concurrency: u32,
    pub duration: Duration,
    pub warmup: Duration,
    pub server_bin: &'a Path,
    pub server_log: &'a Path,
    pub port: u16,
}

/// The URL without its password.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}")
        }
        None => url.to_owned(),
    }
}

fn total_memory() -> String {
    let kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|info| {
        info.lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|value| value.split_whitespace().next())
            .and_then(|value| value.parse::<u64>().ok())
    });
    match kib {
        Some(kib) => format!("{:.1} GiB memory", kib as f64 / (1024.0 * 1024.0)),
        None => "memory unknown".to_owned(),
    }
}

fn examples(items: &[String]) -> String {
    let mut shown: Vec<&str> = items.iter().take(5).map(String::as_str).collect();
    if items.len() > shown.len() {
        shown.push("...");
    }
    shown.join(", ")
}

pub fn print_header(h: &Header<'_>) {
    let d = h.data;
    let cpus = std::thread::available_parallelism().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned());
    let works_range = match (d.popular.last(), d.popular.first()) {
        (Some(low), Some(high)) => format!("{}..{} works", low.works_count, high.works_count),
        _ => "none".to_owned(),
    };
    println!("scholargraph bench, {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"));
    println!("database    {} ({})", d.database, redact(h.database_url));
    println!("rows        {} researchers, {} works, {} authorships", d.researchers, d.works, d.authorships);
    println!(
        "mix         {} popular ({works_range}), {} long tail; heaviest: {} ({} works)",
        d.popular.len(),
        d.tail.len(),
        d.heaviest.slug,
        d.heaviest.works_count
    );
    println!(
        "searches    {} common title words ({}); {} median ({}); {} name prefixes ({})",
        d.common_words.len(),
        examples(&d.common_words),
        d.median_words.len(),
        examples(&d.median_words),
        d.prefixes.len(),
        examples(&d.prefixes)
    );
    println!(
        "load        concurrency {}, {} s per operation after {} s warm-up",
        h.concurrency,
        h.duration.as_secs(),
        h.warmup.as_secs()
    );
    println!("machine     {cpus} CPUs, {}", total_memory());
    println!("server      {} serve on 127.0.0.1:{} (log: {})", h.server_bin.display(), h.port, h.server_log.display());
    println!();
}

#[derive(Debug, Clone)]
pub struct Stats {
    pub per_second: f64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub errors: u64,
    pub requests: usize,
    pub sql_per_request: Option<f64>,
    /// CPU milliseconds per request, the server's and PostgreSQL's.
    pub server_cpu_ms: Option<f64>,
    pub postgres_cpu_ms: Option<f64>,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub outcome: Result<Stats, String>,
}

impl Row {
    pub fn skipped(name: &str, reason: String) -> Self {
        Self { name: name.to_owned(), outcome: Err(reason) }
    }

    /// `sql` is the number of statements the server ran during the phase,
    /// `cpu` the CPU time spent in it.
    pub fn measured(name: &str, sample: Sample, sql: Option<u64>, cpu: CpuSpent) -> Self {
        let requests = sample.requests();
        let per_request = |total: Option<f64>| total.filter(|_| requests > 0).map(|total| total / requests as f64);
        let stats = Stats {
            per_second: sample.per_second(),
            p50: sample.percentile_ms(50.0),
            p95: sample.percentile_ms(95.0),
            p99: sample.percentile_ms(99.0),
            errors: sample.errors,
            requests,
            sql_per_request: per_request(sql.map(|sql| sql as f64)),
            server_cpu_ms: per_request(cpu.server_ms),
            postgres_cpu_ms: per_request(cpu.postgres_ms),
            first_error: sample.first_error,
        };
        Self { name: name.to_owned(), outcome: Ok(stats) }
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

/// Three decimals: a light request costs well under a millisecond of CPU.
fn cpu_ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn new() -> Self {
        Self { rows: Vec::new() }
    }

    pub fn print_head(&self) {
        println!(
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>7} {:>8} {:>10} {:>10} {:>9}",
            "operation", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "SQL/req", "server CPU", "PG CPU", "requests"
        );
        println!(
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>7} {:>8} {:>10} {:>10}",
            "", "", "", "", "", "", "", "ms/req", "ms/req"
        );
        println!("{}", "-".repeat(22 + 9 * 4 + 7 + 8 + 10 * 2 + 9 + 9));
    }

    pub fn print_row(&self, row: &Row) {
        match &row.outcome {
            Ok(s) => println!(
                "{:<22} {:>9.1} {:>9} {:>9} {:>9} {:>7} {:>8} {:>10} {:>10} {:>9}",
                row.name,
                s.per_second,
                ms(s.p50),
                ms(s.p95),
                ms(s.p99),
                s.errors,
                s.sql_per_request.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
                cpu_ms(s.server_cpu_ms),
                cpu_ms(s.postgres_cpu_ms),
                s.requests
            ),
            Err(reason) => println!("{:<22} {reason}", row.name),
        }
    }

    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// The first error of each operation that had any.
    pub fn print_notes(&self) {
        let errors: Vec<(&str, &str)> = self
            .rows
            .iter()
            .filter_map(|row| match &row.outcome {
                Ok(Stats { first_error: Some(err), .. }) => Some((row.name.as_str(), err.as_str())),
                _ => None,
            })
            .collect();
        if errors.is_empty() {
            return;
        }
        println!();
        println!("first error per operation:");
        for (name, err) in errors {
            println!("  {name}: {err}");
        }
    }
}

pub fn print_memory(peak: &PeakMemory) {
    let mib = |kib: Option<u64>| kib.map_or_else(|| "n/a".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0));
    println!();
    println!(
        "server memory: peak RSS (VmHWM) {}, largest VmRSS sampled every 500 ms {}, largest RssAnon {} \
         (without mapped files such as the search index)",
        mib(peak.hwm_kib),
        mib(peak.max_sampled_rss_kib),
        mib(peak.max_sampled_anon_kib)
    );
}

pub fn print_floor(floor: &Row, profile: Option<&Row>) {
    println!();
    println!("floor: the profile page's data as one SQL statement, same concurrency and mix, no HTTP/GraphQL");
    let Ok(f) = &floor.outcome else {
        return;
    };
    println!(
        "  floor     {:>9.1} req/s   p50 {:>8} ms   p99 {:>8} ms   errors {}   requests {}",
        f.per_second,
        ms(f.p50),
        ms(f.p99),
        f.errors,
        f.requests
    );
    if let Some(err) = &f.first_error {
        println!("  first error: {err}");
    }
    let Some(Row { outcome: Ok(p), .. }) = profile else {
        println!("  (run `profile` too for the service/floor ratio)");
        return;
    };
    println!("  profile   {:>9.1} req/s   p50 {:>8} ms   p99 {:>8} ms", p.per_second, ms(p.p50), ms(p.p99));
    let ratio = |service: Option<f64>, floor: Option<f64>| match (service, floor) {
        (Some(s), Some(f)) if f > 0.0 => format!("{:.2}x", s / f),
        _ => "n/a".to_owned(),
    };
    println!(
        "  service/floor for profile: throughput {}, p50 latency {}, p99 latency {}",
        ratio(Some(p.per_second), Some(f.per_second)),
        ratio(p.p50, f.p50),
        ratio(p.p99, f.p99)
    );
}
