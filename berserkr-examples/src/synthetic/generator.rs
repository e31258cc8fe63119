//! The simulation, day by day: customers who arrive, come back at their own
//! pace and leave; baskets of favourites and discoveries; guests of the
//! online shop; returns; and the shop's odd rows.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{Datelike, NaiveDate};

use crate::synthetic::calendar::Calendar;
use crate::synthetic::catalogue::{Catalogue, csv_field};
use crate::synthetic::csv::{Corruptor, HEADER, Row, push_2, push_u64};
use crate::synthetic::rng::{Rng, Stream};
use crate::synthetic::{Config, DayFile, Report};

/// Countries of customers outside the United Kingdom, weighted by the real
/// data's customer counts, with the postage they pay (thousandths of a
/// pound).
const FOREIGN: &[(&str, f64, u32)] = &[
    ("Germany", 95.0, 18_000),
    ("France", 87.0, 18_000),
    ("Spain", 31.0, 28_000),
    ("Belgium", 25.0, 15_000),
    ("Switzerland", 21.0, 40_000),
    ("Portugal", 19.0, 28_000),
    ("Italy", 15.0, 28_000),
    ("Finland", 12.0, 40_000),
    ("Austria", 11.0, 28_000),
    ("Norway", 10.0, 40_000),
    ("Netherlands", 9.0, 15_000),
    ("Australia", 9.0, 40_000),
    ("Denmark", 9.0, 28_000),
    ("Channel Islands", 9.0, 15_000),
    ("Cyprus", 8.0, 40_000),
    ("Sweden", 8.0, 40_000),
    ("Japan", 8.0, 40_000),
    ("Poland", 6.0, 28_000),
    ("EIRE", 5.0, 15_000),
    ("USA", 4.0, 40_000),
    ("Canada", 4.0, 40_000),
    ("Israel", 4.0, 40_000),
    ("Greece", 4.0, 40_000),
    ("Unspecified", 4.0, 18_000),
    ("Malta", 2.0, 40_000),
    ("United Arab Emirates", 2.0, 40_000),
    ("Bahrain", 2.0, 40_000),
    ("Iceland", 1.0, 40_000),
    ("Singapore", 1.0, 40_000),
    ("Lithuania", 1.0, 28_000),
    ("Czech Republic", 1.0, 28_000),
    ("European Community", 1.0, 18_000),
    ("RSA", 1.0, 40_000),
    ("Brazil", 1.0, 40_000),
];

/// Index of the home country in the country table.
const UK: u16 = 0;

/// Index of EIRE in the country table (1 + its place in [`FOREIGN`]).
const EIRE: u16 = 19;

/// Rows by hour of the day in the real data.
const HOURS: &[(u32, f64)] = &[
    (7, 0.4),
    (8, 9.0),
    (9, 34.0),
    (10, 49.0),
    (11, 58.0),
    (12, 79.0),
    (13, 72.0),
    (14, 67.0),
    (15, 78.0),
    (16, 55.0),
    (17, 28.0),
    (18, 8.0),
    (19, 4.0),
    (20, 1.0),
];

/// The latest minute of a trading day (20:59).
const LAST_MINUTE: u16 = 20 * 60 + 59;

/// Stock codes that are not products, with their descriptions as the real
/// export writes them (the codes `berserkr_io::clean` drops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Postage,
    DotcomPostage,
    Manual,
    Carriage,
    Discount,
    Samples,
    BankCharges,
    AmazonFee,
    Cruk,
    Pads,
    GiftVoucher,
}

impl Special {
    fn code(self) -> &'static [u8] {
        match self {
            Special::Postage => b"POST",
            Special::DotcomPostage => b"DOT",
            Special::Manual => b"M",
            Special::Carriage => b"C2",
            Special::Discount => b"D",
            Special::Samples => b"S",
            Special::BankCharges => b"BANK CHARGES",
            Special::AmazonFee => b"AMAZONFEE",
            Special::Cruk => b"CRUK",
            Special::Pads => b"PADS",
            Special::GiftVoucher => b"gift_0001_20",
        }
    }

    fn description(self) -> &'static [u8] {
        match self {
            Special::Postage => b"POSTAGE",
            Special::DotcomPostage => b"DOTCOM POSTAGE",
            Special::Manual => b"Manual",
            Special::Carriage => b"CARRIAGE",
            Special::Discount => b"Discount",
            Special::Samples => b"SAMPLES",
            Special::BankCharges => b"Bank Charges",
            Special::AmazonFee => b"AMAZON FEE",
            Special::Cruk => b"CRUK Commission",
            Special::Pads => b"PADS TO MATCH ALL CUSHIONS",
            Special::GiftVoucher => "Dotcomgiftshop Gift Voucher £20.00".as_bytes(),
        }
    }
}

/// Notes written instead of the description on stock adjustments, as the
/// warehouse wrote them (empty most of the time); already CSV fields.
const ADJUSTMENT_NOTES: &[&str] = &[
    "damaged",
    "damages",
    "?",
    "check",
    "lost",
    "wet damaged",
    "smashed",
    "missing",
    "thrown away",
    "\"Unsaleable, destroyed.\"",
    "found",
    "amazon",
];

