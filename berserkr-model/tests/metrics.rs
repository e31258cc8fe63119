//! Parity with scikit-learn: every metric of `berserkr_model::metrics` on the
//! fixtures that `testdata/metrics/make_expected.py` made, to a relative
//! error of 1e-12; then small cases worked by hand, and the errors.

use std::fs;
use std::path::{Path, PathBuf};

use berserkr_model::Error;
use berserkr_model::metrics::{
    average_precision, brier_score, calibration_table, evaluate, log_loss, ndcg_at_k,
    precision_at_k, recall_at_k, roc_auc,
};

const CASES: [&str; 4] = ["ties", "continuous", "extreme", "all_tied"];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/metrics")
}

/// The lines of a CSV after its header, split on commas.
fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

/// The scored candidates of one case.
struct Candidates {
    groups: Vec<u64>,
    scores: Vec<f64>,
    labels: Vec<bool>,
}

fn read_case(name: &str) -> Candidates {
    let rows = read_rows(&testdata().join(format!("{name}.csv")));
    Candidates {
        groups: rows.iter().map(|row| row[0].parse().unwrap()).collect(),
        scores: rows.iter().map(|row| row[1].parse().unwrap()).collect(),
        labels: rows
            .iter()
            .map(|row| match row[2].as_str() {
                "0" => false,
                "1" => true,
                other => panic!("label {other}"),
            })
            .collect(),
    }
}

/// scikit-learn's values for one case: `(metric, param, index, value)`.
struct Expected(Vec<(String, Option<usize>, Option<usize>, f64)>);

impl Expected {
    fn read(name: &str) -> Self {
        let parse = |cell: &str| (!cell.is_empty()).then(|| cell.parse().unwrap());
        let rows = read_rows(&testdata().join(format!("{name}_expected.csv")));
        Self(
            rows.iter()
                .map(|row| {
                    let value = row[3].parse().unwrap();
                    (row[0].clone(), parse(&row[1]), parse(&row[2]), value)
                })
                .collect(),
        )
    }

    /// Every `(param, value)` of `metric`, in file order.
    fn values(&self, metric: &str) -> Vec<(Option<usize>, f64)> {
        self.0
            .iter()
            .filter(|row| row.0 == metric)
            .map(|row| (row.1, row.3))
            .collect()
    }

    fn scalar(&self, metric: &str) -> f64 {
        match self.values(metric)[..] {
            [(None, value)] => value,
            ref other => panic!("{metric}: {other:?}"),
        }
    }

    /// `(k, value)` of a grouped metric.
    fn at_k(&self, metric: &str) -> Vec<(usize, f64)> {
        let values = self.values(metric);
        assert!(!values.is_empty(), "{metric}");
        values.into_iter().map(|(k, v)| (k.unwrap(), v)).collect()
    }

    /// The numbers of bins of the calibration curves.
    fn n_bins(&self) -> Vec<usize> {
        let mut n_bins: Vec<usize> = self
            .values("calibration_prob_true")
            .iter()
            .map(|(n, _)| n.unwrap())
            .collect();
        n_bins.dedup();
        n_bins
    }

    /// scikit-learn's `(prob_true, prob_pred)` with `n_bins` bins.
    fn calibration(&self, n_bins: usize) -> Vec<(f64, f64)> {
        let curve = |metric: &str| -> Vec<f64> {
            let rows = self
                .0
                .iter()
                .filter(|row| row.0 == metric && row.1 == Some(n_bins));
            rows.enumerate()
                .map(|(i, row)| {
                    assert_eq!(row.2, Some(i));
                    row.3
                })
                .collect()
        };
        let prob_true = curve("calibration_prob_true");
        let prob_pred = curve("calibration_prob_pred");
        assert_eq!(prob_true.len(), prob_pred.len());
        prob_true.into_iter().zip(prob_pred).collect()
    }
}

#[track_caller]
fn assert_close(actual: f64, expected: f64, what: &str) {
    let error = (actual - expected).abs();
    assert!(
        actual == expected || error <= 1e-12 * expected.abs(),
        "{what}: {actual:?} against scikit-learn's {expected:?} (relative error {:e})",
        error / expected.abs()
    );
}

#[test]
fn fixtures_cover_what_they_claim() {
    let ties = read_case("ties");
    assert_eq!(ties.scores.len(), 2000);
    let mut distinct = ties.scores.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert!(distinct.len() < 100, "the ties case has many ties");
    let extreme = read_case("extreme");
    assert!(extreme.scores.contains(&0.0) && extreme.scores.contains(&1.0));
    assert!(extreme.scores.iter().any(|&p| p > 0.0 && p < f64::EPSILON));
    let all_tied = read_case("all_tied");
    assert!(all_tied.scores.iter().all(|&s| s == 0.5));
}

