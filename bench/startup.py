"""Benchmark: how long the ``slabot`` command line takes to answer, start to exit.

    .venv/bin/python bench/startup.py                          # this checkout's slabot
    .venv/bin/python bench/startup.py --compare OTHER/.venv/bin/slabot   # before/after
    python3 dev.py bench startup --runs 10

Runs each case as a new process, the way a person or a process manager does, like
hyperfine: a few warm-up runs (so the files are in the page cache), then ``--runs`` timed
runs, each the wall time from ``subprocess.run`` to the exit. With ``--compare`` the two
installations take turns, run by run, so a machine that gets busier in the middle slows
both alike. Prints the wall time's min, median and max per case, the median CPU time
(user + system) of the process, which hardly depends on how busy the machine is, and the
target where there is one (for the median wall time):

- ``slabot --help`` < 0.3 s;
- ``slabot sla deadlines …`` (a policy, a customer, the default) < 0.6 s; also with a
  PostgreSQL ``DATABASE_URL`` set (it is checked, never connected to), which SQLAlchemy
  judges, where the default SQLite URL needs no judge.

``slabot worker --help``, ``python -c "import bot.worker"`` and ``slabot worker`` from
its start until it says it is posting reminders (settings, contracts, the SQLite database
checked, the Slack client made and its token checked, against a local Slack in this
process) are measured beside them, with no target: every worker and every test subprocess
pays them before its first line.

Every case runs in an empty temporary folder (no ``.env``) with the settings removed from
the environment, except ``SLABOT_CUSTOMERS_FILE``, which names this checkout's
``config/customers.example.yaml`` for the ``--customer`` case, and, for the worker, its
token, the local Slack's URL and a SQLite file of each installation's own in that folder
(made by the first warm-up run). Each installation's own ``python`` (beside its
``slabot`` script) runs the ``import`` cases. Nothing is written outside that folder
(``PYTHONDONTWRITEBYTECODE`` is set), so an installation compared against is only read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the local Slack the worker case posts to
SETTINGS = ("DATABASE_URL", "PORT", "SLACK_")  # and every SLABOT_…
DEADLINES = ("sla", "deadlines", "--severity", "1", "--start", "2026-11-20T10:00")


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    """After the console script, or after ``python`` when ``python`` is set."""
    target: float | None = None
    python: bool = False
    until: str | None = None
    """Timed until this appears on stderr (then the process is stopped), not to its exit."""
    env: tuple[tuple[str, str], ...] = ()


CASES = (
    Case("slabot --help", ("--help",), 0.3),
    Case("slabot sla deadlines (default policy)", DEADLINES, 0.6),
    Case("slabot sla deadlines --policy diplomasafe", (*DEADLINES, "--policy", "diplomasafe"), 0.6),
    Case("slabot sla deadlines --customer nordlys", (*DEADLINES, "--customer", "nordlys"), 0.6),
    Case(
        "slabot sla deadlines, DATABASE_URL=postgresql…",
        DEADLINES,
        0.6,
        env=(("DATABASE_URL", "postgresql+psycopg://slabot@db.invalid/slabot"),),
    ),
    Case("slabot worker --help", ("worker", "--help")),
    Case('python -c "import bot.cli"', ("-c", "import bot.cli"), python=True),
    Case('python -c "import bot.worker"', ("-c", "import bot.worker"), python=True),
    Case("slabot worker, until it posts", ("worker",), until="posting reminders"),
)
TOKEN = "xoxb-startup-bench"


@dataclass(frozen=True)
class Run:
    wall: float
    """Seconds from starting the process to its exit (or to ``Case.until``)."""
    cpu: float
    """The process's user + system CPU seconds, for its whole life (the worker's includes
    stopping); unlike the wall time, it hardly depends on how busy the machine is."""


def environment() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith((*SETTINGS, "SLABOT_", "PYTHON"))
    }
    env["SLABOT_CUSTOMERS_FILE"] = str(ROOT / "config" / "customers.example.yaml")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def command(script: Path, case: Case) -> list[str]:
    return [str(script.parent / "python"), *case.argv] if case.python else [str(script), *case.argv]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], cwd: str, env: dict[str, str], until: str | None) -> Run:
    cpu = children_cpu()
    began = time.perf_counter()
    if until is None:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
        return Run(elapsed, children_cpu() - cpu)
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seen = []
    try:
        for line in process.stderr:
            seen.append(line)
            if until in line:
                elapsed = time.perf_counter() - began
                break
        else:
            raise SystemExit(f"{' '.join(argv)} stopped before saying {until!r}:\n{''.join(seen)}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    return Run(elapsed, children_cpu() - cpu)


def measure(scripts: dict[str, Path], case: Case, runs: int, warmup: int) -> dict[str, list[Run]]:
    times: dict[str, list[Run]] = {label: [] for label in scripts}
    with contextlib.ExitStack() as stack:
        cwd = stack.enter_context(tempfile.TemporaryDirectory(prefix="slabot-startup-"))
        envs = {label: {**environment(), **dict(case.env)} for label in scripts}
        if case.until is not None:
            from bot.slack.loopback import LoopbackSlack

            slack = stack.enter_context(LoopbackSlack(expected_token=TOKEN))
            for label, env in envs.items():
                env.update(
                    SLACK_BOT_TOKEN=TOKEN,
                    SLACK_API_URL=slack.api_url,
                    DATABASE_URL=f"sqlite:///{Path(cwd) / label}.db",
                )
        for _ in range(warmup):
            for label, script in scripts.items():
                run_once(command(script, case), cwd, envs[label], case.until)
        for _ in range(runs):
            for label, script in scripts.items():
                times[label].append(run_once(command(script, case), cwd, envs[label], case.until))
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--slabot",
        type=Path,
        default=Path(sys.executable).parent / "slabot",
        help="the console script to measure (default: the one beside this python)",
    )
    parser.add_argument(
        "--compare", type=Path, help="another installation's slabot, measured in turn with it"
    )
    parser.add_argument("--runs", type=int, default=20, help="timed runs per case (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--case", action="append", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    scripts = {"this": args.slabot.absolute()}
    if args.compare:
        scripts = {"compared": args.compare.absolute(), **scripts}
    for label, script in scripts.items():
        if not script.exists():
            parser.error(f"{label}: {script} does not exist")
    cases = [c for c in CASES if not args.case or any(word in c.name for word in args.case)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load:.2f} at the start; {args.runs} runs after {args.warmup} warm-up"
    )
    for label, script in scripts.items():
        print(f"  {label}: {script}")
    print()
    width = max(len(c.name) for c in cases)
    print(
        f"{'':<{width}} {'':<9} {'wall time (s)':^23}  {'CPU (s)':>7}\n"
        f"{'case':<{width}} {'slabot':<9} {'min':>7} {'median':>7} {'max':>7}  {'median':>7}  "
        "target (median wall time)"
    )
    for case in cases:
        times = measure(scripts, case, args.runs, args.warmup)
        for label, runs in times.items():
            wall = [run.wall for run in runs]
            median = statistics.median(wall)
            cpu = statistics.median(run.cpu for run in runs)
            verdict = ""
            if case.target is not None:
                verdict = f"< {case.target} s: {'met' if median < case.target else 'NOT met'}"
            print(
                f"{case.name:<{width}} {label:<9} {min(wall):7.3f} {median:7.3f} "
                f"{max(wall):7.3f}  {cpu:7.3f}  {verdict}"
            )
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
