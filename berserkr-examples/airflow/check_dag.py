#!/usr/bin/env python3
"""Loads berserkr_daily.py with Airflow itself and checks it.

    python check_dag.py          # DagBag: no import errors, tasks, graph, retries
    python check_dag.py --run    # and run it (`airflow dags test`) with a fake berserkr

Needs Airflow (2.4 or later, or 3.x) in the running Python: e.g.
`python3 -m venv /tmp/venv-airflow && /tmp/venv-airflow/bin/pip install
apache-airflow`, then `/tmp/venv-airflow/bin/python check_dag.py --run`.

Everything happens under a fresh temporary AIRFLOW_HOME (its own SQLite
database for --run), never the caller's. `--run` runs the DAG twice, for
a Monday (no model yet: everything runs) and the Tuesday after (`train` is
skipped, `score` uses Monday's model), with a fake `berserkr` that records
its arguments and writes the files it is asked for; then a day with no
export, on a copy of the DAG whose retries come 1 second apart
(wait_for_export fails, Airflow retries it, on its last try it exits 99
and the day is skipped: nothing else runs). Exits non-zero
on the first failed check.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAG_ID = "berserkr_daily"

# task -> its upstream tasks
UPSTREAM = {
    "wait_for_export": set(),
    "clean": {"wait_for_export"},
    "features_customers": {"clean"},
    "features_products": {"clean"},
    "is_training_day": {"clean"},
    "train": {"is_training_day"},
    "score": {"features_customers", "features_products", "train"},
    "publish": {"score"},
}
RETRIES = {task: 2 for task in UPSTREAM} | {"wait_for_export": 6}

FAKE_BERSERKR = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    # A stand-in for berserkr: records its arguments, writes its outputs.
    echo "$*" >> "$(dirname "$0")/calls.log"
    if [ "$1" = lzo ]; then
        [ -e "$3" ] && exit 0
        echo "error: object store error: Object at location $3 not found" >&2
        exit 1
    fi
    [ "$1" = clean ] && : > "$3"
    while [ $# -gt 0 ]; do
        case "$1" in
            --out|--model|--report|--cancellations) mkdir -p "$(dirname "$2")"; : > "$2"; shift ;;
        esac
        shift
    done
    """
)

failures = 0


def check(ok: bool, what: str) -> None:
    global failures
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures += 1


def load_dag():
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2
    import airflow

    print(f"Airflow {airflow.__version__}")
    bag = DagBag(dag_folder=str(HERE))
    check(not bag.import_errors, f"no import errors: {dict(bag.import_errors)}")
    check(set(bag.dag_ids) == {DAG_ID}, f"the folder holds one DAG, {DAG_ID}: {sorted(bag.dag_ids)}")
    if DAG_ID not in bag.dags:
        sys.exit(1)
    return bag.dags[DAG_ID]


def check_structure(dag) -> None:
    schedule = getattr(dag, "schedule", None) or getattr(dag, "schedule_interval", None)
    check(schedule == "@daily", f"schedule @daily: {schedule!r}")
    check(dag.catchup is False, f"catchup off: {dag.catchup}")
    check(dag.start_date is not None and dag.start_date.tzinfo is not None, f"fixed start date: {dag.start_date}")
    check(dag.max_active_runs == 1, f"one run at a time: {dag.max_active_runs}")
    check(set(dag.task_ids) == set(UPSTREAM), f"task ids: {sorted(dag.task_ids)}")
    for task_id, upstream in UPSTREAM.items():
        if task_id not in dag.task_ids:
            continue
        task = dag.get_task(task_id)
        downstream = {t for t, ups in UPSTREAM.items() if task_id in ups}
        check(set(task.upstream_task_ids) == upstream, f"{task_id} upstream {sorted(task.upstream_task_ids)}")
        check(set(task.downstream_task_ids) == downstream, f"{task_id} downstream {sorted(task.downstream_task_ids)}")
        check(task.retries == RETRIES[task_id], f"{task_id} retries {task.retries}")
        check(task.retry_delay == timedelta(minutes=5), f"{task_id} retry_delay {task.retry_delay}")
        check(task.execution_timeout is not None, f"{task_id} execution_timeout {task.execution_timeout}")
    if "score" in dag.task_ids:
        rule = dag.get_task("score").trigger_rule
        check(rule == "none_failed_min_one_success", f"score runs when train is skipped: {rule}")
    if "is_training_day" in dag.task_ids:
        gate = dag.get_task("is_training_day")
        check(type(gate).__name__ == "ShortCircuitOperator", f"is_training_day is a {type(gate).__name__}")
        check(
            getattr(gate, "ignore_downstream_trigger_rules", None) is False,
            "is_training_day skips train only, not score",
        )


def airflow_cli(*args: str, env: dict[str, str], log: Path) -> int:
    with log.open("a") as out:
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode


