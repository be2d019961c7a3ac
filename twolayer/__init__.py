"""twolayer: the lecture's two-layer network, trained in five API stages, one epoch at a time."""

from twolayer.config import ConfigError, TrainConfig
from twolayer.data import DataError, Dataset
from twolayer.devices import DeviceError
from twolayer.trainer import Trainer
from twolayer.weights import WeightsError

__all__ = ["ConfigError", "DataError", "Dataset", "DeviceError", "TrainConfig", "Trainer", "WeightsError"]
