//! Parity with Featuretools: the feature names, their order and every value
//! of Featuretools' own feature matrices, made by
//! `testdata/featuretools/make_expected.py` on a seeded fixture.
//!
//! Set `BERSERKR_FT_EXPECTED` to a directory the script wrote for another CSV
//! (`--csv PATH --out DIR`, with the CSV copied there as `data.csv`) to check
//! the same cases on that data; CI does so on a month of the real data.

mod common;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit, TimestampNanosecondType};
use berserkr_features::primitives::Primitives;
use berserkr_features::retail::retail_entityset;
use berserkr_features::{Dfs, EntitySet, FeatureMatrixBuilder, FeatureSet, Window};
use common::{fixture_transactions, read_csv};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/featuretools")
}

/// Every column of a CSV as text (empty cells null).
fn read_text_csv(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let format = arrow::csv::reader::Format::default().with_header(true);
    let (schema, _) = format.infer_schema(file, Some(1)).unwrap();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), DataType::Utf8, true))
        .collect();
    read_csv(path, Arc::new(Schema::new(fields)))
}

fn fixture_entityset(csv: &Path, last_time_indexes: bool, interesting: &[String]) -> EntitySet {
    let mut es = retail_entityset(&fixture_transactions(csv)).unwrap();
    if !interesting.is_empty() {
        let values: Vec<&str> = interesting.iter().map(String::as_str).collect();
        es.set_interesting_values("transactions", "StockCode", &values)
            .unwrap();
    }
    if last_time_indexes {
        es.add_last_time_indexes();
    }
    es
}

fn parse_time(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .and_utc()
        .timestamp_nanos_opt()
        .unwrap()
}

fn cutoffs(dir: &Path) -> (ArrayRef, Vec<i64>) {
    let table = read_text_csv(&dir.join("cutoffs.csv"));
    let ids: Int64Array = table
        .column(0)
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(|s| s.parse::<i64>().unwrap()))
        .collect();
    let times = table
        .column(1)
        .as_string::<i32>()
        .iter()
        .map(|s| parse_time(s.unwrap()))
        .collect();
    (Arc::new(ids), times)
}

/// The text of a cell of ours, as the expected CSV would spell it, or a
/// number to compare within tolerance.
#[derive(Debug, PartialEq)]
enum Cell {
    Null,
    Number(f64),
    Text(String),
}

fn our_cell(array: &ArrayRef, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Float64 => Cell::Number(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Cell::Text(
            if array.as_boolean().value(row) {
                "True"
            } else {
                "False"
            }
            .to_string(),
        ),
        DataType::Timestamp(..) => {
            let t = array.as_primitive::<TimestampNanosecondType>().value(row);
            Cell::Text(
                chrono::DateTime::from_timestamp_nanos(t)
                    .naive_utc()
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
            )
        }
        _ => {
            let text = cast(array, &DataType::Utf8).unwrap();
            Cell::Text(text.as_string::<i32>().value(row).to_string())
        }
    }
}

fn expected_cell(text: Option<&str>) -> Cell {
    match text {
        None | Some("") | Some("nan") | Some("<NA>") => Cell::Null,
        Some(t) => match t.parse::<f64>() {
            Ok(v) => Cell::Number(v),
            Err(_) => Cell::Text(t.to_string()),
        },
    }
}

fn same(ours: &Cell, theirs: &Cell) -> bool {
    match (ours, theirs) {
        (Cell::Null, Cell::Null) => true,
        (Cell::Number(a), Cell::Number(b)) => {
            if a.is_infinite() || b.is_infinite() {
                return a == b;
            }
            // A slope that is zero comes out of least squares as rounding
            // residue (1e-34 here, 1e-37 or 1e-20 in numpy): both are zero.
            const ZERO: f64 = 1e-15;
            let scale = a.abs().max(b.abs());
            scale < ZERO || (a - b).abs() <= 1e-9 * scale
        }
        // A label that happens to be numeric (a stock code, a day).
        (Cell::Text(a), Cell::Number(b)) => a.parse::<f64>().is_ok_and(|a| a == *b),
        (Cell::Number(a), Cell::Text(b)) => b.parse::<f64>().is_ok_and(|b| b == *a),
        (Cell::Text(a), Cell::Text(b)) => a == b,
        _ => false,
    }
}

