#!/usr/bin/env python3
"""The head-to-head: the original berserkr design's Python stack against berserkr.

The stack, as the original design describes it, all from PyPI:
  PySpark 4 (local[2]) reads the CSV and cleans it, Featuretools makes the
  features, LightGBM is the model.
berserkr: `cargo run --release -p berserkr-examples -- pipeline ...` (with
`--with-berserkr`), which writes a JSON report that this script reads.

Both run on the same machine, on the same 305 daily lzop CSV files of the UCI
Online Retail data, with the same protocol:

  clean    exact duplicates, cancellations (kept as a table of their own),
           Quantity <= 0, UnitPrice <= 0, missing CustomerID, non-product
           stock codes; in that order, each row counted against the first
           rule that drops it (391,150 clean rows)
  problem  does customer C buy item I in (T, T + 30 days]? Candidates per
           cutoff T: every customer with a purchase at or before T, crossed
           with the items it bought before T and the 100 items most bought
           (transaction rows) in the 30 days before T
  cutoffs  training 2011-08-10, 2011-09-09 (train) and 2011-10-10
           (validation, early stopping); evaluation 2011-11-09
  features Featuretools DFS (default primitives, max depth 2) on customers
           and on products at cutoff T, and pair features from data <= T
  model    LightGBM binary, 31 leaves, learning rate 0.05, up to 1000 trees,
           early stopping 50, 2 threads, seed 42
  metrics  ROC AUC, average precision, Brier; P@10 and NDCG@10 per customer,
           averaged over customers with at least one positive candidate

It prints the wall time (total and per stage), the peak resident memory of
the whole process tree (this process, the Spark JVM and any children,
sampled every 0.2 s) and the metrics, with the "past purchase count"
baseline, then a table of stack against berserkr and the ratios.

    python3 -m venv /work/venv-stack
    /work/venv-stack/bin/pip install pyspark featuretools "pandas<3" lightgbm scikit-learn pyarrow psutil
    /work/venv-stack/bin/python benches/compare/stack.py --with-berserkr --json /tmp/stack.json
    /work/venv-stack/bin/python benches/compare/stack.py --sample-days 60   # a quick run on 60 days
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STARTED = time.perf_counter()  # the stack's clock starts before any heavy import

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "online-retail" / "by-day"
BERSERKR_INPUT = "../shared/data/online-retail/by-day/"

NON_PRODUCT_CODES = ["POST", "DOT", "C2", "M", "m", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS"]
GIFT_PREFIX = "gift_"
RULES = [  # (key, description); order is the order the rules apply in
    ("duplicate", "exact duplicate rows"),
    ("cancellation", "cancellations (InvoiceNo C...)"),
    ("quantity", "Quantity <= 0"),
    ("price", "UnitPrice <= 0"),
    ("customer", "missing CustomerID"),
    ("non_product", "non-product stock codes"),
]
EXPECTED_DROPS = {"duplicate": 5268, "cancellation": 9251, "quantity": 1336, "price": 1176,
                  "customer": 132186, "non_product": 1542}
EXPECTED_CLEAN_ROWS = 391_150
EXPECTED_FILES = 305

T_EVAL = "2011-11-09 00:00:00"
T_TRAIN = ["2011-08-10 00:00:00", "2011-09-09 00:00:00"]
T_VALID = "2011-10-10 00:00:00"
WINDOW_DAYS = 30
TOP_ITEMS = 100

# What the issue reports on the evaluation cutoff, for scale.
ISSUE_BASELINE = {"average_precision": 0.222, "precision_at_10": 0.275}
ISSUE_LIGHTGBM_18 = {"roc_auc": 0.835, "average_precision": 0.273, "precision_at_10": 0.321, "ndcg_at_10": 0.413}
METRICS = ["roc_auc", "average_precision", "precision_at_10", "ndcg_at_10", "brier"]


# --------------------------------------------------------------------------- measuring

class PeakRss:
    """Peak of the summed RSS of a process and all its descendants, sampled
    in a background thread every `interval` seconds."""

    def __init__(self, pid=None, interval=0.2):
        import psutil

        self.psutil = psutil
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        total = 0
        try:
            processes = [self.process] + self.process.children(recursive=True)
        except self.psutil.Error:
            return 0
        for p in processes:
            try:
                total += p.memory_info().rss
            except self.psutil.Error:
                pass
        self.peak = max(self.peak, total)
        return total

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.sample()
        return self.peak


class Stages:
    def __init__(self, memory):
        self.seconds = {}
        self.memory = memory

    def run(self, name, f, *args):
        print(f"[stack] {name}...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        out = f(*args)
        self.seconds[name] = time.perf_counter() - started
        print(f"[stack] {name}: {self.seconds[name]:.1f} s (tree RSS now {gib(self.memory.sample())}, "
              f"peak {gib(self.memory.peak)})", file=sys.stderr, flush=True)
        return out


def gib(n):
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


# --------------------------------------------------------------------------- stage 1: decompress + Spark clean

def decompress(files, out_csv):
    """The daily .csv.lzo files, in date order, into one CSV with one header."""
    with open(out_csv, "wb") as out:
        for i, f in enumerate(files):
            data = subprocess.run(["lzop", "-dc", str(f)], check=True, capture_output=True).stdout
            if i > 0:
                data = data[data.index(b"\n") + 1:]
            out.write(data)
            if not data.endswith(b"\n"):
                out.write(b"\n")


def spark_clean(csv_path):
    """Reads and cleans the CSV in PySpark (local[2]); returns (clean, cancellations, drops) in pandas."""
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark = (SparkSession.builder.master("local[2]").appName("berserkr-stack")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    schema = T.StructType([
        T.StructField("InvoiceNo", T.StringType()),
        T.StructField("StockCode", T.StringType()),
        T.StructField("Description", T.StringType()),
        T.StructField("Quantity", T.LongType()),
        T.StructField("InvoiceDate", T.TimestampType()),
        T.StructField("UnitPrice", T.DoubleType()),
        T.StructField("CustomerID", T.DoubleType()),
        T.StructField("Country", T.StringType()),
    ])
    columns = [f.name for f in schema.fields]
    raw = (spark.read.option("header", True).option("mode", "FAILFAST")
           .option("timestampFormat", "yyyy-MM-dd HH:mm:ss")
           .schema(schema).csv(str(csv_path))
           .withColumn("rid", F.monotonically_increasing_id()))  # file order
    # Exact duplicates: every column equal to an earlier row's; the first is kept.
    nth = F.row_number().over(Window.partitionBy(*columns).orderBy("rid"))
    code = F.col("StockCode")
    rule = (F.when(nth > 1, "duplicate")
            .when(F.col("InvoiceNo").startswith("C"), "cancellation")
            .when(F.col("Quantity") <= 0, "quantity")
            .when(F.col("UnitPrice") <= 0, "price")
            .when(F.col("CustomerID").isNull(), "customer")
            .when(code.isin(NON_PRODUCT_CODES) | code.startswith(GIFT_PREFIX), "non_product")
            .otherwise("kept"))
    labelled = raw.withColumn("rule", rule).cache()
    counts = {r["rule"]: r["count"] for r in labelled.groupBy("rule").count().collect()}
    clean = (labelled.where(F.col("rule") == "kept").orderBy("rid").drop("rule", "rid")
             .withColumn("CustomerID", F.col("CustomerID").cast("long")).toPandas())
    cancellations = (labelled.where(F.col("rule") == "cancellation").orderBy("rid").drop("rule", "rid")
                     .withColumn("CustomerID", F.col("CustomerID").cast("long")).toPandas())
    rows_read = sum(counts.values())
    spark.stop()
    # The data is in pandas now: end the JVM too (PySpark keeps its gateway
    # JVM alive until Python exits; it exits when its stdin closes), so that
    # its memory counts only while it is used.
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is not None:
        gateway.shutdown()
        proc = getattr(gateway, "proc", None)
        if proc is not None:
            proc.stdin.close()
            proc.wait(timeout=60)
        SparkContext._gateway = None
        SparkContext._jvm = None
    drops = {key: int(counts.get(key, 0)) for key, _ in RULES}
    return clean, cancellations, drops, int(rows_read)


# --------------------------------------------------------------------------- problem: candidates and labels

def candidates(tx, cutoff):
    """(CustomerID, StockCode, label) for one cutoff, sorted by (CustomerID, StockCode)."""
    import pandas as pd

    t = pd.Timestamp(cutoff)
    w = pd.Timedelta(days=WINDOW_DAYS)
    past = tx[tx["InvoiceDate"] <= t]
    recent = past[past["InvoiceDate"] > t - w]
    counts = recent.groupby("StockCode").size().reset_index(name="n")
    top = counts.sort_values(["n", "StockCode"], ascending=[False, True], kind="stable")["StockCode"].head(TOP_ITEMS)
    customers = pd.Series(past["CustomerID"].unique(), name="CustomerID")
    own = past[["CustomerID", "StockCode"]].drop_duplicates()
    popular = pd.DataFrame({"CustomerID": customers}).merge(pd.DataFrame({"StockCode": top.to_numpy()}), how="cross")
    pairs = (pd.concat([own, popular], ignore_index=True).drop_duplicates()
             .sort_values(["CustomerID", "StockCode"], kind="stable").reset_index(drop=True))
    future = tx[(tx["InvoiceDate"] > t) & (tx["InvoiceDate"] <= t + w)][["CustomerID", "StockCode"]].drop_duplicates()
    future["label"] = 1
    pairs = pairs.merge(future, on=["CustomerID", "StockCode"], how="left")
    pairs["label"] = pairs["label"].fillna(0).astype("int8")
    return pairs


# --------------------------------------------------------------------------- stage 2: Featuretools

def entityset(tx):
    import featuretools as ft
    from woodwork.logical_types import Categorical, Datetime, Double, Integer, IntegerNullable, NaturalLanguage

    df = tx.copy()
    df["CustomerID"] = df["CustomerID"].astype("Int64")
    df.insert(0, "transaction_id", range(len(df)))
    es = ft.EntitySet("retail")
    es.add_dataframe(
        dataframe_name="transactions", dataframe=df, index="transaction_id", time_index="InvoiceDate",
        logical_types={"InvoiceNo": Categorical, "StockCode": Categorical, "Description": NaturalLanguage,
                       "Quantity": Integer, "InvoiceDate": Datetime, "UnitPrice": Double,
                       "CustomerID": IntegerNullable, "Country": Categorical})
    es.normalize_dataframe("transactions", "invoices", "InvoiceNo", additional_columns=["CustomerID", "Country"])
    es.normalize_dataframe("invoices", "customers", "CustomerID", additional_columns=["Country"])
    es.normalize_dataframe("transactions", "products", "StockCode", additional_columns=["Description"])
    return es


def numeric(fm):
    """Numeric columns as float32 (bools as 0/1); categorical, object and string columns dropped."""
    import numpy as np
    import pandas as pd

    keep = {}
    for name in fm.columns:
        dtype = fm[name].dtype
        if isinstance(dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)):
            continue  # category, object, string, datetime: dropped
        keep[name] = fm[name].to_numpy(dtype="float32", na_value=np.nan)
    out = pd.DataFrame(keep, index=fm.index)
    return out.replace([np.inf, -np.inf], np.nan)


def featuretools_stage(tx, cutoffs):
    """Customer and product feature matrices at each cutoff, keyed by cutoff."""
    import warnings

    warnings.filterwarnings("ignore")
    import featuretools as ft
    import pandas as pd

    es = entityset(tx)
    customer_ids = es["customers"].index.to_numpy()
    product_ids = es["products"].index.to_numpy()
    out = {}
    defs = {}
    for target in ("customers", "products"):
        defs[target] = ft.dfs(entityset=es, target_dataframe_name=target, max_depth=2, features_only=True)
    for cutoff in cutoffs:
        t = pd.Timestamp(cutoff)
        matrices = {}
        for target, ids, key in (("customers", customer_ids, "CustomerID"), ("products", product_ids, "StockCode")):
            ct = pd.DataFrame({key: ids, "time": t})
            started = time.perf_counter()
            fm = ft.calculate_feature_matrix(defs[target], entityset=es, cutoff_time=ct)
            fm = numeric(fm)
            fm.columns = [("c " if target == "customers" else "p ") + c for c in fm.columns]
            fm.index.name = key
            print(f"[stack]   featuretools {target} @ {cutoff[:10]}: {fm.shape[0]} x {fm.shape[1]} "
                  f"numeric ({len(defs[target])} features) in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr, flush=True)
            matrices[target] = fm
        out[cutoff] = matrices
    return out, {k: len(v) for k, v in defs.items()}


# --------------------------------------------------------------------------- stage 3: pair features

def pair_features(tx, cancellations, cutoff, pairs):
    """Pair features from data <= cutoff, on `pairs` (same order)."""
    import numpy as np
    import pandas as pd

    t = pd.Timestamp(cutoff)
    w = pd.Timedelta(days=WINDOW_DAYS)
    day = pd.Timedelta(days=1)
    past = tx[tx["InvoiceDate"] <= t].copy()
    past["spend"] = past["Quantity"] * past["UnitPrice"]
    by_pair = past.groupby(["CustomerID", "StockCode"]).agg(
        times_bought=("InvoiceNo", "nunique"), quantity_bought=("Quantity", "sum"),
        last=("InvoiceDate", "max"), first=("InvoiceDate", "min"), spend=("spend", "sum")).reset_index()
    customer_spend = past.groupby("CustomerID")["spend"].sum().rename("customer_spend").reset_index()
    last30 = past[past["InvoiceDate"] > t - w].groupby("StockCode")["Quantity"].sum().rename("last30")
    prev30 = past[(past["InvoiceDate"] > t - 2 * w) & (past["InvoiceDate"] <= t - w)] \
        .groupby("StockCode")["Quantity"].sum().rename("prev30")
    trend = pd.concat([last30, prev30], axis=1).fillna(0).reset_index().rename(columns={"index": "StockCode"})
    c = cancellations[(cancellations["InvoiceDate"] <= t) & cancellations["CustomerID"].notna()]
    returns = (c.assign(returned=-c["Quantity"]).groupby(["CustomerID", "StockCode"])["returned"].sum()
               .rename("returned_units").reset_index())
    f = pairs[["CustomerID", "StockCode"]].merge(by_pair, on=["CustomerID", "StockCode"], how="left")
    f = f.merge(customer_spend, on="CustomerID", how="left")
    f = f.merge(trend, on="StockCode", how="left")
    f = f.merge(returns, on=["CustomerID", "StockCode"], how="left")
    out = pd.DataFrame(index=pairs.index)
    out["times_bought"] = f["times_bought"].fillna(0).to_numpy()
    out["quantity_bought"] = f["quantity_bought"].fillna(0).to_numpy()
    out["days_since_last_bought"] = ((t - f["last"]) / day).to_numpy()
    out["days_since_first_bought"] = ((t - f["first"]) / day).to_numpy()
    share = f["spend"].fillna(0) / f["customer_spend"]
    out["spend_share"] = share.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = f["last30"].fillna(0).to_numpy() / f["prev30"].fillna(0).to_numpy()
    ratio[~np.isfinite(ratio)] = np.nan
    out["item_trend_30d"] = ratio
    out["returned_units"] = f["returned_units"].fillna(0).to_numpy()
    return out.astype("float32")


def assemble(pairs, pair_f, matrices):
    """Pairs' features: the pair features, then the customer's and the product's Featuretools features."""
    import pandas as pd

    cust = matrices["customers"].reindex(pairs["CustomerID"].to_numpy())
    prod = matrices["products"].reindex(pairs["StockCode"].to_numpy())
    cust.index = pairs.index
    prod.index = pairs.index
    return pd.concat([pair_f, cust, prod], axis=1)


