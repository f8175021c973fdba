//! A circuit breaker per upstream: open after `threshold` consecutive outages, fail fast while
//! open, let one probe through after `cooldown` (half-open), close on its success.

use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    open_until: Option<Instant>,
    /// When the half-open probe was let through (another goes after `cooldown` if it never ends).
    probe_since: Option<Instant>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            open_until: None,
            probe_since: None,
        }
    }

    /// May a call go now? `Err` carries how long until the next probe.
    pub fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        let Some(until) = self.open_until else {
            return Ok(());
        };
        if now < until {
            return Err(until - now);
        }
        match self.probe_since {
            Some(since) if now < since + self.cooldown => Err(since + self.cooldown - now),
            _ => {
                self.probe_since = Some(now);
                Ok(())
            }
        }
    }

    pub fn success(&mut self) {
        self.failures = 0;
        self.open_until = None;
        self.probe_since = None;
    }

    pub fn failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.probe_since.is_some() || self.failures >= self.threshold {
            self.open_until = Some(now + self.cooldown);
            self.probe_since = None;
        }
    }

    pub fn state(&self, now: Instant) -> CircuitState {
        match self.open_until {
            None => CircuitState::Closed,
            Some(until) if now < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_probes_once_and_closes_on_success() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(10);
        let mut b = Breaker::new(3, cool);
        for _ in 0..2 {
            b.failure(t0);
        }
        assert_eq!(b.state(t0), CircuitState::Closed);
        assert!(b.allow(t0).is_ok());
        b.failure(t0);
        assert_eq!(b.state(t0), CircuitState::Open);
        assert!(b.allow(t0 + Duration::from_secs(5)).is_err());
        let later = t0 + cool;
        assert_eq!(b.state(later), CircuitState::HalfOpen);
        assert!(b.allow(later).is_ok(), "one probe");
        assert!(b.allow(later).is_err(), "only one probe at a time");
        b.failure(later);
        assert_eq!(b.state(later), CircuitState::Open, "a failed probe reopens");
        let again = later + cool;
        assert!(b.allow(again).is_ok());
        b.success();
        assert_eq!(b.state(again), CircuitState::Closed);
        assert_eq!(b.consecutive_failures(), 0);
    }
}
