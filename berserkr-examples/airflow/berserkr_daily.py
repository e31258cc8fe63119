"""berserkr's daily stages, as an Airflow DAG.

Every task but one runs a `berserkr` command (BashOperator); the exception
is `is_training_day`, which lets `train` run on Mondays only (and on any
day when there is no model yet). The graph:

    wait_for_export >> clean >> [features_customers, features_products]
    clean >> is_training_day >> train
    [features_customers, features_products, train] >> score >> publish

Locations come from Airflow Variables, read when a task runs (never when
the file is parsed), each with a default, so the DAG loads with none set:

    berserkr_bucket  exports under <bucket>/by-day/YYYY-MM-DD.csv.lzo,
                     scores published to <bucket>/scores/YYYY-MM-DD.parquet
    berserkr_work    local directory (shared by the workers) for the
                     day's Parquet files and the current model
    berserkr_bin     the `berserkr` binary (built with `--features aws`
                     for s3:// buckets)

See README.md beside this file.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import ShortCircuitOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2 (2.4 or later)
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import ShortCircuitOperator

DEFAULT_BUCKET = "s3://berserkr-exports/online-retail"
DEFAULT_WORK = "/tmp/berserkr"
DEFAULT_BIN = "berserkr"

# The day whose export a run processes, and the cutoff that follows it.
#
# `data_interval_end` is when a scheduled run becomes due, midnight after
# the day it covers, on Airflow 2 (CronDataIntervalTimetable, where `ds` is
# that day) and on Airflow 3 (CronTriggerTimetable by default, where `ds`
# is already the next day): so the export day is the date before it on
# both, where a bare `{{ ds }}` would differ by a day. A manual run covers
# the last complete day. The cutoff is midnight after the export day: every
# transaction of that day is history, and the horizon starts after it.
DAY = "{{ macros.ds_add(data_interval_end | ds, -1) }}"
CUTOFF = "{{ data_interval_end | ds }}"

# Trains when the export day is this weekday (Monday is 0), and whenever
# there is no model yet.
TRAINING_WEEKDAY = 0

# wait_for_export tries this many more times, retry_delay apart, before it
# gives up on the day (see its command).
WAIT_RETRIES = 6

# Rendered when a task runs: Variables are read then, not at import.
ENV = {
    "BERSERKR": "{{ var.value.get('berserkr_bin', '" + DEFAULT_BIN + "') }}",
    "BERSERKR_BUCKET": "{{ var.value.get('berserkr_bucket', '" + DEFAULT_BUCKET + "') }}",
    "BERSERKR_WORK": "{{ var.value.get('berserkr_work', '" + DEFAULT_WORK + "') }}",
    "DAY": DAY,
    "CUTOFF": CUTOFF,
    "TOP": "{{ params.top }}",
    "HORIZON_DAYS": "{{ params.horizon_days }}",
}

default_args = {
    "owner": "berserkr",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=2),
}


def _is_training_day(day: str, model: str) -> bool:
    """True when `train` should run: on the training weekday, or when
    there is no current model for `score` to use."""
    if not os.path.exists(model):
        print(f"no model at {model}: training today")
        return True
    weekday = date.fromisoformat(day).weekday()
    print(f"{day} is weekday {weekday}; training on weekday {TRAINING_WEEKDAY}")
    return weekday == TRAINING_WEEKDAY


with DAG(
    dag_id="berserkr_daily",
    description="berserkr: clean the day's export, features, weekly training, scores",
    doc_md=__doc__,
    schedule="@daily",
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    # Runs share the current model: one at a time.
    max_active_runs=1,
    default_args=default_args,
    params={"top": 10, "horizon_days": 30},
    tags=["berserkr"],
) as dag:
    # The day's object must be there and whole (every lzop checksum). Not
    # there yet: fail, so that Airflow retries. Still not there on the last
    # try: exit 99, which skips this task and so the whole run (a day with
    # no trading, as the shop's Saturdays, has no export). Any other fault
    # (a corrupt object) fails the run.
    wait_for_export = BashOperator(
        task_id="wait_for_export",
        bash_command=(
            'object="$BERSERKR_BUCKET/by-day/$DAY.csv.lzo"\n'
            'if output=$("$BERSERKR" lzo test "$object" 2>&1); then\n'
            '    echo "$output"\n'
            "    exit 0\n"
            "fi\n"
            'echo "$output" >&2\n'
            'case "$output" in\n'
            "    *'not found'*)\n"
            '        if [ "$TRY" -ge "$TRIES" ]; then\n'
            '            echo "no export for $DAY after $TRY tries: skipping the day" >&2\n'
            "            exit 99\n"
            "        fi\n"
            '        echo "no export for $DAY yet (try $TRY of $TRIES)" >&2 ;;\n'
            "esac\n"
            "exit 1\n"
        ),
        env={**ENV, "TRY": "{{ ti.try_number }}", "TRIES": str(WAIT_RETRIES + 1)},
        append_env=True,
        retries=WAIT_RETRIES,
        execution_timeout=timedelta(minutes=10),
    )

    # The whole history, cleaned again every day: a year of exports is
    # about 50 MB of CSV and cleans in seconds, and a rerun or a retry
    # gives the same files. A malformed row is reported and skipped rather
    # than failing every day from then on.
    clean = BashOperator(
        task_id="clean",
        bash_command=(
            "set -euo pipefail\n"
            'run="$BERSERKR_WORK/runs/$DAY"\n'
            'mkdir -p "$run"\n'
            '"$BERSERKR" clean "$BERSERKR_BUCKET/by-day/" "$run/clean.parquet"'
            ' --cancellations "$run/cancellations.parquet" --skip-malformed\n'
        ),
        env=ENV,
        append_env=True,
    )

    features_customers = BashOperator(
        task_id="features_customers",
        bash_command=(
            "set -euo pipefail\n"
            'run="$BERSERKR_WORK/runs/$DAY"\n'
            '"$BERSERKR" features --transactions "$run/clean.parquet" --target customers'
            ' --cutoff "$CUTOFF" --out "$run/features_customers.parquet"\n'
        ),
        env=ENV,
        append_env=True,
    )

    features_products = BashOperator(
        task_id="features_products",
        bash_command=(
            "set -euo pipefail\n"
            'run="$BERSERKR_WORK/runs/$DAY"\n'
            '"$BERSERKR" features --transactions "$run/clean.parquet" --target products'
            ' --cutoff "$CUTOFF" --out "$run/features_products.parquet"\n'
        ),
        env=ENV,
        append_env=True,
    )

    # Skips `train` only (not what follows it): `score` then uses the
    # current model.
    is_training_day = ShortCircuitOperator(
        task_id="is_training_day",
        python_callable=_is_training_day,
        op_kwargs={
            "day": DAY,
            "model": "{{ var.value.get('berserkr_work', '" + DEFAULT_WORK + "') }}/model.json",
        },
        ignore_downstream_trigger_rules=False,
    )

    # Keeps every week's model and report under models/DAY, and makes the
    # new model the current one (model.json) only once it is complete.
    train = BashOperator(
        task_id="train",
        bash_command=(
            "set -euo pipefail\n"
            'run="$BERSERKR_WORK/runs/$DAY"\n'
            'models="$BERSERKR_WORK/models/$DAY"\n'
            'mkdir -p "$models"\n'
            '"$BERSERKR" train --transactions "$run/clean.parquet"'
            ' --cancellations "$run/cancellations.parquet"'
            ' --model "$models/model.json" --report "$models/report.md"'
            ' --horizon-days "$HORIZON_DAYS"\n'
            'cp "$models/model.json" "$BERSERKR_WORK/model.json.tmp"\n'
            'mv -f "$BERSERKR_WORK/model.json.tmp" "$BERSERKR_WORK/model.json"\n'
        ),
        env=ENV,
        append_env=True,
        execution_timeout=timedelta(hours=4),
    )

    # Runs when the features are done and `train` succeeded or was skipped
    # (not on a day whose export was skipped: nothing upstream succeeded).
    score = BashOperator(
        task_id="score",
        bash_command=(
            "set -euo pipefail\n"
            'run="$BERSERKR_WORK/runs/$DAY"\n'
            '"$BERSERKR" score --model "$BERSERKR_WORK/model.json"'
            ' --transactions "$run/clean.parquet" --cancellations "$run/cancellations.parquet"'
            ' --cutoff "$CUTOFF" --top "$TOP" --out "$run/scores.parquet"\n'
        ),
        env=ENV,
        append_env=True,
        trigger_rule="none_failed_min_one_success",
    )

    # s3:// needs the aws CLI on the worker; a path or file:// URL is
    # copied and renamed, so readers never see half a file.
    publish = BashOperator(
        task_id="publish",
        bash_command=(
            "set -euo pipefail\n"
            'source="$BERSERKR_WORK/runs/$DAY/scores.parquet"\n'
            'target="$BERSERKR_BUCKET/scores/$DAY.parquet"\n'
            'target="${target#file://}"\n'
            'case "$target" in\n'
            '    s3://*) aws s3 cp --only-show-errors "$source" "$target" ;;\n'
            "    *://*)\n"
            '        echo "publish: cannot copy to $target (a path, file:// or s3://)" >&2\n'
            "        exit 1 ;;\n"
            "    *)\n"
            '        mkdir -p "$(dirname "$target")"\n'
            '        cp "$source" "$target.tmp"\n'
            '        mv -f "$target.tmp" "$target" ;;\n'
            "esac\n"
            'echo "published $target"\n'
        ),
        env=ENV,
        append_env=True,
    )

    wait_for_export >> clean >> [features_customers, features_products]
    clean >> is_training_day >> train
    [features_customers, features_products, train] >> score >> publish
