"""twolayer: the lecture's two-layer network, trained in five API stages, one epoch at a time."""

import importlib
import os

# Intel MKL, torch's matrix library on x86, splits a product's sums over its threads, and a thread
# that never set torch's count (a Streamlit button's callback runs before the script pins it) starts
# at one thread per core: the lecture's x @ w1 then differs in its last bits. Strict mode keeps
# products the same at any thread count (the arrays' alignment does not change them either), at
# about 15% of the lecture's small products. Read at MKL's first call; an MKL_CBWR already set wins.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

# Names and the module that defines them, imported on first use: the settings, links and data
# readers stay light, and only what trains pulls in torch.
_LAZY = {
    "ConfigError": "twolayer.config",
    "TrainConfig": "twolayer.config",
    "DataError": "twolayer.data",
    "Dataset": "twolayer.data",
    "DeviceError": "twolayer.devices",
    "Trainer": "twolayer.trainer",
    "WeightsError": "twolayer.weights",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'twolayer' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
