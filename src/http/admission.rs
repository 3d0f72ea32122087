//! The one path every GraphQL operation takes before it runs, over HTTP and
//! over WebSocket alike: a fee of one unit on the client's rate limit, a
//! persisted query's hash resolved to its document, the document caps (and
//! introspection, when it is turned off), then the viewer and the payer
//! attached for the schema's cost charge; and the time limit while it runs.
use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, Value};

use crate::error::AppError;
use crate::graphql::error_codes::add_codes;
use crate::graphql::introspection::refuse_introspection;
use crate::graphql::limits::{ClientKey, Payer};
use crate::graphql::persisted::Registration;
use crate::graphql::viewer::RequestViewer;
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
/// (and introspection), attaches the viewer and names the payer.
pub fn admit(state: &AppState, caller: &Caller, mut request: Request) -> Result<Admitted, AppError> {
    state.rate_limiter.charge(&caller.key, REQUEST_FEE)?;
    let registration = state.persisted.resolve(&mut request)?;
    let measure = state.guard.admit(&mut request)?;
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
    let cost = state.pricer.price(&mut admitted.request, &admitted.payer).await.map_err(|mut refused| {
        add_codes(&mut refused);
        refused
    })?;
    if let Some(registration) = admitted.registration.take() {
        state.persisted.register(registration, &admitted.request.query);
    }
    Ok(cost)
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
    let mut response = tokio::time::timeout(limit, state.schema.execute(admitted.request)).await.map_err(|_| {
        AppError::Timeout(format!("the operation ran longer than {} s and was stopped", limit.as_secs()))
    })?;
    if let Some(cost) = cost {
        response.extensions.insert("cost".to_owned(), cost);
    }
    add_codes(&mut response);
    Ok(response)
}
