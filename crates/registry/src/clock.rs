//! The time the registry's dated rules see: the system clock when serving, a fixed instant in tests,
//! so an age band or a premium dated 1 June can be checked on any date.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Always the same instant.
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Indian Standard Time, UTC+05:30: ages are counted on the date in India.
const IST_SECONDS: i32 = 5 * 3600 + 1800;

/// Today's date in India by `clock`, for age rules.
pub fn today_in_india(clock: &dyn Clock) -> chrono::NaiveDate {
    let ist =
        chrono::FixedOffset::east_opt(IST_SECONDS).unwrap_or_else(|| unreachable!("valid offset"));
    clock.now().with_timezone(&ist).date_naive()
}