/// What a line sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Item(u32),
    Special(Special),
}

/// Which description a line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    /// The item's own.
    Own,
    /// None (an empty field).
    Empty,
    /// One of [`ADJUSTMENT_NOTES`].
    Adjustment(u8),
}

#[derive(Debug, Clone, Copy)]
struct Line {
    what: What,
    quantity: i32,
    /// Thousandths of a pound.
    price: u32,
    note: Note,
}

#[derive(Debug, Clone, Copy)]
struct Invoice {
    minute: u16,
    /// Creation order, which breaks ties of `minute`.
    seq: u32,
    cancellation: bool,
    customer: u32,
    country: u16,
    start: u32,
    end: u32,
}

/// Lines a customer returns on a later (or the same) day.
#[derive(Debug)]
struct Cancellation {
    customer: u32,
    /// The earliest minute: after the sale, when it is the same day.
    after: Option<u16>,
    lines: Vec<Line>,
}

/// How a customer buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// A few of each.
    Retail,
    /// Packs.
    Shop,
    /// Many packs.
    Wholesale,
}

/// An item a customer comes back for.
#[derive(Debug, Clone, Copy)]
struct Favourite {
    item: u32,
    quantity: i32,
    /// Chance of buying it when it is due.
    affinity: f32,
    /// Days it lasts.
    period: f32,
    /// Day index it was last bought (before the period for older habits).
    last: f32,
}

#[derive(Debug)]
struct Customer {
    id: u32,
    country: u16,
    segment: Segment,
    /// Day index of the first visit.
    arrival: u32,
    /// Day index from which the customer buys no more.
    churn: u32,
    one_time: bool,
    orders: u32,
    last_order: Option<u32>,
    /// Mean business days between orders.
    gap: f64,
    /// Mean lines per order.
    basket: f32,
    themes: [u16; 2],
    favourites: Vec<Favourite>,
}

/// Non-product lines and single rows, per invoice or per row at the
/// default non-product rate; they scale with the rate.
mod odds {
    /// POST on an order from abroad.
    pub(super) const POSTAGE_ABROAD: f64 = 0.75;
    /// POST on an order from the United Kingdom.
    pub(super) const POSTAGE_HOME: f64 = 0.003;
    /// C2 on an order from EIRE.
    pub(super) const CARRIAGE_EIRE: f64 = 0.3;
    /// M on any customer order.
    pub(super) const MANUAL: f64 = 0.025;
    /// PADS on any customer order.
    pub(super) const PADS: f64 = 0.0003;
    /// DOT on a guest order.
    pub(super) const DOTCOM_POSTAGE: f64 = 0.3;
    /// A gift voucher on a guest order.
    pub(super) const GIFT_VOUCHER: f64 = 0.03;
    /// D on a cancellation.
    pub(super) const DISCOUNT: f64 = 0.04;
    /// CRUK on a cancellation.
    pub(super) const CRUK: f64 = 0.005;
    /// BANK CHARGES invoices, per row of the day.
    pub(super) const BANK_CHARGES: f64 = 0.00007;
    /// AMAZONFEE invoices, per row of the day.
    pub(super) const AMAZON_FEE: f64 = 0.00006;
    /// Cancelled SAMPLES invoices, per row of the day.
    pub(super) const SAMPLES: f64 = 0.0001;
    /// The non-product rate these make, about.
    pub(super) const DEFAULT_RATE: f64 = 0.0055;
}

/// Generates the days of a [`SyntheticRetail`](crate::synthetic::SyntheticRetail)
/// one at a time: an iterator of [`DayFile`]s, one per trading day, in
/// date order. Memory holds the customers and the catalogue, never more
/// than one day of rows.
///
/// Made by [`SyntheticRetail::days`](crate::synthetic::SyntheticRetail::days).
#[derive(Debug)]
pub struct Days {
    config: Config,
    calendar: Calendar,
    catalogue: Catalogue,
    countries: Vec<(Box<[u8]>, u32)>,
    customers: Vec<Customer>,
    /// Customers by arrival day, and how many have arrived.
    arrival_order: Vec<u32>,
    arrived: usize,
    /// Customers by when they are next due to order, in business days.
    queue: BinaryHeap<Reverse<(u64, u32)>>,
    /// The business time of the last order taken from the queue.
    clock: f64,
    /// Returns waiting for their day.
    pending: Vec<Vec<Cancellation>>,
    /// Next calendar day index.
    day: u32,
    rng: Rng,
    corruptor: Corruptor,
    /// Rows wanted per calendar day.
    targets: Vec<f64>,
    /// Rows wanted and made so far: of customers (their orders and
    /// returns, a return counted when it is decided) and of guests.
    wanted_customer: f64,
    made_customer: f64,
    wanted_guest: f64,
    made_guest: f64,
    /// Chance that a customer's line is returned.
    cancel_chance: f64,
    /// The non-product rate over its default.
    special_scale: f64,
    next_invoice: u64,
    invoices: Vec<Invoice>,
    lines: Vec<Line>,
    /// The last basket each item went into, to keep a basket's items apart.
    in_basket: Vec<u32>,
    basket_serial: u32,
    report: Report,
}

