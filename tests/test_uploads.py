"""What a set of uploaded files is, decided in the core: every good kind reads, every broken one names its file."""

import numpy as np
import pytest

from tests.datafiles import TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, broken_uploads, digit_images, digit_uploads
from twolayer import TrainConfig, Trainer
from twolayer.data.dataset import DataError
from twolayer.data.uploads import read_uploads, upload_source
from twolayer.train.state import RunState

GOOD = digit_uploads()
BROKEN = broken_uploads()


@pytest.mark.parametrize("case", list(GOOD))
def test_every_kind_of_upload_reads_into_a_dataset_of_digits(case):
    data = read_uploads(GOOD[case])
    expected = digit_images()
    assert data.is_classification and data.output_size == 10
    assert np.array_equal(data.labels_train, expected[TRAIN_LABELS])
    if case == "csv":
        assert data.input_size == 49 and not data.has_test
    else:
        assert data.input_size == 784 and data.image_shape == (28, 28) and len(data.x_test) == 100
        assert np.allclose(data.x_train.reshape(-1, 28, 28), expected[TRAIN_IMAGES] / 255, atol=1e-6)


def test_mnist_files_are_found_in_any_order_and_case():
    files = GOOD["idx-gz"]
    shuffled = {name.upper(): files[name] for name in reversed(list(files))}
    data = read_uploads(shuffled)
    assert np.array_equal(data.labels_test, read_uploads(files).labels_test)


@pytest.mark.parametrize("case", list(BROKEN))
def test_every_broken_upload_is_refused_naming_the_file(case):
    files, message = BROKEN[case]
    with pytest.raises(DataError) as refused:
        read_uploads(files)
    assert str(refused.value).startswith(message), str(refused.value)


def test_several_files_that_are_not_mnist_are_refused():
    with pytest.raises(DataError, match=r"a\.npz, b\.csv: 2 files, but only the 4 MNIST files come together"):
        read_uploads({"a.npz": b"", "b.csv": b""})
    with pytest.raises(DataError, match="no file uploaded"):
        read_uploads({})


def test_uploaded_mnist_trains_to_its_last_epoch_and_reads_digits():
    data = read_uploads(GOOD["idx-raw"])
    config = TrainConfig(stage="optim", epochs=15, hidden_size=64, learning_rate=1e-3, batch_size=32)
    config = config.replace(data=upload_source(list(GOOD["idx-raw"])), learning_rate=1e-3)
    trainer = Trainer(config, data=data)
    trainer.advance(15)
    assert trainer.status is RunState.DONE
    assert trainer.evaluations()["test_accuracy"][-1] > 0.8


def test_the_upload_names_its_files_in_the_config():
    assert upload_source(["b.csv"]) == "upload:b.csv"
    assert upload_source([TEST_LABELS, TRAIN_IMAGES]) == f"upload:{TEST_LABELS},{TRAIN_IMAGES}"
