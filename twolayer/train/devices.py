"""Which compute devices exist here, and which one a config's `device` means."""

from __future__ import annotations

import torch

from twolayer.train.stages import stage_spec


class DeviceError(ValueError):
    """The requested device does not exist on this machine."""


def available_devices() -> list[str]:
    """The devices this machine can train on, CPU always first."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(requested: str, stage: str) -> str:
    """The device a run uses: `auto` picks CUDA, then MPS, then CPU; a NumPy stage always runs on the CPU."""
    if not stage_spec(stage).uses_torch:
        return "cpu"
    present = available_devices()
    if requested == "auto":
        return next((name for name in ("cuda", "mps") if name in present), "cpu")
    if requested not in present:
        raise DeviceError(
            f"device={requested!r} is not available on this machine: choose one of {', '.join(present)} or auto"
        )
    return requested


def device_note(requested: str, stage: str) -> str | None:
    """A line to show when the stage ignores the requested device."""
    spec = stage_spec(stage)
    if not spec.uses_torch and requested not in ("cpu", "auto"):
        return (
            f"The {spec.name} stage computes with NumPy and always runs on the CPU; "
            f"device={requested!r} applies to the PyTorch stages."
        )
    return None
