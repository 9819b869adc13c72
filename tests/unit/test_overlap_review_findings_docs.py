"""Review of issue 14: the README's Performance section against bench/RESULTS.md as committed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _performance_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Performance", 1)[1].split("\n## ", 1)[0]


def _summary_row(label: str) -> str:
    results = (ROOT / "bench" / "RESULTS.md").read_text()
    return next(line for line in results.splitlines() if line.startswith(f"| {label}"))


def test_O4_readme_performance_claims_the_warm_cost_and_package_targets_met_that_results_md_reports_missed():
    """What a user sees: README "Performance" says "warm cost per event | at most 1.19 x bare
    boto3 (target 1.3) on every path" and "package ... 96.8 KB (target 100 KB)"; bench/RESULTS.md,
    rewritten by this change's own bench run (acef8fd), says "warm cost / bare boto3 (worst path)
    | 1.45 wall ... | <= 1.3 | **missed**" (the ignored and notify paths got slower: the reads'
    threads cost ~3-5 ms where there is no network to overlap) and 106.6 KB against a target
    raised to 128 KB. The issue's "done when" asks the README to say what changed; it states
    figures from before the change. Fix: regenerate the table from RESULTS.md (or say the
    warm-cost target is now missed on the ignored/notify paths, and why)."""
    readme = _performance_section()
    (row,) = [line for line in readme.splitlines() if line.startswith("| warm cost per event |")]
    summary = _summary_row("warm cost")
    worst = re.search(r"\| ([0-9.]+) wall", summary).group(1)
    assert f"{worst} x" in row, f"README's warm-cost row does not name RESULTS.md's worst path ({worst} x): {row}"
    if "**missed**" in summary:
        assert "missed" in row, row
    package = re.search(r"\| ([0-9.]+) KB", _summary_row("package (")).group(1)
    assert f"{package} KB" in readme, f"README's package figure is not RESULTS.md's {package} KB"
