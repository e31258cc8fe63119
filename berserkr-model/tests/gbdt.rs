//! Behaviour of the boosted trees on seeded synthetic data, and the
//! comparison with LightGBM (ignored; see `testdata/gbdt/compare_lightgbm.py`).

use berserkr_model::Error;
use berserkr_model::gbdt::{Gbdt, GbdtParams, Samples};
use ndarray::{Array2, ArrayView2};

/// SplitMix64, for seeded test data without a dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

/// ROC AUC by the rank-sum formula, ties counted half.
fn auc(scores: &[f64], y: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += order[i..j].iter().filter(|&&k| y[k]).count() as f64 * mid_rank;
        i = j;
    }
    let pos = y.iter().filter(|&&v| v).count() as f64;
    let neg = y.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// A nonlinear problem: a ring in features 0 and 1, an interaction of 2 and
/// 3, noise features, 10% missing values everywhere, and label noise.
fn nonlinear(n: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
    let mut rng = Rng(seed);
    let mut x = Array2::zeros((n, 8));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        for j in 0..8 {
            x[[i, j]] = rng.normal();
        }
        let r2 = x[[i, 0]].powi(2) + x[[i, 1]].powi(2);
        let z = 2.5 * (r2 < 1.0) as u8 as f64 + 1.5 * x[[i, 2]] * x[[i, 3]] - 1.5;
        y.push(rng.uniform() < 1.0 / (1.0 + (-2.0 * z).exp()));
        for j in 0..8 {
            if rng.uniform() < 0.1 {
                x[[i, j]] = f64::NAN;
            }
        }
    }
    (x, y)
}

fn fit<'a>(params: GbdtParams, x: ArrayView2<'a, f64>, y: &'a [bool]) -> Gbdt {
    params
        .check()
        .unwrap()
        .fit(&Samples::new(x, y).unwrap())
        .unwrap()
}

#[test]
fn learns_a_nonlinear_problem() {
    let (x, y) = nonlinear(20_000, 1);
    let (xt, yt) = nonlinear(5_000, 2);
    let model = fit(GbdtParams::new().with_n_trees(100), x.view(), &y);
    assert_eq!(model.n_trees(), 100);
    let p = model.predict_proba(xt.view()).unwrap();
    let auc = auc(p.as_slice().unwrap(), &yt);
    // The Bayes rate of this problem is about 0.86 (with missing values
    // hiding part of the signal); a linear model gets about 0.6.
    assert!(auc > 0.8, "AUC {auc}");
    assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)));

    let gain = model.feature_importance();
    let signal: f64 = gain[..4].iter().sum();
    let noise: f64 = gain[4..].iter().sum();
    assert!(signal > 5.0 * noise, "{gain:?}");
    assert_eq!(model.feature_split_counts().iter().sum::<usize>(), 100 * 30);
}

#[test]
fn a_feature_informative_only_by_being_missing() {
    let mut rng = Rng(3);
    let n = 5_000;
    let mut x = Array2::zeros((n, 3));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let missing = rng.uniform() < 0.3;
        // Feature 0: the same value whether the label is set or not, but
        // missing for the positives.
        x[[i, 0]] = if missing { f64::NAN } else { rng.normal() };
        x[[i, 1]] = rng.normal();
        x[[i, 2]] = rng.normal();
        y.push(missing);
    }
    let model = fit(
        GbdtParams::new().with_n_trees(20).with_num_leaves(4),
        x.view(),
        &y,
    );
    let p = model.predict_proba(x.view()).unwrap();
    assert!(auc(p.as_slice().unwrap(), &y) > 0.999);
    for (i, &label) in y.iter().enumerate() {
        if label {
            assert!(p[i] > 0.9, "row {i}: {}", p[i]);
        } else {
            assert!(p[i] < 0.1, "row {i}: {}", p[i]);
        }
    }
    let gain = model.feature_importance();
    assert!(gain[0] > 100.0 * (gain[1] + gain[2]), "{gain:?}");

    // A missing value where training saw none goes somewhere, without
    // failing.
    let mut x_new = x.clone();
    x_new.column_mut(1).fill(f64::NAN);
    assert!(model.predict_proba(x_new.view()).is_ok());
}

