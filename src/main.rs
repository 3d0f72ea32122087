// A request allocates thousands of small short-lived values (the parsed
// query, resolver futures, rows, the JSON answer); mimalloc serves them with
// less contention and less CPU than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    scholargraph::telemetry::init("info,sqlx=warn,sea_orm_migration=warn")?;
    scholargraph::cli::run().await
}
