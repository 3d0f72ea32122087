//! The cost of an operation is async-graphql's complexity: a list costs the
//! rows it can return times the cost of its selection. Once validation has
//! computed it, it is charged to the client's rate limit (a mutation pays a
//! surcharge) and reported in `extensions.cost`, shaped like Shopify's:
//! `{ requestedQueryCost, throttleStatus { maximumAvailable,
//! currentlyAvailable, restoreRate } }`.
//!
//! Only a schema extension sees the complexity. But a schema with any
//! extension runs every field of every answer through it (a boxed future
//! and a registry lookup per field and extension), which cost the profile
//! page 15 % of its server CPU. So the [`Pricer`], a schema of the same
//! types with the cost extension and no data, validates each request with
//! every rule, charges it, and stops; the serving schema, which has no
//! extension, then runs it and only re-checks what execution needs.
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextValidation};
use async_graphql::{Request, Response, Schema, ServerError, ValidationResult, Value};
use serde::Serialize;

use super::rate::{ClientKey, RateLimiter, ThrottleStatus};
use crate::config::Config;
use crate::graphql::mutations::Mutation;
use crate::graphql::queries::Query;
use crate::graphql::subscriptions::SubscriptionRoot;

/// The error the pricing extension ends a priced request with, so that it
/// goes no further than validation.
const PRICED: &str = "scholargraph: priced";

/// Validates and prices requests for the serving schema (see the module).
pub struct Pricer {
    schema: Schema<Query, Mutation, SubscriptionRoot>,
}

impl Pricer {
    pub fn new(config: &Config, limiter: Arc<RateLimiter>) -> Self {
        let schema = crate::graphql::with_limits(Schema::build(Query::default(), Mutation, SubscriptionRoot), config)
            .extension(CostLimits::new(limiter))
            .finish();
        Self { schema }
    }

    /// Validates `request` with every rule and charges its cost to `payer`.
    /// `Ok` holds the `extensions.cost` to answer with; `Err` the answer
    /// itself (a document that is not valid, or a client over its budget).
    pub async fn price(&self, request: &mut Request, payer: &Payer) -> Result<Option<Value>, Response> {
        let document = match request.parsed_query() {
            Ok(document) => document.clone(),
            Err(error) => return Err(Response::from_errors(vec![error])),
        };
        let mut pricing = Request::new(request.query.clone()).variables(request.variables.clone());
        pricing.operation_name.clone_from(&request.operation_name);
        pricing.introspection_mode = request.introspection_mode;
        pricing.set_parsed_query(document);
        let mut priced = self.schema.execute(pricing.data(payer.clone())).await;
        let cost = priced.extensions.remove("cost");
        match priced.errors.as_slice() {
            [only] if only.message == PRICED => Ok(cost),
            _ => {
                if let Some(cost) = cost {
                    priced.extensions.insert("cost".to_owned(), cost);
                }
                Err(priced)
            }
        }
    }
}

/// Who pays for a request: the transport (HTTP or WebSocket) names it once
/// the document passed its caps, and the pricer charges it.
#[derive(Debug, Clone)]
pub struct Payer {
    pub key: ClientKey,
    pub is_mutation: bool,
}

/// The extension factory: one `CostCharge` per request.
struct CostLimits {
    limiter: Arc<RateLimiter>,
}

impl CostLimits {
    fn new(limiter: Arc<RateLimiter>) -> Self {
        Self { limiter }
    }
}

impl ExtensionFactory for CostLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostCharge { limiter: self.limiter.clone(), report: Mutex::new(None) })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CostReport {
    requested_query_cost: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    throttle_status: Option<ThrottleStatus>,
}

struct CostCharge {
    limiter: Arc<RateLimiter>,
    report: Mutex<Option<CostReport>>,
}

#[async_trait::async_trait]
impl Extension for CostCharge {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let report = self.report.lock().ok().and_then(|mut report| report.take());
        if let Some(value) = report.and_then(|r| serde_json::to_value(r).ok()).and_then(|v| Value::from_json(v).ok()) {
            response.extensions.insert("cost".to_owned(), value);
        }
        response
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let payer = ctx.data_opt::<Payer>();
        let surcharge = match payer {
            Some(payer) if payer.is_mutation => u64::from(self.limiter.settings().mutation_surcharge),
            _ => 0,
        };
        let cost = (result.complexity as u64).saturating_add(surcharge);
        let throttle_status = match payer {
            Some(payer) => self.limiter.charge(&payer.key, cost).map_err(|err| vec![err.into_server_error()])?,
            None => None,
        };
        if let Ok(mut report) = self.report.lock() {
            *report = Some(CostReport { requested_query_cost: cost, throttle_status });
        }
        Err(vec![ServerError::new(PRICED, None)])
    }
}
