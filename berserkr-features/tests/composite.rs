//! A composite target, (customer, item) pairs, against what Featuretools'
//! users do today: a made-up key column, a pairs dataframe built by hand and
//! three relationships. Both must give the same features, value for value,
//! at every cutoff.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, StructArray,
    TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit, TimestampNanosecondType};
use berserkr_features::entityset::DataframeBuilder;
use berserkr_features::primitives::Primitives;
use berserkr_features::retail::retail_entityset;
use berserkr_features::{Dfs, EntitySet, Error, FeatureMatrixBuilder, FeatureSet};
use common::fixture_transactions;

fn transactions() -> RecordBatch {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/featuretools/retail_fixture.csv");
    fixture_transactions(&fixture)
}

/// The fixture's entity set with its (customer, item) pairs.
fn with_pairs(tx: &RecordBatch) -> EntitySet {
    retail_entityset(tx)
        .unwrap()
        .with_composite(
            "customer_products",
            "transactions",
            &["customers", "products"],
        )
        .unwrap()
}

/// The pair key of each transaction, as a user would make it.
fn made_up_keys(tx: &RecordBatch) -> StringArray {
    let customers = tx
        .column_by_name("CustomerID")
        .unwrap()
        .as_primitive::<Float64Type>();
    let codes = tx.column_by_name("StockCode").unwrap().as_string::<i32>();
    (0..tx.num_rows())
        .map(|r| {
            customers
                .is_valid(r)
                .then(|| format!("{}|{}", customers.value(r), codes.value(r)))
        })
        .collect()
}

/// The retail entity set with a hand-made `pairs` dataframe, as
/// Featuretools needs it.
fn by_hand(tx: &RecordBatch) -> EntitySet {
    let keys = made_up_keys(tx);
    let mut fields: Vec<Field> = tx
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("pair", DataType::Utf8, true));
    let mut columns = tx.columns().to_vec();
    columns.push(Arc::new(keys.clone()));
    let with_keys = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let mut es = retail_entityset(&with_keys).unwrap();

    // One row per pair: its customer, its item, its first time.
    let customers = tx
        .column_by_name("CustomerID")
        .unwrap()
        .as_primitive::<Float64Type>();
    let codes = tx.column_by_name("StockCode").unwrap().as_string::<i32>();
    let times = tx
        .column_by_name("InvoiceDate")
        .unwrap()
        .as_primitive::<TimestampNanosecondType>();
    let mut first: HashMap<String, (f64, String, i64)> = HashMap::new();
    for r in 0..tx.num_rows() {
        if keys.is_null(r) {
            continue;
        }
        let entry = first.entry(keys.value(r).to_string()).or_insert((
            customers.value(r),
            codes.value(r).to_string(),
            i64::MAX,
        ));
        entry.2 = entry.2.min(times.value(r));
    }
    let mut pairs: Vec<(String, (f64, String, i64))> = first.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let schema = Arc::new(Schema::new(vec![
        Field::new("pair", DataType::Utf8, false),
        Field::new("CustomerID", DataType::Float64, false),
        Field::new("StockCode", DataType::Utf8, false),
        Field::new(
            "first_transactions_time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| &p.0))),
            Arc::new(Float64Array::from_iter_values(pairs.iter().map(|p| p.1.0))),
            Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| &p.1.1))),
            Arc::new(TimestampNanosecondArray::from_iter_values(
                pairs.iter().map(|p| p.1.2),
            )),
        ],
    )
    .unwrap();
    es.add_dataframe(
        DataframeBuilder::new("customer_products", batch, "pair")
            .with_time_index("first_transactions_time"),
    )
    .unwrap();
    es.add_relationship("customers", "customer_products", "CustomerID")
        .unwrap();
    es.add_relationship("products", "customer_products", "StockCode")
        .unwrap();
    es.add_relationship("customer_products", "transactions", "pair")
        .unwrap();
    es
}