#[test]
fn early_stopping_stops_and_keeps_the_best_round() {
    let (x, y) = nonlinear(5_000, 4);
    let (xv, yv) = nonlinear(2_000, 5);
    let params = GbdtParams::new()
        .with_n_trees(1_000)
        .with_learning_rate(0.3)
        .with_num_leaves(63)
        .with_min_data_in_leaf(2)
        .with_early_stopping_rounds(Some(10))
        .check()
        .unwrap();
    let model = params
        .fit_with_validation(
            &Samples::new(x.view(), &y).unwrap(),
            &Samples::new(xv.view(), &yv).unwrap(),
        )
        .unwrap();
    let best = model.best_iteration().unwrap();
    assert!(best < 200, "best iteration {best}");
    assert_eq!(model.n_trees(), best);
    let losses = model.validation_loss();
    assert_eq!(losses.len(), best + 10);
    let min = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[best - 1], min);
    assert!(losses[best..].iter().all(|&l| l >= min));

    // Early stopping needs a validation set.
    assert!(matches!(
        params.fit(&Samples::new(x.view(), &y).unwrap()),
        Err(Error::InvalidParameter {
            name: "early_stopping_rounds",
            ..
        })
    ));
}

#[test]
fn validation_without_early_stopping_tracks_every_round() {
    let (x, y) = nonlinear(2_000, 6);
    let model = GbdtParams::new()
        .with_n_trees(15)
        .check()
        .unwrap()
        .fit_with_validation(
            &Samples::new(x.view(), &y).unwrap(),
            &Samples::new(x.view(), &y).unwrap(),
        )
        .unwrap();
    assert_eq!(model.n_trees(), 15);
    assert_eq!(model.best_iteration(), None);
    let losses = model.validation_loss();
    assert_eq!(losses.len(), 15);
    // On the training rows the loss keeps falling.
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
}

#[test]
fn class_weights_shift_predicted_probabilities() {
    let (x, y) = nonlinear(10_000, 7);
    let base = GbdtParams::new().with_n_trees(30);
    let mean = |m: &Gbdt| m.predict_proba(x.view()).unwrap().mean().unwrap();
    let unit = fit(base.clone(), x.view(), &y);
    let heavy = fit(base.clone().with_positive_weight(4.0), x.view(), &y);
    let balanced = fit(base.clone().with_balanced_classes(), x.view(), &y);
    let rate = y.iter().filter(|&&v| v).count() as f64 / y.len() as f64;
    assert!(
        (mean(&unit) - rate).abs() < 0.02,
        "{} vs {rate}",
        mean(&unit)
    );
    assert!(mean(&heavy) > mean(&unit) + 0.1);
    // Balanced classes centre the predictions near one half.
    assert!((mean(&balanced) - 0.5).abs() < 0.1, "{}", mean(&balanced));
    assert!(unit.base_score() < heavy.base_score());

    // Sample weights: doubling every weight changes nothing but the
    // hessian constraint, which these data do not reach.
    let w = vec![2.0; y.len()];
    let doubled = GbdtParams::new()
        .with_n_trees(30)
        .check()
        .unwrap()
        .fit(
            &Samples::new(x.view(), &y)
                .unwrap()
                .with_weights(&w)
                .unwrap(),
        )
        .unwrap();
    let a = unit.predict_proba(x.view()).unwrap();
    let b = doubled.predict_proba(x.view()).unwrap();
    let max_diff = a
        .iter()
        .zip(&b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(max_diff < 1e-9, "{max_diff}");
}

#[test]
fn the_same_model_with_one_or_two_threads() {
    let (x, y) = nonlinear(30_000, 8);
    let params = |threads| {
        GbdtParams::new()
            .with_n_trees(20)
            .with_feature_fraction(0.7)
            .with_bagging_fraction(0.8)
            .with_bin_sample_size(10_000)
            .with_seed(42)
            .with_n_threads(Some(threads))
    };
    let one = fit(params(1), x.view(), &y);
    let two = fit(params(2), x.view(), &y);
    assert_eq!(one, two);

    let predict = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| one.predict_raw(x.view()).unwrap())
    };
    let p1 = predict(1);
    let p2 = predict(2);
    assert!(p1.iter().zip(&p2).all(|(a, b)| a.to_bits() == b.to_bits()));

    // Another seed draws other rows and features.
    let other = fit(params(2).with_seed(43), x.view(), &y);
    assert_ne!(one, other);
}

#[test]
fn goss_learns_as_well_on_a_share_of_the_rows() {
    let (x, y) = nonlinear(20_000, 1);
    let (xt, yt) = nonlinear(5_000, 2);
    let params = |threads| {
        GbdtParams::new()
            .with_n_trees(100)
            .with_goss(0.2, 0.1)
            .with_seed(7)
            .with_n_threads(Some(threads))
    };
    let sampled = fit(params(2), x.view(), &y);
    let p = sampled.predict_proba(xt.view()).unwrap();
    let sampled_auc = auc(p.as_slice().unwrap(), &yt);
    let full = fit(GbdtParams::new().with_n_trees(100), x.view(), &y);
    let full_auc = auc(
        full.predict_proba(xt.view()).unwrap().as_slice().unwrap(),
        &yt,
    );
    assert!(
        sampled_auc > full_auc - 0.01,
        "{sampled_auc} against {full_auc}"
    );
    // Trees after the first 1 / learning_rate see a sample: another model.
    assert_ne!(sampled, full);
    assert_eq!(sampled, fit(params(1), x.view(), &y));
}