/// Sorts as `value` does, for the queue's keys (non-negative values).
fn key(value: f64) -> u64 {
    value.max(0.0).to_bits()
}

impl Days {
    pub(crate) fn new(config: Config) -> Self {
        let mut calendar_rng = Rng::new(config.seed, Stream::Calendar);
        // Validated: the period's dates exist.
        let calendar = Calendar::new(
            config.start,
            config.days,
            config.seasonality,
            &mut calendar_rng,
        )
        .unwrap_or_else(|| Calendar {
            dates: Vec::new(),
            intensity: Vec::new(),
        });
        let days = calendar.dates.len() as u32;
        let mut catalogue_rng = Rng::new(config.seed, Stream::Catalogue);
        let catalogue = Catalogue::new(config.items, days.max(1), &mut catalogue_rng);
        let mut countries: Vec<(Box<[u8]>, u32)> = vec![(csv_field("United Kingdom"), 18_000)];
        countries.extend(
            FOREIGN
                .iter()
                .map(|&(name, _, postage)| (csv_field(name), postage)),
        );

        let intensity_total: f64 = calendar.intensity.iter().sum();
        let targets: Vec<f64> = calendar
            .intensity
            .iter()
            .map(|x| {
                if intensity_total > 0.0 {
                    config.rows as f64 * x / intensity_total
                } else {
                    0.0
                }
            })
            .collect();
        let customer_share = 1.0 - config.missing_customer_rate - config.cancellation_rate;
        let mut days_out = Self {
            cancel_chance: (config.cancellation_rate / customer_share.max(1e-9)).min(0.9),
            special_scale: config.non_product_rate / odds::DEFAULT_RATE,
            customers: Vec::new(),
            arrival_order: Vec::new(),
            arrived: 0,
            queue: BinaryHeap::new(),
            clock: 0.0,
            pending: (0..days).map(|_| Vec::new()).collect(),
            day: 0,
            rng: Rng::new(config.seed, Stream::Days),
            corruptor: Corruptor::new(config.seed, config.malformed_rate),
            targets,
            wanted_customer: 0.0,
            made_customer: 0.0,
            wanted_guest: 0.0,
            made_guest: 0.0,
            next_invoice: 0,
            invoices: Vec::new(),
            lines: Vec::new(),
            in_basket: vec![u32::MAX; catalogue.items.len()],
            basket_serial: 0,
            report: Report::default(),
            countries,
            catalogue,
            calendar,
            config,
        };
        days_out.make_customers();
        // Invoice numbers as the real data's, 6 digits while they last.
        let expected_invoices = days_out.config.rows / 15 + 100;
        days_out.next_invoice = if 536_365 + expected_invoices <= 999_999 {
            536_365
        } else {
            999_999u64.saturating_sub(expected_invoices).max(100_000)
        };
        days_out
    }

    /// What has been generated so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The trading days still to come.
    pub fn remaining(&self) -> usize {
        self.calendar.intensity[(self.day as usize).min(self.calendar.intensity.len())..]
            .iter()
            .filter(|&&x| x > 0.0)
            .count()
    }

    /// Generates the next trading day into `csv` (cleared first), header
    /// included; `None` after the last. Reusing one buffer saves an
    /// allocation a day.
    pub fn next_into(&mut self, csv: &mut Vec<u8>) -> Option<(NaiveDate, DayStats)> {
        loop {
            let day = self.day as usize;
            let date = *self.calendar.dates.get(day)?;
            self.day += 1;
            if self.calendar.intensity[day] > 0.0 {
                csv.clear();
                let stats = self.generate_day(day as u32, date, csv);
                return Some((date, stats));
            }
        }
    }

