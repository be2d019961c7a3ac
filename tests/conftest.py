"""Shared test set-up."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from threadpoolctl import threadpool_limits

from harness.postgres import PostgresServer

# One thread each for torch and BLAS, as the app runs: on a small shared machine, extra
# threads spinning for cores make these tiny matrix products several times slower.
torch.set_num_threads(1)
threadpool_limits(1)

# Pages run headless (AppTest) keep their runs in a store of this test run's own, not in the user's cache.
os.environ["TWOLAYER_STORE"] = tempfile.mkdtemp(prefix="twolayer-test-store-")
atexit.register(shutil.rmtree, os.environ["TWOLAYER_STORE"], ignore_errors=True)


APP = Path(__file__).resolve().parents[1] / "app.py"


@pytest.fixture
def open_app() -> Callable[..., AppTest]:
    """Opens the page headless: `open_app(query, session)` runs app.py once with `query` as its link's settings and
    `session` (key to value) in its session state, as a browser's cookie would bring its id."""

    def open_(query: dict | None = None, session: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.query_params.update(query or {})
        for key, value in (session or {}).items():
            at.session_state[key] = value
        return at.run()

    return open_


@pytest.fixture
def program_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of the test's own to run a take-home program in: it ends by saving its plot where no display shows
    it, in the folder it runs in."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test run's own (harness/postgres.py), stopped at the end; fails without one."""
    try:
        server = PostgresServer(durable=False).start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        pytest.fail(f"cannot start a PostgreSQL server for the tests: {error}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty run store on each backend: a directory for SQLite, or a new database of the test server."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("postgres").create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def open_store(store_location: str) -> Iterator:
    """`open_store(**options)` opens a RunStore at the test's location (or `location=`), closed after the test."""
    from twolayer.serve.store import RunStore

    opened = []

    def open_(location: str = store_location, **options) -> RunStore:
        opened.append(RunStore(location, **options))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()
