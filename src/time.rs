//! Posting times: parsed, not sliced. A dump's time field may be RFC 3339, the Twitter and
//! Weibo `created_at` form, epoch seconds or milliseconds, or a format the user names; the
//! day a post counts under is its instant's date in UTC or in a chosen zone.

use std::fmt::Write as _;

use jiff::civil::{Date, DateTime};
use jiff::fmt::strtime::BrokenDownTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::error::Error;

/// The `created_at` form of the Twitter v1.1 and Weibo APIs: `Wed Oct 10 20:19:24 +0000 2018`.
const CREATED_AT: &str = "%a %b %d %H:%M:%S %z %Y";

/// A JSON number or digit string at or above this magnitude is epoch milliseconds, below it
/// epoch seconds: 10^11 seconds is the year 5138, 10^11 milliseconds is March 1973.
const MILLISECONDS_FROM: f64 = 1e11;

/// Parses posting times and tells their day.
///
/// Without a format it reads, in this order: epoch seconds or milliseconds (a number, or a
/// string of digits with an optional fraction); RFC 3339 / ISO 8601 with `Z` or an offset;
/// ISO 8601 without an offset, and a bare date, both taken in the parser's zone; the
/// `created_at` form of Twitter v1.1 and Weibo. With a format (strftime syntax, as
/// `jiff::fmt::strtime` reads it) it reads only that, and a time without an offset is taken
/// in the parser's zone.
///
/// ```
/// use rumor_triage::TimeParser;
/// let utc = TimeParser::default();
/// let t = utc.parse("Wed Oct 10 20:19:24 +0000 2018").unwrap();
/// assert_eq!((t.utc().as_str(), t.day().as_str()), ("2018-10-10T20:19:24Z", "2018-10-10"));
/// assert_eq!(utc.parse("1539202764").unwrap().utc(), "2018-10-10T20:19:24Z");
/// // 23:30 at UTC-5 is the next day in UTC, and the same day in New York in January.
/// assert_eq!(utc.parse("2018-01-10T23:30:00-05:00").unwrap().day(), "2018-01-11");
/// let new_york = TimeParser::default().zone("America/New_York")?;
/// assert_eq!(new_york.parse("2018-01-10T23:30:00-05:00").unwrap().day(), "2018-01-10");
/// assert!(utc.parse("Wed Oct 10").is_none());
/// # Ok::<(), rumor_triage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TimeParser {
    format: Option<String>,
    zone: TimeZone,
    zone_name: String,
}

impl Default for TimeParser {
    fn default() -> Self {
        Self {
            format: None,
            zone: TimeZone::UTC,
            zone_name: "UTC".into(),
        }
    }
}

/// A parsed posting time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostTime {
    /// The instant.
    pub timestamp: Timestamp,
    /// Its date in the parser's zone: the day the post counts under.
    pub date: Date,
    /// The text was already the instant's RFC 3339 UTC form (`2018-10-10T20:19:24Z`), and
    /// with the zone UTC its first ten bytes are the day: most dumps are written so, and
    /// copying it costs less than printing it again.
    canonical: Canonical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Canonical {
    No,
    Utc,
    UtcAndDay,
}

impl PostTime {
    /// The instant in RFC 3339, UTC (`2018-10-10T20:19:24Z`).
    pub fn utc(&self) -> String {
        self.timestamp.to_string()
    }

    /// The day, `YYYY-MM-DD`.
    pub fn day(&self) -> String {
        self.date.to_string()
    }

    /// The instant as fixed-width UTC text that sorts as the instants do (nanoseconds
    /// always written): the key of a chronological split.
    ///
    /// ```
    /// let parser = rumor_triage::TimeParser::default();
    /// let t = parser.parse("Wed Oct 10 20:19:24 +0000 2018").unwrap();
    /// assert_eq!(t.sort_key(), "2018-10-10T20:19:24.000000000Z");
    /// ```
    pub fn sort_key(&self) -> String {
        format!(
            "{}.{:09}Z",
            self.timestamp.strftime("%Y-%m-%dT%H:%M:%S"),
            self.timestamp.subsec_nanosecond()
        )
    }

    /// Appends [`PostTime::utc`] to `out`; `given` is the text this time was parsed from.
    pub(crate) fn push_utc(&self, given: &str, out: &mut String) {
        match self.canonical {
            Canonical::Utc | Canonical::UtcAndDay => out.push_str(given),
            Canonical::No => {
                let _ = write!(out, "{}", self.timestamp);
            }
        }
    }