#[test]
fn any_memory_layout_predicts_the_same() {
    let (x, y) = nonlinear(3_000, 9);
    let model = fit(GbdtParams::new().with_n_trees(10), x.view(), &y);
    let fortran = x.t().as_standard_layout().to_owned();
    let p_c = model.predict_raw(x.view()).unwrap();
    let p_f = model.predict_raw(fortran.t()).unwrap();
    assert_eq!(p_c, p_f);
    let model_f = fit(GbdtParams::new().with_n_trees(10), fortran.t(), &y);
    assert_eq!(model, model_f);
}

#[test]
fn invalid_inputs_are_errors() {
    assert!(matches!(
        GbdtParams::new().with_num_leaves(1).check(),
        Err(Error::InvalidParameter {
            name: "num_leaves",
            ..
        })
    ));
    assert!(matches!(
        GbdtParams::new().with_learning_rate(-0.1).check(),
        Err(Error::InvalidParameter {
            name: "learning_rate",
            ..
        })
    ));
    let x = Array2::<f64>::zeros((10, 2));
    let y = vec![true; 9];
    assert!(matches!(
        Samples::new(x.view(), &y),
        Err(Error::ShapeMismatch(_))
    ));
    let y = vec![true; 10];
    let samples = Samples::new(x.view(), &y).unwrap();
    assert!(matches!(
        samples.with_weights(&[1.0; 3]),
        Err(Error::ShapeMismatch(_))
    ));
    let mut w = [1.0; 10];
    w[4] = f64::NAN;
    assert!(matches!(
        samples.with_weights(&w),
        Err(Error::InvalidParameter {
            name: "weights",
            ..
        })
    ));
    let params = GbdtParams::new().check().unwrap();
    assert!(matches!(params.fit(&samples), Err(Error::Undefined(_))));

    let mut y = vec![false; 10];
    y[0] = true;
    let model = params.fit(&Samples::new(x.view(), &y).unwrap()).unwrap();
    assert!(matches!(
        model.predict_proba(Array2::zeros((3, 5)).view()),
        Err(Error::ShapeMismatch(_))
    ));
    let xv = Array2::<f64>::zeros((10, 3));
    assert!(matches!(
        params.fit_with_validation(
            &Samples::new(x.view(), &y).unwrap(),
            &Samples::new(xv.view(), &y).unwrap()
        ),
        Err(Error::ShapeMismatch(_))
    ));
}

#[test]
fn goss_rates_are_checked() {
    for (top, other) in [(0.0, 0.1), (0.2, 1.0), (0.6, 0.5), (f64::NAN, 0.1)] {
        assert!(
            matches!(
                GbdtParams::new().with_goss(top, other).check(),
                Err(Error::InvalidParameter { name: "goss", .. })
            ),
            "{top} {other}"
        );
    }
    assert!(matches!(
        GbdtParams::new()
            .with_goss(0.2, 0.1)
            .with_bagging_fraction(0.5)
            .check(),
        Err(Error::InvalidParameter { name: "goss", .. })
    ));
    let checked = GbdtParams::new().with_goss(0.2, 0.1).check().unwrap();
    assert_eq!(checked.goss(), Some((0.2, 0.1)));
}

#[test]
fn tiny_and_constant_inputs_fit_a_constant() {
    // Too few rows to split: every tree is one leaf, the prediction the
    // positive rate.
    let x = Array2::from_shape_fn((10, 2), |(i, j)| (i + j) as f64);
    let y: Vec<bool> = (0..10).map(|i| i < 3).collect();
    let model = fit(GbdtParams::new().with_n_trees(5), x.view(), &y);
    let p = model.predict_proba(x.view()).unwrap();
    assert!(p.iter().all(|&v| (v - 0.3).abs() < 1e-6), "{p}");
    assert_eq!(model.feature_importance(), vec![0.0, 0.0]);

    // Constant and all-missing features never split.
    let x = Array2::from_shape_fn((200, 2), |(_, j)| if j == 0 { 1.0 } else { f64::NAN });
    let y: Vec<bool> = (0..200).map(|i| i % 2 == 0).collect();
    let model = fit(GbdtParams::new().with_n_trees(5), x.view(), &y);
    assert_eq!(model.feature_split_counts(), vec![0, 0]);
}