struct Case {
    name: &'static str,
    target: &'static str,
    aggregations: Option<Vec<&'static str>>,
    transforms: Option<Vec<&'static str>>,
    where_primitives: Option<Vec<&'static str>>,
    max_depth: usize,
    cutoffs: bool,
    window_days: Option<u32>,
    /// Featuretools orders multi-input and where-clause features by Python's
    /// randomised string hash; for those cases names are compared as sets.
    exact_order: bool,
}

const ALL_AGGREGATIONS: [&str; 22] = [
    "count",
    "sum",
    "mean",
    "std",
    "min",
    "max",
    "median",
    "mode",
    "num_unique",
    "skew",
    "trend",
    "first",
    "last",
    "num_true",
    "percent_true",
    "all",
    "any",
    "time_since_first",
    "time_since_last",
    "avg_time_between",
    "n_most_common",
    "entropy",
];
const ALL_TRANSFORMS: [&str; 19] = [
    "day",
    "month",
    "year",
    "weekday",
    "hour",
    "is_weekend",
    "time_since",
    "time_since_previous",
    "cum_sum",
    "cum_count",
    "cum_mean",
    "absolute",
    "num_characters",
    "num_words",
    "is_null",
    "add_numeric",
    "subtract_numeric",
    "multiply_numeric",
    "divide_numeric",
];
const DATE_TRANSFORMS: [&str; 7] = [
    "day",
    "month",
    "year",
    "weekday",
    "hour",
    "is_weekend",
    "time_since",
];

fn cases() -> Vec<Case> {
    let base = |name, target| Case {
        name,
        target,
        aggregations: None,
        transforms: None,
        where_primitives: None,
        max_depth: 2,
        cutoffs: false,
        window_days: None,
        exact_order: true,
    };
    vec![
        base("customers_default", "customers"),
        Case {
            cutoffs: true,
            ..base("customers_default_cutoffs", "customers")
        },
        Case {
            cutoffs: true,
            window_days: Some(30),
            ..base("customers_default_window", "customers")
        },
        Case {
            cutoffs: true,
            aggregations: Some(ALL_AGGREGATIONS.to_vec()),
            transforms: Some(DATE_TRANSFORMS.to_vec()),
            ..base("customers_aggregations", "customers")
        },
        Case {
            cutoffs: true,
            window_days: Some(45),
            aggregations: Some(ALL_AGGREGATIONS.to_vec()),
            transforms: Some(vec![]),
            ..base("customers_aggregations_window", "customers")
        },
        base("invoices_default", "invoices"),
        Case {
            aggregations: Some(vec![]),
            transforms: Some(ALL_TRANSFORMS.to_vec()),
            max_depth: 1,
            exact_order: false,
            ..base("transactions_transforms", "transactions")
        },
        Case {
            aggregations: Some(ALL_AGGREGATIONS.to_vec()),
            transforms: Some(vec![
                "num_words",
                "num_characters",
                "is_null",
                "month",
                "absolute",
            ]),
            ..base("products_all", "products")
        },
        Case {
            cutoffs: true,
            aggregations: Some(vec!["count", "sum", "mean"]),
            transforms: Some(vec![]),
            where_primitives: Some(vec!["count", "sum"]),
            exact_order: false,
            ..base("customers_where", "customers")
        },
    ]
}

/// The two most frequent stock codes, as the script picks its interesting
/// values (pandas' `value_counts`: by count, then first seen).
fn top_stock_codes(csv: &Path) -> Vec<String> {
    let table = read_text_csv(csv);
    let codes = table
        .column_by_name("StockCode")
        .unwrap()
        .as_string::<i32>();
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, c) in codes.iter().enumerate() {
        let e = counts.entry(c.unwrap()).or_insert((0, i));
        e.0 += 1;
    }
    let mut v: Vec<(&str, (usize, usize))> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
    v.iter().take(2).map(|(c, _)| c.to_string()).collect()
}