    /// Creates every customer: who they are, when they come and go, how
    /// often they buy (calibrated so that their orders make the rows
    /// wanted).
    fn make_customers(&mut self) {
        let config = &self.config;
        let mut rng = Rng::new(config.seed, Stream::Customers);
        let days = self.calendar.dates.len();
        // Business time up to each day, for arrivals and calibration.
        let mut cumulative = Vec::with_capacity(days + 1);
        cumulative.push(0.0);
        for x in &self.calendar.intensity {
            cumulative.push(cumulative[cumulative.len() - 1] + x);
        }
        let total = cumulative[days];
        let foreign_weights: Vec<f64> = FOREIGN.iter().map(|c| c.1).collect();
        let themes = self.catalogue.theme_count() as u64;
        let mut customers = Vec::with_capacity(config.customers);
        let mut raw_rate = Vec::with_capacity(config.customers);
        for index in 0..config.customers {
            let foreign = rng.chance(config.foreign_customer_rate);
            let country = if foreign {
                1 + rng.weighted(&foreign_weights) as u16
            } else {
                UK
            };
            let segment = if foreign {
                rng.pick(&[
                    (Segment::Retail, 0.2),
                    (Segment::Shop, 0.5),
                    (Segment::Wholesale, 0.3),
                ])
            } else {
                rng.pick(&[
                    (Segment::Retail, 0.45),
                    (Segment::Shop, 0.4),
                    (Segment::Wholesale, 0.15),
                ])
            };
            let (basket, pace) = match segment {
                Segment::Retail => (8.0, 1.0),
                Segment::Shop => (17.0, 1.3),
                Segment::Wholesale => (30.0, 2.0),
            };
            // Existing customers at the start; the rest arrive as busily
            // as the shop trades.
            let arrival = if total <= 0.0 || rng.chance(0.65) {
                0
            } else {
                let target = rng.f64() * total;
                cumulative
                    .partition_point(|&c| c <= target)
                    .saturating_sub(1) as u32
            };
            let one_time = rng.chance(0.25);
            let churn_at = f64::from(arrival) + 600.0 * rng.exp1();
            let churn = if churn_at >= days as f64 {
                u32::MAX
            } else {
                churn_at as u32
            };
            let themes = [
                rng.below(themes.max(1)) as u16,
                rng.below(themes.max(1)) as u16,
            ];
            customers.push(Customer {
                id: 12_346 + index as u32,
                country,
                segment,
                arrival,
                churn,
                one_time,
                orders: 0,
                last_order: None,
                gap: 0.0,
                basket: (rng.lognormal(basket, 0.5) as f32).clamp(1.0, 400.0),
                themes,
                favourites: Vec::new(),
            });
            raw_rate.push(rng.lognormal(pace, 0.8));
        }
        // Orders of customer c at rate scale k: the first on arrival, then
        // k * rate per business day until churn or the end.
        let open_time: Vec<f64> = customers
            .iter()
            .map(|c| {
                let end = (c.churn as usize).min(days);
                (cumulative[end] - cumulative[(c.arrival as usize).min(end)]).max(0.0)
            })
            .collect();
        let rows_at = |k: f64| -> f64 {
            customers
                .iter()
                .zip(&raw_rate)
                .zip(&open_time)
                .map(|((c, rate), time)| {
                    let orders = if c.one_time {
                        1.0
                    } else {
                        1.0 + k * rate * time
                    };
                    orders * f64::from(c.basket) * 1.1
                })
                .sum()
        };
        let wanted = config.rows as f64
            * (1.0 - config.missing_customer_rate - config.cancellation_rate)
            / (1.0 + config.duplicate_rate);
        let (mut low, mut high) = (1e-12f64, 1e6f64);
        for _ in 0..80 {
            let mid = (low * high).sqrt();
            if rows_at(mid) < wanted {
                low = mid;
            } else {
                high = mid;
            }
        }
        let k = (low * high).sqrt();
        for (customer, rate) in customers.iter_mut().zip(&raw_rate) {
            customer.gap = 1.0 / (k * rate);
        }
        let mut order: Vec<u32> = (0..customers.len() as u32).collect();
        order.sort_by_key(|&i| (customers[i as usize].arrival, i));
        self.customers = customers;
        self.arrival_order = order;
    }

    /// A customer's first favourites, chosen when they arrive.
    fn welcome(&mut self, c: u32, day: u32) {
        let (basket, themes, segment) = {
            let customer = &self.customers[c as usize];
            (customer.basket, customer.themes, customer.segment)
        };
        let count = ((f64::from(basket) * (0.8 + self.rng.f64())).round() as usize).clamp(3, 40);
        let mut favourites: Vec<Favourite> = Vec::with_capacity(count);
        for _ in 0..count * 3 {
            if favourites.len() == count {
                break;
            }
            let item = if self.rng.chance(0.5) {
                self.catalogue
                    .of_theme(themes[self.rng.below(2) as usize], &mut self.rng)
            } else {
                self.catalogue.popular(&mut self.rng)
            };
            let Some(item) = item else { continue };
            if favourites.iter().any(|f| f.item == item) {
                continue;
            }
            let mut favourite = self.new_favourite(item, segment, day);
            // Older habits: part way through their period already.
            favourite.last -= favourite.period * self.rng.f64() as f32;
            favourites.push(favourite);
        }
        self.customers[c as usize].favourites = favourites;
    }

    fn new_favourite(&mut self, item: u32, segment: Segment, day: u32) -> Favourite {
        let period = match self.rng.pick(&[(0u8, 0.3), (1, 0.4), (2, 0.3)]) {
            0 => 7.0 + 14.0 * self.rng.f64(),
            1 => 21.0 + 39.0 * self.rng.f64(),
            _ => 60.0 + 120.0 * self.rng.f64(),
        };
        let affinity = ((0.1 + 0.85 * self.rng.f64()) * self.config.repeat_strength).min(1.0);
        Favourite {
            item,
            quantity: self.quantity(segment, item),
            affinity: affinity as f32,
            period: period as f32,
            last: day as f32,
        }
    }

