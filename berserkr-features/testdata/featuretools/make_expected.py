"""Featuretools' own feature matrices for the parity tests of berserkr-features.

Writes, next to this script:
  retail_fixture.csv   a few thousand Online-Retail-shaped transactions from a
                       seeded generator (returns, null descriptions and
                       customers, ties, rows exactly at cutoff times)
  cutoffs.csv          (CustomerID, time) rows: several per customer, some
                       exactly at an invoice's time, some before the
                       customer's first invoice
  <case>.csv           Featuretools' feature matrix for each case below, the
                       columns in Featuretools' order, floats as repr

Run with Featuretools 1.31 and pandas < 3 (see berserkr-features/testdata/README.md):
  python make_expected.py            # writes the fixture and expectations
  python make_expected.py --csv PATH --out DIR [--cases ...]
                                     # expectations for another CSV (CI runs
                                     # it on a month of the real data)
"""

import argparse
import os
import sys
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
import featuretools as ft  # noqa: E402
from woodwork.logical_types import Categorical, Datetime, Double, Integer, IntegerNullable, NaturalLanguage  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _n_most_common_with_stable_ties(self):
    """Featuretools' N_MOST_COMMON with one change: ties in count keep the
    categories' order (a stable sort). Featuretools sorts `value_counts` with
    numpy's default quicksort, which is unstable and, in numpy 2, a SIMD sort
    whose order of equal counts depends on the CPU; no fixed rule reproduces
    it. Counting, cutoffs and windows stay Featuretools' own."""

    def n_most_common(x):
        counts = x.value_counts(sort=False)
        counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
        array = np.array(counts.index[: self.n])
        if len(array) < self.n:
            array = np.append(array, np.full(self.n - len(array), np.nan))
        return array

    return n_most_common


ft.primitives.NMostCommon.get_function = _n_most_common_with_stable_ties

ALL_AGGREGATIONS = [
    "count", "sum", "mean", "std", "min", "max", "median", "mode", "num_unique", "skew", "trend",
    "first", "last", "num_true", "percent_true", "all", "any", "time_since_first", "time_since_last",
    "avg_time_between", "n_most_common", "entropy",
]
ALL_TRANSFORMS = [
    "day", "month", "year", "weekday", "hour", "is_weekend", "time_since", "time_since_previous",
    "cum_sum", "cum_count", "cum_mean", "absolute", "num_characters", "num_words", "is_null",
    "add_numeric", "subtract_numeric", "multiply_numeric", "divide_numeric",
]
DATE_TRANSFORMS = ["day", "month", "year", "weekday", "hour", "is_weekend", "time_since"]


