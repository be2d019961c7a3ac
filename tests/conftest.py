"""Shared test set-up."""

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from threadpoolctl import threadpool_limits

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
    """Opens the page headless: `open_app(query)` runs app.py once with `query` as its link's settings."""

    def open_(query: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.query_params.update(query or {})
        return at.run()

    return open_