    /// Units on a line, as the segment buys the item.
    fn quantity(&mut self, segment: Segment, item: u32) -> i32 {
        let pack = i32::from(self.catalogue.items[item as usize].pack);
        let rng = &mut self.rng;
        match segment {
            Segment::Retail => rng.pick(&[
                (1, 0.5),
                (2, 0.22),
                (3, 0.08),
                (4, 0.07),
                (5, 0.03),
                (6, 0.04),
                (10, 0.03),
                (12, 0.03),
            ]),
            Segment::Shop if pack == 1 => rng.pick(&[
                (1, 0.3),
                (2, 0.25),
                (3, 0.1),
                (4, 0.12),
                (5, 0.05),
                (6, 0.08),
                (10, 0.05),
                (12, 0.05),
            ]),
            Segment::Shop => {
                pack * rng.pick(&[(1, 0.62), (2, 0.22), (3, 0.04), (4, 0.08), (8, 0.04)])
            }
            Segment::Wholesale if pack == 1 => rng.pick(&[
                (6, 0.2),
                (12, 0.3),
                (24, 0.2),
                (48, 0.1),
                (100, 0.1),
                (200, 0.05),
                (1000, 0.05),
            ]),
            Segment::Wholesale => {
                pack * rng.pick(&[
                    (1, 0.2),
                    (2, 0.3),
                    (3, 0.1),
                    (4, 0.2),
                    (6, 0.08),
                    (10, 0.07),
                    (20, 0.04),
                    (50, 0.01),
                ])
            }
        }
    }

    /// The unit price of `quantity` of `item`: the list price, less for
    /// bulk, more on the online shop.
    fn price(&self, item: u32, quantity: i32, guest: bool) -> u32 {
        let item = &self.catalogue.items[item as usize];
        if guest {
            // Round to the penny.
            ((f64::from(item.price) * 1.3 / 10.0).round() * 10.0) as u32
        } else if quantity >= (4 * i32::from(item.pack)).max(24) {
            // Whole pence below a pound, 5p steps above.
            let bulk = f64::from(item.price) * 0.85;
            let step = if bulk < 1000.0 { 10.0 } else { 50.0 };
            (((bulk / step).round() * step) as u32).max(10)
        } else {
            item.price
        }
    }

    fn minute(&mut self) -> u16 {
        let hour = self.rng.pick(HOURS);
        (hour * 60 + self.rng.below(60) as u32) as u16
    }

    fn start_invoice(&mut self, minute: u16, customer: u32, country: u16, cancellation: bool) {
        let at = self.lines.len() as u32;
        self.invoices.push(Invoice {
            minute,
            seq: self.invoices.len() as u32,
            cancellation,
            customer,
            country,
            start: at,
            end: at,
        });
        self.basket_serial = self.basket_serial.wrapping_add(1);
    }

    /// Closes the open invoice; returns its rows.
    fn end_invoice(&mut self) -> u64 {
        let end = self.lines.len() as u32;
        match self.invoices.last_mut() {
            Some(invoice) => {
                invoice.end = end;
                u64::from(end - invoice.start)
            }
            None => 0,
        }
    }

    /// Adds `item` to the open basket unless it is there already.
    fn add_item(&mut self, item: u32, quantity: i32, guest: bool) -> bool {
        let slot = &mut self.in_basket[item as usize];
        if *slot == self.basket_serial {
            return false;
        }
        *slot = self.basket_serial;
        let price = self.price(item, quantity, guest);
        self.lines.push(Line {
            what: What::Item(item),
            quantity,
            price,
            note: Note::Own,
        });
        true
    }

    fn add_special(&mut self, special: Special, quantity: i32, price: u32) {
        self.lines.push(Line {
            what: What::Special(special),
            quantity,
            price,
            note: Note::Own,
        });
        self.report.non_product_rows += 1;
    }

    /// Repeats some lines of the open invoice exactly, as a till does when
    /// an item is scanned twice.
    fn duplicate_some(&mut self, from: usize) {
        let end = self.lines.len();
        for i in from..end {
            if self.rng.chance(self.config.duplicate_rate) {
                let line = self.lines[i];
                self.lines.push(line);
                self.report.duplicate_rows += 1;
            }
        }
    }

