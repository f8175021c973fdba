//! Per-client limits: a token bucket of requests per second (counted before the request proceeds,
//! so concurrent requests cannot overshoot it) and a cap on requests in flight.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Limits;
use crate::problem::ApiError;

struct ClientLimits {
    bucket: DefaultDirectRateLimiter,
    in_flight: Arc<Semaphore>,
}

/// A client as the limiter knows it: its rate, when that was last read, and its limits.
struct Known {
    rps: u32,
    looked_up: Instant,
    limits: Arc<ClientLimits>,
}

pub struct ClientLimiter {
    default_rps: u32,
    burst: u32,
    max_in_flight: usize,
    /// How long a client's own rate is trusted before it is read again.
    refresh: Duration,
    clients: Mutex<HashMap<String, Known>>,
    token_endpoint: DefaultKeyedRateLimiter<String>,
}

/// What [`ClientLimiter::claim_lookup`] asks of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The rate already known stands.
    Skip,
    /// The client's first request: its rate must be read.
    First,
    /// Due for a refresh; if the read fails, the rate already known stands.
    Again,
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
            refresh: Duration::from_secs(l.client_refresh_secs),
            clients: Mutex::new(HashMap::new()),
            token_endpoint: RateLimiter::keyed(Quota::per_second(token_rps)),
        }
    }

    /// Whether the caller should read this client's own rate before [`ClientLimiter::admit`]: on
    /// its first request, and once every `limits.client_refresh_secs` after (only one of the
    /// requests arriving then is told to; the others go on under the rate already known).
    pub fn claim_lookup(&self, client_id: &str) -> Lookup {
        let mut map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(client_id) {
            None => Lookup::First,
            Some(known) if known.looked_up.elapsed() >= self.refresh => {
                known.looked_up = Instant::now();
                Lookup::Again
            }
            Some(_) => Lookup::Skip,
        }
    }

    /// Counts one request of `client_id`, or refuses it. `looked_up` is the client's own rate as
    /// just read (`Some(None)`: it has none, the default applies), or `None` when it was not read
    /// for this request. A changed rate starts a fresh bucket; the requests in flight still count.
    pub fn admit(
        &self,
        client_id: &str,
        looked_up: Option<Option<i32>>,
    ) -> Result<InFlight, ApiError> {
        let limits = {
            let mut map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            let rps = looked_up.map(|own| {
                own.and_then(|r| u32::try_from(r).ok())
                    .filter(|r| *r > 0)
                    .unwrap_or(self.default_rps)
            });
            match map.get_mut(client_id) {
                Some(known) => {
                    if let Some(rps) = rps {
                        known.looked_up = Instant::now();
                        if rps != known.rps {
                            known.rps = rps;
                            known.limits = Arc::new(ClientLimits {
                                bucket: self.bucket(rps),
                                in_flight: known.limits.in_flight.clone(),
                            });
                        }
                    }
                    known.limits.clone()
                }
                None => {
                    let rps = rps.unwrap_or(self.default_rps);
                    let limits = Arc::new(ClientLimits {
                        bucket: self.bucket(rps),
                        in_flight: Arc::new(Semaphore::new(self.max_in_flight)),
                    });
                    map.insert(
                        client_id.to_owned(),
                        Known {
                            rps,
                            looked_up: Instant::now(),
                            limits: limits.clone(),
                        },
                    );
                    limits
                }
            }
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

    fn bucket(&self, rps: u32) -> DefaultDirectRateLimiter {
        let burst = self.burst.max(rps);
        let quota = Quota::per_second(NonZeroU32::new(rps).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        RateLimiter::direct(quota)
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
            .map(|_| lim.admit("big", Some(Some(1000))).unwrap())
            .collect();
        assert!(
            matches!(
                lim.admit("big", Some(Some(1000))),
                Err(ApiError::TooManyRequests { .. })
            ),
            "third in flight"
        );
        drop(held);
        assert!(lim.admit("big", Some(Some(1000))).is_ok());
    }

    #[test]
    fn a_changed_rate_applies_from_the_next_lookup_which_one_request_makes() {
        let mut l = limits(1, 1, 1);
        l.client_refresh_secs = 60;
        let lim = ClientLimiter::new(&l);
        assert_eq!(
            lim.claim_lookup("c"),
            Lookup::First,
            "its first request reads its rate"
        );
        let held = lim.admit("c", Some(None)).unwrap();
        assert_eq!(
            lim.claim_lookup("c"),
            Lookup::Skip,
            "known, and not due again yet"
        );
        // Due again: only the first request to ask reads it.
        lim.clients.lock().unwrap().get_mut("c").unwrap().looked_up -= Duration::from_secs(120);
        assert_eq!(lim.claim_lookup("c"), Lookup::Again);
        assert_eq!(lim.claim_lookup("c"), Lookup::Skip);
        // The operator raised its rate: a fresh bucket, but the request still in flight counts.
        assert!(
            matches!(
                lim.admit("c", Some(Some(1000))),
                Err(ApiError::TooManyRequests { .. })
            ),
            "in-flight cap of 1"
        );
        drop(held);
        let passed = (0..100).filter(|_| lim.admit("c", None).is_ok()).count();
        assert_eq!(passed, 100, "1000 a second now, not 1");
        // And back to the default.
        assert!(lim.admit("c", Some(None)).is_ok());
        assert!(lim.admit("c", None).is_err());
    }

    #[test]
    fn concurrent_requests_never_overshoot_the_bucket() {
        let lim = Arc::new(ClientLimiter::new(&limits(1, 50, 10_000)));
        let started = std::time::Instant::now();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let lim = lim.clone();
                std::thread::spawn(move || {
                    (0..100).filter(|_| lim.admit("c", None).is_ok()).count()
                })
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        // One more per second the threads took: the bucket refills at 1 a second meanwhile.
        let refilled = started.elapsed().as_secs() as usize + 1;
        assert!(
            (50..=50 + refilled).contains(&total),
            "{total} admitted from a bucket of 50 in {refilled} s"
        );
    }
}