#[test]
fn scalar_metrics_match_sklearn() {
    for name in CASES {
        let case = read_case(name);
        let expected = Expected::read(name);
        let (s, y) = (&case.scores, &case.labels);
        let what = |metric: &str| format!("{name}: {metric}");
        assert_close(
            roc_auc(s, y).unwrap(),
            expected.scalar("roc_auc"),
            &what("roc_auc"),
        );
        assert_close(
            average_precision(s, y).unwrap(),
            expected.scalar("average_precision"),
            &what("average_precision"),
        );
        assert_close(
            log_loss(s, y).unwrap(),
            expected.scalar("log_loss"),
            &what("log_loss"),
        );
        assert_close(
            brier_score(s, y).unwrap(),
            expected.scalar("brier_score"),
            &what("brier_score"),
        );
    }
}

#[test]
fn grouped_metrics_match_sklearn() {
    for name in CASES {
        let case = read_case(name);
        let expected = Expected::read(name);
        let (g, s, y) = (&case.groups, &case.scores, &case.labels);
        type Metric = fn(&[u64], &[f64], &[bool], usize) -> berserkr_model::Result<f64>;
        let metrics: [(&str, Metric); 3] = [
            ("precision_at_k", precision_at_k),
            ("recall_at_k", recall_at_k),
            ("ndcg_at_k", ndcg_at_k),
        ];
        for (metric, f) in metrics {
            for (k, value) in expected.at_k(metric) {
                assert_close(
                    f(g, s, y, k).unwrap(),
                    value,
                    &format!("{name}: {metric}@{k}"),
                );
            }
        }
    }
}

#[test]
fn calibration_matches_sklearn() {
    for name in CASES {
        let case = read_case(name);
        let expected = Expected::read(name);
        for n_bins in expected.n_bins() {
            let table = calibration_table(&case.scores, &case.labels, n_bins).unwrap();
            assert_eq!(table.bins().len(), n_bins);
            assert_eq!(
                table.bins().iter().map(|bin| bin.count).sum::<usize>(),
                case.scores.len()
            );
            let ours: Vec<_> = table.non_empty().collect();
            let theirs = expected.calibration(n_bins);
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{name}: non-empty bins of {n_bins}"
            );
            for (bin, (prob_true, prob_pred)) in ours.into_iter().zip(theirs) {
                let what = format!("{name}: bin ({}, {}] of {n_bins}", bin.lower, bin.upper);
                // A count over a count: the same division on both sides.
                assert_eq!(bin.observed_rate, Some(prob_true), "{what}");
                assert_close(bin.mean_predicted.unwrap(), prob_pred, &what);
            }
        }
    }
}

#[test]
fn evaluate_agrees_with_the_single_metrics() {
    for name in CASES {
        let case = read_case(name);
        let expected = Expected::read(name);
        let (g, s, y) = (&case.groups, &case.scores, &case.labels);
        let ks: Vec<usize> = expected.at_k("ndcg_at_k").iter().map(|(k, _)| *k).collect();
        let metrics = evaluate(g, s, y, &ks, 10).unwrap();
        assert_eq!(metrics.rows, s.len());
        assert_eq!(metrics.positives, y.iter().filter(|&&b| b).count());
        assert_eq!(metrics.roc_auc, roc_auc(s, y).unwrap());
        assert_eq!(metrics.average_precision, average_precision(s, y).unwrap());
        assert_eq!(metrics.log_loss, log_loss(s, y).unwrap());
        assert_eq!(metrics.brier_score, brier_score(s, y).unwrap());
        assert_eq!(metrics.calibration, calibration_table(s, y, 10).unwrap());
        assert_eq!(metrics.at_k.len(), ks.len());
        for (row, &k) in metrics.at_k.iter().zip(&ks) {
            assert_eq!(row.k, k);
            assert_eq!(row.precision, precision_at_k(g, s, y, k).unwrap());
            assert_eq!(row.recall, recall_at_k(g, s, y, k).unwrap());
            assert_eq!(row.ndcg, ndcg_at_k(g, s, y, k).unwrap());
        }
        let distinct = |rows: &mut dyn Iterator<Item = u64>| {
            let mut groups: Vec<u64> = rows.collect();
            groups.sort_unstable();
            groups.dedup();
            groups.len()
        };
        assert_eq!(metrics.groups, distinct(&mut g.iter().copied()));
        let with_positive = &mut g.iter().zip(y).filter(|row| *row.1).map(|row| *row.0);
        assert_eq!(metrics.groups_with_positives, distinct(with_positive));
        if name == "ties" {
            assert!(metrics.groups_with_positives < metrics.groups);
        }
    }
}