fn check_case(dir: &Path, csv: &Path, case: &Case) -> Vec<String> {
    let expected_path = dir.join(format!("{}.csv", case.name));
    if !expected_path.exists() {
        return vec![format!(
            "{}: no expected file {}",
            case.name,
            expected_path.display()
        )];
    }
    let interesting = if case.where_primitives.is_some() {
        top_stock_codes(csv)
    } else {
        Vec::new()
    };
    let es = fixture_entityset(csv, case.window_days.is_some(), &interesting);
    let mut dfs = Dfs::new(case.target).with_max_depth(case.max_depth);
    if let Some(a) = &case.aggregations {
        dfs = dfs.with_aggregations(a);
    }
    if let Some(t) = &case.transforms {
        dfs = dfs.with_transforms(t);
    }
    if let Some(w) = &case.where_primitives {
        dfs = dfs.with_where_primitives(w);
    }
    let made = dfs.build(&es).unwrap();
    // Everything below uses the definitions as saved and loaded again, so
    // that the JSON round trip is checked for every primitive too.
    let json = made.to_json(&es).unwrap();
    let features = FeatureSet::from_json(&json, &es, &Primitives::standard()).unwrap();
    assert_eq!(
        features.output_names(),
        made.output_names(),
        "{}: JSON round trip",
        case.name
    );
    let expected = read_text_csv(&expected_path);
    let key_columns = if case.cutoffs { 2 } else { 1 };
    let expected_names: Vec<String> = expected
        .schema()
        .fields()
        .iter()
        .skip(key_columns)
        .map(|f| f.name().clone())
        .collect();
    let our_names = features.output_names();
    let mut problems = Vec::new();
    {
        let missing: Vec<_> = expected_names
            .iter()
            .filter(|n| !our_names.contains(n))
            .collect();
        let extra: Vec<_> = our_names
            .iter()
            .filter(|n| !expected_names.contains(n))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{}: missing {missing:?}\nextra {extra:?}",
                case.name
            ));
        }
    }
    if case.exact_order {
        if our_names != expected_names {
            let first = our_names
                .iter()
                .zip(&expected_names)
                .position(|(a, b)| a != b);
            problems.push(format!(
                "{}: names differ ({} ours, {} Featuretools'), first at {:?}: ours {:?}, theirs {:?}",
                case.name,
                our_names.len(),
                expected_names.len(),
                first,
                first.and_then(|i| our_names.get(i)),
                first.and_then(|i| expected_names.get(i)),
            ));
        }
    } else {
        let mut a = our_names.clone();
        let mut b = expected_names.clone();
        a.sort();
        b.sort();
        if a != b {
            let missing: Vec<_> = b.iter().filter(|n| !a.contains(n)).collect();
            let extra: Vec<_> = a.iter().filter(|n| !b.contains(n)).collect();
            problems.push(format!(
                "{}: feature sets differ; missing {missing:?}, extra {extra:?}",
                case.name
            ));
        }
    }

    let mut builder = FeatureMatrixBuilder::new(&es, &features);
    if case.cutoffs {
        let (ids, times) = cutoffs(dir);
        builder = builder.with_cutoff_times(ids, times);
    } else if matches!(case.target, "transactions" | "products") {
        builder = builder.with_time(parse_time("2011-04-15 12:00:00"));
    }
    if let Some(days) = case.window_days {
        builder = builder.with_training_window(Window::days(days));
    }
    let matrix = builder.build().unwrap();

    // Rows by key: the instance id, and the cutoff time.
    let key_of = |batch: &RecordBatch, row: usize, ours: bool| -> String {
        (0..key_columns)
            .map(|c| match our_cell(batch.column(c), row) {
                Cell::Number(v) if ours => format!("{v}"),
                Cell::Text(t) => t,
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut our_rows: HashMap<String, usize> = HashMap::new();
    for row in 0..matrix.num_rows() {
        our_rows.insert(key_of(&matrix, row, true), row);
    }
    if matrix.num_rows() != expected.num_rows() {
        problems.push(format!(
            "{}: {} rows, Featuretools {}",
            case.name,
            matrix.num_rows(),
            expected.num_rows()
        ));
    }
    let mut mismatches = 0;
    for row in 0..expected.num_rows() {
        let key = key_of(&expected, row, false);
        let Some(&ours) = our_rows.get(&key) else {
            problems.push(format!("{}: no row for {key}", case.name));
            continue;
        };
        let cells = |name: &String| {
            let column = matrix.column_by_name(name)?;
            let theirs = expected_cell(
                expected
                    .column_by_name(name)
                    .unwrap()
                    .as_string::<i32>()
                    .iter()
                    .nth(row)
                    .flatten(),
            );
            Some((our_cell(column, ours), theirs))
        };
        for name in &expected_names {
            let Some((mine, theirs)) = cells(name) else {
                continue;
            };
            if !same(&mine, &theirs) {
                mismatches += 1;
                if mismatches <= 12 {
                    problems.push(format!(
                        "{}: {key} {name}: ours {mine:?}, Featuretools {theirs:?}",
                        case.name
                    ));
                }
            }
        }
    }
    if mismatches > 12 {
        problems.push(format!("{}: {mismatches} values differ in all", case.name));
    }
    problems
}

fn check_all(dir: &Path, csv: &Path) {
    let mut problems = Vec::new();
    for case in cases() {
        problems.extend(check_case(dir, csv, &case));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn matches_featuretools_on_the_fixture() {
    let dir = testdata();
    check_all(&dir, &dir.join("retail_fixture.csv"));
}

#[test]
fn matches_featuretools_on_other_data() {
    let Ok(dir) = std::env::var("BERSERKR_FT_EXPECTED") else {
        eprintln!(
            "skipped: BERSERKR_FT_EXPECTED is not set (CI sets it to Featuretools' matrices of a month of the real data)"
        );
        return;
    };
    let dir = PathBuf::from(dir);
    check_all(&dir, &dir.join("data.csv"));
}

/// Every row of a matrix as text, keyed by instance and cutoff.
fn rows_as_text(matrix: &RecordBatch) -> HashMap<String, Vec<String>> {
    (0..matrix.num_rows())
        .map(|row| {
            let cells: Vec<String> = matrix
                .columns()
                .iter()
                .map(|c| format!("{:?}", our_cell(c, row)))
                .collect();
            (format!("{}|{}", cells[0], cells[1]), cells)
        })
        .collect()
}

#[test]
fn partitions_union_to_the_whole_matrix() {
    let dir = testdata();
    let es = fixture_entityset(&dir.join("retail_fixture.csv"), false, &[]);
    let features = Dfs::new("customers").with_max_depth(2).build(&es).unwrap();
    let (ids, times) = cutoffs(&dir);
    let whole = FeatureMatrixBuilder::new(&es, &features)
        .with_cutoff_times(ids.clone(), times.clone())
        .build()
        .unwrap();
    let mut union = HashMap::new();
    let mut rows = 0;
    for index in 0..3 {
        let part = FeatureMatrixBuilder::new(&es, &features)
            .with_cutoff_times(ids.clone(), times.clone())
            .with_partition(index, 3)
            .build()
            .unwrap();
        assert!(part.num_rows() > 0, "partition {index} is empty");
        assert_eq!(part.schema(), whole.schema());
        rows += part.num_rows();
        union.extend(rows_as_text(&part));
    }
    assert_eq!(rows, whole.num_rows());
    assert_eq!(union, rows_as_text(&whole));
    let error = FeatureMatrixBuilder::new(&es, &features)
        .with_partition(3, 3)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("partition 3 of 3"), "{error}");
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let dir = testdata();
    let es = fixture_entityset(&dir.join("retail_fixture.csv"), false, &[]);
    let features = Dfs::new("customers").with_max_depth(2).build(&es).unwrap();
    let (ids, times) = cutoffs(&dir);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                FeatureMatrixBuilder::new(&es, &features)
                    .with_cutoff_times(ids.clone(), times.clone())
                    .build()
                    .unwrap()
            })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(5));
}

