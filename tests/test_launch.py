"""The launcher imports what app.py's first script run would, quietly, before Streamlit serves the app."""

import json
import subprocess
import sys
import threading

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


def test_the_app_preloads_once_a_process_unless_the_launcher_has(monkeypatch):
    """`streamlit run app.py` starts the launcher's work once, in a thread beside its first page; later runs, and
    every run of a process the launcher preloaded, start nothing."""
    calls = []
    monkeypatch.setattr(launch, "_STARTED", threading.Event())
    monkeypatch.setattr(launch, "preload", lambda: calls.append(threading.current_thread().name))
    launch.preload_in_background()
    launch.preload_in_background()
    for thread in threading.enumerate():
        if thread.name == "twolayer-preload":
            thread.join(timeout=10)
    assert calls == ["twolayer-preload"]
    monkeypatch.setattr(launch, "_STARTED", threading.Event())
    launch._STARTED.set()  # as `preload` does when the launcher runs it
    launch.preload_in_background()
    assert calls == ["twolayer-preload"]


# In a fresh interpreter: app.py's first script run, as `streamlit run app.py` serves it (no launcher), then how many
# objects a full collection walks and how many are frozen out of its way once its preload is done.
FIRST_RUN = """
import gc, json
from streamlit.testing.v1 import AppTest
from page import launch
AppTest.from_file("app.py", default_timeout=120).run()
assert launch.PRELOADED.wait(240), "the first script run started no preload"
print(json.dumps({"walked": len(gc.get_objects()), "frozen": gc.get_freeze_count()}))
"""


def test_the_first_script_run_of_streamlit_run_app_py_freezes_what_it_imported():
    command = [sys.executable, "-c", FIRST_RUN]
    probe = subprocess.run(command, cwd=launch.APP.parent, capture_output=True, text=True, timeout=300, check=True)
    seen = json.loads(probe.stdout.splitlines()[-1])
    assert seen["frozen"] > 100_000, seen
    assert seen["walked"] < seen["frozen"] / 10, seen
