"""scikit-learn's values for the parity tests of `berserkr_model::calibration`.

Writes, next to this script, for each case below:
  <case>.csv           the held-out scores to fit on: score,label,weight
                       (floats as Python repr, so they read back to the same
                       f64; weight 1 when the case has no sample weights)
  <case>_expected.csv  kind,x,value, floats as repr:
                         platt cases:    `a` and `b` of p = 1 / (1 + exp(-(a s + b))),
                                         that is -a_ and -b_ of scikit-learn's
                                         _sigmoid_calibration, whose
                                         p = expit(-(a_ s + b_));
                         isotonic cases: `threshold` rows, x = X_thresholds_[i],
                                         value = y_thresholds_[i];
                         both:           `predict` rows, x = a query score (150
                                         fitted scores, a grid reaching past
                                         both ends, the thresholds),
                                         value = the calibrated probability.

Platt scaling is sklearn.calibration._sigmoid_calibration (Platt's smoothed
targets, L-BFGS-B with gtol 1e-6), what CalibratedClassifierCV(method="sigmoid")
fits; isotonic is sklearn.isotonic.IsotonicRegression(out_of_bounds="clip"),
what CalibratedClassifierCV(method="isotonic") fits. Weights are passed as
sample_weight only in the cases that have them.

Run with scikit-learn 1.9 and numpy 2 (see README.md):
  python make_expected.py
"""

import os

import numpy as np
import scipy
import sklearn
from scipy.special import expit
from sklearn.calibration import _sigmoid_calibration
from sklearn.isotonic import IsotonicRegression

HERE = os.path.dirname(os.path.abspath(__file__))


def labels_for(rng, p):
    return (rng.rand(len(p)) < p).astype(np.int64)


def platt_logits(rng):
    """Log-odds of an over-confident model: the truth is half as steep."""
    s = rng.normal(-1.0, 2.0, 800)
    return s, labels_for(rng, expit(0.5 * s - 0.3)), None


def platt_probabilities(rng):
    """Probabilities squeezed towards 0.5, as bagged trees give."""
    z = rng.normal(-1.5, 1.5, 600)
    s = 0.5 + 0.3 * (expit(z) - 0.5)
    return s, labels_for(rng, expit(z)), None


def platt_large(rng):
    """Scores of magnitude above 30, which scikit-learn rescales first."""
    s = rng.normal(0.0, 40.0, 500)
    return s, labels_for(rng, expit(s / 25.0)), None


def platt_weighted(rng):
    """Sample weights, some of them zero."""
    s = rng.normal(0.0, 1.5, 700)
    w = rng.choice([0.0, 0.5, 1.0, 2.0, 3.5], 700)
    return s, labels_for(rng, expit(1.2 * s + 0.4)), w


def platt_one_class(rng):
    """No positive at all: the smoothed targets keep the optimum finite."""
    s = rng.normal(0.0, 1.0, 200)
    return s, np.zeros(200, dtype=np.int64), None


def isotonic_continuous(rng):
    """Distinct scores: every pooled block is a run of neighbours."""
    s = rng.beta(1.5, 4.0, 900)
    return s, labels_for(rng, np.sqrt(s)), None


def isotonic_ties(rng):
    """Scores rounded to two decimals: duplicates averaged first."""
    s = np.round(rng.beta(1.2, 3.0, 1200), 2)
    return s, labels_for(rng, 0.1 + 0.8 * s), None


def isotonic_weighted(rng):
    """Sample weights (zero weights dropped) on tied scores."""
    s = np.round(rng.uniform(0.0, 1.0, 800), 1)
    w = rng.choice([0.0, 0.25, 1.0, 4.0], 800)
    return s, labels_for(rng, s**2), w


def isotonic_constant(rng):
    """A single distinct score: the calibration is a constant."""
    s = np.full(50, 0.3)
    return s, labels_for(rng, np.full(50, 0.4)), None


CASES = {
    "platt_logits": (platt_logits, 1),
    "platt_probabilities": (platt_probabilities, 2),
    "platt_large": (platt_large, 3),
    "platt_weighted": (platt_weighted, 4),
    "platt_one_class": (platt_one_class, 5),
    "isotonic_continuous": (isotonic_continuous, 6),
    "isotonic_ties": (isotonic_ties, 7),
    "isotonic_weighted": (isotonic_weighted, 8),
    "isotonic_constant": (isotonic_constant, 9),
}


def queries(s, extra):
    """The first 150 fitted scores, a grid beyond both ends, and the given points."""
    lo, hi = s.min(), s.max()
    span = max(hi - lo, 1.0)
    grid = np.linspace(lo - 0.2 * span, hi + 0.2 * span, 57)
    return np.concatenate([s[:150], grid, np.asarray(extra, dtype=float)])


def expected(name, s, y, w):
    rows = []
    if name.startswith("platt"):
        a_, b_ = _sigmoid_calibration(s, y, sample_weight=w)
        rows += [("a", "", -a_), ("b", "", -b_)]
        for q in queries(s, []):
            rows.append(("predict", q, expit(-(a_ * q + b_))))
    else:
        iso = IsotonicRegression(out_of_bounds="clip").fit(s, y, sample_weight=w)
        for tx, ty in zip(iso.X_thresholds_, iso.y_thresholds_):
            rows.append(("threshold", tx, ty))
        for q in queries(s, iso.X_thresholds_):
            rows.append(("predict", q, iso.predict([q])[0]))
    return rows


def main():
    for name, (make, seed) in CASES.items():
        s, y, w = make(np.random.RandomState(seed))
        with open(os.path.join(HERE, f"{name}.csv"), "w") as out:
            out.write("score,label,weight\n")
            weights = np.ones(len(s)) if w is None else w
            for si, yi, wi in zip(s.tolist(), y.tolist(), weights.tolist()):
                out.write(f"{si!r},{yi},{wi!r}\n")
        with open(os.path.join(HERE, f"{name}_expected.csv"), "w") as out:
            out.write("kind,x,value\n")
            for kind, x, value in expected(name, s, y, w):
                x = "" if x == "" else repr(float(x))
                out.write(f"{kind},{x},{float(value)!r}\n")
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")


if __name__ == "__main__":
    main()
