#!/usr/bin/env python3
"""Candidate features tried with LightGBM before any is built into berserkr.

Each candidate is computed here, in pandas, from the clean transactions as of
each row's cutoff (nothing after it), joined to the matrices berserkr's
pipeline exports by CustomerID, StockCode and cutoff, and judged as
`tuning.py` judges settings: LightGBM with the pipeline's setting, early
stopping on the held-out rows' log loss, the evaluation cutoff's metrics
beside it; then the two candidates with the lowest held-out loss
together, and all of them. Every line is the mean over several seeds, with
the spread of P@10 across them. The last line says how far P@10 on the
evaluation cutoff moves from sampling alone (customers drawn again with
replacement), the yardstick for any gain; before it, where that model's
top 10 go (past or new items, what perfect orderings would reach, P@10 by
the customer's invoices). With `--seeds 10` the line below the exported
features' is the ten seeds' models averaged.

    berserkr pipeline --input ../shared/data/online-retail/by-day/ --export-matrices DIR
    berserkr clean ../shared/data/online-retail/by-day/ CLEAN.parquet
    /work/venv-stack/bin/python benches/compare/feature_trials.py --dir DIR --clean CLEAN.parquet

The candidates (`x.` columns), for a customer C, an item I and a cutoff T:

  x.item_days_since_sale   days since anyone last bought I
  x.item_age               days since anyone first bought I
  x.item_new_buyer_share   of I's buyers in the last horizon, the share who
                           had not bought it before
  x.depletion_ratio        days since C last bought I, over the days its last
                           quantity would last at C's earlier rate of use
  x.qlast_over_mean        C's last quantity of I over its mean per invoice
  x.gap_cv                 spread of C's gaps between invoices with I, over
                           their mean
  x.since_minus_gap        days since C last bought I less its mean gap
  x.price_ratio            I's median price in the last horizon over the
                           price C last paid
  x.last5_share            the share of C's last five invoices holding I
  x.variant_invoices       C's invoices holding another variant of I but
                           not I (a variant: a stock code with the same
                           leading digits, as 85123A and 85123B)
  x.days_since_variant     days since C last bought any variant of I
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gbdt import evaluate, ranking_at_k  # noqa: E402
from tuning import BASE  # noqa: E402

META_COLUMNS = ("CustomerID", "StockCode", "cutoff", "label", "weight")
CANDIDATES = ("x.item_days_since_sale", "x.item_age", "x.item_new_buyer_share", "x.depletion_ratio",
              "x.qlast_over_mean", "x.gap_cv", "x.since_minus_gap", "x.price_ratio", "x.last5_share",
              "x.variant_invoices", "x.days_since_variant")


def variant(codes):
    """A stock code's leading digits (85123 for 85123A), or the code itself
    where it has none."""
    return codes.str.upper().str.extract(r"^(\d+)")[0].fillna(codes)


def candidates(sales, cutoff, keys, horizon):
    """The candidate columns for the (CustomerID, StockCode) rows of `keys`,
    all at one cutoff, from the sales at or before it."""
    import numpy as np
    import pandas as pd

    s = sales[sales.InvoiceDate <= cutoff]
    window_start = cutoff - pd.Timedelta(days=horizon)
    out = pd.DataFrame(index=keys.index)

    by_item = s.groupby("StockCode").day
    out["x.item_days_since_sale"] = (cutoff - keys.StockCode.map(by_item.max())).dt.days
    out["x.item_age"] = (cutoff - keys.StockCode.map(by_item.min())).dt.days
    recent = s[s.day > window_start][["CustomerID", "StockCode"]].drop_duplicates()
    earlier = s[s.day <= window_start][["CustomerID", "StockCode"]].drop_duplicates().assign(before=True)
    recent = recent.merge(earlier, how="left")
    new_share = recent.before.isna().groupby(recent.StockCode).mean()
    out["x.item_new_buyer_share"] = keys.StockCode.map(new_share)

    # One row per invoice of each customer-item pair, in time order.
    lines = (s.groupby(["CustomerID", "StockCode", "InvoiceNo"])
             .agg(quantity=("Quantity", "sum"), day=("day", "min"), price=("UnitPrice", "mean"))
             .reset_index().sort_values(["day", "InvoiceNo"], kind="stable"))
    lines["gap"] = lines.groupby(["CustomerID", "StockCode"]).day.diff().dt.days
    pair = lines.groupby(["CustomerID", "StockCode"]).agg(
        first=("day", "min"), last=("day", "max"), quantity=("quantity", "sum"), invoices=("quantity", "size"),
        last_quantity=("quantity", "last"), last_price=("price", "last"),
        gap_mean=("gap", "mean"), gap_std=("gap", "std"))
    since = (cutoff - pair["last"]).dt.days
    span = (pair["last"] - pair["first"]).dt.days.replace(0, np.nan)
    daily_use = (pair.quantity - pair.last_quantity) / span
    pair["x.depletion_ratio"] = since / (pair.last_quantity / daily_use)
    pair["x.qlast_over_mean"] = pair.last_quantity / (pair.quantity / pair.invoices)
    pair["x.gap_cv"] = pair.gap_std / pair.gap_mean
    pair["x.since_minus_gap"] = since - pair.gap_mean
    price_now = s[s.day > window_start].groupby("StockCode").UnitPrice.median()
    pair["x.price_ratio"] = pair.index.get_level_values("StockCode").map(price_now) / pair.last_price

    invoices = (s.groupby(["CustomerID", "InvoiceNo"]).InvoiceDate.min().reset_index()
                .sort_values("InvoiceDate", kind="stable"))
    invoices["from_last"] = invoices.groupby("CustomerID").cumcount(ascending=False)
    last_five = invoices[invoices.from_last < 5]
    held = (s.merge(last_five[["CustomerID", "InvoiceNo"]])
            .groupby(["CustomerID", "StockCode"]).InvoiceNo.nunique())
    pair["x.last5_share"] = held.reindex(pair.index).fillna(0) / pair.index.get_level_values(
        "CustomerID").map(last_five.groupby("CustomerID").size()).to_numpy()

    index = pd.MultiIndex.from_frame(keys[["CustomerID", "StockCode"]])
    variants = pd.MultiIndex.from_arrays([keys.CustomerID, variant(keys.StockCode)])
    by_variant = s.assign(variant=variant(s.StockCode)).groupby(["CustomerID", "variant"])
    own_invoices = s.groupby(["CustomerID", "StockCode"]).InvoiceNo.nunique().reindex(index).fillna(0)
    out["x.variant_invoices"] = (by_variant.InvoiceNo.nunique().reindex(variants).fillna(0).to_numpy()
                                 - own_invoices.to_numpy())
    out["x.days_since_variant"] = (cutoff - by_variant.day.max().reindex(variants)).dt.days.to_numpy()
    for name in ("x.depletion_ratio", "x.qlast_over_mean", "x.gap_cv", "x.since_minus_gap", "x.price_ratio"):
        out[name] = pair[name].reindex(index).to_numpy()
    # A customer's item it never bought was in none of its last invoices.
    out["x.last5_share"] = pair["x.last5_share"].reindex(index).fillna(0).to_numpy()
    return out.replace([np.inf, -np.inf], np.nan)


def with_candidates(table, sales, horizon):
    import pandas as pd

    parts = [candidates(sales, cutoff, rows[["CustomerID", "StockCode"]], horizon)
             for cutoff, rows in table.groupby("cutoff")]
    return pd.concat([table, pd.concat(parts).loc[table.index]], axis=1)


def diagnose(ev, scores, k=10):
    """Where the top k of the exported features' model go, on the
    evaluation cutoff's customers with a positive: the customer's past items
    (bought before the cutoff) or new ones, what perfect orderings would
    reach, and P@k by how many invoices the customer had."""
    import numpy as np
    import pandas as pd

    rows = pd.DataFrame({"customer": ev.CustomerID.to_numpy(), "y": ev.label.to_numpy().astype(int),
                         "past": ev["pair.times_bought"].to_numpy() > 0, "score": scores,
                         "invoices": ev["customer.COUNT(invoices)"].to_numpy()})
    rows = rows[rows.groupby("customer").y.transform("sum") > 0]
    rows = rows.sort_values(["customer", "score"], ascending=[True, False], kind="stable")
    rows["top"] = rows.groupby("customer").cumcount() < k
    rows["hit"] = rows.top & (rows.y == 1)
    per = rows.assign(past_slots=rows.top & rows.past, past_positives=rows.past & (rows.y == 1),
                      new_hits=rows.hit & ~rows.past).groupby("customer").agg(
        hits=("hit", "sum"), positives=("y", "sum"), past_slots=("past_slots", "sum"),
        past_positives=("past_positives", "sum"), new_hits=("new_hits", "sum"), invoices=("invoices", "first"))
    precision = per.hits / k
    on_past = rows[rows.top & rows.past]
    print(f"\nWhere the top {k} go ({len(per):,} customers with a positive):")
    print(f"  positives that are past items      {rows.y[rows.past].sum() / rows.y.sum():.1%}")
    print(f"  top-{k} slots on past items          {len(on_past) / rows.top.sum():.1%}, "
          f"of which positive {on_past.y.mean():.1%}")
    reordered = (np.minimum(per.past_positives, per.past_slots) + per.new_hits) / k
    print(f"  P@{k} {precision.mean():.4f}; past items perfectly reordered {reordered.mean():.4f}; "
          f"every positive first {(np.minimum(per.positives, k) / k).mean():.4f}")
    buckets = pd.cut(per.invoices, [0, 1, 4, 16, np.inf], labels=["1", "2-4", "5-16", "over 16"])
    for bucket, of_bucket in precision.groupby(buckets, observed=True):
        print(f"  customers with {bucket:>7} invoices: {len(of_bucket):>5,}, P@{k} {of_bucket.mean():.4f}")
    only_new = per.past_positives == 0
    print(f"  customers whose positives are all new items: {only_new.sum():,}, "
          f"P@{k} {precision[only_new].mean():.4f}")


def main():
    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="what `berserkr pipeline --export-matrices` wrote")
    parser.add_argument("--clean", required=True, help="what `berserkr clean` wrote for the same input")
    parser.add_argument("--horizon-days", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--exported-only", action="store_true",
                        help="train on the exported features alone: their line, the diagnosis and P@10's spread")
    parser.add_argument("--bootstrap", type=int, default=1000, help="customer resamples for P@10's spread")
    args = parser.parse_args()

    sales = pd.read_parquet(args.clean)
    if sales.empty or (sales.Quantity <= 0).any():
        sys.exit(f"{args.clean}: expected `berserkr clean`'s output (sales only, every quantity positive)")
    sales["day"] = sales.InvoiceDate.dt.normalize()
    data = {}
    for split in ("train", "valid", "eval"):
        path = Path(args.dir) / f"{split}.parquet"
        if not path.exists():
            sys.exit(f"{path} is missing: export the matrices with `berserkr pipeline ... --export-matrices`")
        table = pq.read_table(path).to_pandas()
        table["cutoff"] = pd.to_datetime(table.cutoff).astype(sales.InvoiceDate.dtype)
        data[split] = with_candidates(table, sales, args.horizon_days)
        print(f"[trials] {split}: {len(table):,} rows, candidates joined", file=sys.stderr, flush=True)
    base = [c for c in data["train"].columns if c not in META_COLUMNS and not c.startswith("x.")]
    train, valid, ev = data["train"], data["valid"], data["eval"]
    truth = {"y": ev.label.to_numpy().astype(np.int8), "customers": ev.CustomerID.to_numpy()}

    def trial(label, columns):
        runs, last, summed = [], None, 0.0
        for seed in range(1, args.seeds + 1):
            dtrain = lgb.Dataset(train[columns].to_numpy(float), train.label, weight=train.weight)
            dvalid = lgb.Dataset(valid[columns].to_numpy(float), valid.label, weight=valid.weight)
            history = {}
            booster = lgb.train({**BASE, "seed": seed, "metric": "binary_logloss"}, dtrain, 1000,
                                valid_sets=[dvalid], valid_names=["valid"],
                                callbacks=[lgb.early_stopping(20, verbose=False), lgb.record_evaluation(history)])
            last = booster.predict(ev[columns].to_numpy(float), num_iteration=booster.best_iteration)
            summed = summed + last
            m = evaluate(truth, last)
            runs.append((min(history["valid"]["binary_logloss"]), m["roc_auc"], m["average_precision"],
                         m["precision_at_10"]))
        mean, spread = np.mean(runs, axis=0), np.std([r[3] for r in runs])
        print(f"{label:<28} {mean[0]:>10.5f} {mean[1]:>7.4f} {mean[2]:>7.4f} {mean[3]:>7.4f} {spread:>8.4f}",
              flush=True)
        return last, mean[0], summed / args.seeds

    print(f"{len(base)} exported features, {len(CANDIDATES)} candidates, {args.seeds} seeds a line\n")
    print(f"{'features':<28} {'valid loss':>10} {'AUC':>7} {'AP':>7} {'P@10':>7} {'P@10 sd':>8}")
    scores, _, averaged = trial("exported", base)
    print(f"{'  its seeds averaged':<28} {'':>10} {'':>7} "
          f"{evaluate(truth, averaged)['average_precision']:>7.4f} "
          f"{evaluate(truth, averaged)['precision_at_10']:>7.4f}", flush=True)
    if not args.exported_only:
        losses = {name: trial(f"+ {name[2:]}", base + [name])[1] for name in CANDIDATES}
        # Chosen on the held-out rows, as the pipeline's own features were.
        best_two = sorted(CANDIDATES, key=losses.get)[:2]
        trial("+ the two of lowest loss", base + best_two)
        trial("+ all candidates", base + list(CANDIDATES))

    # P@10 under customers drawn again with replacement: the exported
    # features' last model, scored on each resample of the customers.
    diagnose(ev, scores)

    # Only customers with a positive count towards P@10.
    counted = np.isin(truth["customers"], truth["customers"][truth["y"] == 1])
    customers, labels, scores = truth["customers"][counted], truth["y"][counted], scores[counted]
    unique, index = np.unique(customers, return_inverse=True)
    rows_of = np.split(np.argsort(index, kind="stable"), np.cumsum(np.bincount(index))[:-1])
    rng = np.random.default_rng(42)
    draws = []
    for _ in range(args.bootstrap):
        picked = rng.integers(0, len(unique), len(unique))
        rows = np.concatenate([rows_of[i] for i in picked])
        # A customer drawn twice counts twice: give each draw its own id.
        ids = np.repeat(np.arange(len(picked)), [len(rows_of[i]) for i in picked])
        draws.append(ranking_at_k(ids, labels[rows], scores[rows])[0])
    low, high = np.percentile(draws, [2.5, 97.5])
    print(f"\nP@10 of the exported features' model over {args.bootstrap} resamples of the "
          f"{len(unique):,} customers: sd {np.std(draws):.4f}, 95 % interval {low:.4f} to {high:.4f}")


if __name__ == "__main__":
    main()
