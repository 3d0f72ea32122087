// A request allocates thousands of small short-lived values (the parsed
// query, resolver futures, rows, the JSON answer); mimalloc serves them with
// less contention and less CPU than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // Logging starts, and with the `otlp` feature the trace export stops
    // (flushing what is left), outside the runtime: its exporter blocks.
    let _telemetry = scholargraph::telemetry::init("info,sqlx=warn,sea_orm_migration=warn")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(scholargraph::cli::run())
}
