"""Shared test set-up."""

import torch
from threadpoolctl import threadpool_limits

# One thread each for torch and BLAS, as the app runs: on a small shared machine, extra
# threads spinning for cores make these tiny matrix products several times slower.
torch.set_num_threads(1)
threadpool_limits(1)
