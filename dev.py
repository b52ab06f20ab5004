#!/usr/bin/env python3
"""Set up and run slabot with nothing but Python: ``python3 dev.py run`` / ``python3 dev.py test``.

Each command creates ``.venv`` and installs the project into it on first use (again
whenever ``pyproject.toml`` changes), then runs:

  run    check the contracts, then ``slabot console`` (extra arguments go to it: --speed 60)
  test   the test suite (extra arguments go to pytest)
  lint   ``ruff check`` and ``ruff format --check`` over the project (as CI does)
  bench  a benchmark from bench/ (e.g. ``python3 dev.py bench deadlines``)
  slabot any slabot command inside the virtualenv (``python3 dev.py slabot policy check``)

``run``, ``slabot`` and ``bench`` run in the folder you run dev.py from, as ``slabot``
itself would: a file you name (``dev.py slabot import history.json``) is the one your shell
sees, and ``.env`` is read there. ``test`` and ``lint`` run in the project's folder, so
``tests/sla`` names the same tests from anywhere.

Plain Python rather than make: a fresh machine that has only Python may have no make.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".slabot-installed"
EXTRAS = {"run": "", "slabot": "", "test": "[dev]", "lint": "[dev]", "bench": "[dev,bench]"}
IN_PROJECT = frozenset({"test", "lint"})
"""Commands that run in the project's folder; the others run where dev.py was run from."""


def ensure_venv(extras: str) -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    installed = STAMP.read_text().split() if STAMP.exists() else []
    if wanted in installed:
        return
    if not PYTHON.exists():
        print("dev.py: creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"dev.py: installing slabot{extras} into .venv …", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", f"{ROOT}{extras}"],
        check=True,
    )  # fmt: skip
    STAMP.write_text(" ".join([*installed, wanted]))


def commands(command: str, rest: list[str]) -> list[list[str]]:
    """What ``dev.py COMMAND REST…`` runs (``run`` checks the contracts first)."""
    slabot = str(BIN / "slabot")
    if command == "run":
        return [[slabot, "console", *rest]]
    if command == "slabot":
        return [[slabot, *rest]]
    if command == "test":
        return [[str(PYTHON), "-m", "pytest", *rest]]
    if command == "lint":
        ruff = str(BIN / "ruff")
        return [[ruff, "check", "."], [ruff, "format", "--check", "."]]
    return [[str(PYTHON), str(ROOT / "bench" / f"{rest[0]}.py"), *rest[1:]]]


def folder(command: str) -> Path | None:
    """Where ``command`` runs: the project's folder, or (``None``) the caller's own."""
    return ROOT if command in IN_PROJECT else None


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "bench" and not rest:
        print("dev.py bench NAME: run bench/NAME.py (see bench/README.md)")
        return 2
    if command == "lint" and rest:
        print("dev.py lint takes no arguments (.venv/bin/ruff takes ruff's own)")
        return 2
    ensure_venv(EXTRAS[command])
    if command == "run":
        check = subprocess.run(
            [str(BIN / "slabot"), "policy", "check"], capture_output=True, text=True
        )
        if check.returncode != 0:
            print(check.stdout + check.stderr, end="", file=sys.stderr)
            return check.returncode
        print("$ slabot policy check: " + check.stdout.strip().splitlines()[-1], flush=True)
        print("$ slabot console " + " ".join(rest), flush=True)
    codes = [subprocess.call(args, cwd=folder(command)) for args in commands(command, rest)]
    return next((code for code in codes if code != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
