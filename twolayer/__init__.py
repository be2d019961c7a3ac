"""twolayer: the lecture's two-layer network, trained in five API stages, one epoch at a time."""

import importlib

# Names and the module that defines them, imported on first use: the settings, links and data
# readers stay light, and only what trains pulls in torch.
_LAZY = {
    "ConfigError": "twolayer.train.config",
    "TrainConfig": "twolayer.train.config",
    "DataError": "twolayer.data.dataset",
    "Dataset": "twolayer.data.dataset",
    "DeviceError": "twolayer.train.devices",
    "Trainer": "twolayer.train.trainer",
    "WeightsError": "twolayer.train.weights",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'twolayer' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
