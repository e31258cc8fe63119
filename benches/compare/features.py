#!/usr/bin/env python3
"""berserkr-features against Featuretools on the full clean Online Retail data.

Same entity set (transactions -> invoices -> customers, and products), same
primitives (Featuretools' defaults), customers as target, max depth 2, on
the same machine, one run each, in three cases:

  a  no cutoff time
  b  one cutoff per customer (a seeded time between its first purchase and
     the end of the data)
  c  every customer at 12 monthly cutoffs (the 1st of 2011-01 .. 2011-12)

Each run is a process of its own, so that its peak resident memory is its
own. Featuretools gets an hour per case; past that it is reported as not
finished. Prints wall time and peak memory of both, and the ratios.

    scripts/python-env.sh                 # .venv with featuretools, pandas<3
    .venv/bin/python benches/compare/features.py [--cases a b c] [--timeout 3600]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_SCRIPT = ROOT / "berserkr-features" / "testdata" / "featuretools"
END = "2011-12-09 12:50:00"


def cargo_bench(*args):
    out = subprocess.run(
        ["cargo", "bench", "--quiet", "--bench", "dfs_compare", "--", *args],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return dict(line.split(None, 1) for line in out.splitlines() if line.strip())


def make_cutoffs(clean_csv, directory):
    import numpy as np
    import pandas as pd

    df = pd.read_csv(clean_csv, usecols=["CustomerID", "InvoiceDate"], parse_dates=["InvoiceDate"])
    first = df.groupby("CustomerID")["InvoiceDate"].min().sort_index()
    rng = np.random.RandomState(20111209)
    end = pd.Timestamp(END)
    span = (end - first).dt.total_seconds().to_numpy()
    times = first + pd.to_timedelta(np.floor(span * rng.rand(len(first))), unit="s")
    one = pd.DataFrame({"CustomerID": first.index.astype("int64"), "time": times.to_numpy()})
    one.to_csv(directory / "b.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
    months = pd.date_range("2011-01-01", "2011-12-01", freq="MS")
    monthly = pd.DataFrame(
        [(int(c), m) for m in months for c in first.index], columns=["CustomerID", "time"]
    )
    monthly.to_csv(directory / "c.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
    return {"b": len(one), "c": len(monthly)}


def featuretools_case(case, clean_csv, cutoffs_csv):
    """One case in this process; prints a JSON line with the numbers."""
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(FIXTURE_SCRIPT))
    import featuretools as ft
    from make_expected import entityset

    df = pd.read_csv(clean_csv, dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "Country": str},
                     keep_default_na=False, na_values=[""])
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    df["CustomerID"] = df["CustomerID"].astype("Int64")
    df.insert(0, "transaction_id", np.arange(len(df), dtype="int64"))
    extra = {}
    if case in ("b", "c"):
        ct = pd.read_csv(cutoffs_csv, parse_dates=["time"])
        extra["cutoff_time"] = ct
    started = time.perf_counter()
    es = entityset(df)
    fm, features = ft.dfs(entityset=es, target_dataframe_name="customers", max_depth=2, **extra)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": len(fm), "features": len(features), "seconds": seconds, "peak_rss_bytes": peak}))


def run_featuretools(case, clean_csv, cutoffs_csv, timeout):
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--featuretools-case", case, str(clean_csv), str(cutoffs_csv)],
            check=True, capture_output=True, text=True, timeout=timeout,
        ).stdout
    except subprocess.TimeoutExpired:
        return None
    return json.loads(out.strip().splitlines()[-1])


def gib(n):
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="*", default=["a", "b", "c"])
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--featuretools-case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.featuretools_case:
        featuretools_case(*args.featuretools_case)
        return
    import featuretools

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clean = tmp / "clean.csv"
        print("building berserkr's dfs_compare (release) and writing the clean table...", file=sys.stderr)
        rows = cargo_bench("clean", str(clean))["transactions"]
        counts = make_cutoffs(clean, tmp)
        print(f"clean Online Retail: {int(rows):,} transactions; cutoffs: b {counts['b']:,}, c {counts['c']:,}")
        print(f"Featuretools {featuretools.__version__}; {os.cpu_count()} cores\n")
        header = f"{'case':<24} {'Featuretools':>22} {'berserkr':>22} {'faster':>9} {'memory':>8}"
        print(header)
        print("-" * len(header))
        names = {"a": "(a) no cutoff", "b": "(b) cutoff per customer", "c": "(c) 12 monthly cutoffs"}
        for case in args.cases:
            cutoffs = tmp / f"{case}.csv"
            ours = cargo_bench(case, str(clean), str(cutoffs))
            our_s, our_mem = float(ours["seconds"]), int(ours["peak_rss_bytes"])
            theirs = run_featuretools(case, clean, cutoffs, args.timeout)
            if theirs is None:
                ft_text, ratio, mem = f"> {args.timeout:.0f} s (not finished)", f"> {args.timeout / our_s:.0f}x", "-"
            else:
                if theirs["rows"] != int(ours["rows"]) or theirs["features"] != int(ours["features"]):
                    print(f"  shapes differ: Featuretools {theirs['rows']}x{theirs['features']}, "
                          f"berserkr {ours['rows']}x{ours['features']}")
                ft_text = f"{theirs['seconds']:.2f} s, {gib(theirs['peak_rss_bytes'])}"
                ratio = f"{theirs['seconds'] / our_s:.0f}x"
                mem = f"{our_mem / theirs['peak_rss_bytes']:.2f}"
            our_text = f"{our_s:.3f} s, {gib(our_mem)}"
            print(f"{names[case]:<24} {ft_text:>22} {our_text:>22} {ratio:>9} {mem:>8}", flush=True)
        print("\nfaster: Featuretools' time / berserkr's; memory: berserkr's peak / Featuretools' peak")


if __name__ == "__main__":
    main()