/// Every pair of the fixture, at two cutoffs, and one pair never seen.
fn instances(tx: &RecordBatch) -> (Vec<(f64, String)>, Vec<i64>) {
    let customers = tx
        .column_by_name("CustomerID")
        .unwrap()
        .as_primitive::<Float64Type>();
    let codes = tx.column_by_name("StockCode").unwrap().as_string::<i32>();
    let pairs: BTreeSet<(i64, String)> = (0..tx.num_rows())
        .filter(|&r| customers.is_valid(r))
        .map(|r| (customers.value(r) as i64, codes.value(r).to_string()))
        .collect();
    let march = 1_298_937_600_000_000_000; // 2011-03-01
    let september = 1_314_835_200_000_000_000; // 2011-09-01
    let mut ids = Vec::new();
    let mut times = Vec::new();
    for time in [march, september] {
        for (c, s) in &pairs {
            ids.push((*c as f64, s.clone()));
            times.push(time);
        }
    }
    ids.push((1.0, "NO SUCH ITEM".to_string()));
    times.push(september);
    (ids, times)
}

fn as_struct(ids: &[(f64, String)]) -> ArrayRef {
    Arc::new(StructArray::from(vec![
        (
            Arc::new(Field::new("CustomerID", DataType::Float64, false)),
            Arc::new(Float64Array::from_iter_values(ids.iter().map(|p| p.0))) as ArrayRef,
        ),
        (
            Arc::new(Field::new("StockCode", DataType::Utf8, false)),
            Arc::new(StringArray::from_iter_values(ids.iter().map(|p| &p.1))) as ArrayRef,
        ),
    ]))
}

fn number(array: &ArrayRef, row: usize) -> Option<f64> {
    match array.data_type() {
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            a.is_valid(row).then(|| a.value(row))
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            a.is_valid(row).then(|| f64::from(u8::from(a.value(row))))
        }
        _ => None,
    }
}

#[test]
fn a_composite_target_gives_what_a_made_up_key_gives() {
    let tx = transactions();
    let es = with_pairs(&tx);
    let manual = by_hand(&tx);
    let ours = Dfs::new("customer_products")
        .with_max_depth(2)
        .build(&es)
        .unwrap();
    let theirs = Dfs::new("customer_products")
        .with_max_depth(2)
        .build(&manual)
        .unwrap();
    let their_names: Vec<&str> = theirs.names().collect();
    let our_names: Vec<&str> = ours.names().collect();
    assert!(our_names.len() > 40, "{our_names:?}");
    // The hand-made key adds features of its own (MODE(transactions.pair)
    // and the like); every one of ours is among theirs.
    for name in &our_names {
        assert!(their_names.contains(name), "{name} missing by hand");
    }
    assert!(
        our_names.contains(&"SUM(transactions.Quantity)")
            && our_names.iter().any(|n| n.starts_with("customers.")),
        "{our_names:?}"
    );

    let (ids, times) = instances(&tx);
    let matrix = FeatureMatrixBuilder::new(&es, &ours)
        .with_cutoff_times(as_struct(&ids), times.clone())
        .build()
        .unwrap();
    let keys: StringArray = ids
        .iter()
        .map(|p| Some(format!("{}|{}", p.0, p.1)))
        .collect();
    let expected = FeatureMatrixBuilder::new(&manual, &theirs)
        .with_cutoff_times(Arc::new(keys), times.clone())
        .build()
        .unwrap();
    assert_eq!(matrix.num_rows(), ids.len());
    assert_eq!(matrix.schema().field(0).name(), "CustomerID");
    assert_eq!(matrix.schema().field(1).name(), "StockCode");
    assert_eq!(matrix.schema().field(2).name(), "time");
    let stock_codes = matrix.column(1).as_string::<i32>();
    assert_eq!(stock_codes.value(0), ids[0].1);

    let mut compared = 0;
    for &name in &our_names {
        let a = matrix.column_by_name(name).unwrap();
        let b = expected.column_by_name(name).unwrap();
        assert_eq!(a.data_type(), b.data_type(), "{name}");
        for row in 0..matrix.num_rows() {
            match (number(a, row), number(b, row)) {
                (Some(x), Some(y)) => {
                    assert!(
                        x == y || (x.is_nan() && y.is_nan()),
                        "{name} row {row}: {x} against {y}"
                    )
                }
                (x, y) => assert_eq!(
                    (x, a.is_null(row), a.slice(row, 1).to_data()),
                    (y, b.is_null(row), b.slice(row, 1).to_data()),
                    "{name} row {row}"
                ),
            }
            compared += 1;
        }
    }
    assert!(compared > 10_000, "{compared}");
    // The pair never seen has no values, nor has a pair in March that was
    // first bought later.
    let means = matrix
        .column_by_name("MEAN(transactions.Quantity)")
        .unwrap();
    assert!(means.is_null(matrix.num_rows() - 1));
    assert!((0..ids.len() / 2).any(|r| means.is_null(r)));
    assert!((0..ids.len() / 2).any(|r| means.is_valid(r)));
}