def generate(seed=20111209):
    """Online-Retail-shaped transactions, deliberately awkward."""
    rng = np.random.RandomState(seed)
    words = ["RED", "RETROSPOT", "HEART", "T-LIGHT", "HOLDER", "JUMBO", "BAG", "VINTAGE", "PAISLEY",
             "SET/3", "CAKE", "TINS", "LUNCH", "BOX", "CHRISTMAS", "GLASS", "WHITE", "HANGING", "MUG,"]
    products = []
    for i in range(90):
        code = "%05d" % (20000 + rng.randint(0, 3000)) + ("" if rng.rand() < 0.8 else "ABC"[rng.randint(0, 3)])
        n = rng.randint(1, 6)
        desc = " ".join(rng.choice(words, n)) if rng.rand() > 0.06 else None
        if desc and rng.rand() < 0.1:
            desc = desc + " !"
        products.append((code, desc, round(float(rng.choice([0.29, 0.42, 0.85, 1.25, 1.65, 2.1, 2.55, 4.95, 7.95, 12.75])), 2)))
    products = list({p[0]: p for p in products}.values())
    countries = ["United Kingdom"] * 6 + ["France", "Germany", "EIRE", "Spain"]
    customers = [(12346 + 7 * i, countries[rng.randint(0, len(countries))]) for i in range(55)]
    popularity = rng.dirichlet(np.ones(len(products)) * 0.5)
    # A small pool of timestamps so that invoices tie.
    days = pd.date_range("2011-01-03", "2011-06-30", freq="D")
    days = days[days.dayofweek != 5]
    pool = [d + pd.Timedelta(hours=int(rng.randint(8, 19)), minutes=int(rng.randint(0, 60))) for d in rng.choice(days, 260)]
    rows = []
    invoice_no = 539000
    bought = {}
    for _ in range(420):
        invoice_no += 1
        t = pool[rng.randint(0, len(pool))]
        if rng.rand() < 0.06:
            cust, country = None, "United Kingdom"
        else:
            cust, country = customers[min(int(rng.exponential(14)), len(customers) - 1)]
        lines = rng.randint(1, 14)
        for p in rng.choice(len(products), size=lines, p=popularity):
            code, desc, price = products[p]
            q = int(rng.choice([1, 2, 3, 4, 6, 12, 24, 48])) if rng.rand() < 0.97 else int(rng.randint(100, 500))
            rows.append((str(invoice_no), code, desc, q, t, price, cust, country))
            if cust is not None:
                bought.setdefault(cust, []).append((code, desc, price, t, country))
    # Returns: cancellations of earlier purchases, at a later time.
    for cust, items in sorted(bought.items(), key=lambda kv: kv[0]):
        if rng.rand() < 0.3:
            invoice_no += 1
            code, desc, price, t, country = items[rng.randint(0, len(items))]
            later = t + pd.Timedelta(days=int(rng.randint(1, 20)), minutes=int(rng.randint(0, 300)))
            for _ in range(rng.randint(1, 3)):
                rows.append(("C%d" % invoice_no, code, desc, -int(rng.randint(1, 6)), later, price, cust, country))
    df = pd.DataFrame(rows, columns=["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                                     "UnitPrice", "CustomerID", "Country"])
    df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    df["CustomerID"] = df["CustomerID"].astype("Float64")
    return df


def read_csv(path):
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "Country": str},
                     keep_default_na=False, na_values=[""])
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    df["CustomerID"] = df["CustomerID"].astype("Int64")
    df.insert(0, "transaction_id", np.arange(len(df), dtype="int64"))
    return df


def entityset(df, last_time_indexes=False, interesting=None):
    es = ft.EntitySet("retail")
    es.add_dataframe(
        dataframe_name="transactions", dataframe=df, index="transaction_id", time_index="InvoiceDate",
        logical_types={"InvoiceNo": Categorical, "StockCode": Categorical, "Description": NaturalLanguage,
                       "Quantity": Integer, "InvoiceDate": Datetime, "UnitPrice": Double,
                       "CustomerID": IntegerNullable, "Country": Categorical})
    es.normalize_dataframe("transactions", "invoices", "InvoiceNo", additional_columns=["CustomerID", "Country"])
    es.normalize_dataframe("invoices", "customers", "CustomerID", additional_columns=["Country"])
    es.normalize_dataframe("transactions", "products", "StockCode", additional_columns=["Description"])
    if interesting:
        for (frame, column), values in interesting.items():
            es.add_interesting_values(dataframe_name=frame, values={column: values})
    if last_time_indexes:
        es.add_last_time_indexes()
    return es


def cutoffs_for(df, seed=7, max_customers=None):
    """Three cutoffs per customer: at one of its invoice times, at a random
    time, and (for some) before its first invoice. With `max_customers`, for
    a seeded sample of that many customers only (Featuretools' time grows
    with the number of distinct cutoff times)."""
    rng = np.random.RandomState(seed)
    rows = []
    start, end = df["InvoiceDate"].min(), df["InvoiceDate"].max()
    with_id = df.dropna(subset=["CustomerID"])
    if max_customers is not None:
        ids = np.sort(with_id["CustomerID"].unique())
        if len(ids) > max_customers:
            chosen = rng.choice(ids, size=max_customers, replace=False)
            with_id = with_id[with_id["CustomerID"].isin(chosen)]
    for cust, times in with_id.groupby("CustomerID")["InvoiceDate"]:
        times = sorted(times.unique())
        rows.append((int(cust), pd.Timestamp(times[rng.randint(0, len(times))])))
        rows.append((int(cust), start + (end - start) * rng.rand()))
        if rng.rand() < 0.3:
            rows.append((int(cust), pd.Timestamp(times[0]) - pd.Timedelta(days=int(rng.randint(0, 5)), hours=1)))
    ct = pd.DataFrame(rows, columns=["CustomerID", "time"])
    ct["time"] = ct["time"].dt.floor("s")
    return ct.drop_duplicates().reset_index(drop=True)


