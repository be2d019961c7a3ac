"""The launcher imports what app.py's first script run would, quietly, before Streamlit serves the app."""

import json
import subprocess
import sys

from page import launch

# In a fresh interpreter: after preload(), run app.py's top-level imports and a first epoch of every stage and of
# the bundled digits, and list the modules they still add.
PROBE = """
import ast, json, sys
from page.launch import APP, preload
import gc
preload()
walked, frozen = len(gc.get_objects()), gc.get_freeze_count()
before = set(sys.modules)
tree = ast.parse(APP.read_text())
imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
exec(compile(ast.Module(body=imports, type_ignores=[]), str(APP), "exec"), {})
from twolayer import TrainConfig, Trainer
from twolayer.train.config import STAGES
for stage in STAGES:
    Trainer(TrainConfig(stage=stage, epochs=1)).advance(1)
Trainer(TrainConfig(data="digits", epochs=1)).advance(1)
print(json.dumps({"added": sorted(set(sys.modules) - before), "walked": walked, "frozen": frozen}))
"""


def test_app_py_and_first_runs_import_nothing_the_launcher_has_not_imported():
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=launch.APP.parent, capture_output=True, text=True, timeout=240, check=True
    )
    seen = json.loads(probe.stdout.splitlines()[-1])
    added = seen["added"]
    assert added == [], f"app.py's first script run or a first Train would still import {added}"
    # A cache declared before the server runs is checked against a stand-in store, which Streamlit warns about.
    assert "WARNING" not in probe.stderr, probe.stderr


def test_the_launcher_serves_app_py_with_the_options_it_was_given(monkeypatch):
    from streamlit.web import cli

    calls = []
    monkeypatch.setattr(launch, "preload", lambda: calls.append("preload"))
    monkeypatch.setattr(cli, "main", lambda args: calls.append(args))
    launch.main(["--server.port=8502", "--server.address=0.0.0.0"])
    assert calls == ["preload", ["run", str(launch.APP), "--server.port=8502", "--server.address=0.0.0.0"]]


def test_a_full_collection_after_the_launcher_walks_almost_none_of_the_imported_objects():
    """Streamlit collects in full after every script run; the launcher's objects are frozen out of its way."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=launch.APP.parent, capture_output=True, text=True, timeout=240, check=True
    )
    seen = json.loads(probe.stdout.splitlines()[-1])
    assert seen["frozen"] > 100_000, seen  # torch, pandas, Plotly, Streamlit and the app
    assert seen["walked"] < seen["frozen"] / 100, seen