def run_dag(dag, home: Path) -> None:
    root = home / "run"
    fake = root / "bin" / "berserkr"
    fake.parent.mkdir(parents=True)
    fake.write_text(FAKE_BERSERKR)
    fake.chmod(0o755)
    calls = fake.parent / "calls.log"
    bucket, work = root / "bucket", root / "work"
    (bucket / "by-day").mkdir(parents=True)
    for day in ("2025-02-03", "2025-02-04"):  # a Monday and a Tuesday
        (bucket / "by-day" / f"{day}.csv.lzo").write_bytes(b"")
    env = os.environ | {
        "AIRFLOW_VAR_BERSERKR_BIN": str(fake),
        "AIRFLOW_VAR_BERSERKR_BUCKET": str(bucket),
        "AIRFLOW_VAR_BERSERKR_WORK": str(work),
        "AIRFLOW__CORE__DAGS_FOLDER": str(HERE),
    }
    log = home / "airflow.log"
    check(airflow_cli("db", "migrate", env=env, log=log) == 0, "airflow db migrate")

    def run(logical_date: str, day: str) -> list[str]:
        calls.write_text("")
        code = airflow_cli("dags", "test", DAG_ID, logical_date, env=env, log=log)
        check(code == 0, f"airflow dags test {DAG_ID} {logical_date}")
        commands = [line.split()[0] for line in calls.read_text().splitlines() if line]
        print(f"     berserkr ran: {' '.join(commands)}")
        check((bucket / "scores" / f"{day}.parquet").exists(), f"published scores/{day}.parquet")
        return commands

    # The run due at midnight after the export day processes that day.
    monday = run("2025-02-04", "2025-02-03")
    check(
        sorted(monday) == sorted(["lzo", "clean", "features", "features", "train", "score"]),
        "Monday, no model yet: every stage runs",
    )
    check((work / "model.json").exists(), "train installed the current model")
    check((work / "models" / "2025-02-03" / "report.md").exists(), "train kept the week's report")
    tuesday = run("2025-02-05", "2025-02-04")
    check(
        sorted(tuesday) == sorted(["lzo", "clean", "features", "features", "score"]),
        "Tuesday: train skipped, score runs with Monday's model",
    )

    # A day with no export, with Airflow's own retries: a copy of the DAG
    # whose retries come 1 second apart, 2 of them for wait_for_export.
    fast = root / "fast-dags" / "berserkr_daily.py"
    fast.parent.mkdir()
    source = (HERE / "berserkr_daily.py").read_text()
    patched = source.replace('"retry_delay": timedelta(minutes=5)', '"retry_delay": timedelta(seconds=1)')
    patched = patched.replace("WAIT_RETRIES = 6", "WAIT_RETRIES = 2")
    check(patched.count("seconds=1") == 1 and "WAIT_RETRIES = 2" in patched, "a copy with fast retries")
    fast.write_text(patched)
    calls.write_text("")
    env_fast = env | {"AIRFLOW__CORE__DAGS_FOLDER": str(fast.parent)}
    code = airflow_cli("dags", "test", DAG_ID, "2025-02-08", env=env_fast, log=log)
    check(code == 0, f"airflow dags test {DAG_ID} 2025-02-08 (no export for 2025-02-07)")
    commands = [line.split()[0] for line in calls.read_text().splitlines() if line]
    print(f"     berserkr ran: {' '.join(commands)}")
    check(commands == ["lzo"] * 3, "no export: wait_for_export tried 3 times, then the day was skipped")
    check(not (bucket / "scores" / "2025-02-07.parquet").exists(), "no export: nothing published")

    # wait_for_export's command on a day with no export, as each try runs it.
    wait = dag.get_task("wait_for_export")
    tries = int(wait.env["TRIES"])
    base = os.environ | {"BERSERKR": str(fake), "BERSERKR_BUCKET": str(bucket), "DAY": "2025-02-05"}
    for attempt, expected in ((1, 1), (tries, 99)):
        code = subprocess.run(
            ["bash", "-c", wait.bash_command],
            env=base | {"TRY": str(attempt), "TRIES": str(tries)},
            capture_output=True,
        ).returncode
        check(code == expected, f"no export, try {attempt} of {tries}: exit {code} (want {expected})")
    skip = getattr(wait, "skip_on_exit_code", getattr(wait, "skip_exit_code", None))
    check(99 in _codes(skip), f"exit 99 skips the task: {skip}")


def _codes(value) -> set[int]:
    if value is None:
        return set()
    return {value} if isinstance(value, int) else set(value)


def main() -> int:
    run = "--run" in sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="berserkr-airflow-") as home:
        os.environ["AIRFLOW_HOME"] = home
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        dag = load_dag()
        check_structure(dag)
        if run:
            run_dag(dag, Path(home))
        log = Path(home) / "airflow.log"
        if failures and log.exists():
            print(f"--- the last lines of {log} ---")
            print("\n".join(log.read_text(errors="replace").splitlines()[-60:]))
    print(f"{failures} checks failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
