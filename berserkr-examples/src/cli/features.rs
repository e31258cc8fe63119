//! `berserkr features`: the deep features of every customer or product as
//! of a cutoff, from the clean Parquet table, written as Parquet; the
//! feature definitions are made by DFS or loaded from a file, so that
//! every day gives the same columns.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit, TimestampNanosecondType};
use berserkr_examples::pipeline::{before, cutoff as date_nanos};
use berserkr_examples::{Error, Result};
use berserkr_features::primitives::Primitives;
use berserkr_features::retail::retail_entityset;
use berserkr_features::{Dfs, FeatureMatrixBuilder, FeatureSet};
use berserkr_io::parquet::{ReaderBuilder, WriterBuilder};
use berserkr_io::store::Location;
use bytes::Bytes;
use clap::{Args, ValueEnum};
use futures::TryStreamExt;

#[derive(Debug, Args)]
pub(crate) struct FeaturesArgs {
    /// The clean transactions, as Parquet (what `berserkr clean` writes).
    #[arg(long)]
    transactions: String,
    /// Whose features: one row per customer or per product.
    #[arg(long, value_enum)]
    target: Target,
    /// The cutoff (YYYY-MM-DD, midnight UTC): only transactions at or
    /// before it are seen.
    #[arg(long)]
    cutoff: String,
    /// The feature matrix, as Parquet (a path or URL).
    #[arg(long)]
    out: String,
    /// Feature definitions (JSON): loaded when the file exists, else made
    /// by DFS (depth 2, pruned) and written there.
    #[arg(long)]
    definitions: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Target {
    Customers,
    Products,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Products => "products",
        }
    }
}

/// A whole Parquet table (plain or lzop-wrapped) in one batch.
pub(crate) async fn read_table(location: &str) -> Result<RecordBatch> {
    let location = Location::parse(location)?;
    let stream = ReaderBuilder::new()
        .open(location.store().clone(), location.path())
        .await?;
    let schema = stream.schema();
    let batches: Vec<RecordBatch> = stream.try_collect().await?;
    Ok(concat_batches(&schema, &batches)?)
}

/// `InvoiceDate` of every row, in nanoseconds.
pub(crate) fn invoice_nanos(transactions: &RecordBatch) -> Result<Vec<Option<i64>>> {
    let column =
        transactions
            .column_by_name("InvoiceDate")
            .ok_or_else(|| Error::InvalidOption {
                option: "transactions",
                reason: "no InvoiceDate column: not a clean Online Retail table".into(),
            })?;
    let times = cast(column, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
    Ok(times
        .as_primitive::<TimestampNanosecondType>()
        .iter()
        .collect())
}

/// Writes `batch` as Parquet at `location`, dictionary columns as their
/// values; returns the rows written.
pub(crate) async fn write_parquet(location: &str, batch: &RecordBatch) -> Result<u64> {
    let location = Location::parse(location)?;
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match field.data_type() {
            DataType::Dictionary(_, value) => {
                columns.push(cast(column, value)?);
                fields.push(Field::new(
                    field.name(),
                    value.as_ref().clone(),
                    field.is_nullable(),
                ));
            }
            _ => {
                columns.push(column.clone());
                fields.push(field.as_ref().clone());
            }
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let mut writer = WriterBuilder::new()
        .build(
            location.store().clone(),
            location.path().clone(),
            batch.schema(),
        )
        .await?;
    if let Err(error) = writer.write(&batch).await {
        writer.abort().await;
        return Err(error.into());
    }
    Ok(writer.finish().await?.rows)
}

/// Whether `error` says the object is not there.
pub(crate) fn is_not_found(error: &berserkr_io::Error) -> bool {
    matches!(error, berserkr_io::Error::Store(_)) && error.to_string().contains("not found")
}

pub(crate) async fn run(args: FeaturesArgs) -> berserkr_io::Result<()> {
    features(args).await.map_err(berserkr_io::Error::from)
}

async fn features(args: FeaturesArgs) -> Result<()> {
    let started = Instant::now();
    let cutoff = date_nanos("cutoff", &args.cutoff)?;
    let target = args.target.name();
    let transactions = read_table(&args.transactions).await?;
    // The instances are those seen by the cutoff.
    let seen = before(&transactions, cutoff)?;
    drop(transactions);
    let es = retail_entityset(&seen)?;
    let made = || -> Result<FeatureSet> {
        Ok(Dfs::new(target)
            .with_max_depth(2)
            .with_pruning(true)
            .build(&es)?)
    };
    let features = match &args.definitions {
        None => made()?,
        Some(path) => {
            let location = Location::parse(path)?;
            match location.get().await {
                Ok(text) => {
                    let text = String::from_utf8_lossy(&text);
                    let features = FeatureSet::from_json(&text, &es, &Primitives::standard())?;
                    if features.target() != target {
                        return Err(Error::InvalidOption {
                            option: "definitions",
                            reason: format!(
                                "{path} defines features of {}, not of {target}",
                                features.target()
                            ),
                        });
                    }
                    println!("loaded {} feature definitions from {path}", features.len());
                    features
                }
                Err(error) if is_not_found(&error) => {
                    let features = made()?;
                    location.put(Bytes::from(features.to_json(&es)?)).await?;
                    println!("wrote {} feature definitions to {path}", features.len());
                    features
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    let ids = es.dataframe(target)?.index().values().clone();
    let n = ids.len();
    let matrix = FeatureMatrixBuilder::new(&es, &features)
        .with_cutoff_times(ids, vec![cutoff; n])
        .build()?;
    let rows = write_parquet(&args.out, &matrix).await?;
    println!(
        "wrote {}: {rows} {target} x {} features as of {} in {:.2} s",
        args.out,
        features.len(),
        args.cutoff,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
