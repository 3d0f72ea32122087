//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`),
//! as text or, with `LOG_FORMAT=json`, one JSON object per line carrying the
//! fields of the spans it happened in (a request's id, operation, user).
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// The format `LOG_FORMAT` names (`text`, the default, or `json`).
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("LOG_FORMAT") {
            Err(_) => Ok(Self::Text),
            Ok(value) => value.parse(),
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = anyhow::Error;

    fn from_str(value: &str) -> anyhow::Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => anyhow::bail!("LOG_FORMAT must be `text` or `json`, not `{other}`"),
        }
    }
}

/// Installs the process's subscriber with the `LOG_FORMAT` from the
/// environment. A second call (tests start many apps in one process) keeps
/// the first subscriber.
pub fn init(default_filter: &str) -> anyhow::Result<()> {
    init_with(default_filter, LogFormat::from_env()?);
    Ok(())
}

pub fn init_with(default_filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = (format == LogFormat::Json)
        .then(|| fmt::layer().json().with_current_span(true).with_span_list(true).with_writer(std::io::stderr));
    let text = (format == LogFormat::Text).then(|| fmt::layer().with_writer(std::io::stderr));
    let _ = tracing_subscriber::registry().with(filter).with(json).with(text).try_init();
}

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn log_formats_parse_and_others_are_refused() {
        assert_eq!("json".parse::<LogFormat>().ok(), Some(LogFormat::Json));
        assert_eq!("TEXT".parse::<LogFormat>().ok(), Some(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
