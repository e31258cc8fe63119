#!/usr/bin/env python3
"""Checks berserkr_daily.py without Airflow: Python's standard library only.

    python3 check_dag_static.py [DAG_FILE]           # check, print the graph
    python3 check_dag_static.py --commands [DAG_FILE] # the berserkr subcommands, one a line
    python3 check_dag_static.py --command-lines [DAG_FILE] # each berserkr command line

Parses the DAG file with `ast` (nothing is imported or run) and checks:
the DAG's arguments (@daily, catchup off, a fixed start date, one run at
a time), default_args (retries 2, retry_delay 5 minutes, an
execution_timeout), the task ids and their operators, the dependencies
that the `>>` / `<<` statements make, per-task overrides (retries, trigger
rules, the short circuit that skips `train` only), that Variables are read
in templates with defaults (never at import), and which `berserkr`
subcommands the tasks run. Prints the task graph; exits 1 when a check
fails. `check_dag.py` checks the same with Airflow itself, when installed.
"""

from __future__ import annotations

import ast
import re
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

DAG_FILE = Path(__file__).resolve().parent / "berserkr_daily.py"

EXPECTED_TASKS = {
    "wait_for_export": "BashOperator",
    "clean": "BashOperator",
    "features_customers": "BashOperator",
    "features_products": "BashOperator",
    "is_training_day": "ShortCircuitOperator",
    "train": "BashOperator",
    "score": "BashOperator",
    "publish": "BashOperator",
}
EXPECTED_EDGES = {
    ("wait_for_export", "clean"),
    ("clean", "features_customers"),
    ("clean", "features_products"),
    ("clean", "is_training_day"),
    ("is_training_day", "train"),
    ("features_customers", "score"),
    ("features_products", "score"),
    ("train", "score"),
    ("score", "publish"),
}
EXPECTED_RETRIES = {task: 2 for task in EXPECTED_TASKS} | {"wait_for_export": 6}
EXPECTED_VARIABLES = {"berserkr_bin", "berserkr_bucket", "berserkr_work"}
# Which berserkr subcommand each task runs.
EXPECTED_COMMANDS = {
    "wait_for_export": ["lzo"],
    "clean": ["clean"],
    "features_customers": ["features"],
    "features_products": ["features"],
    "train": ["train"],
    "score": ["score"],
}

# A berserkr command line in a bash_command: "$BERSERKR" <subcommand>.
COMMAND = re.compile(r'"\$BERSERKR"\s+([a-z][a-z0-9-]*)')
# {{ var.value.get('name', 'default') }} (and var.json), read when rendered.
TEMPLATE_VARIABLE = re.compile(r"var\.(?:value|json)\.get\(\s*'([^']+)'\s*(,)?")


class Unknown:
    """A value this evaluator cannot know without running the file."""

    def __init__(self, node: ast.AST):
        self.text = ast.unparse(node)

    def __repr__(self) -> str:
        return f"<{self.text}>"


