use chrono::{Datelike, NaiveDate, Weekday};

use super::*;

fn small(rows: u64) -> SyntheticRetailBuilder {
    SyntheticRetail::builder()
        .with_seed(11)
        .with_rows(rows)
        .with_start(NaiveDate::from_ymd_opt(2011, 9, 1).unwrap())
        .with_days(60)
}

#[test]
fn options_are_checked() {
    let error = |builder: SyntheticRetailBuilder| builder.build().unwrap_err().to_string();
    assert!(error(small(0)).contains("rows"));
    assert!(error(small(10).with_days(0)).contains("days"));
    assert!(error(small(10).with_missing_customer_rate(1.5)).contains("missing_customer_rate"));
    assert!(error(small(10).with_duplicate_rate(f64::NAN)).contains("duplicate_rate"));
    assert!(error(small(10).with_items(5)).contains("items"));
    assert!(error(small(10).with_customers(0)).contains("customers"));
    assert!(
        error(
            small(10)
                .with_missing_customer_rate(0.001)
                .with_adjustment_rate(0.01)
        )
        .contains("adjustment_rate")
    );
    assert!(
        error(small(10).with_start(NaiveDate::from_ymd_opt(9999, 12, 1).unwrap()))
            .contains("start")
    );
    // A Saturday alone: nothing to write.
    let saturday = NaiveDate::from_ymd_opt(2011, 6, 4).unwrap();
    assert!(error(small(10).with_start(saturday).with_days(1)).contains("does not trade"));
}

#[test]
fn defaults_scale_with_rows() {
    let retail = SyntheticRetail::builder().build().unwrap();
    assert_eq!(retail.rows(), DEFAULT_ROWS);
    assert_eq!(retail.customers(), 4370);
    assert_eq!(retail.items(), 4070);
    assert_eq!(retail.trading_days().len(), 306);
    let big = SyntheticRetail::builder()
        .with_rows(20_000_000)
        .build()
        .unwrap();
    assert_eq!(big.customers(), 161_290);
    assert!((16_000..18_000).contains(&big.items()), "{}", big.items());
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let retail = small(30_000).build().unwrap();
    let a: Vec<DayFile> = retail.days().collect();
    let b: Vec<DayFile> = retail.days().collect();
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter()
            .zip(&b)
            .all(|(a, b)| a.date == b.date && a.csv == b.csv)
    );
    let other = small(30_000).with_seed(12).build().unwrap();
    let c: Vec<DayFile> = other.days().collect();
    assert!(a.iter().zip(&c).all(|(a, c)| a.csv != c.csv));
}

#[test]
fn days_are_trading_days_with_the_rows_asked_for() {
    let retail = small(50_000).build().unwrap();
    let mut days = retail.days();
    assert_eq!(days.len(), retail.trading_days().len());
    let mut dates = Vec::new();
    let mut rows = 0;
    let mut buffer = Vec::new();
    while let Some((date, stats)) = days.next_into(&mut buffer) {
        assert!(buffer.starts_with(csv::HEADER));
        assert_eq!(
            buffer.iter().filter(|&&b| b == b'\n').count() as u64,
            stats.rows + 1
        );
        assert_ne!(date.weekday(), Weekday::Sat);
        dates.push(date);
        rows += stats.rows;
    }
    assert_eq!(dates, retail.trading_days());
    let report = days.report();
    assert_eq!(report.rows, rows);
    assert_eq!(report.days, dates.len() as u64);
    assert_eq!(
        report.customer_rows + report.guest_rows + report.cancellation_rows,
        report.rows
    );
    assert!(rows.abs_diff(50_000) < 500, "{rows}");
    assert_eq!(report.malformed_rows, 0);
    assert!(days.next().is_none());
}

#[test]
fn malformed_rows_replace_rows_and_change_nothing_else() {
    let clean: Vec<DayFile> = small(20_000).build().unwrap().days().collect();
    let dirty: Vec<DayFile> = small(20_000)
        .with_malformed_rate(0.01)
        .build()
        .unwrap()
        .days()
        .collect();
    let mut changed = 0;
    let mut malformed = 0;
    for (clean, dirty) in clean.iter().zip(&dirty) {
        let a: Vec<&[u8]> = clean.csv.split(|&b| b == b'\n').collect();
        let b: Vec<&[u8]> = dirty.csv.split(|&b| b == b'\n').collect();
        assert_eq!(a.len(), b.len());
        changed += a.iter().zip(&b).filter(|(a, b)| a != b).count() as u64;
        malformed += dirty.stats.malformed_rows;
    }
    assert_eq!(changed, malformed);
    assert!((120..300).contains(&malformed), "{malformed}");
}

#[test]
fn rows_look_like_the_real_export() {
    let retail = small(10_000).build().unwrap();
    let day = retail.days().next().unwrap();
    let text = String::from_utf8(day.csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country")
    );
    let first = lines.next().unwrap();
    let fields: Vec<&str> = first.split(',').collect();
    assert!(
        fields[0].starts_with("5363") || fields[0].starts_with("C5363"),
        "{first}"
    );
    assert!(fields[4].starts_with("2011-09-01 "), "{first}");
    assert_eq!(fields[4].len(), 19);
    let mut invoices: Vec<u64> = Vec::new();
    for line in text.lines().skip(1) {
        let invoice = line.split(',').next().unwrap().trim_start_matches('C');
        let number: u64 = invoice.parse().unwrap();
        if invoices.last() != Some(&number) {
            invoices.push(number);
        }
    }
    assert!(invoices.windows(2).all(|w| w[0] < w[1]));
}

/// Rows per second of generation alone (no compression, no I/O).
#[test]
#[ignore = "a measurement: cargo test --release -p berserkr-examples --lib -- --ignored --nocapture"]
fn generation_speed() {
    let rows = std::env::var("BERSERKR_SPEED_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let retail = SyntheticRetail::builder().with_rows(rows).build().unwrap();
    let started = std::time::Instant::now();
    let mut days = retail.days();
    let built = started.elapsed();
    let mut buffer = Vec::new();
    while days.next_into(&mut buffer).is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let report = days.report();
    println!(
        "{} rows, {:.1} MB in {seconds:.3} s (setup {:.3} s): {:.2} M rows/s, {:.0} MB/s",
        report.rows,
        report.bytes as f64 / 1e6,
        built.as_secs_f64(),
        report.rows as f64 / seconds / 1e6,
        report.bytes as f64 / seconds / 1e6
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM")) {
            println!("peak memory: {line}");
        }
    }
}
