"""twolayer: the lecture's two-layer network, trained in five API stages, one epoch at a time."""

import os

# Intel MKL, torch's matrix library on x86, otherwise chooses kernels by the memory alignment
# of each operand, so the same run could differ in its last bits from one script run to the
# next. Strict mode makes every run reproducible to the bit; it is read at MKL's first call.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

from twolayer.config import ConfigError, TrainConfig
from twolayer.data import DataError, Dataset
from twolayer.devices import DeviceError
from twolayer.trainer import Trainer
from twolayer.weights import WeightsError

__all__ = ["ConfigError", "DataError", "Dataset", "DeviceError", "TrainConfig", "Trainer", "WeightsError"]
