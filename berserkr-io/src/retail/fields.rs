//! Parsers for the values of one Online Retail field, each returning why a
//! value was refused so that the error can name it.

use arrow::datatypes::TimeUnit;
use chrono::NaiveDate;

/// How `InvoiceDate` values are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateStyle {
    /// Each value by its shape: `2010-12-01 08:26:00` is ISO, and
    /// `12/1/2010 8:26` is always month first. Day and month are never
    /// guessed from the numbers.
    #[default]
    Auto,
    /// `YYYY-MM-DD HH:MM[:SS]` only.
    Iso,
    /// `M/D/YYYY H:MM[:SS]` only, month first.
    MonthFirst,
}

/// The unit of the `InvoiceDate` column.
pub(crate) const TIME_UNIT: TimeUnit = TimeUnit::Microsecond;

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 4 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0')),
    )
}

/// Splits `H:MM[:SS]` into its numbers.
fn clock(bytes: &[u8]) -> Option<(u32, u32, u32)> {
    let mut parts = bytes.split(|&b| b == b':');
    let hour = digits(parts.next()?)?;
    let minute_part = parts.next()?;
    if minute_part.len() != 2 {
        return None;
    }
    let minute = digits(minute_part)?;
    let second = match parts.next() {
        Some(s) if s.len() == 2 => digits(s)?,
        Some(_) => return None,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((hour, minute, second))
}

fn micros(year: u32, month: u32, day: u32, (h, m, s): (u32, u32, u32)) -> Option<i64> {
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(date.and_hms_opt(h, m, s)?.and_utc().timestamp_micros())
}

fn parse_iso(value: &[u8]) -> Option<i64> {
    // YYYY-MM-DD then a space or a 'T', then the clock.
    if value.len() < 15 || value[4] != b'-' || value[7] != b'-' || !matches!(value[10], b' ' | b'T')
    {
        return None;
    }
    let year = digits(&value[..4])?;
    let month = digits(&value[5..7])?;
    let day = digits(&value[8..10])?;
    micros(year, month, day, clock(&value[11..])?)
}

fn parse_month_first(value: &[u8]) -> Option<i64> {
    let space = value.iter().position(|&b| b == b' ')?;
    let mut date = value[..space].split(|&b| b == b'/');
    let month = date.next().filter(|p| p.len() <= 2).and_then(digits)?;
    let day = date.next().filter(|p| p.len() <= 2).and_then(digits)?;
    let year = date.next().filter(|p| p.len() == 4).and_then(digits)?;
    if date.next().is_some() {
        return None;
    }
    micros(year, month, day, clock(&value[space + 1..])?)
}

/// Parses an `InvoiceDate` into microseconds since the epoch (no time zone).
pub(crate) fn parse_date(value: &[u8], style: DateStyle) -> Result<i64, String> {
    let parsed = match style {
        DateStyle::Iso => parse_iso(value),
        DateStyle::MonthFirst => parse_month_first(value),
        DateStyle::Auto if value.contains(&b'/') => parse_month_first(value),
        DateStyle::Auto => parse_iso(value),
    };
    parsed.ok_or_else(|| {
        let expected = match style {
            DateStyle::Iso => "YYYY-MM-DD HH:MM:SS",
            DateStyle::MonthFirst => "M/D/YYYY H:MM",
            DateStyle::Auto => "YYYY-MM-DD HH:MM:SS or M/D/YYYY H:MM",
        };
        format!(
            "{:?} is not a valid date of the form {expected}",
            String::from_utf8_lossy(value)
        )
    })
}

/// Parses a whole number, as `Quantity` is written.
pub(crate) fn parse_integer(value: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("{:?} is not an integer", String::from_utf8_lossy(value)))
}

/// Parses a decimal number, as `UnitPrice` is written.
pub(crate) fn parse_float(value: &[u8]) -> Result<f64, String> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{:?} is not a number", String::from_utf8_lossy(value)))
}

/// Parses a `CustomerID`, written as a whole number or as a float with a
/// zero fraction (`17850.0`); anything with a real fraction is refused
/// rather than rounded.
pub(crate) fn parse_customer_id(value: &[u8]) -> Result<i64, String> {
    let whole = match value.iter().position(|&b| b == b'.') {
        Some(dot) if value[dot + 1..].iter().all(|&b| b == b'0') => &value[..dot],
        Some(_) => &[][..],
        None => value,
    };
    std::str::from_utf8(whole)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| {
            format!(
                "{:?} is not a whole customer id",
                String::from_utf8_lossy(value)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn both_date_styles() {
        let auto = DateStyle::Auto;
        assert_eq!(
            parse_date(b"2010-12-01 08:26:00", auto),
            Ok(at(2010, 12, 1, 8, 26, 0))
        );
        assert_eq!(
            parse_date(b"12/1/2010 8:26", auto),
            Ok(at(2010, 12, 1, 8, 26, 0))
        );
        // Month first even where the day could be a month: never guessed.
        assert_eq!(
            parse_date(b"1/12/2011 17:05", auto),
            Ok(at(2011, 1, 12, 17, 5, 0))
        );
        assert!(parse_date(b"13/1/2011 8:00", auto).is_err());
        assert!(parse_date(b"2011-02-30 08:00:00", auto).is_err());
        assert!(parse_date(b"2011-02-03", auto).is_err());
        assert!(parse_date(b"12/1/2010 8:26", DateStyle::Iso).is_err());
        assert!(parse_date(b"2010-12-01 08:26:00", DateStyle::MonthFirst).is_err());
        assert!(parse_date(b"2010-12-01 25:26:00", auto).is_err());
    }

    #[test]
    fn customer_ids() {
        assert_eq!(parse_customer_id(b"17850.0"), Ok(17850));
        assert_eq!(parse_customer_id(b"17850"), Ok(17850));
        assert!(parse_customer_id(b"17850.5").is_err());
        assert!(parse_customer_id(b"-1").is_err());
        assert!(parse_customer_id(b"abc").is_err());
        assert!(parse_customer_id(b".0").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_integer(b"-12"), Ok(-12));
        assert!(parse_integer(b"1.5").is_err());
        assert_eq!(parse_float(b"2.55"), Ok(2.55));
        assert_eq!(parse_float(b"-11062.06"), Ok(-11062.06));
        assert!(parse_float(b"NaN").is_err());
        assert!(parse_float(b"").is_err());
    }
}