# --------------------------------------------------------------------------- metrics

def ranking_metrics(customers, labels, scores):
    """P@10 and NDCG@10 per customer, averaged over customers with a positive.

    Rows come in the candidate table's order, sorted by (CustomerID,
    StockCode); ties in score keep that order (a stable sort). NDCG@10 is
    sklearn's `ndcg_score` with k=10 on the rank so fixed; a customer with a
    single candidate (a positive) scores 1."""
    import numpy as np
    from sklearn.metrics import ndcg_score

    n = len(labels)
    position = np.arange(n)
    order = np.lexsort((position, -scores, customers))  # by customer, score descending, then table order
    cust = customers[order]
    lab = labels[order]
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    ends = np.r_[starts[1:], n]
    precision, ndcg = [], []
    for s, e in zip(starts, ends):
        y = lab[s:e]
        if y.sum() == 0:
            continue
        precision.append(y[:10].sum() / 10.0)
        if e - s == 1:
            ndcg.append(1.0)
        else:
            ndcg.append(ndcg_score(y[None, :], -np.arange(e - s, dtype=float)[None, :], k=10))
    return float(np.mean(precision)), float(np.mean(ndcg)), len(precision)


def evaluate(customers, labels, scores, probabilities=True):
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    p10, ndcg10, n = ranking_metrics(customers, labels, scores)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "average_precision": float(average_precision_score(labels, scores)),
        "precision_at_10": p10,
        "ndcg_at_10": ndcg10,
        "brier": float(np.mean((scores - labels) ** 2)) if probabilities else None,
        "customers_with_a_positive": n,
    }


