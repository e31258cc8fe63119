//! `berserkr pipeline`: the whole pipeline in one command, on the synthetic
//! default or on a bucket of daily exports, with a summary of every stage.

use berserkr_examples::data::Input;
use berserkr_examples::pipeline::{Pipeline, Protocol};
use berserkr_io::Result;
use berserkr_io::store::Location;
use bytes::Bytes;
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct PipelineArgs {
    /// Daily Online Retail CSV exports (plain or lzop): a directory,
    /// prefix or URL. Without it, the embedded synthetic default.
    #[arg(long)]
    input: Option<String>,
    /// Raw rows of the synthetic default.
    #[arg(long, default_value_t = 300_000)]
    rows: u64,
    /// Seed of the synthetic default, the subsampling and the trees.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where to write the scores (`top.parquet`) and the report
    /// (`report.json`); a path or URL.
    #[arg(long)]
    work: Option<String>,
    /// Also write the report as JSON here.
    #[arg(long)]
    report_json: Option<String>,
    /// Items per customer in the scores.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Share of negative training examples kept.
    #[arg(long, default_value_t = 0.1)]
    negative_rate: f64,
    /// At most about this many training rows: on larger data positives
    /// and negatives are both sampled down (and weighted back).
    #[arg(long, default_value_t = 2_000_000)]
    max_training_rows: usize,
    /// Evaluation cutoff (YYYY-MM-DD).
    #[arg(long, default_value = "2011-11-09")]
    evaluation_cutoff: String,
    /// Validation cutoff, for early stopping (default: one customer in
    /// eight of the training examples held out).
    #[arg(long)]
    validation_cutoff: Option<String>,
    /// Training cutoffs, comma-separated.
    #[arg(
        long,
        default_value = "2011-08-10,2011-09-09,2011-10-10",
        value_delimiter = ','
    )]
    training_cutoffs: Vec<String>,
    /// The boosted trees' learning rate.
    #[arg(long, default_value_t = 0.05)]
    learning_rate: f64,
    /// The share of features each tree may split on.
    #[arg(long, default_value_t = 1.0)]
    feature_fraction: f64,
    /// The share of training rows each tree is grown on (1: all; ignored
    /// with --goss).
    #[arg(long, default_value_t = 0.5)]
    bagging_fraction: f64,
    /// Gradient-based one-side sampling of the training rows,
    /// `TOP_RATE,OTHER_RATE` as LightGBM's `top_rate` and `other_rate`,
    /// or `off` to grow every tree on every row.
    #[arg(long, default_value = "off", value_parser = parse_goss)]
    goss: Goss,
    /// The most trees to grow.
    #[arg(long, default_value_t = 1000)]
    trees: usize,
    /// Stop after this many trees without improvement on held-out
    /// customers (0: grow every tree).
    #[arg(long, default_value_t = 20)]
    early_stopping_rounds: usize,
    /// Also write the training, validation and evaluation matrices
    /// (Parquet) and the model's times and metrics here, for
    /// `benches/compare/gbdt.py`.
    #[arg(long)]
    export_matrices: Option<String>,
    /// Days after a cutoff in which a purchase counts.
    #[arg(long, default_value_t = 30)]
    horizon_days: u32,
}

pub(crate) async fn run(args: PipelineArgs) -> Result<()> {
    let input = match args.input {
        Some(location) => Input::Location(location),
        None => Input::Synthetic {
            rows: args.rows,
            seed: args.seed,
        },
    };
    let report = Pipeline::builder()
        .with_input(input)
        .with_protocol(Protocol {
            training: args.training_cutoffs,
            validation: args.validation_cutoff,
            evaluation: args.evaluation_cutoff,
            horizon_days: args.horizon_days,
        })
        .with_negative_rate(args.negative_rate)
        .with_max_training_rows(args.max_training_rows)
        .with_top_n(args.top)
        .with_seed(args.seed)
        .with_export_matrices(args.export_matrices)
        .with_trees(args.trees)
        .with_learning_rate(args.learning_rate)
        .with_feature_fraction(args.feature_fraction)
        .with_bagging_fraction(args.bagging_fraction)
        .with_goss(args.goss.0)
        .with_early_stopping_rounds(
            (args.early_stopping_rounds > 0).then_some(args.early_stopping_rounds),
        )
        .build()
        .run()
        .await
        .map_err(berserkr_io::Error::from)?;
    println!("{report}");
    let json = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
    if let Some(work) = &args.work {
        let work = Location::parse(work)?;
        let top = work.join("top.parquet");
        let rows = report.write_top(&top).await?;
        println!("wrote {top}: {rows} rows");
        let path = work.join("report.json");
        path.put(Bytes::from(json.clone())).await?;
        println!("wrote {path}");
    }
    if let Some(path) = &args.report_json {
        Location::parse(path)?.put(Bytes::from(json)).await?;
    }
    Ok(())
}

/// `--goss`: `off` or `TOP_RATE,OTHER_RATE`.
#[derive(Debug, Clone, Copy)]
struct Goss(Option<(f64, f64)>);

fn parse_goss(text: &str) -> std::result::Result<Goss, String> {
    if text == "off" {
        return Ok(Goss(None));
    }
    let rates = text
        .split_once(',')
        .and_then(|(top, other)| Some((top.trim().parse().ok()?, other.trim().parse().ok()?)));
    match rates {
        Some(rates) => Ok(Goss(Some(rates))),
        None => Err(format!(
            "expected `off` or TOP_RATE,OTHER_RATE such as 0.2,0.1, got {text:?}"
        )),
    }
}