class Evaluator:
    """Evaluates the literal parts of a module: constants, strings and
    their sums, dicts, lists, names bound to those at module level, and
    timedelta / datetime / date calls."""

    CALLS = {"timedelta": timedelta, "datetime": datetime, "date": date, "str": str, "int": int}

    def __init__(self, tree: ast.Module):
        self.names: dict[str, object] = {"timezone": timezone}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    self.names[target.id] = self.eval(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
                self.names[node.target.id] = self.eval(node.value)

    def eval(self, node: ast.AST) -> object:
        try:
            return self._eval(node)
        except Exception:  # noqa: BLE001 - anything not literal is unknown
            return Unknown(node)

    def _eval(self, node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            return Unknown(node)
        if isinstance(node, ast.Attribute):
            base = self._eval(node.value)
            if base is timezone and node.attr == "utc":
                return timezone.utc
            return Unknown(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.BitOr)):
            left, right = self._eval(node.left), self._eval(node.right)
            if isinstance(left, Unknown) or isinstance(right, Unknown):
                return Unknown(node)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            return left | right
        if isinstance(node, ast.JoinedStr):
            return Unknown(node)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self._eval(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            out: dict = {}
            for key, value in zip(node.keys, node.values):
                if key is None:  # **other
                    other = self._eval(value)
                    if not isinstance(other, dict):
                        return Unknown(node)
                    out.update(other)
                else:
                    out[self._eval(key)] = self._eval(value)
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.CALLS:
            args = [self._eval(a) for a in node.args]
            kwargs = {k.arg: self._eval(k.value) for k in node.keywords if k.arg}
            if any(isinstance(v, Unknown) for v in [*args, *kwargs.values()]):
                return Unknown(node)
            return self.CALLS[node.func.id](*args, **kwargs)
        return Unknown(node)


def call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


class Graph:
    def __init__(self, path: Path):
        self.source = path.read_text()
        self.tree = ast.parse(self.source, filename=str(path))
        self.values = Evaluator(self.tree)
        self.dag_kwargs: dict[str, object] = {}
        self.dag_calls = 0
        self.tasks: dict[str, dict] = {}  # task_id -> {operator, kwargs, var}
        self.by_var: dict[str, str] = {}  # Python name -> task_id
        self.edges: set[tuple[str, str]] = set()
        self.unresolved: list[str] = []
        self._collect()

    def _kwargs(self, call: ast.Call) -> dict[str, object]:
        out: dict[str, object] = {}
        for keyword in call.keywords:
            if keyword.arg is None:  # **kwargs
                extra = self.values.eval(keyword.value)
                if isinstance(extra, dict):
                    out.update(extra)
            else:
                out[keyword.arg] = self.values.eval(keyword.value)
        return out

    def _collect(self) -> None:
        for node in ast.walk(self.tree):
            if call_name(node) == "DAG":
                self.dag_calls += 1
                self.dag_kwargs = self._kwargs(node)
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
                name = call_name(value)
                if (
                    isinstance(target, ast.Name)
                    and name
                    and (name.endswith("Operator") or name.endswith("Sensor"))
                ):
                    kwargs = self._kwargs(value)
                    task_id = kwargs.get("task_id")
                    if isinstance(task_id, str):
                        self.tasks[task_id] = {"operator": name, "kwargs": kwargs, "var": target.id}
                        self.by_var[target.id] = task_id
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Expr):
                if isinstance(node.value, ast.BinOp) and isinstance(node.value.op, (ast.RShift, ast.LShift)):
                    self._chain(node.value)
                elif call_name(node.value) in ("set_downstream", "set_upstream"):
                    call = node.value
                    this = self._operand(call.func.value)
                    other = self._operand(call.args[0]) if call.args else set()
                    pairs = (
                        {(a, b) for a in this for b in other}
                        if call_name(call) == "set_downstream"
                        else {(b, a) for a in this for b in other}
                    )
                    self.edges |= pairs

    def _operand(self, node: ast.AST) -> set[str]:
        """The tasks an expression stands for, as Python evaluates it:
        `a >> b` and `a << b` are worth b."""
        if isinstance(node, ast.Name):
            if node.id in self.by_var:
                return {self.by_var[node.id]}
            self.unresolved.append(node.id)
            return set()
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            out: set[str] = set()
            for element in node.elts:
                out |= self._operand(element)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.RShift, ast.LShift)):
            return self._chain(node)
        self.unresolved.append(ast.unparse(node))
        return set()

    def _chain(self, node: ast.BinOp) -> set[str]:
        left = self._operand(node.left)
        right = self._operand(node.right)
        if isinstance(node.op, ast.RShift):
            self.edges |= {(a, b) for a in left for b in right}
        else:
            self.edges |= {(b, a) for a in left for b in right}
        return right

    def downstream(self, task_id: str) -> list[str]:
        return sorted(b for a, b in self.edges if a == task_id)

    def upstream(self, task_id: str) -> list[str]:
        return sorted(a for a, b in self.edges if b == task_id)

    def order(self) -> list[str] | None:
        """The tasks in dependency order, or None when there is a cycle."""
        remaining = set(self.tasks)
        out: list[str] = []
        while remaining:
            ready = sorted(t for t in remaining if not set(self.upstream(t)) & remaining)
            if not ready:
                return None
            out += ready
            remaining -= set(ready)
        return out

    def setting(self, task_id: str, name: str) -> object:
        """A task's own argument, else default_args's, else None."""
        kwargs = self.tasks[task_id]["kwargs"]
        if name in kwargs:
            return kwargs[name]
        defaults = self.dag_kwargs.get("default_args")
        return defaults.get(name) if isinstance(defaults, dict) else None

    def strings(self, task_id: str) -> list[str]:
        """Every string a task's arguments hold (commands, templates)."""
        out: list[str] = []

        def walk(value: object) -> None:
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(self.tasks[task_id]["kwargs"])
        return out

    def commands(self, task_id: str) -> list[str]:
        command = self.tasks[task_id]["kwargs"].get("bash_command")
        return COMMAND.findall(command) if isinstance(command, str) else []

    def command_lines(self) -> list[str]:
        """Each berserkr command line of the bash commands, from the
        binary to the end of its line: `"$BERSERKR" clean IN OUT --flag`."""
        out: list[str] = []
        for info in self.tasks.values():
            command = info["kwargs"].get("bash_command")
            if isinstance(command, str):
                out += re.findall(r'"\$BERSERKR"\s.*', command)
        return out