    /// One order of customer `c` on day `day`.
    fn customer_order(&mut self, c: u32, day: u32) {
        let minute = self.minute();
        let (country, segment, themes, basket) = {
            let customer = &self.customers[c as usize];
            (
                customer.country,
                customer.segment,
                customer.themes,
                customer.basket,
            )
        };
        self.start_invoice(minute, c, country, false);
        let from = self.lines.len();
        // Favourites that are due.
        let today = day as f32;
        let mut favourites = std::mem::take(&mut self.customers[c as usize].favourites);
        for favourite in &mut favourites {
            let available = self.catalogue.availability[favourite.item as usize];
            if available <= 0.0 {
                continue;
            }
            let ready = ((today - favourite.last) / favourite.period).clamp(0.0, 1.0);
            let chance = favourite.affinity * ready * ready * available;
            if self.rng.f64() < f64::from(chance) {
                let quantity = if self.rng.chance(0.2) {
                    favourite.quantity * 2
                } else {
                    favourite.quantity
                };
                if self.add_item(favourite.item, quantity, false) {
                    favourite.last = today;
                }
            }
        }
        // Discoveries, to fill the basket.
        let size =
            ((f64::from(basket) * self.rng.lognormal(1.0, 0.45)).round() as usize).clamp(1, 800);
        let mut tries = 0;
        while self.lines.len() - from < size && tries < size * 3 {
            tries += 1;
            let item = if self.rng.chance(0.4) {
                self.catalogue
                    .of_theme(themes[self.rng.below(2) as usize], &mut self.rng)
            } else {
                self.catalogue.popular(&mut self.rng)
            };
            let Some(item) = item else { break };
            let quantity = self.quantity(segment, item);
            if self.add_item(item, quantity, false) && self.rng.chance(0.06) {
                // A discovery that becomes a habit.
                let favourite = self.new_favourite(item, segment, day);
                if favourites.len() < 48 {
                    favourites.push(favourite);
                } else if let Some(weakest) = favourites
                    .iter_mut()
                    .min_by(|a, b| a.affinity.total_cmp(&b.affinity))
                {
                    *weakest = favourite;
                }
            }
        }
        self.customers[c as usize].favourites = favourites;
        let items_end = self.lines.len();
        // The shop's charges on the order.
        let scale = self.special_scale;
        let postage = if country == UK {
            odds::POSTAGE_HOME
        } else {
            odds::POSTAGE_ABROAD
        };
        if self.rng.chance(postage * scale) {
            let price = self.countries[country as usize].1;
            let quantity = self.rng.pick(&[(1, 0.7), (2, 0.2), (3, 0.1)]);
            self.add_special(Special::Postage, quantity, price);
        }
        if country == EIRE && self.rng.chance(odds::CARRIAGE_EIRE * scale) {
            self.add_special(Special::Carriage, 1, 50_000);
        }
        if self.rng.chance(odds::MANUAL * scale) {
            let price = (self.rng.lognormal(3000.0, 1.2) / 10.0).round() as u32 * 10;
            self.add_special(Special::Manual, 1, price.max(10));
        }
        if self.rng.chance(odds::PADS * scale) {
            self.add_special(Special::Pads, 1, 1);
        }
        self.duplicate_some(from);
        let rows = self.end_invoice();
        self.made_customer += rows as f64;
        self.report.customer_rows += rows;
        self.schedule_returns(c, day, minute, from, items_end);

        let customer = &mut self.customers[c as usize];
        if customer.orders == 0 {
            self.report.customers += 1;
        }
        customer.orders += 1;
        customer.last_order = Some(day);
        if !customer.one_time {
            let gap = customer.gap * (self.rng.exp1() + self.rng.exp1()) / 2.0;
            let due = self.clock + gap;
            self.queue.push(Reverse((key(due), c)));
        }
    }

    /// Decides which lines of the order just made come back, and when.
    fn schedule_returns(&mut self, c: u32, day: u32, minute: u16, from: usize, to: usize) {
        let mut returned: Vec<Line> = Vec::new();
        for i in from..to {
            if !self.rng.chance(self.cancel_chance) {
                continue;
            }
            let mut line = self.lines[i];
            let quantity = if line.quantity > 1 && self.rng.chance(0.2) {
                1 + self.rng.below(line.quantity as u64 - 1) as i32
            } else {
                line.quantity
            };
            line.quantity = -quantity;
            returned.push(line);
            // Often, a return ends a habit.
            if let What::Item(item) = line.what
                && self.rng.chance(0.5)
            {
                self.customers[c as usize]
                    .favourites
                    .retain(|f| f.item != item);
            }
        }
        if returned.is_empty() {
            return;
        }
        let delay = if self.rng.chance(0.35) {
            0
        } else {
            (1.0 + 9.0 * self.rng.exp1()).min(60.0) as u32
        };
        let Some(when) = (day + delay..self.calendar.dates.len() as u32)
            .find(|&d| self.calendar.intensity[d as usize] > 0.0)
        else {
            return;
        };
        let scale = self.special_scale;
        if self.rng.chance(odds::DISCOUNT * scale) {
            let price = (self.rng.lognormal(15_000.0, 0.8) / 10.0).round() as u32 * 10;
            returned.push(Line {
                what: What::Special(Special::Discount),
                quantity: -1,
                price,
                note: Note::Own,
            });
        }
        if self.rng.chance(odds::CRUK * scale) {
            let price = (self.rng.lognormal(40_000.0, 1.0) / 10.0).round() as u32 * 10;
            returned.push(Line {
                what: What::Special(Special::Cruk),
                quantity: -1,
                price,
                note: Note::Own,
            });
        }
        // Counted now against the customers' share of rows, so that the
        // total comes out as asked whatever the period.
        self.made_customer += returned.len() as f64;
        self.pending[when as usize].push(Cancellation {
            customer: c,
            after: (when == day).then_some(minute),
            lines: returned,
        });
    }