    /// Appends [`PostTime::day`] to `out`; `given` as for [`PostTime::push_utc`].
    pub(crate) fn push_day(&self, given: &str, out: &mut String) {
        match (self.canonical, given.get(..10)) {
            (Canonical::UtcAndDay, Some(day)) => out.push_str(day),
            _ => {
                let _ = write!(out, "{}", self.date);
            }
        }
    }
}

/// Whether `text`, which parsed as an instant, is printed by jiff exactly as it is:
/// `YYYY-MM-DDTHH:MM:SSZ` with no fraction, and not a leap second (jiff reads `:60` as `:59`).
fn is_canonical_utc(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b.get(4) == Some(&b'-')
        && b.get(10) == Some(&b'T')
        && b.get(19) == Some(&b'Z')
        && b.get(17..19) != Some(b"60".as_slice())
        && b.first().is_some_and(u8::is_ascii_digit)
}

impl TimeParser {
    /// Read times with this strftime format only (`%d/%m/%Y %H:%M`, `%s`, …); checked
    /// here against the format's own syntax.
    pub fn format(mut self, format: &str) -> Result<Self, Error> {
        let mut probe = String::new();
        let sample = jiff::civil::date(2000, 1, 2).at(3, 4, 5, 0);
        let zoned = sample
            .to_zoned_datetime(TimeZone::UTC)
            .map_err(|e| Error::invalid_option("time-format", e.to_string()))?;
        BrokenDownTime::from(&zoned)
            .format(format, &mut probe)
            .map_err(|e| Error::invalid_option("time-format", e.to_string()))?;
        self.format = Some(format.to_owned());
        Ok(self)
    }

    /// Count days in this zone: an IANA name (`Asia/Shanghai`), `UTC`, or a fixed offset
    /// (`+08:00`, `-0500`). Times without an offset are taken in it too. Default UTC.
    pub fn zone(mut self, zone: &str) -> Result<Self, Error> {
        self.zone = parse_zone(zone)?;
        zone.clone_into(&mut self.zone_name);
        Ok(self)
    }

    /// The zone days are counted in, as given.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The time `text` gives, or `None` when it is not one this parser reads.
    pub fn parse(&self, given: &str) -> Option<PostTime> {
        let text = given.trim();
        let timestamp = match &self.format {
            Some(format) => self.with_format(format, text),
            None => self.auto(text),
        }?;
        // Copied only when `given` is the form itself, without surrounding spaces.
        let canonical = match (is_canonical_utc(given), self.zone == TimeZone::UTC) {
            (false, _) => Canonical::No,
            (true, false) => Canonical::Utc,
            (true, true) => Canonical::UtcAndDay,
        };
        Some(PostTime {
            timestamp,
            date: self.zone.to_datetime(timestamp).date(),
            canonical,
        })
    }

    fn auto(&self, text: &str) -> Option<Timestamp> {
        let first = text.bytes().next()?;
        if first.is_ascii_digit() || first == b'-' {
            if let Some(t) = epoch(text) {
                return Some(t);
            }
            if let Ok(t) = text.parse::<Timestamp>() {
                return Some(t);
            }
            if let Ok(dt) = text.parse::<DateTime>() {
                return self.in_zone(dt);
            }
            if let Ok(date) = text.parse::<Date>() {
                return self.in_zone(date.to_datetime(jiff::civil::Time::midnight()));
            }
            return None;
        }
        BrokenDownTime::parse(CREATED_AT, text)
            .and_then(|parsed| parsed.to_timestamp())
            .ok()
    }

    fn with_format(&self, format: &str, text: &str) -> Option<Timestamp> {
        let parsed = BrokenDownTime::parse(format, text).ok()?;
        if parsed.offset().is_some() || parsed.timestamp().is_some() {
            return parsed.to_timestamp().ok();
        }
        let datetime = match parsed.to_datetime() {
            Ok(dt) => dt,
            Err(_) => parsed
                .to_date()
                .ok()?
                .to_datetime(jiff::civil::Time::midnight()),
        };
        self.in_zone(datetime)
    }

    fn in_zone(&self, datetime: DateTime) -> Option<Timestamp> {
        self.zone.to_ambiguous_timestamp(datetime).compatible().ok()
    }
}

/// Epoch seconds or milliseconds (by magnitude), from digits with an optional sign and
/// fraction.
fn epoch(text: &str) -> Option<Timestamp> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    let nanos = if value.abs() >= MILLISECONDS_FROM {
        value * 1e6
    } else {
        value * 1e9
    };
    if !nanos.is_finite() || nanos.abs() > 9.0e27 {
        return None;
    }
    // Whole milliseconds or seconds are exact in an i128 of nanoseconds; a fraction keeps
    // the precision an f64 has.
    let exact: Option<i128> = if fraction.is_empty() {
        let n: i128 = text.parse().ok()?;
        let unit = if value.abs() >= MILLISECONDS_FROM {
            1_000_000
        } else {
            1_000_000_000
        };
        n.checked_mul(unit)
    } else {
        Some(nanos.round() as i128)
    };
    Timestamp::from_nanosecond(exact?).ok()
}

