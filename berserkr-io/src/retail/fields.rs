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

/// The value of a run of 1 to 18 ASCII digits (never overflows an i64).
fn small_digits(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    digits.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
    })
}

/// Parses a whole number, as `Quantity` is written.
pub(crate) fn parse_integer(value: &[u8]) -> Result<i64, String> {
    // Digits are read directly: this runs once a row, and going through
    // `str` costs a UTF-8 check and a call for nothing.
    let fast = match value {
        [b'-', digits @ ..] => small_digits(digits).map(|n| -n),
        [b'+', digits @ ..] => small_digits(digits),
        digits => small_digits(digits),
    };
    fast.or_else(|| {
        std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
    })
    .ok_or_else(|| format!("{:?} is not an integer", String::from_utf8_lossy(value)))
}

/// Powers of ten that are exact as f64.
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Parses a decimal number, as `UnitPrice` is written.
pub(crate) fn parse_float(value: &[u8]) -> Result<f64, String> {
    parse_plain_decimal(value)
        .or_else(|| {
            std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite())
        })
        .ok_or_else(|| format!("{:?} is not a number", String::from_utf8_lossy(value)))
}

/// `-?digits[.digits]` with at most 15 digits in all, as prices are
/// written: the digits as an integer are exact in an f64, and so is the
/// power of ten, so one division gives the correctly rounded value, the
/// same as `str::parse` (Clinger's fast path). Anything else is `None`.
fn parse_plain_decimal(value: &[u8]) -> Option<f64> {
    let (negative, body) = match value {
        [b'-', body @ ..] => (true, body),
        body => (false, body),
    };
    let (whole, fraction) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &[][..]),
    };
    if whole.is_empty() || whole.len() + fraction.len() > 15 {
        return None;
    }
    let mut digits = small_digits(whole)?;
    if !fraction.is_empty() {
        digits = digits * 10i64.pow(fraction.len() as u32) + small_digits(fraction)?;
    }
    let magnitude = digits as f64 / EXACT_POWERS_OF_TEN[fraction.len()];
    Some(if negative { -magnitude } else { magnitude })
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
    small_digits(whole).ok_or_else(|| {
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
        assert_eq!(parse_integer(b"+7"), Ok(7));
        assert_eq!(parse_integer(b"-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_integer(b"-").is_err());
        assert!(parse_integer(b"99999999999999999999").is_err());
    }

    #[test]
    fn the_decimal_fast_path_rounds_as_str_parse_does() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(3);
        let mut cases: Vec<String> = [
            "0",
            "0.0",
            "-0.0",
            "1.",
            "00.10",
            "123456789012345",
            "0.1",
            "2.675",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..100_000 {
            let digits = rng.random_range(1..10);
            let whole = rng.random_range(0..10u64.pow(digits));
            let places = rng.random_range(0..7);
            let fraction = rng.random_range(0..10u64.pow(places));
            let sign = if rng.random_bool(0.2) { "-" } else { "" };
            cases.push(if places == 0 {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{fraction:0width$}", width = places as usize)
            });
        }
        for case in cases {
            let expected: f64 = case.parse().unwrap();
            let got = parse_float(case.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), expected.to_bits(), "{case}");
        }
    }
}
