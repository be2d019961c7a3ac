"""The MNIST sample: 5,000 real 28x28 digits read offline, split per class, the same split for the same seed."""

import gzip

import numpy as np
import pytest

from twolayer.data.dataset import DataError
from twolayer.data.mnist5k import read_sample, sample_path
from twolayer.data.sources import holds_images, load_data


def sample(seed: int):
    return load_data("mnist5k", 64, np.random.default_rng(seed))


def test_the_sample_has_the_lectures_784_inputs_and_a_balanced_split():
    data = sample(0)
    assert data.x_train.shape == (4000, 784) and data.x_test.shape == (1000, 784)
    assert data.y_train.shape == (4000, 10) and data.image_shape == (28, 28)
    assert np.bincount(data.labels_train).tolist() == [400] * 10
    assert np.bincount(data.labels_test).tolist() == [100] * 10
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert (data.y_train.argmax(axis=1) == data.labels_train).all()
    assert holds_images("mnist5k") and not holds_images("random")


def test_the_split_follows_the_seed():
    a, b, c = sample(3), sample(3), sample(4)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.labels_test, b.labels_test)
    assert not np.array_equal(a.x_train, c.x_train)  # other digits of each class held out
    # every digit lands in exactly one split, whatever the seed
    pixels, _ = read_sample()
    assert len(a.x_train) + len(a.x_test) == len(pixels) == 5000


def test_the_file_is_read_from_the_installed_package_without_importing_it():
    assert sample_path().name == "mnist_5k.csv.gz" and sample_path().is_file()
    first = gzip.decompress(sample_path().read_bytes()).split(b"\n", 1)[0].split(b",")
    assert len(first) == 785


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not gzip", "not a readable gzipped CSV"),
        (gzip.compress(b"1,2,3\n4,5,6\n"), "2 rows of 3 columns, expected 5000 of 785"),
        (gzip.compress(("\n".join(",".join(["300"] * 784 + ["1"]) for _ in range(5000))).encode()), "0..255"),
    ],
)
def test_a_broken_sample_file_is_refused_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "mnist_5k.csv.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        read_sample(path)
    assert str(path) in str(error.value) and problem in str(error.value)