/// A zone from an IANA name, `UTC`/`Z`, or a fixed offset such as `+08:00` or `-0500`.
fn parse_zone(zone: &str) -> Result<TimeZone, Error> {
    if zone.eq_ignore_ascii_case("utc") || zone == "Z" {
        return Ok(TimeZone::UTC);
    }
    if zone.starts_with(['+', '-']) {
        for format in ["%:z", "%z"] {
            if let Some(offset) = BrokenDownTime::parse(format, zone)
                .ok()
                .and_then(|p| p.offset())
            {
                return Ok(TimeZone::fixed(offset));
            }
        }
        return Err(Error::invalid_option(
            "tz",
            format!("{zone:?} is not an offset such as +08:00 or -0500"),
        ));
    }
    TimeZone::get(zone).map_err(|e| {
        Error::invalid_option(
            "tz",
            format!("{zone:?} is not an IANA time zone or an offset: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::TimeParser;

    fn utc(text: &str) -> Option<(String, String)> {
        TimeParser::default()
            .parse(text)
            .map(|t| (t.utc(), t.day()))
    }

    fn pair(utc: &str, day: &str) -> Option<(String, String)> {
        Some((utc.to_owned(), day.to_owned()))
    }

    #[test]
    fn every_documented_form_is_read() {
        let cases = [
            (
                "2014-08-09T22:33:06Z",
                pair("2014-08-09T22:33:06Z", "2014-08-09"),
            ),
            (
                "2014-08-09T22:33:06+08:00",
                pair("2014-08-09T14:33:06Z", "2014-08-09"),
            ),
            (
                "2014-08-09T22:33:06.123Z",
                pair("2014-08-09T22:33:06.123Z", "2014-08-09"),
            ),
            (
                "2014-08-09 22:33:06",
                pair("2014-08-09T22:33:06Z", "2014-08-09"),
            ),
            (
                "2014-08-09T22:33:06",
                pair("2014-08-09T22:33:06Z", "2014-08-09"),
            ),
            ("2014-08-09", pair("2014-08-09T00:00:00Z", "2014-08-09")),
            (
                "Wed Oct 10 20:19:24 +0000 2018",
                pair("2018-10-10T20:19:24Z", "2018-10-10"),
            ),
            (
                "Tue May 31 17:46:55 +0800 2011",
                pair("2011-05-31T09:46:55Z", "2011-05-31"),
            ),
            (
                "Tue May 31 03:46:55 +0800 2011",
                pair("2011-05-30T19:46:55Z", "2011-05-30"),
            ),
            ("1539202764", pair("2018-10-10T20:19:24Z", "2018-10-10")),
            ("1539202764000", pair("2018-10-10T20:19:24Z", "2018-10-10")),
            ("1539202764.5", pair("2018-10-10T20:19:24.5Z", "2018-10-10")),
            ("1420070400.0", pair("2015-01-01T00:00:00Z", "2015-01-01")),
            (
                " 2014-08-09T22:33:06Z ",
                pair("2014-08-09T22:33:06Z", "2014-08-09"),
            ),
            ("0", pair("1970-01-01T00:00:00Z", "1970-01-01")),
            ("-86400", pair("1969-12-31T00:00:00Z", "1969-12-31")),
        ];
        for (text, want) in cases {
            assert_eq!(utc(text), want, "{text:?}");
        }
    }

    #[test]
    fn the_copied_canonical_form_is_what_jiff_prints() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut texts = vec![
            "2016-12-31T23:59:60Z".to_owned(),
            "2014-08-09T22:33:06Z".to_owned(),
            "0001-01-01T00:00:00Z".to_owned(),
            "9999-12-31T23:59:59Z".to_owned(),
            "2014-08-09t22:33:06z".to_owned(),
            "2014-08-09 22:33:06Z".to_owned(),
            " 2014-08-09T22:33:06Z".to_owned(),
            "2014-08-09T22:33:06Z\t".to_owned(),
        ];
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let second = (seed >> 11) as i64 % 253_402_300_799;
            texts.push(jiff::Timestamp::from_second(second).unwrap().to_string());
        }
        for zone in ["UTC", "Asia/Shanghai"] {
            let parser = TimeParser::default().zone(zone).unwrap();
            for text in &texts {
                let Some(t) = parser.parse(text) else {
                    continue;
                };
                let (mut utc, mut day) = (String::new(), String::new());
                t.push_utc(text, &mut utc);
                t.push_day(text, &mut day);
                assert_eq!((utc, day), (t.utc(), t.day()), "{text} in {zone}");
            }
        }
    }

    #[test]
    fn what_is_not_a_time_is_none() {
        for text in [
            "",
            " ",
            "Wed Oct 10",
            "yesterday",
            "2014-13-40",
            "12:30",
            "1e10",
            "--5",
            "99999999999999999999999999999",
            "2014-08-09T25:00:00Z",
            "Wed Oct 10 20:19:24 2018",
            "Thu Oct 10 20:19:24 +0000 2018",
        ] {
            assert_eq!(utc(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_zone_moves_days_not_instants() {
        // 23:30 at UTC-5 (New York in January) is 04:30 the next day in UTC.
        let text = "2018-01-10T23:30:00-05:00";
        assert_eq!(utc(text), pair("2018-01-11T04:30:00Z", "2018-01-11"));
        for zone in ["America/New_York", "-05:00", "-0500"] {
            let t = TimeParser::default()
                .zone(zone)
                .unwrap()
                .parse(text)
                .unwrap();
            assert_eq!(
                (t.utc(), t.day()),
                ("2018-01-11T04:30:00Z".into(), "2018-01-10".into()),
                "{zone}"
            );
        }
        // In October New York is at UTC-4: 04:30 UTC is 00:30 there, the next day too.
        let ny = TimeParser::default().zone("America/New_York").unwrap();
        assert_eq!(
            ny.parse("2018-10-10T23:30:00-05:00").unwrap().day(),
            "2018-10-11"
        );
        // A time without an offset is taken in the zone: 08:00 in Shanghai is midnight UTC.
        let shanghai = TimeParser::default().zone("Asia/Shanghai").unwrap();
        let t = shanghai.parse("2011-05-31 08:00:00").unwrap();
        assert_eq!(
            (t.utc(), t.day()),
            ("2011-05-31T00:00:00Z".into(), "2011-05-31".into())
        );
        let t = shanghai.parse("2011-05-31 07:59:59").unwrap();
        assert_eq!(
            (t.utc(), t.day()),
            ("2011-05-30T23:59:59Z".into(), "2011-05-31".into())
        );
    }

    #[test]
    fn a_named_format_is_the_only_one_read() {
        let p = TimeParser::default().format("%d/%m/%Y %H:%M").unwrap();
        let t = p.parse("09/08/2014 22:33").unwrap();
        assert_eq!(
            (t.utc(), t.day()),
            ("2014-08-09T22:33:00Z".into(), "2014-08-09".into())
        );
        assert!(p.parse("2014-08-09T22:33:06Z").is_none());
        let tokyo = TimeParser::default()
            .zone("Asia/Tokyo")
            .unwrap()
            .format("%Y%m%d")
            .unwrap();
        let t = tokyo.parse("20140809").unwrap();
        assert_eq!(
            (t.utc(), t.day()),
            ("2014-08-08T15:00:00Z".into(), "2014-08-09".into())
        );
        let with_offset = TimeParser::default().format("%Y-%m-%d %H:%M %z").unwrap();
        assert_eq!(
            with_offset.parse("2014-08-09 01:00 +0200").unwrap().day(),
            "2014-08-08"
        );
    }

    #[test]
    fn bad_zones_and_formats_are_option_errors() {
        for zone in ["Mars/Olympus", "+26:00", "+8:0x", ""] {
            let e = TimeParser::default().zone(zone).unwrap_err().to_string();
            assert!(e.contains("tz"), "{zone}: {e}");
        }
        let e = TimeParser::default().format("%K").unwrap_err().to_string();
        assert!(e.contains("time-format"), "{e}");
    }

    #[test]
    fn daylight_saving_gaps_and_folds_resolve_as_temporal_compatible() {
        let ny = TimeParser::default().zone("America/New_York").unwrap();
        // 02:30 on 2018-03-11 does not exist in New York: moved forward to 03:30 EDT.
        assert_eq!(
            ny.parse("2018-03-11 02:30:00").unwrap().utc(),
            "2018-03-11T07:30:00Z"
        );
        // 01:30 on 2018-11-04 happens twice: the earlier (EDT) is taken.
        assert_eq!(
            ny.parse("2018-11-04 01:30:00").unwrap().utc(),
            "2018-11-04T05:30:00Z"
        );
    }
}