#[test]
fn ranking_metrics_ignore_the_input_order_except_p_and_r_ties() {
    let case = read_case("ties");
    fn reversed<T: Copy>(v: &[T]) -> Vec<T> {
        v.iter().rev().copied().collect()
    }
    let (g, s, y) = (
        reversed(&case.groups),
        reversed(&case.scores),
        reversed(&case.labels),
    );
    let orig = (&case.groups, &case.scores, &case.labels);
    assert_eq!(roc_auc(&s, &y).unwrap(), roc_auc(orig.1, orig.2).unwrap());
    assert_close(
        average_precision(&s, &y).unwrap(),
        average_precision(orig.1, orig.2).unwrap(),
        "average_precision reversed",
    );
    for k in [1, 3, 10] {
        assert_close(
            ndcg_at_k(&g, &s, &y, k).unwrap(),
            ndcg_at_k(orig.0, orig.1, orig.2, k).unwrap(),
            "ndcg_at_k reversed",
        );
    }
    // Ties broken by input order: reversing all-tied groups changes their
    // top candidates.
    let case = read_case("all_tied");
    let (g, s, y) = (
        reversed(&case.groups),
        reversed(&case.scores),
        reversed(&case.labels),
    );
    for k in [1, 3] {
        assert_ne!(
            precision_at_k(&g, &s, &y, k).unwrap(),
            precision_at_k(&case.groups, &case.scores, &case.labels, k).unwrap()
        );
        assert_ne!(
            recall_at_k(&g, &s, &y, k).unwrap(),
            recall_at_k(&case.groups, &case.scores, &case.labels, k).unwrap()
        );
        assert_close(
            ndcg_at_k(&g, &s, &y, k).unwrap(),
            ndcg_at_k(&case.groups, &case.scores, &case.labels, k).unwrap(),
            "ndcg_at_k of all ties reversed",
        );
    }
}

#[test]
fn roc_auc_and_average_precision_by_hand() {
    // Positives 0.5 and 0.8, negatives 0.5 and 0.2: three pairs won, one tied.
    let scores = [0.5, 0.5, 0.2, 0.8];
    let labels = [true, false, false, true];
    assert_eq!(roc_auc(&scores, &labels).unwrap(), 3.5 / 4.0);
    // Precision 1 at 0.8, then 2/3 at the tie at 0.5, each for half the recall.
    assert_close(
        average_precision(&scores, &labels).unwrap(),
        5.0 / 6.0,
        "AP",
    );
    // Negated scores: the tie still counts one half.
    let negated: Vec<f64> = scores.iter().map(|s| -s).collect();
    assert_eq!(roc_auc(&negated, &labels).unwrap(), 0.5 / 4.0);
    // Every label positive: AP is 1.
    assert_eq!(average_precision(&scores, &[true; 4]).unwrap(), 1.0);
}

#[test]
fn log_loss_and_brier_by_hand() {
    let eps = f64::EPSILON;
    // A positive given 0 costs -ln(eps), one given 1 costs -ln(1 - eps).
    let loss = log_loss(&[0.0, 1.0], &[true, true]).unwrap();
    assert_close(
        loss,
        (-eps.ln() - (1.0 - eps).ln()) / 2.0,
        "clipped log loss",
    );
    assert_close(loss, 18.021826694558577, "clipped log loss");
    // A negative given 1 costs the same as a positive given 0.
    assert_eq!(log_loss(&[1.0], &[false]).unwrap(), -eps.ln());
    assert_eq!(
        log_loss(&[0.5; 3], &[true, false, true]).unwrap(),
        2.0_f64.ln()
    );
    assert_eq!(brier_score(&[0.5; 3], &[true, false, true]).unwrap(), 0.25);
    assert_eq!(brier_score(&[1.0, 0.0], &[true, false]).unwrap(), 0.0);
    assert_eq!(brier_score(&[0.0, 1.0], &[true, false]).unwrap(), 1.0);
}