    /// One order of the online shop's guests, who give no customer number.
    fn guest_order(&mut self) {
        let minute = self.minute();
        let country = if self.rng.chance(0.97) {
            UK
        } else {
            // EIRE, France, Germany, Switzerland.
            self.rng.pick(&[(EIRE, 0.4), (2, 0.2), (1, 0.2), (5, 0.2)])
        };
        self.start_invoice(minute, u32::MAX, country, false);
        let from = self.lines.len();
        let size = self.rng.lognormal(30.0, 0.9).round().clamp(1.0, 800.0) as usize;
        let mut value = 0u64;
        let mut tries = 0;
        while self.lines.len() - from < size && tries < size * 3 {
            tries += 1;
            let Some(item) = self.catalogue.popular(&mut self.rng) else {
                break;
            };
            let quantity = self.quantity(Segment::Retail, item);
            if self.add_item(item, quantity, true)
                && let Some(line) = self.lines.last()
            {
                value += u64::from(line.price) * quantity as u64;
            }
        }
        let scale = self.special_scale;
        if self.rng.chance(odds::DOTCOM_POSTAGE * scale) {
            let price = ((value as f64 * 0.12 + 5000.0) / 10.0).round() as u32 * 10;
            self.add_special(Special::DotcomPostage, 1, price);
        }
        if self.rng.chance(odds::GIFT_VOUCHER * scale) {
            self.add_special(Special::GiftVoucher, 1, 17_020);
        }
        self.duplicate_some(from);
        let rows = self.end_invoice();
        self.made_guest += rows as f64;
        self.report.guest_rows += rows;
    }

    /// A stock adjustment: a single row without a customer, at price 0,
    /// with a negative quantity or none at all worth charging.
    fn adjustment(&mut self) {
        let Some(item) = self.catalogue.popular(&mut self.rng) else {
            return;
        };
        let minute = self.minute();
        self.start_invoice(minute, u32::MAX, UK, false);
        let negative = self.rng.chance(0.55);
        let pack = i32::from(self.catalogue.items[item as usize].pack);
        let quantity = pack * self.rng.between(1, 20) as i32;
        let note = if self.rng.chance(0.7) {
            Note::Empty
        } else {
            Note::Adjustment(self.rng.below(ADJUSTMENT_NOTES.len() as u64) as u8)
        };
        self.lines.push(Line {
            what: What::Item(item),
            quantity: if negative { -quantity } else { quantity },
            price: 0,
            note,
        });
        self.end_invoice();
        self.made_guest += 1.0;
        self.report.guest_rows += 1;
        self.report.adjustment_rows += 1;
    }

    /// A single-line invoice of a non-product code.
    fn special_invoice(&mut self, special: Special) {
        let minute = self.minute();
        match special {
            Special::BankCharges => {
                if self.arrived == 0 {
                    return;
                }
                let c = self.arrival_order[self.rng.below(self.arrived as u64) as usize];
                let country = self.customers[c as usize].country;
                self.start_invoice(minute, c, country, false);
                self.add_special(special, 1, 15_000);
                self.made_customer += 1.0;
                self.report.customer_rows += 1;
            }
            Special::AmazonFee => {
                self.start_invoice(minute, u32::MAX, UK, false);
                let price = (self.rng.lognormal(1_500_000.0, 1.0) / 10.0).round() as u32 * 10;
                self.add_special(special, 1, price);
                self.made_guest += 1.0;
                self.report.guest_rows += 1;
            }
            _ => {
                self.start_invoice(minute, u32::MAX, UK, true);
                let price = (self.rng.lognormal(20_000.0, 1.0) / 10.0).round() as u32 * 10;
                self.add_special(special, -1, price);
                self.made_guest += 1.0;
                self.report.cancellation_rows += 1;
            }
        }
        self.end_invoice();
    }