def write_matrix(fm, path):
    fm = fm.copy()
    if isinstance(fm.index, pd.MultiIndex):
        fm = fm.reset_index()
    else:
        fm = fm.reset_index()
    for c in fm.columns:
        if str(fm[c].dtype) in ("category", "string", "object"):
            fm[c] = fm[c].astype(object)
    with open(path, "w") as out:
        fm.to_csv(out, index=False, float_format=lambda x: repr(float(x)), na_rep="")


CASES = {
    # name: (target, dfs keyword arguments, uses cutoffs, training window, last time indexes)
    "customers_default": ("customers", {}, False, None),
    "customers_default_cutoffs": ("customers", {}, True, None),
    "customers_default_window": ("customers", {}, True, "30 days"),
    "customers_aggregations": ("customers", {"agg_primitives": ALL_AGGREGATIONS, "trans_primitives": DATE_TRANSFORMS}, True, None),
    "customers_aggregations_window": ("customers", {"agg_primitives": ALL_AGGREGATIONS, "trans_primitives": []}, True, "45 days"),
    "invoices_default": ("invoices", {}, False, None),
    "transactions_transforms": ("transactions", {"agg_primitives": [], "trans_primitives": ALL_TRANSFORMS, "max_depth": 1}, False, None),
    "products_all": ("products", {"agg_primitives": ALL_AGGREGATIONS, "trans_primitives": ["num_words", "num_characters", "is_null", "month", "absolute"]}, False, None),
    "customers_where": ("customers", {"agg_primitives": ["count", "sum", "mean"], "trans_primitives": [], "where_primitives": ["count", "sum"]}, True, None),
}


def run_case(name, df, ct, out_dir):
    target, kwargs, use_cutoffs, window = CASES[name]
    interesting = {("transactions", "StockCode"): list(df["StockCode"].value_counts().index[:2])} if name.endswith("where") else None
    es = entityset(df, last_time_indexes=window is not None, interesting=interesting)
    extra = {}
    if use_cutoffs:
        extra["cutoff_time"] = ct.rename(columns={"CustomerID": "CustomerID"})
        extra["cutoff_time_in_index"] = True
        if window:
            extra["training_window"] = window
    elif target in ("transactions", "products"):
        extra["cutoff_time"] = pd.Timestamp("2011-04-15 12:00:00")
    kwargs = dict({"max_depth": 2}, **kwargs)
    fm, features = ft.dfs(entityset=es, target_dataframe_name=target, **kwargs, **extra)
    write_matrix(fm, os.path.join(out_dir, name + ".csv"))
    print("%-32s %5d rows %4d features" % (name, len(fm), len(features)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", help="expectations for this CSV instead of the generated fixture")
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--max-customers", type=int, help="cutoff times for a seeded sample of this many customers")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.csv:
        csv = args.csv
    else:
        csv = os.path.join(HERE, "retail_fixture.csv")
        raw = generate()
        raw.to_csv(csv, index=False, date_format="%Y-%m-%d %H:%M:%S")
    df = read_csv(csv)
    ct = cutoffs_for(df, max_customers=args.max_customers)
    ct.to_csv(os.path.join(args.out, "cutoffs.csv"), index=False, date_format="%Y-%m-%d %H:%M:%S")
    print("featuretools", ft.__version__, "pandas", pd.__version__, "rows", len(df), "cutoffs", len(ct), file=sys.stderr)
    for name in args.cases:
        run_case(name, df, ct, args.out)


if __name__ == "__main__":
    main()
