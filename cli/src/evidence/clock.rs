//! The time a pack judges against: now, or the end of its `--date`, and how old audit
//! evidence may be; times written as RFC 3339.

/// The time the pack judges against, and how old the newest audit result may be.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub now: i64,
    pub max_audit_age_hours: u64,
}

/// 2014-01-01T00:00:00Z: an audit result dated earlier is not a time the scanner wrote.
pub const EARLIEST_RESULT: i64 = 1_388_534_400;

impl Clock {
    /// The allowed age in seconds (saturating: any `--max-audit-age-hours` is a number).
    pub fn max_audit_age_seconds(&self) -> i64 {
        i64::try_from(self.max_audit_age_hours)
            .unwrap_or(i64::MAX)
            .saturating_mul(3600)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(seconds: i64) -> String {
    let date = date_of(seconds);
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn date_of(seconds: i64) -> String {
    pci_shared::time::Date::from_days_since_epoch(seconds.div_euclid(86_400)).to_string()
}