#[test]
fn precision_and_recall_at_k_by_hand() {
    // Customer 1: two candidates, both bought. Customer 2: four candidates,
    // one bought and ranked second. Customer 3: nothing bought, left out.
    let groups = [1, 2, 2, 3, 1, 2, 2, 3];
    let scores = [0.3, 0.9, 0.7, 0.8, 0.1, 0.2, 0.1, 0.6];
    let labels = [true, false, true, false, true, false, false, false];
    let p = |k| precision_at_k(&groups, &scores, &labels, k).unwrap();
    let r = |k| recall_at_k(&groups, &scores, &labels, k).unwrap();
    assert_eq!(p(1), (1.0 + 0.0) / 2.0);
    assert_eq!(r(1), (0.5 + 0.0) / 2.0);
    assert_eq!(p(2), (1.0 + 0.5) / 2.0);
    assert_eq!(r(2), (1.0 + 1.0) / 2.0);
    // k beyond the group's size still divides by k.
    assert_eq!(p(5), (2.0 / 5.0 + 1.0 / 5.0) / 2.0);
    assert_eq!(r(5), 1.0);
}

#[test]
fn ties_in_p_and_r_follow_the_input_order() {
    let groups = ["a", "a"];
    assert_eq!(
        precision_at_k(&groups, &[0.5, 0.5], &[false, true], 1).unwrap(),
        0.0
    );
    assert_eq!(
        precision_at_k(&groups, &[0.5, 0.5], &[true, false], 1).unwrap(),
        1.0
    );
    // -0 and 0 are the same score.
    assert_eq!(
        precision_at_k(&groups, &[0.0, -0.0], &[false, true], 1).unwrap(),
        0.0
    );
    assert_eq!(
        precision_at_k(&groups, &[-0.0, 0.0], &[false, true], 1).unwrap(),
        0.0
    );
    // NDCG averages over the tie whatever the order.
    assert_eq!(
        ndcg_at_k(&groups, &[0.5, 0.5], &[false, true], 1).unwrap(),
        0.5
    );
    assert_eq!(
        ndcg_at_k(&groups, &[0.5, 0.5], &[true, false], 1).unwrap(),
        0.5
    );
}

#[test]
fn ndcg_by_hand() {
    let d = |rank: f64| 1.0 / (rank + 1.0).log2();
    // Ranked: 0.9 (no), then a tie of three at 0.5 holding one positive,
    // then 0.1 (yes). At k = 2 the tie covers rank 2 only.
    let groups = [4_u64; 5];
    let scores = [0.5, 0.9, 0.1, 0.5, 0.5];
    let labels = [false, false, true, true, false];
    let ndcg = |k| ndcg_at_k(&groups, &scores, &labels, k).unwrap();
    assert_eq!(ndcg(1), 0.0);
    assert_close(ndcg(2), (d(2.0) / 3.0) / (d(1.0) + d(2.0)), "ndcg@2");
    assert_close(
        ndcg(5),
        ((d(2.0) + d(3.0) + d(4.0)) / 3.0 + d(5.0)) / (d(1.0) + d(2.0)),
        "ndcg@5",
    );
    assert_close(ndcg(50), ndcg(5), "ndcg@50");
    // A single candidate that was bought is a perfect ranking.
    assert_eq!(ndcg_at_k(&[1], &[0.3], &[true], 10).unwrap(), 1.0);
    // Groups without a positive are left out of the mean.
    let groups = [1, 1, 2, 2];
    let with_silent = ndcg_at_k(
        &groups,
        &[0.1, 0.2, 0.3, 0.4],
        &[true, false, false, false],
        2,
    );
    assert_close(with_silent.unwrap(), d(2.0), "ndcg with a silent group");
}

#[test]
fn calibration_table_display() {
    let probabilities = [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0];
    let labels = [false, false, false, true, false, true, true, true, true];
    let table = calibration_table(&probabilities, &labels, 4).unwrap();
    let expected = "\
probability        count  positives  predicted  observed
[0.000, 0.250]         2          0     0.1500    0.0000
(0.250, 0.500]         2          1     0.3500    0.5000
(0.500, 0.750]         2          1     0.6750    0.5000
(0.750, 1.000]         3          3     0.9000    1.0000
";
    assert_eq!(table.to_string(), expected);
    let table = calibration_table(&[0.05, 0.95], &[false, true], 3).unwrap();
    assert_eq!(table.bins()[1].mean_predicted, None);
    assert!(
        table
            .to_string()
            .contains("(0.333, 0.667]         0          0          -         -")
    );
}

