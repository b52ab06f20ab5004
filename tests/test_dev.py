"""``dev.py``: a path given to ``run``, ``slabot`` or ``bench`` means what it means in the
caller's shell; ``test`` and ``lint`` run in the project, from wherever they are called."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dev(monkeypatch):
    """dev.py, loaded as a module, with its virtualenv taken as ready and each command it
    would run recorded — with the folder it would run in — instead of run."""
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ensure_venv", lambda extras: None)
    ran: list[tuple[list[str], Path]] = []

    def call(args, cwd=None):
        ran.append((args, Path(cwd or os.getcwd())))
        return 0

    monkeypatch.setattr(module.subprocess, "call", call)
    module.ran = ran
    return module


def test_a_relative_path_given_to_slabot_is_the_callers_file(dev, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "history.json").write_text("[]")
    monkeypatch.chdir(elsewhere)
    assert dev.main(["slabot", "import", "history.json"]) == 0
    [(args, folder)] = dev.ran
    assert args == [str(dev.BIN / "slabot"), "import", "history.json"]
    assert (folder / args[-1]).resolve() == (elsewhere / "history.json").resolve()
    assert Path.cwd() == elsewhere  # dev.py itself did not move either


@pytest.mark.parametrize("command", ["run", "bench"])
def test_run_and_bench_run_in_the_callers_folder_too(dev, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        dev.subprocess, "run", lambda *a, **k: type("Done", (), {"returncode": 0, "stdout": "ok\n"})
    )
    assert dev.main([command, "--database" if command == "run" else "deadlines"]) == 0
    assert [folder for _, folder in dev.ran] == [tmp_path]


def test_tests_and_lint_run_in_the_project_from_anywhere(dev, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert dev.main(["test", "-x", "tests/sla"]) == 0
    assert dev.main(["lint"]) == 0
    assert [(args[1:], folder) for args, folder in dev.ran] == [
        (["-m", "pytest", "-x", "tests/sla"], ROOT),
        (["check", "."], ROOT),
        (["format", "--check", "."], ROOT),
    ]
    assert (ROOT / "tests" / "sla").is_dir()


def test_lint_reports_both_checks_and_fails_if_either_does(dev, monkeypatch):
    codes = iter([1, 0])
    monkeypatch.setattr(dev.subprocess, "call", lambda args, cwd=None: next(codes))
    assert dev.main(["lint"]) == 1
    assert next(codes, "both ran") == "both ran"
