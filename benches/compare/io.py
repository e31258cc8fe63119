#!/usr/bin/env python3
"""berserkr's io against its peers on the same 48 MB Online Retail CSV.

Prints, in one run: `lzop -d` against berserkr's lzop decompression
(sequential and parallel), and pyarrow's multi-threaded `read_csv` against
berserkr's CSV to typed Arrow, as ratios (above 1: berserkr is faster).

    scripts/python-env.sh            # makes .venv with pyarrow
    .venv/bin/python benches/compare/io.py [--runs 7]

Every number is the best of N runs on a warm cache, each tool on its own,
on all the machine's cores.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "online-retail" / "online_retail.csv.lzo"


def best_of(runs, f):
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - started)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} not found: the real data lives in ../shared beside the checkout")
    if shutil.which("lzop") is None:
        sys.exit("lzop is not installed (apt-get install lzop)")
    import pyarrow
    import pyarrow.csv

    print("building and running berserkr's io_compare (release)...", file=sys.stderr)
    out = subprocess.run(
        ["cargo", "bench", "--quiet", "--bench", "io_compare", "--", str(args.runs)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    ours = {k: float(v) for k, v in (line.split() for line in out.splitlines() if line.strip())}

    with open(os.devnull, "wb") as devnull:
        lzop = best_of(args.runs, lambda: subprocess.run(
            ["lzop", "-d", "-c", str(DATA)], stdout=devnull, check=True))

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "online_retail.csv"
        with open(csv, "wb") as f:
            subprocess.run(["lzop", "-d", "-c", str(DATA)], stdout=f, check=True)
        table = pyarrow.csv.read_csv(csv)  # warm-up, and a check
        assert table.num_rows == 541_909, table.num_rows
        pa = best_of(args.runs, lambda: pyarrow.csv.read_csv(csv))

    mb = ours["bytes"] / 1e6
    rows = [
        ("lzop -d (C, liblzo)", lzop, None),
        ("berserkr lzo, sequential", ours["lzo_decompress_sequential"], lzop),
        ("berserkr lzo, parallel", ours["lzo_decompress_parallel"], lzop),
        (f"pyarrow {pyarrow.__version__} read_csv ({pyarrow.cpu_count()} threads)", pa, None),
        ("berserkr CSV to typed Arrow", ours["csv_to_arrow"], pa),
        ("berserkr .csv.lzo to typed Arrow", ours["lzo_csv_to_arrow"], pa),
    ]
    print(f"{mb:.1f} MB CSV, best of {args.runs}, {os.cpu_count()} cores")
    print(f"{'':44} {'seconds':>8} {'MB/s':>7} {'peer/ours':>10}")
    for name, seconds, peer in rows:
        ratio = f"{peer / seconds:.2f}x" if peer else ""
        print(f"{name:44} {seconds:8.3f} {mb / seconds:7.0f} {ratio:>10}")


if __name__ == "__main__":
    main()
