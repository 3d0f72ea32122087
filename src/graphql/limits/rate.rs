//! Rate limiting by cost: each client (a signed-in user by `sub`, anyone
//! else by address) has a GCRA bucket of cost units that refills at a steady
//! rate. Every request pays a fee of one unit before its document is even
//! parsed, then its query cost once validation has computed it; a mutation
//! pays a surcharge on top. Buckets live in this instance's memory: with
//! several instances, each allows the configured rate (README, "Limits").
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;
use serde::Serialize;

use crate::error::AppError;

/// Who pays for a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A signed-in user, by their user id.
    User(i64),
    /// An anonymous client, by address; IPv6 clients by their /64, which
    /// one host usually holds whole.
    Address(IpAddr),
}

impl ClientKey {
    pub fn for_address(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Address(address),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Address(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self::Address(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

/// The rate limit's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSettings {
    /// Cost units a client regains per minute; 0 turns rate limiting off.
    pub cost_per_minute: u32,
    /// The most a client can spend at once (the bucket's size).
    pub burst: u32,
    /// Added to a mutation's cost.
    pub mutation_surcharge: u32,
}

/// A client's budget after a charge, reported in `extensions.cost`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: u32,
    pub currently_available: u32,
    /// Units regained per second.
    pub restore_rate: f64,
}

type Keyed =
    governor::RateLimiter<ClientKey, DefaultKeyedStateStore<ClientKey>, DefaultClock, StateInformationMiddleware>;

pub struct RateLimiter {
    settings: RateSettings,
    buckets: Option<Keyed>,
    clock: DefaultClock,
}

impl RateLimiter {
    pub fn new(settings: RateSettings) -> Self {
        let buckets = NonZeroU32::new(settings.cost_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.burst).unwrap_or(per_minute);
            governor::RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
                .with_middleware::<StateInformationMiddleware>()
        });
        Self { settings, buckets, clock: DefaultClock::default() }
    }

    pub fn settings(&self) -> RateSettings {
        self.settings
    }

    /// Takes `cost` units from `key`'s bucket. `Ok(None)` when rate limiting
    /// is off; `RATE_LIMITED` with the wait when the bucket is short.
    pub fn charge(&self, key: &ClientKey, cost: u64) -> Result<Option<ThrottleStatus>, AppError> {
        let Some(buckets) = &self.buckets else { return Ok(None) };
        let units = NonZeroU32::new(u32::try_from(cost).unwrap_or(u32::MAX).max(1)).unwrap_or(NonZeroU32::MIN);
        match buckets.check_key_n(key, units) {
            Ok(Ok(snapshot)) => Ok(Some(ThrottleStatus {
                maximum_available: self.settings.burst,
                currently_available: snapshot.remaining_burst_capacity(),
                restore_rate: f64::from(self.settings.cost_per_minute) / 60.0,
            })),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(AppError::rate_limited(
                    format!("rate limit reached: this request costs {cost}; retry in {} s", retry_after_secs(wait)),
                    wait,
                ))
            }
            Err(_) => Err(AppError::rate_limited(
                format!("this request costs {cost}, more than a client may spend at once ({})", self.settings.burst),
                Duration::from_secs(60),
            )),
        }
    }

    /// Forgets clients whose buckets are full again, so that memory follows
    /// the active clients, not every address ever seen.
    pub fn forget_idle(&self) {
        if let Some(buckets) = &self.buckets {
            buckets.retain_recent();
            buckets.shrink_to_fit();
        }
    }
}

/// Whole seconds to wait, rounded up, at least 1 (the `Retry-After` value).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(RateSettings { cost_per_minute: per_minute, burst, mutation_surcharge: 0 })
    }

    #[test]
    fn charges_until_the_bucket_is_empty_then_refuses_with_a_wait() {
        let limits = limiter(60, 100);
        let key = ClientKey::User(1);
        let status = limits.charge(&key, 70).expect("within budget").expect("limiting is on");
        assert_eq!(status.currently_available, 30);
        let refused = limits.charge(&key, 40).expect_err("over budget");
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert!(refused.retry_after().is_some_and(|d| d > Duration::ZERO));
        // Another client has its own bucket.
        assert!(limits.charge(&ClientKey::User(2), 40).is_ok());
    }

    #[test]
    fn a_request_larger_than_the_bucket_is_refused_and_off_means_off() {
        assert!(limiter(60, 100).charge(&ClientKey::User(1), 101).is_err());
        assert_eq!(limiter(0, 0).charge(&ClientKey::User(1), 1_000_000), Ok(None));
    }

    #[test]
    fn ipv6_clients_share_their_64_bit_prefix() {
        let a = ClientKey::for_address("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = ClientKey::for_address("2001:db8:1:2:bbbb::2".parse().expect("ip"));
        let c = ClientKey::for_address("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            ClientKey::for_address("::ffff:10.0.0.1".parse().expect("ip")),
            ClientKey::for_address("10.0.0.1".parse().expect("ip"))
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2500)), 3);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
