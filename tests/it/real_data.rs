//! The io crate end to end on the real Online Retail data.

use berserkr::io::clean::{Cleaner, Rule};
use berserkr::io::retail::ReaderBuilder;

use crate::common::shared_data;

/// The whole file reads as 541,909 typed rows (as the data's README
/// counts them), and the cleaning rules account for every row.
#[test]
fn the_whole_file_reads_and_cleans() {
    let Some(path) = shared_data("online-retail/online_retail.csv.lzo") else {
        return;
    };
    let mut cleaner = Cleaner::new();
    let mut rows = 0;
    let mut null_customers = 0;
    let mut cancellations = 0;
    let mut reader = ReaderBuilder::new().open(&path).unwrap();
    for batch in reader.by_ref() {
        let batch = batch.unwrap();
        rows += batch.num_rows();
        null_customers += batch.column(6).null_count();
        cancellations += cleaner.clean(&batch).unwrap().cancellations.num_rows();
    }
    assert_eq!(rows, 541_909);
    assert_eq!(null_customers, 135_080);
    assert_eq!(reader.report().malformed_rows, 0);
    let report = cleaner.report();
    assert_eq!(report.rows_read, 541_909);
    let dropped: u64 = Rule::ALL.iter().map(|&rule| report.dropped(rule)).sum();
    assert_eq!(report.rows_kept + dropped, 541_909);
    assert_eq!(report.cancellations as usize, cancellations);
    // Cancellations counted after exact duplicates are dropped: the data's
    // 9,288 `C` rows include 37 repeated ones.
    assert!(
        cancellations < 9_288 && cancellations > 9_000,
        "{cancellations}"
    );
    println!("{report}");
}
