//! The `bombs` row: the profile operation at full concurrency, measured
//! alone and then while one hostile document (the 16×16 fragment fan-out)
//! arrives every 10 ms, each bomb timed on its own. The service must refuse
//! bombs fast and keep the profile's latency.
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;

use crate::load::{self, GraphqlRequest, Sample};

/// How often a bomb is sent.
pub const BOMB_INTERVAL: Duration = Duration::from_millis(10);

/// About 1 KB: 16 fragments, each spreading the next 16 times.
pub fn fan_out_bomb() -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for level in 0..15 {
        let spreads = format!("...F{} ", level + 1).repeat(16);
        doc.push_str(&format!("fragment F{level} on Query {{ {spreads}}}\n"));
    }
    doc.push_str("fragment F15 on Query { __typename }\n");
    serde_json::json!({ "query": doc }).to_string()
}

/// The two measured phases and the bombs' own sample.
pub struct Outcome {
    pub alone: Sample,
    pub beside_bombs: Sample,
    pub bombs: Sample,
}

pub async fn measure(
    profile: Arc<GraphqlRequest>,
    client: reqwest::Client,
    graphql_url: String,
    concurrency: u32,
    warmup: Duration,
    duration: Duration,
) -> Outcome {
    load::drive(profile.clone(), concurrency, warmup).await;
    let alone = load::drive(profile.clone(), concurrency, duration).await;
    let bombs = tokio::spawn(bombard(client, graphql_url, duration));
    let beside_bombs = load::drive(profile, concurrency, duration).await;
    let bombs = bombs.await.unwrap_or_else(|err| Sample {
        first_error: Some(format!("the bomb task failed: {err}")),
        ..Sample::default()
    });
    Outcome { alone, beside_bombs, bombs }
}

/// Sends a bomb every `BOMB_INTERVAL` for `duration`, each on its own task;
/// a bomb counts as an error unless it is refused with `QUERY_TOO_COMPLEX`.
async fn bombard(client: reqwest::Client, graphql_url: String, duration: Duration) -> Sample {
    let body = fan_out_bomb();
    let start = Instant::now();
    let mut tick = tokio::time::interval(BOMB_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = tokio::task::JoinSet::new();
    while start.elapsed() < duration {
        tick.tick().await;
        let (client, url, body) = (client.clone(), graphql_url.clone(), body.clone());
        in_flight.spawn(async move {
            let sent = Instant::now();
            let outcome = match client.post(&url).header(CONTENT_TYPE, "application/json").body(body).send().await {
                Ok(response) => match response.text().await {
                    Ok(text) if text.contains("QUERY_TOO_COMPLEX") => Ok(()),
                    Ok(text) => Err(format!("not refused: {}", text.chars().take(200).collect::<String>())),
                    Err(err) => Err(format!("reading the response failed: {err}")),
                },
                Err(err) => Err(format!("request failed: {err}")),
            };
            (u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX), outcome)
        });
    }
    let mut sample = Sample::default();
    while let Some(joined) = in_flight.join_next().await {
        match joined {
            Ok((latency, outcome)) => {
                sample.latencies_us.push(latency);
                if let Err(err) = outcome {
                    sample.errors += 1;
                    sample.first_error.get_or_insert(err);
                }
            }
            Err(err) => sample.first_error = Some(format!("a bomb task failed: {err}")),
        }
    }
    sample.elapsed = start.elapsed();
    sample.latencies_us.sort_unstable();
    sample
}

pub fn print(outcome: &Outcome, concurrency: u32) {
    let ms = |s: &Sample, p: f64| s.percentile_ms(p).map_or("-".to_owned(), |v| format!("{v:.1} ms"));
    println!(
        "\nbombs: profile at {concurrency} connections, alone and beside one fan-out bomb every {} ms",
        BOMB_INTERVAL.as_millis()
    );
    println!(
        "  bombs:   {} sent, {} not refused with QUERY_TOO_COMPLEX, p50 {}, p99 {}, max {}",
        outcome.bombs.requests(),
        outcome.bombs.errors,
        ms(&outcome.bombs, 50.0),
        ms(&outcome.bombs, 99.0),
        ms(&outcome.bombs, 100.0)
    );
    if let Some(err) = &outcome.bombs.first_error {
        println!("           first error: {err}");
    }
    for (label, sample) in [("alone", &outcome.alone), ("beside bombs", &outcome.beside_bombs)] {
        println!(
            "  profile {label:>12}: {:.0} req/s, p50 {}, p99 {}, {} errors",
            sample.per_second(),
            ms(sample, 50.0),
            ms(sample, 99.0),
            sample.errors
        );
    }
    if let (Some(alone), Some(beside)) = (outcome.alone.percentile_ms(99.0), outcome.beside_bombs.percentile_ms(99.0)) {
        println!("  profile p99 beside bombs / alone: {:.2}×", beside / alone);
    }
}
