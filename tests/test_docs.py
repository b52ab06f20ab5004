"""The repository stands on its own: no tracked file points outside it, and every link in its
Markdown leads to a file (and heading) that is there.

Someone who clones slabot gets the repository and nothing else, so the domain's rules are
cited as docs/semantics.md and the contracts by name and version, never by a path on the
machine slabot was written on.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Spelled in pieces, so that this file does not hold what it looks for.
OUTSIDE = re.compile(
    "|".join([r"\.\./" + "shared", "SLA-" + "SEMANTICS", "seeds" + "/", "ARCHI" + "TECTURE"])
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@cache
def tracked() -> list[Path]:
    """The files git tracks (or, outside a git checkout, every file but caches and the venv)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        skipped = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
        return sorted(
            p
            for p in ROOT.rglob("*")
            if p.is_file()
            and not skipped & set(p.relative_to(ROOT).parts)
            and ".egg-info" not in str(p)
        )
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def test_no_tracked_file_points_outside_the_repository():
    found = []
    for path in tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], "cite docs/semantics.md, or a contract by name and version:\n" + "\n".join(
        found
    )


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces → ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_every_relative_link_in_the_markdown_resolves():
    broken = []
    for page in (p for p in tracked() if p.suffix == ".md"):
        text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            resolved = (page.parent / file).resolve() if file else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_semantics_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/semantics.md)" in readme


def test_the_benchmarks_index_links_every_benchmark_page():
    index = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").glob("benchmarks-*.md"))
    assert pages
    assert [page for page in pages if f"]({page}" not in index] == []


def test_every_bench_script_is_listed_in_the_bench_readme():
    listing = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    scripts = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))
    assert [name for name in scripts if f"| `{name}` |" not in listing] == []
