#!/usr/bin/env python3
"""Compare berserkr's boosted trees with LightGBM on one synthetic data set.

The data imitate a purchase-likelihood matrix: 60 numeric features (normal,
heavy-tailed amounts, small counts, codes, noise), many missing values (some
informative by being missing), about 3% positives. They are written as raw
little-endian f64/u8 files under the output folder (default /tmp/gbdt_cmp),
never committed.

    python3 -m venv /work/venv-lgb
    /work/venv-lgb/bin/pip install lightgbm numpy pyarrow scikit-learn
    /work/venv-lgb/bin/python compare_lightgbm.py all      # from this folder

Steps (`all` runs them in order):
    generate   write train (500k rows), valid (100k) and test (200k) sets
    lightgbm   fit LightGBM with the shared settings, time fit and predict
    berserkr   run the ignored Rust test `compare_lightgbm` in release mode
    report     AUC and average precision of both on the test set, by
               scikit-learn, and the timings, as a table

Shared settings: num_leaves 31, learning rate 0.05, 255 bins, at most 500
rounds with early stopping after 50 on the validation log loss, 2 threads,
min_data_in_leaf 20, min_sum_hessian 1e-3, no bagging, no L2. Fit time
includes binning (LightGBM's Dataset construction); predict time is on the
test set.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(os.environ.get("BERSERKR_GBDT_DATA", "/tmp/gbdt_cmp"))
N_FEATURES = 60
SIZES = {"train": 500_000, "valid": 100_000, "test": 200_000}
SEED = 20240611
THREADS = int(os.environ.get("BERSERKR_GBDT_THREADS", "2"))
PARAMS = {
    "objective": "binary",
    "num_leaves": 31,
    "learning_rate": 0.05,
    "max_bin": 255,
    "min_data_in_leaf": 20,
    "min_sum_hessian_in_leaf": 1e-3,
    "lambda_l2": 0.0,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "num_threads": THREADS,
    "verbosity": -1,
    "seed": 0,
}
ROUNDS = int(os.environ.get("BERSERKR_GBDT_ROUNDS", "500"))
EARLY_STOPPING = 50


def make(n, rng):
    """Features (n x 60, NaN for missing) and labels.

    The missing rate of each feature is the same in every set.
    """
    x = np.empty((n, N_FEATURES))
    # f0-f9: standard normal, the core signal.
    x[:, 0:10] = rng.standard_normal((n, 10))
    # f10-f19: heavy-tailed amounts.
    x[:, 10:20] = rng.lognormal(mean=3.0, sigma=1.2, size=(n, 10))
    # f20-f29: small counts.
    x[:, 20:30] = rng.poisson(lam=np.linspace(0.3, 6.0, 10), size=(n, 10))
    # f30-f39: uniform noise.
    x[:, 30:40] = rng.uniform(size=(n, 10))
    # f40-f49: codes 0..5.
    x[:, 40:50] = rng.integers(0, 6, size=(n, 10))
    # f50-f59: noisy copies of f0-f9.
    x[:, 50:60] = x[:, 0:10] + rng.standard_normal((n, 10)) * np.linspace(0.3, 2.0, 10)

    z = (
        1.2 * np.sin(1.5 * x[:, 0])
        + 0.8 * x[:, 1] * x[:, 2]
        + 0.7 * (x[:, 3] > 0.5)
        + 0.5 * np.tanh(x[:, 4] - x[:, 5])
        + 0.45 * (np.log(x[:, 10]) - 3.0)
        - 0.3 * (np.log(x[:, 12]) - 3.0) ** 2
        + 0.4 * np.tanh(x[:, 20] - 3.0)
        + 0.25 * np.minimum(x[:, 25], 6.0)
        + 0.6 * (x[:, 40] == 2)
        - 0.4 * (x[:, 41] >= 4)
        + 0.5 * (x[:, 6] > 0) * (x[:, 22] > 1)
    )
    # Missing at random in many features, at rates from 5% to 60%.
    rates = np.random.default_rng(SEED + 1).uniform(0.05, 0.6, N_FEATURES)
    rates[0:4] = 0.05
    missing = rng.uniform(size=(n, N_FEATURES)) < rates
    # f11 and f30 are informative only by being missing.
    z += 0.9 * missing[:, 11] - 0.6 * missing[:, 30]
    x[missing] = np.nan

    z += rng.logistic(size=n) * 0.5
    # Intercept for about 3% positives.
    b = np.quantile(z, 0.975)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-(z - b) * 2.5))).astype(np.uint8)
    return x, y


def generate():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    meta = {"n_features": N_FEATURES}
    for name, n in SIZES.items():
        x, y = make(n, rng)
        x.astype("<f8").tofile(OUT / f"{name}_x.f64")
        y.tofile(OUT / f"{name}_y.u8")
        meta[name] = n
        print(f"{name}: {n} rows, {y.mean():.4f} positive, {np.isnan(x).mean():.3f} missing")
    (OUT / "meta.json").write_text(json.dumps(meta))


def load(name):
    meta = json.loads((OUT / "meta.json").read_text())
    x = np.fromfile(OUT / f"{name}_x.f64", dtype="<f8").reshape(meta[name], meta["n_features"])
    y = np.fromfile(OUT / f"{name}_y.u8", dtype=np.uint8)
    return x, y


def lightgbm():
    import lightgbm as lgb

    xt, yt = load("train")
    xv, yv = load("valid")
    xs, _ = load("test")
    cpu_start = time.process_time()
    start = time.perf_counter()
    train = lgb.Dataset(xt, label=yt, params={"max_bin": 255, "verbosity": -1})
    valid = lgb.Dataset(xv, label=yv, reference=train)
    model = lgb.train(
        {**PARAMS, "metric": "binary_logloss"},
        train,
        num_boost_round=ROUNDS,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )
    fit_s = time.perf_counter() - start
    fit_cpu_s = time.process_time() - cpu_start
    model.predict(xs[:1000], num_threads=THREADS)  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        p = model.predict(xs, num_iteration=model.best_iteration, num_threads=THREADS)
        times.append(time.perf_counter() - start)
    p.astype("<f8").tofile(OUT / "lightgbm_pred.f64")
    result = {
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "predict_s": min(times),
        "best_iteration": model.best_iteration,
        "version": lgb.__version__,
    }
    (OUT / "lightgbm.json").write_text(json.dumps(result))
    print("lightgbm", result)


def berserkr():
    crate = Path(__file__).resolve().parents[2]
    cmd = [
        "cargo", "test", "--release", "-p", "berserkr-model", "--test", "gbdt", "--",
        "--ignored", "--exact", "compare_lightgbm", "--nocapture",
    ]
    env = {**os.environ, "BERSERKR_GBDT_DATA": str(OUT)}
    subprocess.run(cmd, cwd=crate, env=env, check=True)
    print("berserkr", json.loads((OUT / "berserkr.json").read_text()))


def report():
    from sklearn.metrics import average_precision_score, roc_auc_score

    _, ys = load("test")
    rows = []
    for name in ["lightgbm", "berserkr"]:
        p = np.fromfile(OUT / f"{name}_pred.f64", dtype="<f8")
        r = json.loads((OUT / f"{name}.json").read_text())
        rows.append((name, roc_auc_score(ys, p), average_precision_score(ys, p), r))
    print(f"| model | ROC AUC | AP | fit s | fit CPU s | predict s ({SIZES['test']} rows) | rounds kept |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, auc, ap, r in rows:
        print(f"| {name} | {auc:.4f} | {ap:.4f} | {r['fit_s']:.2f} | {r['fit_cpu_s']:.2f} "
              f"| {r['predict_s']:.3f} | {r['best_iteration']} |")
    (_, auc0, ap0, r0), (_, auc1, ap1, r1) = rows
    print(f"AUC diff {auc1 - auc0:+.4f}, AP diff {ap1 - ap0:+.4f}, "
          f"fit ratio {r1['fit_s'] / r0['fit_s']:.2f}, predict ratio {r1['predict_s'] / r0['predict_s']:.2f}")


def main():
    steps = {"generate": generate, "lightgbm": lightgbm, "berserkr": berserkr, "report": report}
    args = sys.argv[1:] or ["all"]
    for arg in args:
        if arg == "all":
            for step in steps.values():
                step()
        else:
            steps[arg]()


if __name__ == "__main__":
    main()
