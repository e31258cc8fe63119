//! Rows written as the real export writes them, fast: integers and prices
//! formatted by hand into one growing buffer, and the optional malformed
//! rows, each of which the retail reader refuses as exactly one row.

use crate::synthetic::rng::{Rng, Stream};

/// The header of every file.
pub(crate) const HEADER: &[u8] =
    b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

/// Appends the decimal digits of `n`.
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `n` with its sign.
#[inline]
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends a price given in thousandths of a pound as Python's `repr` of
/// the float writes it, which is how the real export has it: `2.55`,
/// `18.0`, `2.1`, `0.001`.
#[inline]
pub(crate) fn push_price(out: &mut Vec<u8>, mills: u32) {
    push_u64(out, u64::from(mills / 1000));
    out.push(b'.');
    let fraction = mills % 1000;
    if fraction == 0 {
        out.push(b'0');
        return;
    }
    let digits = [
        b'0' + (fraction / 100) as u8,
        b'0' + (fraction / 10 % 10) as u8,
        b'0' + (fraction % 10) as u8,
    ];
    let len = if fraction.is_multiple_of(100) {
        1
    } else if fraction.is_multiple_of(10) {
        2
    } else {
        3
    };
    out.extend_from_slice(&digits[..len]);
}

/// Appends `n` as two digits.
#[inline]
pub(crate) fn push_2(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// One way a row can be malformed. Each keeps the CSV's framing (no stray
/// quote), so that a reader skipping bad rows skips exactly this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Defect {
    /// `Quantity` written with a fraction (`6.0`).
    FractionalQuantity,
    /// The last field lost: seven fields.
    MissingField,
    /// A description with a comma and no quotes: nine fields.
    UnquotedComma,
    /// Day 00 of the month.
    BadDate,
    /// `CustomerID` with a real fraction, or `N/A` where there is none.
    BadCustomer,
    /// A currency sign before the price (`£2.55`).
    CurrencySign,
}

const DEFECTS: [Defect; 6] = [
    Defect::FractionalQuantity,
    Defect::MissingField,
    Defect::UnquotedComma,
    Defect::BadDate,
    Defect::BadCustomer,
    Defect::CurrencySign,
];

/// Decides which rows are written malformed: each with probability
/// `rate`, independently of everything else generated.
#[derive(Debug)]
pub(crate) struct Corruptor {
    rng: Rng,
    rate: f64,
    countdown: u64,
}

impl Corruptor {
    pub(crate) fn new(seed: u64, rate: f64) -> Self {
        let mut rng = Rng::new(seed, Stream::Malformed);
        let countdown = rng.gap(rate);
        Self {
            rng,
            rate,
            countdown,
        }
    }

    /// The defect of the next row, if it is to be malformed.
    #[inline]
    pub(crate) fn next_row(&mut self) -> Option<Defect> {
        if self.countdown > 0 {
            self.countdown -= 1;
            return None;
        }
        self.countdown = self.rng.gap(self.rate);
        Some(DEFECTS[self.rng.below(DEFECTS.len() as u64) as usize])
    }
}

/// The fields of one row, ready to write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    /// `536365` or `C536379`.
    pub(crate) invoice: &'a [u8],
    pub(crate) code: &'a [u8],
    /// Already a CSV field.
    pub(crate) description: &'a [u8],
    pub(crate) quantity: i32,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub(crate) date: &'a [u8],
    pub(crate) price: u32,
    /// `17850.0`, or empty.
    pub(crate) customer: &'a [u8],
    pub(crate) country: &'a [u8],
}

impl Row<'_> {
    /// Appends the row and its line end, with `defect` if any.
    #[inline]
    pub(crate) fn write(&self, out: &mut Vec<u8>, defect: Option<Defect>) {
        out.extend_from_slice(self.invoice);
        out.push(b',');
        out.extend_from_slice(self.code);
        out.push(b',');
        if defect == Some(Defect::UnquotedComma) {
            out.extend_from_slice(b"SET 2 TEA TOWELS, I LOVE LONDON");
        } else {
            out.extend_from_slice(self.description);
        }
        out.push(b',');
        push_i64(out, i64::from(self.quantity));
        if defect == Some(Defect::FractionalQuantity) {
            out.extend_from_slice(b".0");
        }
        out.push(b',');
        if defect == Some(Defect::BadDate) {
            // YYYY-MM-00 HH:MM:SS
            out.extend_from_slice(&self.date[..8]);
            out.extend_from_slice(b"00");
            out.extend_from_slice(&self.date[10..]);
        } else {
            out.extend_from_slice(self.date);
        }
        out.push(b',');
        if defect == Some(Defect::CurrencySign) {
            out.extend_from_slice("£".as_bytes());
        }
        push_price(out, self.price);
        out.push(b',');
        if defect == Some(Defect::BadCustomer) {
            match self.customer.strip_suffix(b".0") {
                Some(whole) => {
                    out.extend_from_slice(whole);
                    out.extend_from_slice(b".5");
                }
                None => out.extend_from_slice(b"N/A"),
            }
        } else {
            out.extend_from_slice(self.customer);
        }
        if defect != Some(Defect::MissingField) {
            out.push(b',');
            out.extend_from_slice(self.country);
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_and_prices_as_the_real_export() {
        assert_eq!(text(|o| push_u64(o, 0)), "0");
        assert_eq!(text(|o| push_u64(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(text(|o| push_i64(o, -12)), "-12");
        assert_eq!(text(|o| push_i64(o, i64::MIN)), i64::MIN.to_string());
        for (mills, shown) in [
            (2550, "2.55"),
            (18_000, "18.0"),
            (2100, "2.1"),
            (1, "0.001"),
            (0, "0.0"),
            (190, "0.19"),
            (1_000_000, "1000.0"),
            (11_062_060, "11062.06"),
        ] {
            assert_eq!(text(|o| push_price(o, mills)), shown);
            // And it is what Python's repr gives for the float.
            let value: f64 = shown.parse().unwrap();
            assert_eq!(f64::from(mills) / 1000.0, value);
        }
        assert_eq!(text(|o| push_2(o, 7)), "07");
    }

    #[test]
    fn each_defect_changes_one_row() {
        let row = Row {
            invoice: b"536365",
            code: b"85123A",
            description: b"\"TRAY, BREAKFAST IN BED\"",
            quantity: 6,
            date: b"2010-12-01 08:26:00",
            price: 2550,
            customer: b"17850.0",
            country: b"United Kingdom",
        };
        let good = text(|o| row.write(o, None));
        assert_eq!(
            good,
            "536365,85123A,\"TRAY, BREAKFAST IN BED\",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
        );
        for defect in DEFECTS {
            let bad = text(|o| row.write(o, Some(defect)));
            assert_ne!(bad, good);
            assert_eq!(bad.matches('\n').count(), 1);
            assert_eq!(bad.matches('"').count() % 2, 0, "{bad}");
        }
        let guest = Row {
            customer: b"",
            ..row
        };
        assert!(text(|o| guest.write(o, Some(Defect::BadCustomer))).contains(",N/A,"));
    }

    #[test]
    fn the_corruptor_hits_its_rate() {
        let mut corruptor = Corruptor::new(5, 0.01);
        let hits = (0..200_000)
            .filter(|_| corruptor.next_row().is_some())
            .count();
        assert!((1800..2200).contains(&hits), "{hits}");
        let mut none = Corruptor::new(5, 0.0);
        assert!((0..10_000).all(|_| none.next_row().is_none()));
    }
}