#[test]
fn no_instances_give_an_empty_matrix_with_every_column() {
    let dir = testdata();
    let es = fixture_entityset(&dir.join("retail_fixture.csv"), false, &[]);
    let features = Dfs::new("customers").with_max_depth(2).build(&es).unwrap();
    let matrix = FeatureMatrixBuilder::new(&es, &features)
        .with_cutoff_times(Arc::new(Int64Array::from(Vec::<i64>::new())), vec![])
        .build()
        .unwrap();
    assert_eq!(matrix.num_rows(), 0);
    assert_eq!(matrix.num_columns(), 2 + features.output_names().len());
}

#[test]
fn a_cap_on_features_gives_the_first_features_of_the_whole_run() {
    let dir = testdata();
    let es = fixture_entityset(&dir.join("retail_fixture.csv"), false, &[]);
    let all: Vec<String> = Dfs::new("customers")
        .with_max_depth(2)
        .build(&es)
        .unwrap()
        .names()
        .map(str::to_string)
        .collect();
    for cap in [1, 5, 12, 30, 60, all.len(), all.len() + 10] {
        let capped: Vec<String> = Dfs::new("customers")
            .with_max_depth(2)
            .with_max_features(cap)
            .build(&es)
            .unwrap()
            .names()
            .map(str::to_string)
            .collect();
        assert_eq!(capped, all[..cap.min(all.len())], "cap {cap}");
    }
}