#[test]
fn composite_partitions_union_to_the_whole() {
    let tx = transactions();
    let es = with_pairs(&tx);
    let features = Dfs::new("customer_products")
        .with_max_depth(1)
        .build(&es)
        .unwrap();
    let (ids, times) = instances(&tx);
    let whole = FeatureMatrixBuilder::new(&es, &features)
        .with_cutoff_times(as_struct(&ids), times.clone())
        .build()
        .unwrap();
    let mut rows = 0;
    for index in 0..4 {
        let part = FeatureMatrixBuilder::new(&es, &features)
            .with_cutoff_times(as_struct(&ids), times.clone())
            .with_partition(index, 4)
            .build()
            .unwrap();
        assert!(part.num_rows() > 0);
        assert_eq!(part.schema(), whole.schema());
        rows += part.num_rows();
    }
    assert_eq!(rows, whole.num_rows());

    // Saved definitions replay on the composite.
    let json = features.to_json(&es).unwrap();
    let replayed = FeatureSet::from_json(&json, &es, &Primitives::default()).unwrap();
    let again = FeatureMatrixBuilder::new(&es, &replayed)
        .with_cutoff_times(as_struct(&ids), times.clone())
        .build()
        .unwrap();
    assert_eq!(again, whole);

    // Without instances: every pair known at the time, named by its keys.
    let all = FeatureMatrixBuilder::new(&es, &features)
        .with_time(1_314_835_200_000_000_000)
        .build()
        .unwrap();
    assert_eq!(all.schema().field(0).name(), "CustomerID");
    assert_eq!(all.schema().field(1).name(), "StockCode");
    assert!(all.num_rows() > 100 && all.num_rows() < ids.len());
}

#[test]
fn bad_composites_and_instances_are_errors() {
    let tx = transactions();
    let es = retail_entityset(&tx).unwrap();
    assert!(matches!(
        es.with_composite("pairs", "transactions", &["customers"]),
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        es.with_composite("pairs", "transactions", &["customers", "customers"]),
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        es.with_composite("pairs", "transactions", &["customers", "nowhere"]),
        Err(Error::UnknownDataframe { .. })
    ));
    // Products do not reach customers.
    assert!(matches!(
        es.with_composite("pairs", "products", &["customers", "invoices"]),
        Err(Error::NoRelationship { .. })
    ));
    assert!(matches!(
        es.with_composite("invoices", "transactions", &["customers", "products"]),
        Err(Error::DuplicateDataframe { .. })
    ));

    let es = es
        .with_composite("pairs", "transactions", &["customers", "products"])
        .unwrap();
    let features = Dfs::new("pairs").with_max_depth(1).build(&es).unwrap();
    let flat: ArrayRef = Arc::new(Float64Array::from(vec![12346.0]));
    let error = FeatureMatrixBuilder::new(&es, &features)
        .with_instance_ids(flat)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("struct of"), "{error}");
    let missing: ArrayRef = Arc::new(StructArray::from(vec![(
        Arc::new(Field::new("CustomerID", DataType::Float64, false)),
        Arc::new(Float64Array::from(vec![12346.0])) as ArrayRef,
    )]));
    let error = FeatureMatrixBuilder::new(&es, &features)
        .with_instance_ids(missing)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("\"StockCode\""), "{error}");
}
