#!/usr/bin/env bash
# Creates .venv with the Python tools that check berserkr from outside
# (pyarrow to read our Parquet back, moto as an S3-compatible server).
# They are tools for checking, never a dependency of the crates.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-check.txt
