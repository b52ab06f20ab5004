#!/usr/bin/env python3
"""Set up and run slabot with nothing but Python: ``python3 dev.py run`` / ``python3 dev.py test``.

Each command creates ``.venv`` and installs the project into it on first use (again
whenever ``pyproject.toml`` changes), then runs:

  run    check the contracts, then ``slabot console`` (extra arguments go to it: --speed 60)
  test   the test suite (extra arguments go to pytest)
  bench  a benchmark from bench/ (e.g. ``python3 dev.py bench deadlines``)
  slabot any slabot command inside the virtualenv (``python3 dev.py slabot policy check``)

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
EXTRAS = {"run": "", "slabot": "", "test": "[dev]", "bench": "[dev,bench]"}


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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv(EXTRAS[command])
    os.chdir(ROOT)
    if command == "run":
        check = subprocess.run(
            [str(BIN / "slabot"), "policy", "check"], capture_output=True, text=True
        )
        if check.returncode != 0:
            print(check.stdout + check.stderr, end="", file=sys.stderr)
            return check.returncode
        print("$ slabot policy check: " + check.stdout.strip().splitlines()[-1], flush=True)
        print("$ slabot console " + " ".join(rest), flush=True)
        args = [str(BIN / "slabot"), "console", *rest]
    elif command == "slabot":
        args = [str(BIN / "slabot"), *rest]
    elif command == "test":
        args = [str(PYTHON), "-m", "pytest", *rest]
    else:
        if not rest:
            print("dev.py bench NAME: run bench/NAME.py (see bench/README.md)")
            return 2
        args = [str(PYTHON), str(ROOT / "bench" / f"{rest[0]}.py"), *rest[1:]]
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
