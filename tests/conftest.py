"""Shared test set-up."""

import atexit
import os
import shutil
import tempfile

import torch
from threadpoolctl import threadpool_limits

# One thread each for torch and BLAS, as the app runs: on a small shared machine, extra
# threads spinning for cores make these tiny matrix products several times slower.
torch.set_num_threads(1)
threadpool_limits(1)

# Pages run headless (AppTest) keep their runs in a store of this test run's own, not in the user's cache.
os.environ["TWOLAYER_STORE"] = tempfile.mkdtemp(prefix="twolayer-test-store-")
atexit.register(shutil.rmtree, os.environ["TWOLAYER_STORE"], ignore_errors=True)
