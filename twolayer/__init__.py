"""twolayer: the lecture's two-layer network, trained in five API stages, one epoch at a time."""

import importlib
import os

# Intel MKL, torch's matrix library on x86, otherwise chooses kernels by the memory alignment
# of each operand, so the same run could differ in its last bits from one script run to the
# next. Strict mode makes every run reproducible to the bit; it is read at MKL's first call.
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
