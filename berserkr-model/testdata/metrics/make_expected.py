"""scikit-learn's values for the parity tests of `berserkr_model::metrics`.

Writes, next to this script, for each case below:
  <case>.csv           the scored candidates: group,score,label (scores as
                       Python repr, so they read back to the same f64)
  <case>_expected.csv  metric,param,index,value: scikit-learn's roc_auc_score,
                       average_precision_score, log_loss (labels=[0, 1]),
                       brier_score_loss, ndcg_score per group, plain-numpy
                       precision@k and recall@k, and calibration_curve
                       (strategy="uniform"), floats as repr

Conventions of the grouped metrics (the same as the Rust code):
  * every group with at least one positive counts once in the average, groups
    without a positive are left out;
  * precision@k = positives among the group's first k / k, even when the group
    has fewer than k candidates; recall@k = those positives / the group's
    positives;
  * the order within a group is by score, descending, ties in input order
    (a stable sort of -score);
  * NDCG@k is sklearn.metrics.ndcg_score([labels], [scores], k=k) of the
    group (ties averaged, ignore_ties=False).

Run with scikit-learn 1.9 and numpy 2 (see README.md):
  python make_expected.py
"""

import os

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, ndcg_score, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
KS = [1, 3, 5, 10, 50]
N_BINS = [10, 7, 3]


def groups_for(rng, n, n_groups):
    """Group ids in shuffled order, every group with at least two rows."""
    ids = rng.choice(np.arange(1000, 100000), n_groups, replace=False)
    groups = np.concatenate([np.repeat(ids, 2), rng.choice(ids, n - 2 * n_groups)])
    rng.shuffle(groups)
    return groups


def labels_for(rng, groups, scores):
    """Labels that follow the scores, with some groups left without a positive."""
    labels = (rng.rand(len(scores)) < 0.15 + 0.6 * np.clip(scores, 0, 1) ** 2).astype(np.int64)
    silent = rng.choice(np.unique(groups), len(np.unique(groups)) // 8, replace=False)
    labels[np.isin(groups, silent)] = 0
    return labels


def case_ties(rng):
    """2,000 rows, ~80 groups, probabilities rounded to two decimals."""
    n = 2000
    groups = groups_for(rng, n, 80)
    scores = np.round(rng.beta(1.2, 3.0, n), 2)
    return groups, scores, labels_for(rng, groups, scores)


def case_continuous(rng):
    """1,500 rows, ~60 groups, probabilities from a sigmoid, no ties."""
    n = 1500
    groups = groups_for(rng, n, 60)
    scores = 1.0 / (1.0 + np.exp(-rng.normal(-1.0, 1.5, n)))
    return groups, scores, labels_for(rng, groups, scores)


def case_extreme(rng):
    """Probabilities at and near 0 and 1, where log loss clips."""
    n = 400
    groups = groups_for(rng, n, 20)
    tiny = 10.0 ** -rng.uniform(10, 20, n)
    pick = rng.randint(0, 6, n)
    scores = np.select(
        [pick == 0, pick == 1, pick == 2, pick == 3, pick == 4],
        [0.0, 1.0, tiny, 1.0 - tiny, np.finfo(float).eps],
        rng.rand(n),
    )
    labels = (rng.rand(n) < np.clip(scores, 0.05, 0.95)).astype(np.int64)
    return groups, scores, labels


def case_all_tied(rng):
    """Every score the same."""
    n = 300
    groups = groups_for(rng, n, 25)
    scores = np.full(n, 0.5)
    labels = (rng.rand(n) < 0.3).astype(np.int64)
    return groups, scores, labels


CASES = {
    "ties": (case_ties, 20240101),
    "continuous": (case_continuous, 20240102),
    "extreme": (case_extreme, 20240103),
    "all_tied": (case_all_tied, 20240104),
}


def grouped(groups, scores, labels, k):
    """(precision@k, recall@k, ndcg@k) averaged over groups with a positive."""
    precision, recall, ndcg = [], [], []
    for g in dict.fromkeys(groups.tolist()):  # first-appearance order
        idx = np.flatnonzero(groups == g)
        y, s = labels[idx], scores[idx]
        positives = y.sum()
        if positives == 0:
            continue
        order = np.argsort(-s, kind="stable")
        hits = y[order][:k].sum()
        precision.append(hits / k)
        recall.append(hits / positives)
        ndcg.append(ndcg_score(y[np.newaxis, :], s[np.newaxis, :], k=k))
    return np.mean(precision), np.mean(recall), np.mean(ndcg)


def expected(groups, scores, labels):
    rows = [
        ("roc_auc", "", "", roc_auc_score(labels, scores)),
        ("average_precision", "", "", average_precision_score(labels, scores)),
        ("log_loss", "", "", log_loss(labels, scores, labels=[0, 1])),
        ("brier_score", "", "", brier_score_loss(labels, scores)),
    ]
    for k in KS:
        p, r, n = grouped(groups, scores, labels, k)
        rows += [("precision_at_k", k, "", p), ("recall_at_k", k, "", r), ("ndcg_at_k", k, "", n)]
    for n_bins in N_BINS:
        prob_true, prob_pred = calibration_curve(labels, scores, n_bins=n_bins, strategy="uniform")
        for i, (t, p) in enumerate(zip(prob_true, prob_pred)):
            rows += [("calibration_prob_true", n_bins, i, t), ("calibration_prob_pred", n_bins, i, p)]
    return rows


def main():
    for name, (make, seed) in CASES.items():
        groups, scores, labels = make(np.random.RandomState(seed))
        with open(os.path.join(HERE, f"{name}.csv"), "w") as out:
            out.write("group,score,label\n")
            for g, s, y in zip(groups.tolist(), scores.tolist(), labels.tolist()):
                out.write(f"{g},{s!r},{y}\n")
        with open(os.path.join(HERE, f"{name}_expected.csv"), "w") as out:
            out.write("metric,param,index,value\n")
            for metric, param, index, value in expected(groups, scores, labels):
                out.write(f"{metric},{param},{index},{float(value)!r}\n")
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
