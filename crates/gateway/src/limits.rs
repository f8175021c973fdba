//! Per-client limits: a token bucket of requests per second (counted before the request proceeds,
//! so concurrent requests cannot overshoot it) and a cap on requests in flight.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Limits;
use crate::problem::ApiError;

struct ClientLimits {
    bucket: DefaultDirectRateLimiter,
    in_flight: Arc<Semaphore>,
}

pub struct ClientLimiter {
    default_rps: u32,
    burst: u32,
    max_in_flight: usize,
    clients: Mutex<HashMap<String, Arc<ClientLimits>>>,
    token_endpoint: DefaultKeyedRateLimiter<String>,
}

/// Held while a request runs; dropping it frees the client's slot.
pub struct InFlight(#[allow(dead_code)] OwnedSemaphorePermit);

impl ClientLimiter {
    pub fn new(l: &Limits) -> ClientLimiter {
        let token_rps = NonZeroU32::new(l.token_endpoint_rps.max(1)).unwrap_or(NonZeroU32::MIN);
        ClientLimiter {
            default_rps: l.rate_limit_rps.max(1),
            burst: l.rate_limit_burst.max(1),
            max_in_flight: l.max_concurrent_per_client.max(1),
            clients: Mutex::new(HashMap::new()),
            token_endpoint: RateLimiter::keyed(Quota::per_second(token_rps)),
        }
    }

    /// Whether this client's limits are known yet (the first request looks its own rate up).
    pub fn knows(&self, client_id: &str) -> bool {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(client_id)
    }

    /// Counts one request of `client_id` (whose own rate, if any, is `own_rps`), or refuses it.
    pub fn admit(&self, client_id: &str, own_rps: Option<i32>) -> Result<InFlight, ApiError> {
        let limits = {
            let mut map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(client_id.to_owned())
                .or_insert_with(|| {
                    let rps = own_rps
                        .and_then(|r| u32::try_from(r).ok())
                        .filter(|r| *r > 0)
                        .unwrap_or(self.default_rps);
                    let burst = self.burst.max(rps);
                    let quota = Quota::per_second(NonZeroU32::new(rps).unwrap_or(NonZeroU32::MIN))
                        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
                    Arc::new(ClientLimits {
                        bucket: RateLimiter::direct(quota),
                        in_flight: Arc::new(Semaphore::new(self.max_in_flight)),
                    })
                })
                .clone()
        };
        if let Err(not_until) = limits.bucket.check() {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(ApiError::TooManyRequests {
                retry_after: retry_secs(wait),
            });
        }
        let permit = limits
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::TooManyRequests { retry_after: 1 })?;
        Ok(InFlight(permit))
    }

    /// The token endpoint's own bucket, keyed by the client id asked for.
    pub fn admit_token_request(&self, client_id: &str) -> Result<(), u64> {
        self.token_endpoint
            .check_key(&client_id.to_owned())
            .map_err(|nu| retry_secs(nu.wait_time_from(DefaultClock::default().now())))
    }
}

fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rps: u32, burst: u32, in_flight: usize) -> Limits {
        let mut l = crate::config::Settings::defaults().limits;
        l.rate_limit_rps = rps;
        l.rate_limit_burst = burst;
        l.max_concurrent_per_client = in_flight;
        l
    }

    #[test]
    fn a_burst_then_refusals_with_retry_after() {
        let lim = ClientLimiter::new(&limits(1, 3, 100));
        let admitted: Vec<_> = (0..10).map(|_| lim.admit("c", None)).collect();
        assert_eq!(admitted.iter().filter(|r| r.is_ok()).count(), 3);
        match admitted.last().unwrap() {
            Err(ApiError::TooManyRequests { retry_after }) => assert!(*retry_after >= 1),
            _ => panic!("expected 429"),
        }
        assert!(lim.admit("other", None).is_ok(), "buckets are per client");
    }

    #[test]
    fn a_clients_own_rate_and_the_in_flight_cap() {
        let lim = ClientLimiter::new(&limits(1, 1, 2));
        let held: Vec<_> = (0..2)
            .map(|_| lim.admit("big", Some(1000)).unwrap())
            .collect();
        assert!(
            matches!(
                lim.admit("big", Some(1000)),
                Err(ApiError::TooManyRequests { .. })
            ),
            "third in flight"
        );
        drop(held);
        assert!(lim.admit("big", Some(1000)).is_ok());
    }

    #[test]
    fn concurrent_requests_never_overshoot_the_bucket() {
        let lim = Arc::new(ClientLimiter::new(&limits(1, 50, 10_000)));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let lim = lim.clone();
                std::thread::spawn(move || {
                    (0..100).filter(|_| lim.admit("c", None).is_ok()).count()
                })
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(
            (50..=51).contains(&total),
            "{total} admitted from a bucket of 50"
        );
    }
}
