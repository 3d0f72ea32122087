//! The one path every GraphQL operation takes before it runs, over HTTP and
//! over WebSocket alike: a fee of one unit on the client's rate limit, a
//! persisted query's hash resolved to its document, the document caps (and
//! introspection, when it is turned off), then the viewer and the payer
//! attached for the schema's cost charge; and the time limit while it runs.
use std::future::Future;
use std::panic::AssertUnwindSafe;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, Value};
use futures_util::FutureExt;

use crate::error::AppError;
use crate::graphql::error_codes::add_codes;
use crate::graphql::introspection::refuse_introspection;
use crate::graphql::limits::{ClientKey, Payer};
use crate::graphql::persisted::Registration;
use crate::graphql::viewer::RequestViewer;
use crate::metrics::{observe, Refusal};
use crate::state::AppState;

/// What every request pays before its document is looked at, so that even
/// refused documents count against the client's rate.
const REQUEST_FEE: u64 = 1;

/// Who sends a request: the signed-in viewer, if any, and the key its rate
/// limit is kept under (the user, or for anonymous requests the address).
#[derive(Debug, Clone)]
pub struct Caller {
    pub viewer: Option<RequestViewer>,
    pub key: ClientKey,
}

impl Caller {
    pub fn new(viewer: Option<RequestViewer>, address: std::net::IpAddr) -> Self {
        let key = match &viewer {
            Some(viewer) => ClientKey::User(viewer.user_id),
            None => ClientKey::for_address(address),
        };
        Self { viewer, key }
    }
}

/// A request that passed admission, ready for the schema.
pub struct Admitted {
    pub request: Request,
    /// The type of the operation that will run, when the document parsed
    /// and named it unambiguously.
    pub operation: Option<OperationType>,
    /// Who pays for it.
    pub payer: Payer,
    /// The persisted query to register once the document is valid.
    registration: Option<Registration>,
}

/// Charges the fee, resolves a persisted query, checks the document caps
/// (and introspection), attaches the viewer and names the payer. The
/// request's span and metrics learn the viewer and the operation's name.
pub fn admit(state: &AppState, caller: &Caller, mut request: Request) -> Result<Admitted, AppError> {
    observe::viewer(caller.viewer.as_ref().map(|viewer| viewer.user_id));
    observe::named(request.operation_name.as_deref());
    if let Err(refused) = state.rate_limiter.charge(&caller.key, REQUEST_FEE) {
        state.metrics.record_refusal(Refusal::Fee);
        return Err(refused);
    }
    let registration = state.persisted.resolve(&mut request)?;
    let measure = state.guard.admit(&mut request)?;
    if measure.is_some() && request.operation_name.is_none() {
        observe::named(observe::only_operation_name(&mut request).as_deref());
    }
    if measure.is_some() && !state.config.web.introspection {
        // The guard left the parse in the request.
        if let Ok(document) = request.parsed_query() {
            refuse_introspection(document)?;
        }
    }
    let operation = measure.and_then(|m| m.operation);
    let payer = Payer { key: caller.key.clone(), is_mutation: operation == Some(OperationType::Mutation) };
    if let Some(viewer) = &caller.viewer {
        request = request.data(viewer.clone());
    }
    Ok(Admitted { request, operation, payer, registration })
}

/// Validates an admitted operation with every rule and charges its cost:
/// the `extensions.cost` to answer with, or the answer refusing it (with
/// its errors' codes). A persisted query sent with its document is
/// registered once it is valid.
pub async fn price(state: &AppState, admitted: &mut Admitted) -> Result<Option<Value>, Response> {
    let priced = state.pricer.price(&mut admitted.request, &admitted.payer).await.map_err(|mut refused| {
        add_codes(&mut refused);
        if observe::first_error_code(&refused.errors) == Some("RATE_LIMITED") {
            state.metrics.record_refusal(Refusal::Cost);
        }
        refused
    })?;
    if let Some(cost) = &priced {
        observe::priced(cost);
    }
    if let Some(registration) = admitted.registration.take() {
        state.persisted.register(registration, &admitted.request.query);
    }
    Ok(priced)
}

/// Prices an admitted query or mutation (validation with every rule, the
/// cost charged), then runs it within the request time limit. A request
/// stopped by the limit is dropped, and with it its statements; the
/// database's statement timeout covers what is already running there.
/// Every error of the answer carries a code.
pub async fn execute(state: &AppState, mut admitted: Admitted) -> Result<Response, AppError> {
    let cost = match price(state, &mut admitted).await {
        Ok(cost) => cost,
        Err(refused) => return Ok(refused),
    };
    let limit = state.config.limits.request_timeout();
    let running = catching_panics(state.schema.execute(admitted.request));
    let mut response = tokio::time::timeout(limit, running).await.map_err(|_| {
        AppError::Timeout(format!("the operation ran longer than {} s and was stopped", limit.as_secs()))
    })??;
    if let Some(cost) = cost {
        response.extensions.insert("cost".to_owned(), cost);
    }
    add_codes(&mut response);
    if database_was_away(state) {
        unreachable_is_internal(&mut response);
    }
    Ok(response)
}

/// Whether the database was away while a request waited for a connection:
/// the change feed reads the log every poll interval, on a pool that gives
/// up sooner than the serving one, and records when a read failed.
fn database_was_away(state: &AppState) -> bool {
    let waited = state.config.limits.acquire_timeout() + crate::domain::changes::POLL_INTERVAL;
    state.changes.database_away_within(waited)
}

/// A pool timeout says "busy, retry shortly" (`RATE_LIMITED`); while the
/// database is away it is an `INTERNAL` error instead.
pub fn outage_aware(state: &AppState, error: AppError) -> AppError {
    match error {
        AppError::RateLimited { message, .. } if message == crate::error::POOL_BUSY && database_was_away(state) => {
            AppError::internal("the database is unreachable")
        }
        other => other,
    }
}

/// [`outage_aware`] for the errors of a response that ran.
fn unreachable_is_internal(response: &mut Response) {
    for error in &mut response.errors {
        if error.message == crate::error::POOL_BUSY {
            let path = std::mem::take(&mut error.path);
            let locations = std::mem::take(&mut error.locations);
            *error = AppError::internal("the database is unreachable").into_server_error();
            error.path = path;
            error.locations = locations;
        }
    }
}

/// Runs an operation. A panic inside it (a bug in a resolver) fails this
/// request alone with `INTERNAL`, and is logged; the worker and every other
/// request go on.
pub async fn catching_panics<T>(operation: impl Future<Output = T>) -> Result<T, AppError> {
    AssertUnwindSafe(operation).catch_unwind().await.map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|message| (*message).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %message, "an operation panicked");
        AppError::Internal
    })
}

#[cfg(test)]
mod panic_tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::catching_panics;
    use crate::error::AppError;

    struct Panicking;

    #[Object]
    impl Panicking {
        async fn fine(&self) -> i32 {
            1
        }

        async fn broken(&self) -> i32 {
            "not a number".parse().unwrap_or_else(|_| panic!("a resolver bug"))
        }
    }

    #[tokio::test]
    async fn a_panicking_resolver_fails_its_request_only() {
        let schema = Schema::new(Panicking, EmptyMutation, EmptySubscription);
        let failed = catching_panics(schema.execute("{ fine broken }")).await;
        assert!(matches!(failed, Err(AppError::Internal)));
        let fine = catching_panics(schema.execute("{ fine }")).await.expect("no panic");
        assert_eq!(fine.data.to_string(), "{fine: 1}");
    }
}
