//! The io crate end to end on the real Online Retail data.

use berserkr::io::clean::{CleanReport, Cleaner, Rule};
use berserkr::io::retail::ReaderBuilder;

use crate::common::shared_data;

/// The counts every reading of the real data must give (the whole file, the
/// by-day files from a path, the by-day files from S3).
pub(crate) fn assert_real_counts(report: &CleanReport) {
    assert_eq!(report.rows_read, 541_909);
    assert_eq!(report.dropped(Rule::Duplicate), 5_268);
    assert_eq!(report.dropped(Rule::Cancellation), 9_251);
    assert_eq!(report.dropped(Rule::NonPositiveQuantity), 1_336);
    assert_eq!(report.dropped(Rule::NonPositivePrice), 1_176);
    assert_eq!(report.dropped(Rule::MissingCustomer), 132_186);
    assert_eq!(report.dropped(Rule::NonProductCode), 1_542);
    assert_eq!(report.rows_kept, 391_150);
    assert_eq!(report.cancellations, 9_251);
}

/// The whole file reads as 541,909 typed rows (as the data's README counts
/// them); the usual filter (CustomerID present, Quantity and UnitPrice
/// above zero, no `C` invoice) keeps the 397,884 rows everyone quotes, and
/// berserkr's default rules keep that less the exact duplicates and the
/// non-product codes among them.
#[test]
fn the_whole_file_reads_and_cleans() {
    let Some(path) = shared_data("online-retail/online_retail.csv.lzo") else {
        return;
    };
    let mut all_rules = Cleaner::new();
    let mut usual = Cleaner::with_rules(&[
        Rule::Cancellation,
        Rule::NonPositiveQuantity,
        Rule::NonPositivePrice,
        Rule::MissingCustomer,
    ]);
    let mut then_ours = Cleaner::with_rules(&[Rule::Duplicate, Rule::NonProductCode]);
    let mut null_customers = 0;
    let mut reader = ReaderBuilder::new().open(&path).unwrap();
    for batch in reader.by_ref() {
        let batch = batch.unwrap();
        null_customers += batch.column(6).null_count();
        all_rules.clean(&batch).unwrap();
        let kept = usual.clean(&batch).unwrap().kept;
        then_ours.clean(&kept).unwrap();
    }
    assert_eq!(null_customers, 135_080);
    assert_eq!(reader.report().malformed_rows, 0);
    assert_real_counts(all_rules.report());

    assert_eq!(usual.report().rows_kept, 397_884);
    let ours = then_ours.report();
    assert_eq!(ours.rows_read, 397_884);
    assert_eq!(ours.dropped(Rule::Duplicate), 5_192);
    assert_eq!(ours.dropped(Rule::NonProductCode), 1_542);
    assert_eq!(ours.rows_kept, all_rules.report().rows_kept);
    println!(
        "{}\nthe usual filter, then ours:\n{ours}",
        all_rules.report()
    );
}