#[test]
fn metrics_display() {
    let metrics = evaluate(
        &[1, 1, 2, 2],
        &[0.8, 0.3, 0.6, 0.1],
        &[true, false, false, true],
        &[1],
        2,
    )
    .unwrap();
    let expected = "\
candidates         4 (2 positive)
groups             2 (2 with a positive)
ROC AUC            0.5000
average precision  0.7500
log loss           0.9497
Brier score        0.3250

     k  precision   recall     NDCG
     1     0.5000   0.5000   0.5000

probability        count  positives  predicted  observed
[0.000, 0.500]         2          1     0.2000    0.5000
(0.500, 1.000]         2          1     0.7000    0.5000
";
    assert_eq!(metrics.to_string(), expected);
}

#[test]
fn errors_are_errors() {
    let undefined = |r: berserkr_model::Result<f64>| matches!(r, Err(Error::Undefined(_)));
    let invalid = |r: berserkr_model::Result<f64>, param: &str| matches!(r, Err(Error::InvalidParameter { name, .. }) if name == param);
    let mismatch = |r: berserkr_model::Result<f64>| matches!(r, Err(Error::ShapeMismatch(_)));
    let none: [u64; 0] = [];

    // Empty input.
    assert!(undefined(roc_auc(&[], &[])));
    assert!(undefined(average_precision(&[], &[])));
    assert!(undefined(log_loss(&[], &[])));
    assert!(undefined(brier_score(&[], &[])));
    assert!(undefined(precision_at_k(&none, &[], &[], 1)));
    assert!(matches!(
        calibration_table(&[], &[], 10),
        Err(Error::Undefined(_))
    ));
    assert!(matches!(
        evaluate(&none, &[], &[], &[1], 10),
        Err(Error::Undefined(_))
    ));

    // Lengths that differ.
    assert!(mismatch(roc_auc(&[0.1, 0.2], &[true])));
    assert!(mismatch(log_loss(&[0.1], &[true, false])));
    assert!(mismatch(recall_at_k(
        &[1, 2],
        &[0.1, 0.2, 0.3],
        &[true; 3],
        1
    )));
    assert!(mismatch(ndcg_at_k(&[1, 2], &[0.1], &[true], 1)));

    // Scores and probabilities out of their domain.
    assert!(invalid(roc_auc(&[0.1, f64::NAN], &[true, false]), "scores"));
    assert!(invalid(
        average_precision(&[f64::INFINITY, 0.0], &[true, false]),
        "scores"
    ));
    assert!(invalid(
        ndcg_at_k(&[1, 1], &[f64::NAN, 0.0], &[true, false], 1),
        "scores"
    ));
    assert!(invalid(
        log_loss(&[0.5, 1.5], &[true, false]),
        "probabilities"
    ));
    assert!(invalid(
        brier_score(&[-0.1, 0.5], &[true, false]),
        "probabilities"
    ));
    assert!(invalid(log_loss(&[f64::NAN], &[true]), "probabilities"));
    assert!(matches!(
        calibration_table(&[0.5, 2.0], &[true, false], 10),
        Err(Error::InvalidParameter {
            name: "probabilities",
            ..
        })
    ));
    assert!(matches!(
        evaluate(&[1, 1], &[0.5, 2.0], &[true, false], &[1], 10),
        Err(Error::InvalidParameter {
            name: "probabilities",
            ..
        })
    ));

    // Parameters.
    assert!(invalid(precision_at_k(&[1], &[0.5], &[true], 0), "k"));
    assert!(matches!(
        calibration_table(&[0.5], &[true], 0),
        Err(Error::InvalidParameter { name: "n_bins", .. })
    ));
    assert!(matches!(
        evaluate(&[1, 1], &[0.5, 0.2], &[true, false], &[3, 0], 10),
        Err(Error::InvalidParameter { name: "k", .. })
    ));

    // A single class.
    assert!(undefined(roc_auc(&[0.1, 0.2], &[true, true])));
    assert!(undefined(roc_auc(&[0.1, 0.2], &[false, false])));
    assert!(undefined(average_precision(&[0.1, 0.2], &[false, false])));
    assert!(undefined(precision_at_k(
        &[1, 2],
        &[0.1, 0.2],
        &[false, false],
        1
    )));
    assert!(matches!(
        evaluate(&[1, 2], &[0.1, 0.2], &[true, true], &[1], 10),
        Err(Error::Undefined(_))
    ));
    // ... where log loss and the Brier score are still defined.
    assert!(log_loss(&[0.1, 0.2], &[false, false]).is_ok());
    assert!(brier_score(&[0.1, 0.2], &[true, true]).is_ok());

    // The errors say what is wrong.
    let err = roc_auc(&[0.1, f64::NAN], &[true, false]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameter scores: score NaN at index 1 is not finite"
    );
}
