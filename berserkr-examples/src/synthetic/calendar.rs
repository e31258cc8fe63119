//! When the shop trades and how busy it is: the real data's calendar (no
//! Saturdays, closed from Christmas Eve to 3 January and on English bank
//! holidays), its weekly rhythm and its seasonal curve with the Christmas
//! peak in November.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::synthetic::rng::Rng;

/// A point of a yearly curve: (month, day, value).
type Knot = (u32, u32, f64);

/// Rows per trading day by season, relative to February, from the real data
/// (monthly means of 2011, and December 2010 day by day).
const SHOP_CURVE: &[Knot] = &[
    (1, 15, 1.25),
    (2, 15, 1.0),
    (3, 15, 1.18),
    (4, 15, 1.22),
    (5, 15, 1.27),
    (6, 15, 1.24),
    (7, 15, 1.3),
    (8, 15, 1.2),
    (9, 15, 1.65),
    (10, 15, 2.05),
    (11, 15, 2.8),
    (12, 5, 2.75),
    (12, 15, 1.7),
    (12, 23, 0.7),
];

/// Demand for Christmas items: almost none in spring, ramping up from
/// August, at its height in November (about 40 times April's).
const CHRISTMAS_CURVE: &[Knot] = &[
    (1, 10, 0.12),
    (2, 1, 0.06),
    (6, 1, 0.06),
    (7, 15, 0.3),
    (8, 15, 0.7),
    (9, 15, 1.8),
    (10, 15, 2.6),
    (11, 15, 3.0),
    (12, 5, 2.4),
    (12, 20, 1.0),
    (12, 31, 0.3),
];

/// Demand for garden and picnic items.
const SUMMER_CURVE: &[Knot] = &[
    (1, 15, 0.3),
    (3, 15, 0.7),
    (5, 15, 1.8),
    (6, 30, 2.5),
    (8, 15, 1.8),
    (9, 30, 0.6),
    (11, 15, 0.25),
];

/// Demand for hand warmers, hot water bottles and the like.
const WINTER_CURVE: &[Knot] = &[
    (1, 15, 2.0),
    (2, 28, 1.4),
    (4, 15, 0.5),
    (7, 15, 0.25),
    (9, 15, 0.8),
    (10, 31, 2.0),
    (12, 10, 2.4),
];

/// Rows by weekday relative to Monday (the real data's means); Saturday
/// is closed.
fn weekday_factor(weekday: Weekday) -> f64 {
    match weekday {
        Weekday::Mon => 1.0,
        Weekday::Tue => 0.97,
        Weekday::Wed => 0.88,
        Weekday::Thu => 0.97,
        Weekday::Fri => 0.81,
        Weekday::Sat => 0.0,
        Weekday::Sun => 0.64,
    }
}

/// Which yearly demand curve an item follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Season {
    /// All year round.
    None,
    /// Christmas decorations, cards, advent calendars.
    Christmas,
    /// Garden, picnic and beach.
    Summer,
    /// Warmers and bottles.
    Winter,
}

/// The value of a yearly curve on `date`, linear between knots and
/// wrapping round the new year.
fn curve(knots: &[Knot], date: NaiveDate) -> f64 {
    // Positions in a 365-day year; 29 February sits on 1 March.
    let position = |month: u32, day: u32| -> f64 {
        const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        f64::from(BEFORE[(month - 1) as usize] + day.min(31) - 1)
    };
    let x = position(date.month(), date.day());
    let points: Vec<(f64, f64)> = knots.iter().map(|&(m, d, v)| (position(m, d), v)).collect();
    let (last_x, last_v) = points[points.len() - 1];
    let (first_x, first_v) = points[0];
    let mut previous = (last_x - 365.0, last_v);
    for &(px, pv) in points
        .iter()
        .chain(std::iter::once(&(first_x + 365.0, first_v)))
    {
        if x <= px {
            let (qx, qv) = previous;
            return qv + (pv - qv) * (x - qx) / (px - qx);
        }
        previous = (px, pv);
    }
    first_v
}

impl Season {
    /// Demand for the season's items on `date`, relative to the rest of
    /// the catalogue, with `strength` 1 as in the real data and 0 flat.
    pub(crate) fn factor(self, date: NaiveDate, strength: f64) -> f64 {
        let knots = match self {
            Season::None => return 1.0,
            Season::Christmas => CHRISTMAS_CURVE,
            Season::Summer => SUMMER_CURVE,
            Season::Winter => WINTER_CURVE,
        };
        curve(knots, date).powf(strength)
    }
}

