#!/usr/bin/env python3
"""The pipeline's model settings, tried with LightGBM on its exported matrices.

Each setting is judged the way the pipeline chose its own: by the binary log
loss on the held-out rows (valid.parquet, weighted), with early stopping
after 20 rounds there; the evaluation cutoff's metrics are printed beside it.
This reproduces the numbers the README and the code give for the choices:
15 leaves against 31, a fresh half of the rows per tree, GOSS, quantised
gradients, 63 bins, and ranking objectives grouped by customer.

    berserkr pipeline --input ../shared/data/online-retail/by-day/ --export-matrices DIR
    /work/venv-stack/bin/python benches/compare/tuning.py --dir DIR

The 161-column matrices the default customer features replaced (with the
features stacked on invoice aggregates) come from the commit before them:
`git checkout b8cec00`, export, and run this script on that directory; with
`--drop-contains "(invoices."` it drops those columns itself. In the same way
the 78-column matrices of 7e90d33, with a `--drop-contains` for each entry of
`DFS_DROPS` ("DAY(", "MONTH(", "YEAR(", "MODE(", "SKEW(", "STD(", "MIN(",
"MAX("), reproduce the choice to drop those.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gbdt import evaluate, load_all  # noqa: E402

BASE = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20,
        "bagging_fraction": 0.5, "bagging_freq": 1, "verbose": -1, "num_threads": 2, "seed": 42}
SETTINGS = [
    ("the pipeline's (15 leaves, half the rows per tree)", {}),
    ("31 leaves, half the rows per tree", {"num_leaves": 31}),
    ("31 leaves, every row", {"num_leaves": 31, "bagging_fraction": 1.0, "bagging_freq": 0}),
    ("15 leaves, every row", {"bagging_fraction": 1.0, "bagging_freq": 0}),
    ("GOSS 0.2 / 0.1", {"data_sample_strategy": "goss", "top_rate": 0.2, "other_rate": 0.1,
                        "bagging_fraction": 1.0, "bagging_freq": 0}),
    ("quantised gradients", {"use_quantized_grad": True}),
    ("63 bins", {"max_bin": 63}),
    ("lambdarank by customer", {"objective": "lambdarank", "eval_at": [10]}),
    ("rank_xendcg by customer", {"objective": "rank_xendcg", "eval_at": [10]}),
]


def groups(customers):
    """Sizes of the runs of equal customers: rows come by cutoff, then customer."""
    import numpy as np

    starts = np.flatnonzero(np.diff(customers) != 0) + 1
    return np.diff(np.concatenate([[0], starts, [len(customers)]]))


def main():
    import lightgbm as lgb
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="what `berserkr pipeline --export-matrices` wrote")
    parser.add_argument("--drop-contains", action="append", default=[],
                        help="leave out the feature columns whose names contain this")
    args = parser.parse_args()

    data = load_all(args.dir)
    names = data["train"]["names"]
    keep = [j for j, n in enumerate(names) if not any(part in n for part in args.drop_contains)]
    train, valid, ev = (data[s] for s in ("train", "valid", "eval"))
    x = {s: data[s]["x"][:, keep] for s in ("train", "valid", "eval")}
    print(f"{len(keep)} of {len(names)} features\n")
    print(f"{'setting':<52} {'trees':>5} {'valid loss':>10} {'AUC':>7} {'AP':>7} {'P@10':>7} {'Brier':>9}")
    for label, change in SETTINGS:
        params = {**BASE, **change}
        ranking = params["objective"] != "binary"
        if ranking:
            # A ranker's scores are not probabilities: its early stopping
            # watches NDCG@10 and its log loss is not shown.
            params["metric"] = "ndcg"
            dtrain = lgb.Dataset(x["train"], train["y"], group=groups(train["customers"]))
            dvalid = lgb.Dataset(x["valid"], valid["y"], group=groups(valid["customers"]))
        else:
            params["metric"] = "binary_logloss"
            dtrain = lgb.Dataset(x["train"], train["y"], weight=train["weight"])
            dvalid = lgb.Dataset(x["valid"], valid["y"], weight=valid["weight"])
        history = {}
        booster = lgb.train(params, dtrain, 1000, valid_sets=[dvalid], valid_names=["valid"],
                            callbacks=[lgb.early_stopping(20, verbose=False), lgb.record_evaluation(history)])
        p = booster.predict(x["eval"], num_iteration=booster.best_iteration)
        if ranking:
            p = 1.0 / (1.0 + np.exp(-p))  # any monotone map: AUC, AP and P@10 do not change
        m = evaluate(ev, p)
        loss = "-" if ranking else f"{min(history['valid']['binary_logloss']):.5f}"
        brier = "-" if ranking else f"{m['brier']:.6f}"
        print(f"{label:<52} {booster.best_iteration:>5} {loss:>10} {m['roc_auc']:>7.4f} "
              f"{m['average_precision']:>7.4f} {m['precision_at_10']:>7.4f} {brier:>9}", flush=True)


if __name__ == "__main__":
    main()