/// CPU time of this process (all threads, user and system), from
/// `/proc/self/stat`, in seconds; 0 where there is no `/proc`.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name: state is the 3rd, utime the 14th and
    // stime the 15th, in clock ticks (100 a second on Linux).
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Fits on the data of `testdata/gbdt/compare_lightgbm.py` with LightGBM's
/// settings there, and writes predictions and timings beside the data.
#[test]
#[ignore = "needs the data of testdata/gbdt/compare_lightgbm.py; run in release"]
fn compare_lightgbm() {
    use std::time::Instant;

    let dir = std::path::PathBuf::from(
        std::env::var("BERSERKR_GBDT_DATA").unwrap_or_else(|_| "/tmp/gbdt_cmp".into()),
    );
    let threads: usize = std::env::var("BERSERKR_GBDT_THREADS")
        .map(|v| v.parse().unwrap())
        .unwrap_or(2);
    let rounds: usize = std::env::var("BERSERKR_GBDT_ROUNDS")
        .map(|v| v.parse().unwrap())
        .unwrap_or(500);
    let meta = std::fs::read_to_string(dir.join("meta.json")).unwrap();
    let field = |name: &str| -> usize {
        let at = meta.find(&format!("\"{name}\": ")).unwrap() + name.len() + 4;
        let digits: String = meta[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    let n_features = field("n_features");
    let load = |name: &str| {
        let n = field(name);
        let bytes = std::fs::read(dir.join(format!("{name}_x.f64"))).unwrap();
        let values: Vec<f64> = bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let x = Array2::from_shape_vec((n, n_features), values).unwrap();
        let y: Vec<bool> = std::fs::read(dir.join(format!("{name}_y.u8")))
            .unwrap()
            .into_iter()
            .map(|b| b != 0)
            .collect();
        (x, y)
    };
    let (xt, yt) = load("train");
    let (xv, yv) = load("valid");
    let (xs, ys) = load("test");

    let params = GbdtParams::new()
        .with_n_trees(rounds)
        .with_learning_rate(0.05)
        .with_num_leaves(31)
        .with_max_bins(255)
        .with_early_stopping_rounds(Some(50))
        .with_n_threads(Some(threads))
        .check()
        .unwrap();
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let model = params
        .fit_with_validation(
            &Samples::new(xt.view(), &yt).unwrap(),
            &Samples::new(xv.view(), &yv).unwrap(),
        )
        .unwrap();
    let fit_s = start.elapsed().as_secs_f64();
    let fit_cpu_s = cpu_seconds() - cpu_start;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let (p, predict_s) = pool.install(|| {
        let mut best = f64::INFINITY;
        let mut p = None;
        for _ in 0..3 {
            let start = Instant::now();
            p = Some(model.predict_proba(xs.view()).unwrap());
            best = best.min(start.elapsed().as_secs_f64());
        }
        (p.unwrap(), best)
    });
    let bytes: Vec<u8> = p.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("berserkr_pred.f64"), bytes).unwrap();
    let best_iteration = model.best_iteration().unwrap_or(model.n_trees());
    let json = format!(
        "{{\"fit_s\": {fit_s}, \"fit_cpu_s\": {fit_cpu_s}, \"predict_s\": {predict_s}, \"best_iteration\": {best_iteration}, \"threads\": {threads}}}"
    );
    std::fs::write(dir.join("berserkr.json"), &json).unwrap();
    println!("{json}; test AUC {:.4}", auc(p.as_slice().unwrap(), &ys));
}

#[test]
fn a_model_file_with_broken_trees_is_refused() {
    use berserkr_model::gbdt::{Gbdt, GbdtParams, Samples};
    let x = ndarray::Array2::from_shape_fn((500, 2), |(i, j)| ((i * (3 + j)) % 17) as f64);
    let y: Vec<bool> = (0..500).map(|i| (i * 3) % 17 > 8).collect();
    let model = GbdtParams::new()
        .with_n_trees(5)
        .with_num_leaves(4)
        .check()
        .unwrap()
        .fit(&Samples::new(x.view(), &y).unwrap())
        .unwrap();
    let json = serde_json::to_string(&model).unwrap();
    let back: Gbdt = serde_json::from_str(&json).unwrap();
    back.validate().unwrap();
    assert_eq!(
        back.predict_proba(x.view()).unwrap(),
        model.predict_proba(x.view()).unwrap()
    );
    let broken = json.replacen("\"feature\":0", "\"feature\":99", 1);
    assert_ne!(broken, json);
    let broken: Gbdt = serde_json::from_str(&broken).unwrap();
    let error = broken.validate().unwrap_err().to_string();
    assert!(error.contains("feature 99"), "{error}");
}