#[test]
fn pruning_leaves_out_constant_duplicate_and_id_features() {
    let dir = testdata();
    let transactions = fixture_transactions(&dir.join("retail_fixture.csv"));
    // A constant column and a copy of another one.
    let n = transactions.num_rows();
    let mut fields: Vec<Field> = transactions
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = transactions.columns().to_vec();
    fields.push(Field::new("Currency", DataType::Utf8, false));
    columns.push(Arc::new(arrow::array::StringArray::from(vec!["GBP"; n])));
    fields.push(Field::new("PriceAgain", DataType::Float64, false));
    columns.push(transactions.column_by_name("UnitPrice").unwrap().clone());
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let es = retail_entityset(&batch).unwrap();
    let names = |prune| -> Vec<String> {
        Dfs::new("customers")
            .with_max_depth(2)
            .with_aggregations(&["mode", "mean", "count", "num_unique"])
            .with_pruning(prune)
            .build(&es)
            .unwrap()
            .names()
            .map(str::to_string)
            .collect()
    };
    let all = names(false);
    let pruned = names(true);
    let uninformative =
        |n: &String| n.contains("Currency") || n.contains("PriceAgain") || n.contains("CustomerID");
    assert!(all.iter().any(uninformative), "{all:?}");
    assert!(!pruned.iter().any(uninformative), "{pruned:?}");
    // Everything else is kept.
    let rest: Vec<&String> = all.iter().filter(|n| !uninformative(n)).collect();
    assert_eq!(pruned.iter().collect::<Vec<_>>(), rest);
}

#[test]
fn several_windows_in_one_call_are_named_and_computed_apart() {
    use arrow::array::{Float64Array, TimestampNanosecondArray};
    use berserkr_features::DataframeBuilder;
    const DAY: i64 = 86_400_000_000_000;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer", DataType::Int64, false),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        Field::new("amount", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![0, 1, 2, 3])),
            Arc::new(Int64Array::from(vec![7, 7, 7, 8])),
            Arc::new(TimestampNanosecondArray::from(vec![
                0,
                10 * DAY,
                40 * DAY,
                44 * DAY,
            ])),
            Arc::new(Float64Array::from(vec![1.0, 2.0, 4.0, 8.0])),
        ],
    )
    .unwrap();
    let mut es = EntitySet::new("shop");
    es.add_dataframe(DataframeBuilder::new("orders", batch, "id").with_time_index("time"))
        .unwrap();
    es.normalize("orders", "customers", "customer", &[])
        .unwrap();
    let features = Dfs::new("customers")
        .with_max_depth(1)
        .with_aggregations(&["sum"])
        .with_transforms(&[])
        .with_windows(&[Window::days(30), Window::days(90)])
        .build(&es)
        .unwrap();
    let names: Vec<&str> = features.names().collect();
    assert_eq!(
        names,
        [
            "SUM(orders.amount)",
            "SUM(orders.amount, Last 30 Days)",
            "SUM(orders.amount, Last 90 Days)"
        ]
    );
    let matrix = FeatureMatrixBuilder::new(&es, &features)
        .with_cutoff_times(
            Arc::new(Int64Array::from(vec![7, 7])),
            vec![45 * DAY, 40 * DAY],
        )
        .build()
        .unwrap();
    let column = |name: &str| -> Vec<Option<f64>> {
        matrix
            .column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .iter()
            .collect()
    };
    assert_eq!(column("SUM(orders.amount)"), [Some(7.0), Some(7.0)]);
    // 30 days before day 45 is day 15: only day 40; before day 40, day 10 too.
    assert_eq!(
        column("SUM(orders.amount, Last 30 Days)"),
        [Some(4.0), Some(6.0)]
    );
    assert_eq!(
        column("SUM(orders.amount, Last 90 Days)"),
        [Some(7.0), Some(7.0)]
    );
}
