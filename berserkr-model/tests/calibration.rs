//! Parity with scikit-learn: Platt scaling and isotonic calibration on the
//! fixtures that `testdata/calibration/make_expected.py` made, Platt to 1e-6
//! (scikit-learn's L-BFGS-B stops at a gradient of 1e-6), isotonic to 1e-12;
//! then the errors.

use std::fs;
use std::path::{Path, PathBuf};

use berserkr_model::Error;
use berserkr_model::calibration::{
    Calibration, CalibrationMethod, IsotonicCalibration, PlattScaling,
};

const PLATT: [&str; 5] = [
    "platt_logits",
    "platt_probabilities",
    "platt_large",
    "platt_weighted",
    "platt_one_class",
];
const ISOTONIC: [&str; 4] = [
    "isotonic_continuous",
    "isotonic_ties",
    "isotonic_weighted",
    "isotonic_constant",
];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/calibration")
}

/// The lines of a CSV after its header, split on commas.
fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

/// The held-out rows of a case: scores, labels, weights.
struct Case {
    scores: Vec<f64>,
    labels: Vec<bool>,
    weights: Vec<f64>,
}

fn read_case(name: &str) -> Case {
    let rows = read_rows(&testdata().join(format!("{name}.csv")));
    Case {
        scores: rows.iter().map(|r| r[0].parse().unwrap()).collect(),
        labels: rows
            .iter()
            .map(|r| match r[1].as_str() {
                "0" => false,
                "1" => true,
                other => panic!("label {other}"),
            })
            .collect(),
        weights: rows.iter().map(|r| r[2].parse().unwrap()).collect(),
    }
}

/// scikit-learn's values for a case: `(kind, x, value)`.
fn read_expected(name: &str) -> Vec<(String, Option<f64>, f64)> {
    read_rows(&testdata().join(format!("{name}_expected.csv")))
        .into_iter()
        .map(|r| {
            let x = (!r[1].is_empty()).then(|| r[1].parse().unwrap());
            (r[0].clone(), x, r[2].parse().unwrap())
        })
        .collect()
}

fn scalar(expected: &[(String, Option<f64>, f64)], kind: &str) -> f64 {
    let values: Vec<f64> = expected
        .iter()
        .filter(|e| e.0 == kind)
        .map(|e| e.2)
        .collect();
    assert_eq!(values.len(), 1, "{kind}");
    values[0]
}

fn points<'a>(
    expected: &'a [(String, Option<f64>, f64)],
    kind: &'a str,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    expected
        .iter()
        .filter(move |e| e.0 == kind)
        .map(|e| (e.1.unwrap(), e.2))
}

#[test]
fn platt_matches_scikit_learn() {
    for name in PLATT {
        let case = read_case(name);
        let expected = read_expected(name);
        let platt = PlattScaling::fit(&case.scores, &case.labels, Some(&case.weights)).unwrap();
        let (a, b) = (scalar(&expected, "a"), scalar(&expected, "b"));
        assert!(
            (platt.a() - a).abs() <= 1e-6 && (platt.b() - b).abs() <= 1e-6,
            "{name}: a {} b {}, scikit-learn a {a} b {b}",
            platt.a(),
            platt.b()
        );
        let mut n = 0;
        for (x, p) in points(&expected, "predict") {
            let got = platt.predict(x);
            assert!(
                (got - p).abs() <= 1e-6,
                "{name}: p({x}) = {got}, scikit-learn {p}"
            );
            n += 1;
        }
        assert!(n > 100, "{name}: {n} predictions");
    }
}

#[test]
fn platt_without_weights_is_unit_weights() {
    let case = read_case("platt_logits");
    let unit = PlattScaling::fit(&case.scores, &case.labels, Some(&case.weights)).unwrap();
    let none = PlattScaling::fit(&case.scores, &case.labels, None).unwrap();
    assert!((unit.a() - none.a()).abs() < 1e-12 && (unit.b() - none.b()).abs() < 1e-12);
}

