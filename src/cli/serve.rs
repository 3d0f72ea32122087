use crate::config::Config;
use crate::startup::{shutdown_signal, Application};

pub async fn run(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let addr = app.state().config.bind;
    tracing::info!("serving GraphQL at http://{}:{}/graphql (GraphiQL in a browser)", addr.ip(), app.port());
    app.run_until(shutdown_signal()).await
}