# --------------------------------------------------------------------------- the stack

def run_stack(args, memory):
    import numpy as np

    stages = Stages(memory)
    files = sorted(Path(args.data).glob("*.csv.lzo"))
    if args.sample_days:
        files = files[: args.sample_days]
    elif len(files) != EXPECTED_FILES:
        sys.exit(f"expected {EXPECTED_FILES} daily files in {args.data}, found {len(files)}")
    if shutil.which("lzop") is None:
        sys.exit("lzop is not installed (apt-get install lzop)")
    tmp = Path(tempfile.mkdtemp(prefix="berserkr-stack-"))
    try:
        csv = tmp / "online_retail.csv"

        decompression = {}

        def clean_stage():
            started = time.perf_counter()
            decompress(files, csv)
            decompression["seconds"] = time.perf_counter() - started
            return spark_clean(csv)

        clean, cancellations, drops, rows_read = stages.run("decompress + Spark clean", clean_stage)
        stages.seconds["of which lzop decompression"] = decompression["seconds"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"read {rows_read:,} rows from {len(files)} daily files; clean: {len(clean):,} rows, "
          f"cancellations table {len(cancellations):,} rows")
    for key, description in RULES:
        expected = "" if args.sample_days else f"   (expected {EXPECTED_DROPS[key]:,})"
        print(f"  dropped  {description:<32} {drops[key]:>9,}{expected}")
    if not args.sample_days:
        assert len(clean) == EXPECTED_CLEAN_ROWS, f"{len(clean)} clean rows, expected {EXPECTED_CLEAN_ROWS}"
        assert drops == EXPECTED_DROPS, drops

    if args.sample_days:  # the same offsets as the real cutoffs, from the sample's last day
        import pandas as pd

        t_eval = (clean["InvoiceDate"].max().normalize() - pd.Timedelta(days=WINDOW_DAYS))
        fmt = "%Y-%m-%d %H:%M:%S"
        t_train = [(t_eval - pd.Timedelta(days=d)).strftime(fmt) for d in (91, 61)]
        t_valid = (t_eval - pd.Timedelta(days=30)).strftime(fmt)
        t_eval = t_eval.strftime(fmt)
        if pd.Timestamp(t_train[0]) <= clean["InvoiceDate"].min():
            sys.exit(f"--sample-days {args.sample_days} spans too few days for the cutoffs "
                     f"(the first training cutoff falls before the data): use 100 or more")
    else:
        t_eval, t_train, t_valid = T_EVAL, T_TRAIN, T_VALID
    cutoffs = t_train + [t_valid, t_eval]
    print(f"cutoffs: train {', '.join(c[:10] for c in t_train)}; validation {t_valid[:10]}; "
          f"evaluation {t_eval[:10]}; window {WINDOW_DAYS} days")

    pairs = stages.run("candidates + labels", lambda: {c: candidates(clean, c) for c in cutoffs})
    for c in cutoffs:
        p = pairs[c]
        print(f"  {c[:10]}: {p['CustomerID'].nunique():,} customers, {len(p):,} candidates, "
              f"{int(p['label'].sum()):,} positive ({p['label'].mean():.2%})")

    matrices, n_defs = stages.run("Featuretools", featuretools_stage, clean, cutoffs)

    def pair_stage():
        out = {}
        for c in cutoffs:
            out[c] = pair_features(clean, cancellations, c, pairs[c])
        return out

    pair_f = stages.run("pair features", pair_stage)

    def design(c):
        return assemble(pairs[c], pair_f[c], matrices[c])

    def train_stage():
        import lightgbm as lgb
        import pandas as pd

        train = pd.concat([design(c) for c in t_train], ignore_index=True)
        y_train = np.concatenate([pairs[c]["label"].to_numpy() for c in t_train])
        valid = design(t_valid)
        y_valid = pairs[t_valid]["label"].to_numpy()
        names = list(train.columns)
        safe = [f"f{i:03d}" for i in range(len(names))]  # LightGBM refuses some characters in names
        params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "num_threads": 2,
                  "seed": 42, "feature_pre_filter": False, "verbose": -1}
        dtrain = lgb.Dataset(train.to_numpy(np.float32), label=y_train, feature_name=safe, free_raw_data=True)
        dvalid = lgb.Dataset(valid.to_numpy(np.float32), label=y_valid, reference=dtrain, feature_name=safe)
        del train, valid
        booster = lgb.train(params, dtrain, num_boost_round=1000, valid_sets=[dvalid], valid_names=["valid"],
                            callbacks=[lgb.early_stopping(50, verbose=False)])
        return booster, names, len(y_train), len(y_valid)

    booster, names, n_train, n_valid = stages.run("LightGBM train", train_stage)
    print(f"LightGBM: {len(names)} features ({n_defs['customers']} customer and {n_defs['products']} product "
          f"Featuretools features before keeping numeric ones), {n_train:,} training rows, {n_valid:,} "
          f"validation rows; best iteration {booster.best_iteration}")

    def score_stage():
        x = design(t_eval).to_numpy(np.float32)
        p = booster.predict(x, num_iteration=booster.best_iteration)
        e = pairs[t_eval]
        customers = e["CustomerID"].to_numpy()
        labels = e["label"].to_numpy().astype(np.float64)
        model = evaluate(customers, labels, p)
        # Baseline: the customer's past purchase count of the item, ties by recency.
        f = pair_f[t_eval]
        count = f["times_bought"].to_numpy(np.float64)
        recency = 1.0 / (2.0 + f["days_since_last_bought"].fillna(np.inf).to_numpy(np.float64))  # < 1
        baseline = evaluate(customers, labels, count + recency, probabilities=False)
        return model, baseline

    model, baseline = stages.run("score + metrics", score_stage)
    total = time.perf_counter() - STARTED
    importance = sorted(zip(booster.feature_importance("gain"), names), reverse=True)[:10]
    return {
        "files": len(files),
        "rows_read": rows_read,
        "clean_rows": len(clean),
        "cancellation_rows": len(cancellations),
        "dropped": drops,
        "cutoffs": {"train": t_train, "validation": t_valid, "evaluation": t_eval, "window_days": WINDOW_DAYS},
        "candidates": {c: {"rows": len(pairs[c]), "positives": int(pairs[c]["label"].sum()),
                           "customers": int(pairs[c]["CustomerID"].nunique())} for c in cutoffs},
        "features": len(names),
        "featuretools_definitions": n_defs,
        "best_iteration": booster.best_iteration,
        "top_features_by_gain": [[n, float(g)] for g, n in importance],
        "stage_seconds": stages.seconds,
        "wall_seconds": total,
        "metrics": model,
        "baseline": baseline,
    }