failures = 0


def check(ok: bool, what: str) -> None:
    global failures
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures += 1


def check_graph(graph: Graph) -> None:
    dag = graph.dag_kwargs
    check(graph.dag_calls == 1, f"one DAG(...): {graph.dag_calls}")
    check(dag.get("dag_id") == "berserkr_daily", f"dag_id: {dag.get('dag_id')!r}")
    check(dag.get("schedule") == "@daily", f"schedule: {dag.get('schedule')!r}")
    check(dag.get("catchup") is False, f"catchup: {dag.get('catchup')!r}")
    start = dag.get("start_date")
    check(
        isinstance(start, datetime) and start.tzinfo is not None,
        f"a fixed start_date with a time zone: {start!r}",
    )
    check(dag.get("max_active_runs") == 1, f"max_active_runs: {dag.get('max_active_runs')!r}")
    defaults = dag.get("default_args")
    check(isinstance(defaults, dict), "default_args is a literal dict")
    defaults = defaults if isinstance(defaults, dict) else {}
    check(defaults.get("retries") == 2, f"default_args retries: {defaults.get('retries')!r}")
    check(
        defaults.get("retry_delay") == timedelta(minutes=5),
        f"default_args retry_delay: {defaults.get('retry_delay')!r}",
    )
    check(
        isinstance(defaults.get("execution_timeout"), timedelta),
        f"default_args execution_timeout: {defaults.get('execution_timeout')!r}",
    )

    check(not graph.unresolved, f"every dependency names a task: unresolved {graph.unresolved}")
    found = {t: info["operator"] for t, info in graph.tasks.items()}
    check(found == EXPECTED_TASKS, f"tasks and operators: {found}")
    missing, extra = EXPECTED_EDGES - graph.edges, graph.edges - EXPECTED_EDGES
    check(not missing and not extra, f"dependencies: missing {sorted(missing)}, unexpected {sorted(extra)}")
    check(graph.order() is not None, "no cycle")

    for task_id in graph.tasks:
        retries = graph.setting(task_id, "retries")
        check(retries == EXPECTED_RETRIES.get(task_id), f"{task_id} retries {retries!r}")
        delay = graph.setting(task_id, "retry_delay")
        check(delay == timedelta(minutes=5), f"{task_id} retry_delay {delay!r}")
        timeout = graph.setting(task_id, "execution_timeout")
        check(isinstance(timeout, timedelta), f"{task_id} execution_timeout {timeout!r}")

    if "score" in graph.tasks:
        rule = graph.setting("score", "trigger_rule")
        check(rule == "none_failed_min_one_success", f"score runs when train is skipped: trigger_rule {rule!r}")
    if "is_training_day" in graph.tasks:
        gate = graph.tasks["is_training_day"]["kwargs"]
        check(
            gate.get("ignore_downstream_trigger_rules") is False,
            "is_training_day skips train only (ignore_downstream_trigger_rules=False)",
        )

    for task_id, info in graph.tasks.items():
        if info["operator"] != "BashOperator":
            continue
        kwargs = info["kwargs"]
        check(isinstance(kwargs.get("bash_command"), str), f"{task_id} bash_command is a literal string")
        if graph.commands(task_id):
            env = kwargs.get("env")
            check(
                isinstance(env, dict) and "BERSERKR" in env and kwargs.get("append_env") is True,
                f"{task_id} gets $BERSERKR through env, with append_env=True",
            )
    used = {t: graph.commands(t) for t in graph.tasks if graph.commands(t)}
    check(used == EXPECTED_COMMANDS, f"berserkr subcommands per task: {used}")

    # Variables: read in templates, each with a default; never at import.
    variables: set[str] = set()
    without_default: set[str] = set()
    for task_id in graph.tasks:
        for text in graph.strings(task_id):
            for name, comma in TEMPLATE_VARIABLE.findall(text):
                variables.add(name)
                if not comma:
                    without_default.add(name)
    check(variables == EXPECTED_VARIABLES, f"Variables read in templates: {sorted(variables)}")
    check(not without_default, f"every Variable has a default: none for {sorted(without_default)}")
    at_import = [
        ast.unparse(node)
        for node in ast.walk(graph.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "Variable"
    ]
    check(not at_import, f"no Variable.get(...) in Python code: {at_import}")
    dated = [t for t in graph.tasks if any("data_interval_end" in s for s in graph.strings(t))]
    check(
        set(dated) >= set(EXPECTED_COMMANDS),
        f"every berserkr task gets its day from the run's templates: {sorted(dated)}",
    )


def print_graph(graph: Graph) -> None:
    dag = graph.dag_kwargs
    print(f"\nDAG {dag.get('dag_id')}: schedule {dag.get('schedule')}, start {dag.get('start_date')}")
    for task_id in graph.order() or sorted(graph.tasks):
        info = graph.tasks[task_id]
        commands = " ".join(f"berserkr {c}" for c in graph.commands(task_id))
        extra = []
        if info["kwargs"].get("trigger_rule"):
            extra.append(f"trigger_rule={info['kwargs']['trigger_rule']}")
        extra.append(f"retries={graph.setting(task_id, 'retries')}")
        print(f"  {task_id:<19} {info['operator']:<21} {commands:<18} {' '.join(extra)}")
        for down in graph.downstream(task_id):
            print(f"  {'':<19} >> {down}")
    commands = sorted({c for t in graph.tasks for c in graph.commands(t)})
    print(f"berserkr subcommands: {' '.join(commands)}")


def main(argv: list[str]) -> int:
    only_commands = "--commands" in argv
    paths = [a for a in argv if not a.startswith("--")]
    path = Path(paths[0]) if paths else DAG_FILE
    graph = Graph(path)
    if "--command-lines" in argv:
        for line in graph.command_lines():
            print(line)
        return 0
    if only_commands:
        for command in sorted({c for t in graph.tasks for c in graph.commands(t)}):
            print(command)
        return 0
    print(f"static check of {path}")
    check_graph(graph)
    print_graph(graph)
    print(f"\n{failures} checks failed" if failures else "\nall checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
