"""The MNIST benchmark section runs end to end on a tiny generated IDX set; its tables' shape, not its timings."""

import math

import numpy as np
import pytest

from bench.mnist import measure
from bench.mnist_data import write_mnist
from twolayer.data.idx import TEST_IMAGES, TRAIN_IMAGES, TRAIN_LABELS, read_idx
from twolayer.train.config import STAGES

RESULTS = {"PASS", "MISS", ""}


@pytest.fixture(scope="module")
def sections(tmp_path_factory):
    directory = write_mnist(tmp_path_factory.mktemp("mnist"), train_rows=600, test_rows=100)
    # A short budget, so that the tiny run is cut several times before it ends.
    return measure(directory, quick=True, pause_budget=0.005)


def numbers(cell: str) -> list[float]:
    """The numbers a cell shows, e.g. '12.5%' -> [12.5], '0.123' -> [0.123]."""
    return [float(part) for part in cell.replace("%", "").replace(",", "").split()]


def test_generated_files_are_mnist_shaped(tmp_path):
    write_mnist(tmp_path, train_rows=50, test_rows=20)
    images, labels = read_idx(tmp_path / TRAIN_IMAGES), read_idx(tmp_path / TRAIN_LABELS)
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8, f"28x28 uint8 images expected: {images.shape}"
    assert labels.shape == (50,) and labels.max() <= 9, "one digit label per image expected"
    assert read_idx(tmp_path / TEST_IMAGES).shape == (20, 28, 28), "the test images should be 28x28 too"
    ink = (images > 0).mean()
    assert 0.05 < ink < 0.4, f"about MNIST's share of ink pixels expected, got {ink:.0%}"


def test_every_table_has_one_row_per_stage_with_finite_positive_figures(sections):
    titles = [section.title for section in sections]
    assert len(sections) == 5 and all(title.startswith("7") for title in titles), titles
    for section in sections[:4]:
        assert [row[0] for row in section.rows] == list(STAGES), f"{section.title}: one row per stage expected"
        for row in section.rows:
            assert len(row) == len(section.header), f"{section.title}: row {row} does not fit {section.header}"
            if section.header[-1] == "result":
                assert row[-1] in RESULTS, f"{section.title}: the result column should say PASS or MISS: {row}"
    speed, evaluation, memory, pause, _ = sections
    for section, columns in (
        (speed, ["lr", "bare s/epoch", "engine s/epoch", "engine/bare", "CPU engine/bare"]),
        (evaluation, ["evaluate s", "every (epochs)", "train s/epoch", "share"]),
        (memory, ["data MB", "weights MB", "records MB", "held MB"]),
    ):
        for row in section.rows:
            for column in columns:
                value = numbers(row[section.header.index(column)])[0]
                assert math.isfinite(value) and value > 0, f"{section.title}, {row[0]}: {column} = {value}"
    for row in speed.rows:  # the records' share can round to 0.0 s on tiny data, never below
        records = numbers(row[speed.header.index("of which records s/epoch")])[0]
        assert math.isfinite(records) and records >= 0, f"{row[0]}: records s/epoch = {records}"
    for row in memory.rows:
        growth = numbers(row[memory.header.index("RSS growth MB")])[0]
        assert math.isfinite(growth), f"{row[0]}: the RSS growth should be measured: {row}"
    for row in pause.rows:
        assert int(row[1]) > 0, f"{row[0]}: some slices should have been cut by their budget: {row}"
        for column in ("median past budget ms", "most past budget ms"):
            value = numbers(row[pause.header.index(column)])[0]
            assert math.isfinite(value) and value >= 0, f"{row[0]}: {column} = {value}"
    for section in (speed, evaluation, pause):
        assert all(row[-2] != "" for row in section.rows), f"{section.title}: every row should state its target"


def test_a_sliced_epoch_resumes_bit_identically(sections):
    (row,) = sections[4].rows
    assert row[2:5] == ["identical"] * 3 and row[-1] == "PASS", f"slices should not change the run: {row}"
