//! `/metrics`: the service's own counters in the Prometheus text exposition format.
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// The content type of the Prometheus text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = String::with_capacity(256);
    counter(
        &mut body,
        "scholargraph_sql_statements_total",
        "SQL statements executed since the process started.",
        state.metrics.sql_statements(),
    );
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::counter;

    #[test]
    fn renders_a_counter_in_the_text_format() {
        let mut out = String::new();
        counter(&mut out, "x_total", "Things.", 7);
        assert_eq!(out, "# HELP x_total Things.\n# TYPE x_total counter\nx_total 7\n");
    }
}
