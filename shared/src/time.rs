//! Dates for exception expiry, without a calendar dependency.

/// Seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

/// The time an evaluation runs at, as far as the clock could tell.
///
/// A clock that cannot be read is a value of its own, never a made-up time: a date-bound decision
/// (does an exception still apply?) then cannot be made, and is refused (`exception.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Now {
    /// The clock read this time.
    At(Timestamp),
    /// The clock could not be read: the host refused the call, or it reads before the Unix
    /// epoch.
    Unreadable,
}

impl Now {
    /// Reads the wall clock (WASI `clock_time_get` in a policy, the system clock natively).
    pub fn read() -> Self {
        clock::seconds_since_epoch()
            .map_or(Self::Unreadable, |seconds| Self::At(Timestamp(seconds)))
    }

    /// The time read, if the clock could be read.
    pub fn timestamp(self) -> Option<Timestamp> {
        match self {
            Self::At(timestamp) => Some(timestamp),
            Self::Unreadable => None,
        }
    }
}

impl From<Timestamp> for Now {
    fn from(timestamp: Timestamp) -> Self {
        Self::At(timestamp)
    }
}

/// Reading the wall clock without ever inventing a time.
mod clock {
    /// Whole seconds since the Unix epoch, or `None` when the clock cannot be read.
    ///
    /// In a policy the standard library's `SystemTime::now` would abort the module when the
    /// host's `clock_time_get` fails, so the WASI call is made here and its error kept.
    #[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
    pub fn seconds_since_epoch() -> Option<i64> {
        #[link(wasm_import_module = "wasi_snapshot_preview1")]
        unsafe extern "C" {
            /// WASI preview 1: `(clockid, precision, *timestamp) -> errno`.
            fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> u32;
        }
        /// WASI's `realtime` clock: wall-clock time since the Unix epoch, in nanoseconds.
        const REALTIME: u32 = 0;
        let mut nanoseconds = 0_u64;
        // SAFETY: `clock_time_get` writes one u64 through the pointer, which points to a live
        // local; its other arguments are plain integers.
        let errno = unsafe { clock_time_get(REALTIME, 1, &raw mut nanoseconds) };
        if errno != 0 {
            return None;
        }
        i64::try_from(nanoseconds / 1_000_000_000).ok()
    }

    /// Whole seconds since the Unix epoch, or `None` when the clock reads before it.
    #[cfg(not(all(target_arch = "wasm32", target_os = "wasi")))]
    pub fn seconds_since_epoch() -> Option<i64> {
        since_epoch(std::time::SystemTime::now())
    }

    /// Whole seconds from the Unix epoch to `time`; `None` before the epoch or beyond `i64`.
    #[cfg(not(all(target_arch = "wasm32", target_os = "wasi")))]
    pub fn since_epoch(time: std::time::SystemTime) -> Option<i64> {
        let elapsed = time.duration_since(std::time::UNIX_EPOCH).ok()?;
        i64::try_from(elapsed.as_secs()).ok()
    }
}

/// A calendar date `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking the day exists.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("\"{text}\" is not a date of the form YYYY-MM-DD");
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(invalid());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, String> {
            let part = &text[range];
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse().map_err(|_| invalid())
        };
        let year = number(0..4)?;
        let month = number(5..7)?;
        let day = number(8..10)?;
        let year = i32::try_from(year).map_err(|_| invalid())?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(format!("\"{text}\" is not a valid calendar date"));
        }
        Ok(Self { year, month, day })
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    pub fn days_since_epoch(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`), the inverse of
    /// [`Date::days_since_epoch`].
    pub fn from_days_since_epoch(days: i64) -> Self {
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// True once the whole day (UTC) is over at `now`: an exception expiring on a date is valid
    /// through that date.
    pub fn is_past(self, now: Timestamp) -> bool {
        now.0 >= (self.days_since_epoch() + 1) * 86_400
    }

    /// Whole days from `now`'s day (UTC) to this date: 0 on the date itself.
    pub fn days_after(self, now: Timestamp) -> i64 {
        self.days_since_epoch() - now.0.div_euclid(86_400)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_before_the_epoch_cannot_be_read() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(
            clock::since_epoch(UNIX_EPOCH - Duration::from_secs(1)),
            None
        );
        assert_eq!(clock::since_epoch(UNIX_EPOCH), Some(0));
        assert_eq!(
            clock::since_epoch(UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
            Some(1_795_000_000)
        );
        assert!(matches!(Now::read(), Now::At(Timestamp(seconds)) if seconds > 1_700_000_000));
        assert_eq!(Now::Unreadable.timestamp(), None);
    }

    #[test]
    fn dates_of_day_counts_invert_the_count() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "2026-12-03",
            "1969-12-31",
            "2400-03-01",
        ] {
            let date = Date::parse(text).expect("a date");
            assert_eq!(Date::from_days_since_epoch(date.days_since_epoch()), date);
        }
    }

    #[test]
    fn counts_days_from_the_epoch() {
        assert_eq!(Date::parse("1970-01-01").map(Date::days_since_epoch), Ok(0));
        assert_eq!(
            Date::parse("2000-03-01").map(Date::days_since_epoch),
            Ok(11_017)
        );
        assert_eq!(
            Date::parse("2026-11-22").map(Date::days_since_epoch),
            Ok(20_779)
        );
    }

    #[test]
    fn a_date_is_valid_through_its_last_second() {
        let date = Date::parse("2026-11-22").expect("valid");
        let start = Timestamp(20_779 * 86_400);
        assert!(!date.is_past(start));
        assert!(!date.is_past(Timestamp(start.0 + 86_399)));
        assert!(date.is_past(Timestamp(start.0 + 86_400)));
    }

    #[test]
    fn rejects_impossible_dates() {
        for text in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-01-0a",
            "",
        ] {
            assert!(Date::parse(text).is_err(), "{text}");
        }
        assert!(Date::parse("2028-02-29").is_ok());
    }
}