def versions():
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for name in ["pyspark", "featuretools", "pandas", "numpy", "lightgbm", "scikit-learn", "pyarrow"]:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    try:
        out["java"] = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    except (OSError, IndexError):
        out["java"] = None
    return out


# --------------------------------------------------------------------------- berserkr

def run_berserkr(args):
    """berserkr's side through its own command; None if it is missing or fails."""
    with tempfile.TemporaryDirectory(prefix="berserkr-report-") as tmp:
        report = Path(tmp) / "report.json"
        try:
            print("[berserkr] building berserkr-examples (release; not timed)...", file=sys.stderr, flush=True)
            subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "berserkr-examples"],
                           cwd=ROOT, check=True)
            command = ["cargo", "run", "--release", "--quiet", "-p", "berserkr-examples", "--", "pipeline",
                       "--input", args.berserkr_input, "--report-json", str(report)]
            print("[berserkr] " + " ".join(command), file=sys.stderr, flush=True)
            load_before = os.getloadavg()
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=ROOT)
            memory = PeakRss(process.pid).start()
            code = process.wait()
            outside_wall = time.perf_counter() - started
            outside_peak = memory.stop()
            if code != 0:
                raise RuntimeError(f"exited with {code}")
            result = json.loads(report.read_text())
            result["wall_seconds"] = float(result["wall_seconds"])
            result["peak_rss_bytes"] = int(result["peak_rss_bytes"])
            result["measured_outside"] = {"wall_seconds_including_cargo": outside_wall,
                                          "peak_rss_bytes_including_cargo": outside_peak}
            result["load_average_1_5_15_min"] = {"before": load_before, "after": os.getloadavg()}
            return result
        except (OSError, RuntimeError, subprocess.CalledProcessError, ValueError, KeyError) as e:
            print(f"\nberserkr's side is missing: `cargo run --release -p berserkr-examples -- pipeline` "
                  f"failed ({e}); continuing with the stack alone\n", flush=True)
            return None


