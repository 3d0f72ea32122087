#[tokio::main]
async fn main() -> anyhow::Result<()> {
    scholargraph::telemetry::init("info,sqlx=warn,sea_orm_migration=warn");
    scholargraph::cli::run().await
}
