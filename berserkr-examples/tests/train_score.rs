//! `berserkr features`, `train` and `score` on a small synthetic bucket,
//! as the Airflow DAG runs them: generate, clean, then the three commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type, UInt32Type};
use berserkr_io::parquet::ReaderBuilder;
use berserkr_io::store::Location;
use futures::TryStreamExt;

fn berserkr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berserkr"))
        .args(args)
        .output()
        .expect("the berserkr binary runs")
}

fn ok(args: &[&str]) -> String {
    let output = berserkr(args);
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "berserkr {args:?} failed:\n{shown}"
    );
    shown
}

fn failed(args: &[&str]) -> String {
    let output = berserkr(args);
    assert!(!output.status.success(), "berserkr {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn read(path: &Path) -> RecordBatch {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let location = Location::parse(s(path)).unwrap();
        let stream = ReaderBuilder::new()
            .open(location.store().clone(), location.path())
            .await
            .unwrap();
        let schema = stream.schema();
        let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
        arrow::compute::concat_batches(&schema, &batches).unwrap()
    })
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berserkr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn features_train_and_score_run_as_the_dag_runs_them() {
    let dir = temp_dir("train-score");
    let raw = dir.join("raw");
    let clean = dir.join("clean.parquet");
    let cancellations = dir.join("cancellations.parquet");
    ok(&[
        "generate",
        "--rows",
        "60000",
        "--out",
        s(&raw),
        "--no-lzo",
        "--malformed-rate",
        "0",
    ]);
    ok(&[
        "clean",
        s(&raw),
        s(&clean),
        "--cancellations",
        s(&cancellations),
    ]);

    // train, with the DAG's flags (default cutoffs, from the data's end),
    // then with explicit dates.
    let model = dir.join("model.json");
    let report = dir.join("report.md");
    let shown = ok(&[
        "train",
        "--transactions",
        s(&clean),
        "--cancellations",
        s(&cancellations),
        "--model",
        s(&model),
        "--report",
        s(&report),
        "--horizon-days",
        "30",
    ]);
    assert!(shown.contains("evaluation 2011-11-09"), "{shown}");
    let text = std::fs::read_to_string(&report).unwrap();
    for row in ["| gbdt |", "| past purchase count |", "| popularity |"] {
        assert!(text.contains(row), "no {row} in:\n{text}");
    }
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(file["format"], "berserkr-model/1");
    assert_eq!(file["horizon_days"], 30);
    let names = file["feature_names"].as_array().unwrap();
    assert!(names.len() > 10, "{names:?}");
    assert!(
        file["customer_features"]
            .as_str()
            .unwrap()
            .contains("customers")
    );
    assert!(file["item_features"].as_str().unwrap().contains("products"));

    let dated = dir.join("dated.json");
    ok(&[
        "train",
        "--transactions",
        s(&clean),
        "--cancellations",
        s(&cancellations),
        "--model",
        s(&dated),
        "--report",
        s(&dir.join("dated.md")),
        "--training-cutoffs",
        "2011-08-10,2011-09-09",
        "--validation-cutoff",
        "2011-10-10",
        "--evaluation-cutoff",
        "2011-11-09",
        "--max-trees",
        "20",
    ]);
    // A label window past the evaluation cutoff is refused.
    let refused = failed(&[
        "train",
        "--transactions",
        s(&clean),
        "--cancellations",
        s(&cancellations),
        "--model",
        s(&dir.join("refused.json")),
        "--report",
        s(&dir.join("refused.md")),
        "--training-cutoffs",
        "2011-10-20",
        "--evaluation-cutoff",
        "2011-11-09",
    ]);
    assert!(refused.contains("2011-10-20"), "{refused}");

    // score
    let scores = dir.join("scores.parquet");
    let score = |model: &Path, out: &Path| {
        berserkr(&[
            "score",
            "--model",
            s(model),
            "--transactions",
            s(&clean),
            "--cancellations",
            s(&cancellations),
            "--cutoff",
            "2011-12-10",
            "--top",
            "10",
            "--out",
            s(out),
        ])
    };
    let output = score(&model, &scores);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let top = read(&scores);
    assert!(top.num_rows() > 100, "{}", top.num_rows());
    let customers = top
        .column_by_name("CustomerID")
        .unwrap()
        .as_primitive::<Int64Type>();
    let probabilities = top
        .column_by_name("probability")
        .unwrap()
        .as_primitive::<Float64Type>();
    let ranks = top
        .column_by_name("rank")
        .unwrap()
        .as_primitive::<UInt32Type>();
    assert!(ranks.values().iter().all(|&r| (1..=10).contains(&r)));
    assert!(
        probabilities
            .values()
            .iter()
            .all(|p| (0.0..=1.0).contains(p))
    );
    for i in 1..top.num_rows() {
        if customers.value(i) == customers.value(i - 1) {
            assert_eq!(ranks.value(i), ranks.value(i - 1) + 1);
            assert!(probabilities.value(i) <= probabilities.value(i - 1));
        }
    }

    // A model whose feature list names a feature the data cannot give.
    let mut edited = file.clone();
    edited["feature_names"].as_array_mut().unwrap()[0] =
        "customer.BOGUS(transactions.Quantity)".into();
    let bogus = dir.join("bogus.json");
    std::fs::write(&bogus, edited.to_string()).unwrap();
    let output = score(&bogus, &dir.join("bogus.parquet"));
    assert!(!output.status.success());
    let shown = String::from_utf8_lossy(&output.stderr);
    assert!(
        shown.contains("customer.BOGUS(transactions.Quantity)"),
        "{shown}"
    );
    assert!(!dir.join("bogus.parquet").exists());

    // The file keeps the calibration and score applies it; a file without
    // one (written before it existed) scores with the trees' own
    // probabilities, ranked the same, since the scaling is monotone.
    assert_eq!(file["calibration"]["method"], "platt");
    let mut uncalibrated = file.clone();
    uncalibrated.as_object_mut().unwrap().remove("calibration");
    let older = dir.join("older.json");
    std::fs::write(&older, uncalibrated.to_string()).unwrap();
    let older_scores = dir.join("older.parquet");
    let output = score(&older, &older_scores);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let raw = read(&older_scores);
    for column in ["CustomerID", "StockCode", "rank"] {
        assert_eq!(
            raw.column_by_name(column).unwrap(),
            top.column_by_name(column).unwrap(),
            "{column}"
        );
    }
    assert_ne!(
        raw.column_by_name("probability").unwrap(),
        top.column_by_name("probability").unwrap()
    );

    // A model file of another format version.
    let mut future = file.clone();
    future["format"] = "berserkr-model/2".into();
    let newer = dir.join("newer.json");
    std::fs::write(&newer, future.to_string()).unwrap();
    let output = score(&newer, &dir.join("newer.parquet"));
    assert!(!output.status.success());
    let shown = String::from_utf8_lossy(&output.stderr);
    assert!(shown.contains("berserkr-model/2"), "{shown}");

    // features, with definitions made once and then reused.
    let definitions = dir.join("customers.json");
    for (target, out) in [("customers", "fc.parquet"), ("products", "fp.parquet")] {
        ok(&[
            "features",
            "--transactions",
            s(&clean),
            "--target",
            target,
            "--cutoff",
            "2011-12-10",
            "--out",
            s(&dir.join(out)),
        ]);
    }
    let products = read(&dir.join("fp.parquet"));
    assert!(products.column_by_name("StockCode").is_some());
    assert!(products.num_rows() > 100);
    let mut matrices = Vec::new();
    for (out, said) in [("fc1.parquet", "wrote"), ("fc2.parquet", "loaded")] {
        let shown = ok(&[
            "features",
            "--transactions",
            s(&clean),
            "--target",
            "customers",
            "--cutoff",
            "2011-12-10",
            "--out",
            s(&dir.join(out)),
            "--definitions",
            s(&definitions),
        ]);
        assert!(shown.contains(&format!("{said} ")), "{shown}");
        matrices.push(read(&dir.join(out)));
    }
    assert_eq!(matrices[0], matrices[1]);
    assert_eq!(matrices[0], read(&dir.join("fc.parquet")));
    assert!(matrices[0].column_by_name("CustomerID").is_some());
    assert!(matrices[0].num_columns() > 10);
    // Definitions of the wrong target are refused.
    let refused = failed(&[
        "features",
        "--transactions",
        s(&clean),
        "--target",
        "products",
        "--cutoff",
        "2011-12-10",
        "--out",
        s(&dir.join("wrong.parquet")),
        "--definitions",
        s(&definitions),
    ]);
    assert!(refused.contains("customers"), "{refused}");

    let _ = std::fs::remove_dir_all(&dir);
}
