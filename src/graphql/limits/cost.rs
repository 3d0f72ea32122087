//! The cost of an operation is async-graphql's complexity: a list costs the
//! rows it can return times the cost of its selection. Once validation has
//! computed it, it is charged to the client's rate limit (a mutation pays a
//! surcharge) and reported in `extensions.cost`, shaped like Shopify's:
//! `{ requestedQueryCost, throttleStatus { maximumAvailable,
//! currentlyAvailable, restoreRate } }`.
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextValidation};
use async_graphql::{Response, ServerError, ValidationResult, Value};
use serde::Serialize;

use super::rate::{ClientKey, RateLimiter, ThrottleStatus};

/// Who pays for a request, attached to it by the transport (HTTP or
/// WebSocket) once the document passed its caps.
#[derive(Debug, Clone)]
pub struct Payer {
    pub key: ClientKey,
    pub is_mutation: bool,
}

/// The extension factory: one `CostCharge` per request.
pub struct CostLimits {
    limiter: Arc<RateLimiter>,
}

impl CostLimits {
    pub fn new(limiter: Arc<RateLimiter>) -> Self {
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
        Ok(result)
    }
}