# --------------------------------------------------------------------------- report

def fmt(v, digits=3):
    return "-" if v is None else f"{v:.{digits}f}"


def print_stack(result, peak):
    print("\n== the stack: PySpark local[2] + Featuretools + LightGBM ==")
    for name, seconds in result["stage_seconds"].items():
        name = f"  ({name})" if name.startswith("of which") else name
        print(f"  {name:<28} {seconds:8.1f} s")
    other = result["wall_seconds"] - sum(s for n, s in result["stage_seconds"].items() if not n.startswith("of which"))
    print(f"  {'(imports, etc.)':<28} {other:8.1f} s")
    print(f"  {'total wall time':<28} {result['wall_seconds']:8.1f} s   "
          f"({result['cpu_seconds']:.0f} CPU seconds, this process and its children)")
    print(f"  {'peak RSS, process tree':<28} {gib(peak):>10}")
    load = result["load_average_1_5_15_min"]
    print(f"  machine load average (1 min) before {load['before'][0]:.1f}, after {load['after'][0]:.1f} "
          f"on {os.cpu_count()} cores (other work on the machine slows both sides)")
    print(f"\nevaluation cutoff {result['cutoffs']['evaluation'][:10]}: "
          f"{result['candidates'][result['cutoffs']['evaluation']]['rows']:,} candidates, "
          f"{result['metrics']['customers_with_a_positive']:,} customers with a positive")
    header = f"  {'':34} {'AUC':>6} {'AP':>6} {'P@10':>6} {'NDCG@10':>8} {'Brier':>7}"
    print(header)
    rows = [
        ("stack: LightGBM", result["metrics"]),
        ("stack: past purchase count", result["baseline"]),
        ("issue: LightGBM, 18 features", ISSUE_LIGHTGBM_18),
        ("issue: past purchase count", ISSUE_BASELINE),
    ]
    for name, m in rows:
        print(f"  {name:<34} {fmt(m.get('roc_auc')):>6} {fmt(m.get('average_precision')):>6} "
              f"{fmt(m.get('precision_at_10')):>6} {fmt(m.get('ndcg_at_10')):>8} {fmt(m.get('brier'), 4):>7}")


