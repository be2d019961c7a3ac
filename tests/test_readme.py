"""The README's commands work as written: every ```bash line and the ```python example run in a copy of the checkout.

Each bash block runs in its own copy of the working tree (tracked and new files, as a fresh clone would have them
with this work in it), line by line, with the existing .venv linked in so nothing is installed again. A line is
skipped only when its comment marks it as one that does not end by itself or takes long:

- `# (server)`: starts the app's server, which runs until stopped;
- `# (benchmark)`: the benchmarks, minutes of measuring;
- `# (test suite)`: scripts/test, the whole suite this test is part of.

Every other line must exit with status 0 within its timeout, and the files a block names as outputs (`--out`,
`--json`, `--save-weights`, `--output`, `.save('...')`) must exist afterwards. The ```python blocks run with
.venv/bin/python in a directory outside the copy, as the installed package is used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from twolayer.train.config import SETTINGS

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
VENV = REPO / ".venv"
SKIPPED = re.compile(r"#\s*\((server|benchmark|test suite)\)")
COMMAND_TIMEOUT = 120  # seconds per command line: each is a few seconds on an idle machine
OUTPUT = re.compile(r"(?:--out|--json|--save-weights|--output)[ =](\S+)|\.save\(['\"]([^'\"]+)['\"]\)")
BARE_PYTHON = re.compile(r"(?<![\w/.-])python3?(?= )")


def blocks(language: str) -> list[str]:
    """The README's fenced blocks of one language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", README.read_text(), flags=re.M | re.S)


def command_lines(block: str) -> list[str]:
    """A bash block's commands: continuation lines joined, blank and comment-only lines left out."""
    joined = re.sub(r"\\\n", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def block_id(block: str) -> str:
    """A test id from the block's first command besides `mkdir`."""
    first = next((c for c in command_lines(block) if not c.startswith("mkdir ")), "empty")
    return re.sub(r"[^\w.-]+", "_", first.split("#")[0].strip())[:60]


BASH_BLOCKS = blocks("bash")
PYTHON_BLOCKS = blocks("python")


def copy_checkout(target: Path) -> Path:
    """The working tree's tracked and new (not ignored) files under `target`, with .venv linked in."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not there
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(VENV)
    return target


def environment(checkout: Path | None = None) -> dict[str, str]:
    """The caller's environment without its virtualenv or PYTHONPATH; `checkout` first on the path when given.

    The editable install in .venv points at this working tree; a clone's own install would point at the clone,
    so its commands, `.venv/bin/twolayer` included, import the copy's code.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    """`args` run in `cwd` with its output captured; the test fails, naming `what`, past COMMAND_TIMEOUT."""
    try:
        return subprocess.run(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} ran over {COMMAND_TIMEOUT} s")


def require_installed() -> None:
    """The README uses the venv's twolayer command and imports twolayer from anywhere: both need the package."""
    if not (VENV / "bin" / "twolayer").exists():
        pytest.fail("the twolayer package is not installed in .venv: run `bash scripts/test`, which installs it")


def test_readme_has_commands():
    assert BASH_BLOCKS and PYTHON_BLOCKS, "README.md lost its ```bash or ```python blocks"


# Blocks with a line to run: the others only start a server, a benchmark or the test suite (see SKIPPED).
RUNNABLE = [block for block in BASH_BLOCKS if any(not SKIPPED.search(c) for c in command_lines(block))]


@pytest.mark.parametrize("block", RUNNABLE, ids=[block_id(b) for b in RUNNABLE])
def test_bash_block_runs(block: str, tmp_path: Path):
    require_installed()
    checkout = copy_checkout(tmp_path / "clone")
    commands = command_lines(block)
    for command in commands:
        assert not BARE_PYTHON.search(command.split("#")[0]), f"`{command}`: use .venv/bin/python, not bare python"
    to_run = [c for c in commands if not SKIPPED.search(c)]
    for command in to_run:
        result = run(["bash", "-c", command], checkout, environment(checkout), f"`{command}`")
        assert result.returncode == 0, (
            f"`{command}` exited with {result.returncode}\nstdout:\n{result.stdout[-3000:]}\n"
            f"stderr:\n{result.stderr[-3000:]}"
        )
    for command in to_run:
        for match in OUTPUT.finditer(command):
            promised = match.group(1) or match.group(2)
            assert (checkout / promised).is_file(), f"`{command}` did not write {promised}"


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_block_runs_outside_the_checkout(index: int, tmp_path: Path):
    require_installed()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = elsewhere / "example.py"
    script.write_text(PYTHON_BLOCKS[index])
    what = f"the README's python block {index + 1}"
    result = run([str(VENV / "bin" / "python"), str(script)], elsewhere, environment(), what)
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"


def test_readme_names_no_bare_python():
    """Inline code names commands as they run from a checkout: .venv/bin/python or .venv/bin/twolayer."""
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```$", "", README.read_text(), flags=re.M | re.S))
    bare = [span for span in spans if BARE_PYTHON.search(span + " ")]
    assert not bare, f"use .venv/bin/python (or .venv/bin/twolayer) in: {bare}"


def test_settings_table_lists_every_setting():
    """The README's settings table has one row per `twolayer.train.config.SETTINGS` entry, with its default."""
    section = README.read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {row.split("|")[1].strip().strip("`"): row for row in section.splitlines() if row.startswith("| `")}
    assert set(rows) == {spec.key for spec in SETTINGS}, "README's settings table and SETTINGS differ"
    for spec in SETTINGS:
        if spec.default is not None:
            assert f"`{spec.default}`" in rows[spec.key], (
                f"README's row for {spec.key} lacks its default {spec.default}"
            )
