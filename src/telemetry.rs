//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`),
//! as text or, with `LOG_FORMAT=json`, one JSON object per line carrying the
//! fields of the spans it happened in (a request's id, operation, user).
//! With the `otlp` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are
//! also exported over OTLP (HTTP/protobuf).
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

/// Keeps the trace export running; dropping it sends what is left. Drop it
/// outside the async runtime (the exporter blocks while it flushes).
#[must_use = "dropping the guard stops the trace export"]
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    tracer_provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.tracer_provider.take() {
            if let Err(err) = provider.shutdown() {
                eprintln!("the OTLP trace export did not shut down cleanly: {err}");
            }
        }
    }
}

/// Installs the process's subscriber with the `LOG_FORMAT` from the
/// environment. A second call (tests start many apps in one process) keeps
/// the first subscriber.
pub fn init(default_filter: &str) -> anyhow::Result<Telemetry> {
    init_with(default_filter, LogFormat::from_env()?)
}

pub fn init_with(default_filter: &str, format: LogFormat) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = (format == LogFormat::Json)
        .then(|| fmt::layer().json().with_current_span(true).with_span_list(true).with_writer(std::io::stderr));
    let text = (format == LogFormat::Text).then(|| fmt::layer().with_writer(std::io::stderr));
    let registry = tracing_subscriber::registry().with(filter).with(json).with(text);

    #[cfg(feature = "otlp")]
    {
        let tracer_provider = otlp::provider()?;
        let layer = tracer_provider.as_ref().map(otlp::layer);
        let _ = registry.with(layer).try_init();
        Ok(Telemetry { tracer_provider })
    }
    #[cfg(not(feature = "otlp"))]
    {
        if std::env::var_os(OTLP_ENDPOINT).is_some() {
            eprintln!(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build has no `otlp` feature: no traces are exported"
            );
        }
        let _ = registry.try_init();
        Ok(Telemetry {})
    }
}

/// The standard variable that turns the OTLP export on.
const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

#[cfg(feature = "otlp")]
mod otlp {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
    use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
    use opentelemetry_sdk::Resource;
    use tracing::Subscriber;
    use tracing_opentelemetry::OpenTelemetryLayer;
    use tracing_subscriber::registry::LookupSpan;

    /// A tracer provider exporting to `OTEL_EXPORTER_OTLP_ENDPOINT` (the
    /// exporter reads it, and the other `OTEL_EXPORTER_OTLP_*` settings,
    /// itself), or `None` when it is not set.
    pub fn provider() -> anyhow::Result<Option<SdkTracerProvider>> {
        if std::env::var_os(super::OTLP_ENDPOINT).is_none() {
            return Ok(None);
        }
        let exporter = SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary).build()?;
        let resource = Resource::builder().with_service_name(env!("CARGO_PKG_NAME")).build();
        Ok(Some(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build()))
    }

    pub fn layer<S>(provider: &SdkTracerProvider) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
    }
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