    /// Everything of one trading day, written to `csv`.
    fn generate_day(&mut self, day: u32, date: NaiveDate, csv: &mut Vec<u8>) -> DayStats {
        let days = self.calendar.dates.len() as u32;
        let seasonality = self.config.seasonality;
        self.catalogue.prepare(day, days, date, seasonality);
        self.invoices.clear();
        self.lines.clear();

        // Arrivals: the customers starting today, their first order due
        // at once.
        while let Some(&c) = self.arrival_order.get(self.arrived) {
            if self.customers[c as usize].arrival > day {
                break;
            }
            self.arrived += 1;
            self.welcome(c, day);
            let due = if day == 0 {
                self.customers[c as usize].gap * self.rng.f64()
            } else {
                self.clock + 0.5 * self.rng.f64()
            };
            self.queue.push(Reverse((key(due), c)));
        }

        let target = self.targets[day as usize];
        let config = &self.config;
        // Customers' rows include their returns.
        self.wanted_customer += target * (1.0 - config.missing_customer_rate);
        self.wanted_guest += target * config.missing_customer_rate;
        let adjustment_rate = config.adjustment_rate;

        // Customers' orders, the customers most overdue first, once a day
        // each at most.
        let mut tomorrow = Vec::new();
        while self.made_customer < self.wanted_customer {
            let Some(Reverse((due, c))) = self.queue.pop() else {
                // Nobody left to buy today: the shortfall is not carried.
                self.made_customer = self.wanted_customer;
                break;
            };
            let customer = &self.customers[c as usize];
            if customer.churn <= day {
                continue;
            }
            if customer.last_order == Some(day) {
                tomorrow.push(Reverse((due, c)));
                continue;
            }
            self.clock = self.clock.max(f64::from_bits(due));
            self.customer_order(c, day);
        }
        self.queue.extend(tomorrow);
        // The shop's own single rows.
        let scale = self.special_scale;
        for (special, rate) in [
            (Special::BankCharges, odds::BANK_CHARGES),
            (Special::AmazonFee, odds::AMAZON_FEE),
            (Special::Samples, odds::SAMPLES),
        ] {
            for _ in 0..self.rng.dither(target * rate * scale) {
                self.special_invoice(special);
            }
        }
        for _ in 0..self.rng.dither(target * adjustment_rate) {
            self.adjustment();
        }
        // Guests.
        while self.made_guest < self.wanted_guest {
            self.guest_order();
        }
        // Returns due today, those of today's orders included.
        let returns = std::mem::take(&mut self.pending[day as usize]);
        for cancellation in returns {
            let minute = match cancellation.after {
                Some(after) => (after + 1 + self.rng.below(120) as u16).min(LAST_MINUTE),
                None => self.minute(),
            };
            let country = self.customers[cancellation.customer as usize].country;
            self.start_invoice(minute, cancellation.customer, country, true);
            self.report.cancellation_rows += cancellation.lines.len() as u64;
            for line in cancellation.lines {
                if let What::Special(_) = line.what {
                    self.report.non_product_rows += 1;
                }
                self.lines.push(line);
            }
            self.end_invoice();
        }

        let stats = self.write_day(date, csv);
        self.report.rows += stats.rows;
        self.report.days += 1;
        self.report.bytes += csv.len() as u64;
        stats
    }

    /// Writes the day's invoices in time order, numbered as they come.
    fn write_day(&mut self, date: NaiveDate, csv: &mut Vec<u8>) -> DayStats {
        self.invoices
            .sort_unstable_by_key(|invoice| (invoice.minute, invoice.seq));
        let lines_total = self.lines.len();
        csv.reserve(HEADER.len() + lines_total * 90);
        csv.extend_from_slice(HEADER);
        let mut date_text = Vec::with_capacity(19);
        push_u64(&mut date_text, u64::from(date.year().unsigned_abs()));
        date_text.push(b'-');
        push_2(&mut date_text, date.month());
        date_text.push(b'-');
        push_2(&mut date_text, date.day());
        date_text.extend_from_slice(b" 00:00:00");
        let mut invoice_text = Vec::with_capacity(12);
        let mut customer_text = Vec::with_capacity(12);
        let mut stats = DayStats::default();
        for invoice in &self.invoices {
            if invoice.start == invoice.end {
                continue;
            }
            invoice_text.clear();
            if invoice.cancellation {
                invoice_text.push(b'C');
            }
            push_u64(&mut invoice_text, self.next_invoice);
            self.next_invoice += 1;
            self.report.invoices += 1;
            let hour = u32::from(invoice.minute / 60);
            let minute = u32::from(invoice.minute % 60);
            let len = date_text.len();
            date_text.truncate(len - 8);
            push_2(&mut date_text, hour);
            date_text.push(b':');
            push_2(&mut date_text, minute);
            date_text.extend_from_slice(b":00");
            customer_text.clear();
            if let Some(customer) = self.customers.get(invoice.customer as usize) {
                push_u64(&mut customer_text, u64::from(customer.id));
                customer_text.extend_from_slice(b".0");
            }
            let country = &self.countries[invoice.country as usize].0;
            for line in &self.lines[invoice.start as usize..invoice.end as usize] {
                let (code, description) = match line.what {
                    What::Item(item) => {
                        let item = &self.catalogue.items[item as usize];
                        (item.code.as_bytes(), &*item.description)
                    }
                    What::Special(special) => (special.code(), special.description()),
                };
                let description: &[u8] = match line.note {
                    Note::Own => description,
                    Note::Empty => b"",
                    Note::Adjustment(i) => ADJUSTMENT_NOTES[i as usize].as_bytes(),
                };
                let defect = self.corruptor.next_row();
                Row {
                    invoice: &invoice_text,
                    code,
                    description,
                    quantity: line.quantity,
                    date: &date_text,
                    price: line.price,
                    customer: &customer_text,
                    country,
                }
                .write(csv, defect);
                stats.rows += 1;
                if defect.is_some() {
                    stats.malformed_rows += 1;
                }
            }
        }
        self.report.malformed_rows += stats.malformed_rows;
        stats
    }
}

/// What one day holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DayStats {
    /// Data rows (the header not counted), malformed ones included.
    pub rows: u64,
    /// Rows written malformed.
    pub malformed_rows: u64,
}

impl Iterator for Days {
    type Item = DayFile;

    fn next(&mut self) -> Option<DayFile> {
        let mut csv = Vec::new();
        let (date, stats) = self.next_into(&mut csv)?;
        Some(DayFile { date, csv, stats })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.remaining();
        (remaining, Some(remaining))
    }
}

impl ExactSizeIterator for Days {}

impl std::iter::FusedIterator for Days {}