/// Easter Sunday of `year` (the anonymous Gregorian algorithm).
fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// Whether the shop trades on `date`, as the real one did: never on
/// Saturdays, not from 24 December to 3 January, nor on Good Friday,
/// Easter Sunday and Monday, and the May and August bank holidays.
pub(crate) fn is_open(date: NaiveDate) -> bool {
    let (month, day) = (date.month(), date.day());
    if date.weekday() == Weekday::Sat || (month == 12 && day >= 24) || (month == 1 && day <= 3) {
        return false;
    }
    let monday = date.weekday() == Weekday::Mon;
    // First Monday of May; last Mondays of May and August.
    if monday && ((month == 5 && (day <= 7 || day >= 25)) || (month == 8 && day >= 25)) {
        return false;
    }
    if let Some(easter) = easter(date.year()) {
        let offset = date.signed_duration_since(easter).num_days();
        if matches!(offset, -2 | 0 | 1) {
            return false;
        }
    }
    true
}

/// The trading days of the generated period and how busy each is.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// Every calendar day of the period, trading or not.
    pub(crate) dates: Vec<NaiveDate>,
    /// Relative busyness of each day: 0 when closed, otherwise the
    /// seasonal curve times the weekday factor times a little noise,
    /// scaled so that the trading days average 1 ("business days").
    pub(crate) intensity: Vec<f64>,
}

impl Calendar {
    /// The `days` days from `start`; `None` if a date overflows.
    pub(crate) fn new(
        start: NaiveDate,
        days: u32,
        seasonality: f64,
        rng: &mut Rng,
    ) -> Option<Self> {
        let dates = (0..days)
            .map(|i| start.checked_add_days(Days::new(u64::from(i))))
            .collect::<Option<Vec<_>>>()?;
        let mut intensity: Vec<f64> = dates
            .iter()
            .map(|&date| {
                let noise = rng.lognormal(1.0, 0.25);
                if is_open(date) {
                    curve(SHOP_CURVE, date).powf(seasonality)
                        * weekday_factor(date.weekday())
                        * noise
                } else {
                    0.0
                }
            })
            .collect();
        let open = intensity.iter().filter(|&&x| x > 0.0).count();
        let total: f64 = intensity.iter().sum();
        if open > 0 {
            let scale = open as f64 / total;
            intensity.iter_mut().for_each(|x| *x *= scale);
        }
        Some(Self { dates, intensity })
    }

    /// Number of trading days.
    #[cfg(test)]
    pub(crate) fn open_days(&self) -> usize {
        self.intensity.iter().filter(|&&x| x > 0.0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::rng::Stream;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter(2010), Some(date(2010, 4, 4)));
        assert_eq!(easter(2011), Some(date(2011, 4, 24)));
        assert_eq!(easter(2024), Some(date(2024, 3, 31)));
    }

    #[test]
    fn the_real_datas_closed_days() {
        // Every weekday and Sunday the real shop did not trade between
        // 2010-12-01 and 2011-12-09, but for the royal wedding.
        let closed: Vec<NaiveDate> = (0..374)
            .map(|i| date(2010, 12, 1) + Days::new(i))
            .filter(|d| d.weekday() != Weekday::Sat && !is_open(*d))
            .collect();
        let expected: Vec<NaiveDate> = [
            (2010, 12, 24),
            (2010, 12, 26),
            (2010, 12, 27),
            (2010, 12, 28),
            (2010, 12, 29),
            (2010, 12, 30),
            (2010, 12, 31),
            (2011, 1, 2),
            (2011, 1, 3),
            (2011, 4, 22),
            (2011, 4, 24),
            (2011, 4, 25),
            (2011, 5, 2),
            (2011, 5, 30),
            (2011, 8, 29),
        ]
        .iter()
        .map(|&(y, m, d)| date(y, m, d))
        .collect();
        assert_eq!(closed, expected);
    }

    #[test]
    fn curves_interpolate_and_wrap() {
        assert!((curve(SHOP_CURVE, date(2011, 2, 15)) - 1.0).abs() < 1e-12);
        let nov = curve(SHOP_CURVE, date(2011, 11, 20));
        let feb = curve(SHOP_CURVE, date(2011, 2, 20));
        assert!(nov > 2.5 * feb, "{nov} {feb}");
        // Between the last knot and the first of the next year.
        let new_year = curve(CHRISTMAS_CURVE, date(2011, 1, 5));
        assert!(new_year > 0.12 && new_year < 0.3, "{new_year}");
        assert_eq!(Season::Christmas.factor(date(2011, 4, 1), 0.0), 1.0);
        assert!(
            Season::Christmas.factor(date(2011, 11, 15), 1.0)
                > 25.0 * Season::Christmas.factor(date(2011, 4, 15), 1.0)
        );
    }

    #[test]
    fn intensity_averages_one_over_trading_days() {
        let mut rng = Rng::new(1, Stream::Calendar);
        let calendar = Calendar::new(date(2010, 12, 1), 374, 1.0, &mut rng).unwrap();
        assert_eq!(calendar.open_days(), 306);
        let total: f64 = calendar.intensity.iter().sum();
        assert!((total - 306.0).abs() < 1e-6);
        assert!(Calendar::new(NaiveDate::MAX, 2, 1.0, &mut rng).is_none());
    }
}