def comparison(stack, ours):
    """Stack against berserkr; ratios and whether the issue's bars are met."""
    out = {"speedup": stack["wall_seconds"] / ours["wall_seconds"],
           "memory_ratio": ours["peak_rss_bytes"] / stack["peak_rss_bytes"]}
    for m in METRICS:
        a, b = stack["metrics"].get(m), ours.get("metrics", {}).get(m)
        out[m + "_difference"] = None if a is None or b is None else b - a
    better = all(out[m + "_difference"] is not None and
                 (out[m + "_difference"] <= 0 if m == "brier" else out[m + "_difference"] >= 0) for m in METRICS)
    out["bars"] = {"at_least_20x_faster": out["speedup"] >= 20,
                   "at_most_a_third_of_the_memory": out["memory_ratio"] <= 1 / 3,
                   "metrics_at_least_as_good": better}
    return out


def print_table(stack, ours, ratios):
    print("\n== stack vs berserkr (same machine, same data, same protocol) ==")
    print(f"  {'':22} {'stack':>12} {'berserkr':>12} {'ratio / difference':>22}")
    b = ours or {}
    bm = b.get("metrics", {})
    r = ratios or {}

    def row(name, a, c, rel):
        print(f"  {name:<22} {a:>12} {c:>12} {rel:>22}")

    row("wall time", f"{stack['wall_seconds']:.1f} s",
        f"{b['wall_seconds']:.2f} s" if ours else "missing",
        f"{r['speedup']:.1f}x faster" if ours else "")
    row("peak memory (RSS)", gib(stack["peak_rss_bytes"]), gib(b["peak_rss_bytes"]) if ours else "missing",
        f"{r['memory_ratio']:.3f} of the stack's" if ours else "")
    for m, label in zip(METRICS, ["ROC AUC", "average precision", "P@10", "NDCG@10", "Brier (lower better)"]):
        a = stack["metrics"][m]
        c = bm.get(m)
        d = r.get(m + "_difference")
        row(label, fmt(a, 4), fmt(c, 4) if c is not None else ("missing" if not ours else "-"),
            f"{d:+.4f}" if d is not None else "")
    if ours:
        print("\nbars from the issue: " + ", ".join(f"{k.replace('_', ' ')}: {'yes' if v else 'NO'}"
                                                     for k, v in r["bars"].items()))


