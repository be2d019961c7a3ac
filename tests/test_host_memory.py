"""A large CPU step's freed memory is kept for the next step: glibc's thresholds are fixed once a trainer needs it."""

import ctypes

import pytest

from twolayer import TrainConfig, Trainer
from twolayer.train import host_memory

GLIBC = hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


def test_a_lecture_sized_step_leaves_glibc_to_its_own_rule():
    before = host_memory._kept
    Trainer(TrainConfig(hidden_size=4, epochs=1))  # 784 x 4 float32 gradients: under glibc's first threshold
    assert host_memory._kept == before


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_large_cpu_step_keeps_at_least_its_arrays_at_the_top_of_the_heap():
    Trainer(TrainConfig(stage="tensor", hidden_size=1024, batch_size=1024, epochs=1, dtype="float32"))
    assert host_memory._kept >= host_memory.STEP_ARRAYS * 1024 * 1024 * 4, "its (1024, 1024) float32 arrays"
    assert host_memory.keep_step_memory(1024) == host_memory._kept, "a smaller step never lowers it"