#[test]
fn isotonic_matches_scikit_learn() {
    for name in ISOTONIC {
        let case = read_case(name);
        let expected = read_expected(name);
        let iso =
            IsotonicCalibration::fit(&case.scores, &case.labels, Some(&case.weights)).unwrap();
        let (xs, ys) = iso.thresholds();
        let thresholds: Vec<(f64, f64)> = points(&expected, "threshold").collect();
        assert_eq!(xs.len(), thresholds.len(), "{name}: thresholds");
        for ((x, y), (ex, ey)) in xs.iter().zip(ys).zip(&thresholds) {
            assert!(
                (x - ex).abs() <= 1e-12,
                "{name}: threshold {x}, scikit-learn {ex}"
            );
            assert!(
                (y - ey).abs() <= 1e-12,
                "{name}: value at {x}: {y}, scikit-learn {ey}"
            );
        }
        let mut n = 0;
        for (x, p) in points(&expected, "predict") {
            let got = iso.predict(x);
            assert!(
                (got - p).abs() <= 1e-12,
                "{name}: p({x}) = {got}, scikit-learn {p}"
            );
            n += 1;
        }
        assert!(n > 50, "{name}: {n} predictions");
    }
}

#[test]
fn calibration_maps_probabilities_monotonically() {
    let case = read_case("isotonic_continuous");
    for method in [CalibrationMethod::Platt, CalibrationMethod::Isotonic] {
        let c = Calibration::fit(method, &case.scores, &case.labels, None).unwrap();
        assert_eq!(c.method(), method);
        let grid: Vec<f64> = (0..=100).map(|i| f64::from(i) / 100.0).collect();
        let mut calibrated = grid.clone();
        c.calibrate_all(&mut calibrated);
        assert!(calibrated.windows(2).all(|w| w[0] <= w[1]), "{method:?}");
        assert!(calibrated.iter().all(|p| (0.0..=1.0).contains(p)));
        for (p, q) in grid.iter().zip(&calibrated) {
            assert_eq!(c.calibrate(*p), *q);
        }
    }
}

#[test]
fn platt_of_probabilities_works_on_log_odds() {
    // A model whose probabilities are already calibrated keeps them.
    let p: Vec<f64> = (1..1000).map(|i| f64::from(i) / 1000.0).collect();
    // Labels at the right frequency: a low-discrepancy sequence below p.
    let golden = (5.0_f64.sqrt() - 1.0) / 2.0;
    let y: Vec<bool> = p
        .iter()
        .enumerate()
        .map(|(i, &p)| (i as f64 * golden).fract() < p)
        .collect();
    let c = Calibration::fit(CalibrationMethod::Platt, &p, &y, None).unwrap();
    let Calibration::Platt(platt) = &c else {
        panic!("{c:?}")
    };
    assert!((platt.a() - 1.0).abs() < 0.1, "{platt:?}");
    assert!(platt.b().abs() < 0.1, "{platt:?}");
    assert!((c.calibrate(0.5) - 0.5).abs() < 0.05);
    // 0 and 1 are clipped, not infinite.
    assert!(c.calibrate(0.0) > 0.0 && c.calibrate(1.0) < 1.0);
}

#[test]
fn errors_name_what_is_wrong() {
    let s = [0.1, 0.2, 0.3];
    let y = [false, true, true];
    assert!(matches!(
        PlattScaling::fit(&s, &y[..2], None),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        IsotonicCalibration::fit(&[], &[], None),
        Err(Error::Undefined(_))
    ));
    assert!(matches!(
        PlattScaling::fit(&[0.1, f64::NAN, 0.3], &y, None),
        Err(Error::InvalidParameter { name: "scores", .. })
    ));
    assert!(matches!(
        IsotonicCalibration::fit(&s, &y, Some(&[1.0, -1.0, 1.0])),
        Err(Error::InvalidParameter {
            name: "weights",
            ..
        })
    ));
    assert!(matches!(
        IsotonicCalibration::fit(&s, &y, Some(&[0.0, 0.0, 0.0])),
        Err(Error::Undefined(_))
    ));
    assert!(matches!(
        PlattScaling::fit(&s, &y, Some(&[1.0])),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(PlattScaling::new(f64::INFINITY, 0.0).is_err());
}