def main():
    memory = PeakRss().start()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA), help="folder of the daily .csv.lzo files")
    parser.add_argument("--sample-days", type=int, help="only the first N daily files (cutoffs move with them)")
    parser.add_argument("--json", help="write every number to this JSON file")
    parser.add_argument("--with-berserkr", action="store_true", help="also run berserkr's pipeline command")
    parser.add_argument("--berserkr-input", default=BERSERKR_INPUT, help="--input for berserkr (from the repo root)")
    parser.add_argument("--skip-stack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    stack = None
    if not args.skip_stack:
        load_before = os.getloadavg()
        stack = run_stack(args, memory)
    stack_peak = memory.stop()
    if stack is not None:
        stack["peak_rss_bytes"] = stack_peak
        stack["load_average_1_5_15_min"] = {"before": load_before, "after": os.getloadavg()}
        import resource

        usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        stack["cpu_seconds"] = sum(u.ru_utime + u.ru_stime for u in usage)
        print_stack(stack, stack_peak)

    ours = run_berserkr(args) if args.with_berserkr else None
    if ours and args.sample_days:
        print("note: berserkr ran on all the data while the stack ran on a sample; the ratios are not comparable")
    ratios = comparison(stack, ours) if (stack and ours) else None
    if stack is not None:
        print_table(stack, ours, ratios)
    elif ours:
        print(json.dumps(ours, indent=2))

    if args.json:
        doc = {"protocol": {"input": str(args.data), "sample_days": args.sample_days,
                            "cleaning_rules": [d for _, d in RULES], "top_items": TOP_ITEMS,
                            "window_days": WINDOW_DAYS},
               "machine": {"cores": os.cpu_count()}, "versions": versions(), "stack": stack,
               "berserkr": ours, "comparison": ratios,
               "issue_reference": {"baseline": ISSUE_BASELINE, "lightgbm_18_features": ISSUE_LIGHTGBM_18}}
        Path(args.json).write_text(json.dumps(doc, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
