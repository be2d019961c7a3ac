"""No module of the core, the page, the benchmarks or their harness is over 400 lines, so each reads top to bottom."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 400
PACKAGES = ("twolayer", "page", "bench", "harness")


def modules() -> list[Path]:
    """app.py and every .py file under PACKAGES."""
    return [ROOT / "app.py", *(path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")))]


def test_no_module_is_over_400_lines():
    paths = modules()
    assert all((ROOT / package / "__init__.py") in paths for package in PACKAGES), f"a package is missing: {paths}"
    lines = {path.relative_to(ROOT): len(path.read_text().splitlines()) for path in paths}
    over = [f"{path} ({count} lines)" for path, count in lines.items() if count > LIMIT]
    assert not over, f"over {LIMIT} lines, split each by what it does: {', '.join(over)}"
