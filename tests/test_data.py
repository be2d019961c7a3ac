"""Data sources: digits, MNIST IDX files, .npz and .csv files and uploads, each broken file refused in plain words."""

import gzip
import io

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from tests.datafiles import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, idx_bytes, mnist_files, npz_bytes
from twolayer.data.dataset import DataError
from twolayer.data.files import load_upload
from twolayer.data.idx import load_mnist_files, read_idx
from twolayer.data.sources import digits, load_data
from twolayer.train.config import TrainConfig
from twolayer.train.trainer import Trainer


def write_files(directory, files: dict[str, bytes], gz=()):
    """Write files into `directory`, gzip-compressing (and naming .gz) those in `gz`."""
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        if name in gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (directory / name).write_bytes(content)
    return directory


def refusal(load, *args) -> str:
    with pytest.raises(DataError) as error:
        load(*args)
    return str(error.value)


# digits


def test_digits_are_scaled_one_hot_and_split_per_class():
    data = digits(np.random.default_rng(0))
    assert (data.input_size, data.output_size, data.image_shape) == (64, 10, (8, 8))
    assert len(data.x_train) + len(data.x_test) == 1797
    for x in (data.x_train, data.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
    for y, labels in ((data.y_train, data.labels_train), (data.y_test, data.labels_test)):
        assert labels.dtype == np.int64
        assert np.array_equal(y.argmax(axis=1), labels) and np.array_equal(y.sum(axis=1), np.ones(len(y)))
    train_counts, test_counts = np.bincount(data.labels_train), np.bincount(data.labels_test)
    assert np.array_equal(test_counts, np.round((train_counts + test_counts) * 0.2)), "split is not 20% per class"


def test_digits_split_follows_the_seed():
    a, b, c = (load_data("digits", 64, np.random.default_rng(seed)) for seed in (1, 1, 2))
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.labels_train, b.labels_train)
    assert not np.array_equal(a.x_test, c.x_test)
    # train and test together are exactly the 1,797 images, none repeated or lost
    both = np.concatenate([a.x_train, a.x_test])
    every = load_digits().data / 16
    assert np.array_equal(both[np.lexsort(both.T)], every[np.lexsort(every.T)])


def test_head_keeps_the_first_rows_with_their_labels_and_the_test_split_whole():
    data = digits(np.random.default_rng(0))
    head = data.head(100)
    assert np.array_equal(head.x_train, data.x_train[:100]) and np.array_equal(head.y_train, data.y_train[:100])
    assert np.array_equal(head.labels_train, data.labels_train[:100])
    assert head.x_test is data.x_test and head.labels_test is data.labels_test and head.image_shape == (8, 8)
    assert len(data.head(10**6).x_train) == len(data.x_train), "asking for more rows than there are keeps them all"
    bare = data.head(100, train_only=True)
    assert np.array_equal(bare.x_train, head.x_train) and np.array_equal(bare.y_train, head.y_train)
    assert not bare.is_classification and not bare.has_test and bare.image_shape is None


@pytest.fixture
def one_thread():
    # 64-wide matrices run fastest on one thread; more only contend for a busy machine's cores
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_optim_stage_learns_digits(one_thread):
    trainer = Trainer(TrainConfig(stage="optim", data="digits", epochs=20, batch_size=64, eval_every=1))
    assert trainer.advance(20) == 20
    accuracy = trainer.evals.column("test_accuracy")
    assert len(accuracy) == 20
    assert accuracy[0] < 0.5 < 0.8 < accuracy[-1], f"test accuracy went from {accuracy[0]:.2f} to {accuracy[-1]:.2f}"
    assert trainer.evals.column("train_accuracy")[-1] > 0.8


# MNIST IDX files


def test_mnist_folder_loads_raw_and_gz_files(tmp_path):
    files, arrays = mnist_files()
    directory = write_files(tmp_path / "mnist", files, gz=(TRAIN_IMAGES, TEST_LABELS))
    data = load_data(f"mnist:{directory}", 64, np.random.default_rng(0))
    assert data.image_shape == (4, 5) and (data.input_size, data.output_size) == (20, 10)
    assert data.x_train.dtype == np.float32
    assert np.allclose(data.x_train, arrays[TRAIN_IMAGES].reshape(30, 20) / 255)
    assert np.allclose(data.x_test, arrays[TEST_IMAGES].reshape(10, 20) / 255)
    assert np.array_equal(data.labels_train, arrays[TRAIN_LABELS]) and data.labels_test.dtype == np.int64
    assert np.array_equal(data.y_test.argmax(axis=1), arrays[TEST_LABELS]) and data.y_test.sum() == 10


def test_read_idx_gives_the_same_array_raw_and_gz(tmp_path):
    files, arrays = mnist_files()
    write_files(tmp_path, {TRAIN_IMAGES: files[TRAIN_IMAGES]})
    write_files(tmp_path, {TRAIN_LABELS: files[TRAIN_LABELS]}, gz=(TRAIN_LABELS,))
    assert np.array_equal(read_idx(tmp_path / TRAIN_IMAGES), arrays[TRAIN_IMAGES])
    assert np.array_equal(read_idx(tmp_path / f"{TRAIN_LABELS}.gz"), arrays[TRAIN_LABELS])


def test_uploaded_mnist_files_are_found_by_name_with_or_without_gz():
    files, arrays = mnist_files()
    upload = {
        f"{TRAIN_IMAGES}.gz": gzip.compress(files[TRAIN_IMAGES]),
        TRAIN_LABELS: files[TRAIN_LABELS],
        "t10k-images.idx3-ubyte": files[TEST_IMAGES],  # the spelling of some mirrors
        f"{TEST_LABELS}.gz": gzip.compress(files[TEST_LABELS]),
    }
    data = load_mnist_files(upload)
    assert np.array_equal(data.labels_test, arrays[TEST_LABELS])
    assert np.allclose(data.x_test * 255, arrays[TEST_IMAGES].reshape(10, 20))


def test_sixty_thousand_images_load_as_float32():
    files, _ = mnist_files(n_train=60_000, n_test=100, shape=(28, 28))
    data = load_mnist_files(files)
    assert data.x_train.shape == (60_000, 784) and data.image_shape == (28, 28)
    assert data.x_train.dtype == np.float32 and data.x_train.nbytes == 60_000 * 784 * 4  # 188 MB, not 376


def broken(name: str, content: bytes) -> dict[str, bytes]:
    files, _ = mnist_files()
    files.pop(name.removesuffix(".gz"))
    return {**files, name: content}


def test_wrong_magic_number_is_refused():
    files, arrays = mnist_files()
    message = refusal(load_mnist_files, broken(TRAIN_IMAGES, idx_bytes(arrays[TRAIN_IMAGES], magic=0x804)))
    assert message.startswith(f"{TRAIN_IMAGES}: wrong magic number 0x00000804")
    assert "0x00000803" in message and "0x00000801" in message


def test_truncated_file_is_refused():
    files, _ = mnist_files()
    message = refusal(load_mnist_files, broken(TRAIN_IMAGES, files[TRAIN_IMAGES][:-7]))
    assert message == f"{TRAIN_IMAGES}: truncated: the header promises 30 x 4 x 5 = 600 bytes of data, the file has 593"
    assert "truncated inside its header" in refusal(load_mnist_files, broken(TEST_LABELS, files[TEST_LABELS][:6]))
    assert "too short for an IDX header" in refusal(load_mnist_files, broken(TEST_LABELS, b"\x00\x00"))


def test_bytes_beyond_the_header_size_are_refused():
    files, _ = mnist_files()
    message = refusal(load_mnist_files, broken(TRAIN_LABELS, files[TRAIN_LABELS] + b"\x00\x01"))
    assert message == f"{TRAIN_LABELS}: 2 unexpected bytes after the 30 bytes of data the header describes"


def test_image_and_label_counts_must_agree():
    files, arrays = mnist_files()
    message = refusal(load_mnist_files, broken(TEST_LABELS, idx_bytes(arrays[TEST_LABELS][:9])))
    assert message == f"{TEST_IMAGES} holds 10 images but {TEST_LABELS} holds 9 labels"


def test_gz_name_on_a_file_that_is_not_gzip_is_refused():
    files, _ = mnist_files()
    message = refusal(load_mnist_files, broken(f"{TRAIN_LABELS}.gz", files[TRAIN_LABELS]))
    assert message.startswith(f"{TRAIN_LABELS}.gz: named .gz but not gzip-compressed")


def test_damaged_gzip_is_refused():
    files, _ = mnist_files()
    message = refusal(load_mnist_files, broken(f"{TRAIN_IMAGES}.gz", gzip.compress(files[TRAIN_IMAGES])[:-20]))
    assert message.startswith(f"{TRAIN_IMAGES}.gz: damaged gzip data")


def test_gzip_data_without_gz_name_gets_a_hint():
    files, _ = mnist_files()
    message = refusal(load_mnist_files, broken(TRAIN_IMAGES, gzip.compress(files[TRAIN_IMAGES])))
    assert f"{TRAIN_IMAGES}: wrong magic number 0x1F8B08" in message and "give it a name ending in .gz" in message


def test_labels_above_nine_are_refused():
    files, arrays = mnist_files()
    labels = arrays[TRAIN_LABELS].copy()
    labels[7] = 12
    message = refusal(load_mnist_files, broken(TRAIN_LABELS, idx_bytes(labels)))
    assert message == f"{TRAIN_LABELS}: label 12 at position 7 is not a digit from 0 to 9"


def test_labels_file_in_place_of_images_is_refused():
    files, _ = mnist_files()
    message = refusal(load_mnist_files, broken(TRAIN_IMAGES, files[TRAIN_LABELS]))
    assert message == f"{TRAIN_IMAGES}: holds labels (magic 0x00000801), not images"


def test_train_and_test_images_must_have_one_size():
    files, _ = mnist_files()
    other, _ = mnist_files(shape=(5, 4))
    message = refusal(load_mnist_files, broken(TEST_IMAGES, other[TEST_IMAGES]))
    assert message == f"{TEST_IMAGES}: images of 5x4 pixels, but {TRAIN_IMAGES} has 4x5"


def test_missing_unknown_and_doubled_files_are_refused(tmp_path):
    files, _ = mnist_files()
    del files[TEST_LABELS]
    assert refusal(load_mnist_files, files) == f"the upload: missing {TEST_LABELS} (each may be raw or .gz)"
    message = refusal(load_data, f"mnist:{write_files(tmp_path / 'mnist', files)}", 64, np.random.default_rng(0))
    assert message.endswith(f"mnist: missing {TEST_LABELS} (each may be raw or .gz)")
    assert refusal(load_mnist_files, {**files, "notes.txt": b"hi"}).startswith("notes.txt: not one of the MNIST files")
    both = {**files, f"{TRAIN_LABELS}.gz": gzip.compress(files[TRAIN_LABELS])}
    assert f"two files for {TRAIN_LABELS}: {TRAIN_LABELS} and {TRAIN_LABELS}.gz; keep one" in refusal(
        load_mnist_files, both
    )
    assert refusal(load_data, "mnist:", 64, None) == "mnist: needs a folder after the colon, as in mnist:data/mnist"
    missing = tmp_path / "nowhere"
    assert refusal(load_data, f"mnist:{missing}", 64, None).startswith(f"{missing}: no such folder")


def test_oversized_mnist_upload_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr("twolayer.data.idx.MAX_UPLOAD_BYTES", 100)
    files, _ = mnist_files()
    assert "over the upload limit of 0 MB" in refusal(load_mnist_files, files)


# .csv files


def test_csv_with_integer_labels_is_one_hot_classification(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,label,b\n0.5,2,1\n-1,0,2e3\n3,1,4\n")
    data = load_data(str(path), 64, np.random.default_rng(0))
    assert data.name == "points.csv" and not data.has_test
    assert np.array_equal(data.x_train, [[0.5, 1], [-1, 2000], [3, 4]])
    assert np.array_equal(data.labels_train, [2, 0, 1])
    assert np.array_equal(data.y_train, np.eye(3)[[2, 0, 1]])


def test_csv_with_fractional_labels_is_regression():
    data = load_upload("heights.csv", "\ufeffx, label\n1,0.5\n2,1.5\n".encode())
    assert data.y_train.shape == (2, 1) and np.array_equal(data.y_train[:, 0], [0.5, 1.5])
    assert not data.is_classification


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "bad.csv: the file is empty"),
        ("  \n\n", "bad.csv: the file is empty"),
        ("a,label\n", "bad.csv: a header but no rows of data"),
        ("a,b\n1,2\n", "bad.csv: the header needs exactly one column named 'label' (found: a, b)"),
        ("label\n1\n", "bad.csv: no input columns besides 'label'"),
        (
            "a,b,label\n1,2,0\n3,nan,1\n",
            "bad.csv, line 3: column 'b' holds 'nan'; NaN and infinite values cannot be used",
        ),
        ("a,b,label\n1,x,0\n", "bad.csv, line 2: column 'b' holds 'x', which is not a number"),
        ("a,b,label\n1,2,0\n3,4\n", "bad.csv, line 3: 2 cells, but the header names 3 columns"),
        ("a,b,label\n1,2,0,5\n3,4,1,6\n", "bad.csv, line 2: 4 cells, but the header names 3 columns"),
        ("a,b,label\n1,,0\n", "bad.csv, line 2: column 'b' is empty"),
    ],
)
def test_broken_csv_is_refused_with_line_and_column(text, problem):
    assert refusal(load_upload, "bad.csv", text.encode()) == problem


def test_csv_that_is_not_text_is_refused():
    assert (
        refusal(load_upload, "bad.csv", b"a,label\n\xff\xfe,1\n")
        == "bad.csv: not UTF-8 text (byte 8 cannot be decoded)"
    )


# .npz files


def test_npz_integer_labels_become_one_hot_over_both_splits(tmp_path):
    path = tmp_path / "own.npz"
    path.write_bytes(npz_bytes(x=np.ones((4, 3)), y=np.array([0, 1, 1, 0]), x_test=np.zeros((2, 3)), y_test=[2, 0]))
    data = load_data(str(path), 64, np.random.default_rng(0))
    assert data.output_size == 3 and data.y_test.shape == (2, 3)
    assert np.array_equal(data.labels_train, [0, 1, 1, 0]) and np.array_equal(data.labels_test, [2, 0])
    assert np.array_equal(data.y_test, [[0, 0, 1], [1, 0, 0]])


def test_npz_one_hot_rows_give_labels_and_other_targets_do_not():
    one_hot = np.eye(4)[[3, 1, 0]]
    data = load_upload("a.npz", npz_bytes(x=np.ones((3, 2)), y=one_hot))
    assert np.array_equal(data.labels_train, [3, 1, 0]) and np.array_equal(data.y_train, one_hot)
    regression = load_upload("b.npz", npz_bytes(x=np.ones((3, 2)), y=one_hot * 0.5))
    assert not regression.is_classification and regression.output_size == 4


def test_npz_images_are_flattened_and_keep_their_shape():
    data = load_upload("pics.npz", npz_bytes(x=np.zeros((5, 6, 7), dtype=np.uint8), y=np.arange(5)))
    assert data.x_train.shape == (5, 42) and data.image_shape == (6, 7) and data.output_size == 5


@pytest.mark.parametrize(
    "arrays, problem",
    [
        ({"y": np.ones((3, 2))}, "bad.npz: missing array 'x' (found: y)"),
        ({"x": np.ones((3, 2)), "y": np.ones((4, 2))}, "bad.npz: x has 3 rows but y has 4"),
        (
            {"x": np.ones(3), "y": np.ones(3)},
            "bad.npz: x must be a 2-D (rows, inputs) or 3-D (rows, height, width) array, non-empty; got shape (3,)",
        ),
        ({"x": np.full((2, 2), np.nan), "y": np.ones(2)}, "bad.npz: x holds NaN or infinite values"),
        ({"x": np.ones((2, 2)), "y": np.array([1.0, np.inf])}, "bad.npz: y holds NaN or infinite values"),
        ({"x": np.array([["a", "b"]]), "y": np.ones(1)}, "bad.npz: x must hold numbers, got dtype <U1"),
        (
            {"x": np.ones((2, 2)), "y": np.ones(2), "x_test": np.ones((1, 2))},
            "bad.npz: x_test and y_test must come together",
        ),
        (
            {"x": np.ones((2, 2)), "y": np.ones((2, 1)), "x_test": np.ones((1, 3)), "y_test": np.ones((1, 1))},
            "bad.npz: test arrays have 3 inputs and 1 outputs but training arrays have 2 and 1",
        ),
    ],
)
def test_broken_npz_is_refused(arrays, problem):
    assert refusal(load_upload, "bad.npz", npz_bytes(**arrays)) == problem


def test_pickled_objects_in_npz_are_refused_never_loaded():
    content = npz_bytes(x=np.array([{"a": 1}, None], dtype=object), y=np.ones(2))
    message = refusal(load_upload, "evil.npz", content)
    assert message.startswith("evil.npz: array 'x' cannot be read: only plain numeric arrays are accepted")


def test_files_that_are_not_npz_archives_are_refused(tmp_path):
    assert (
        refusal(load_upload, "bad.npz", b"not a zip")
        == "bad.npz: not a .npz file (a .npz is a zip archive of arrays, saved by numpy.savez)"
    )
    single = io.BytesIO()
    np.save(single, np.ones(3))
    assert refusal(load_upload, "one.npz", single.getvalue()) == (
        "one.npz: a single .npy array, not a .npz archive of named arrays x and y"
    )
    assert refusal(load_data, str(tmp_path / "gone.npz"), 64, None) == f"{tmp_path / 'gone.npz'}: no such file"


# uploads and sources


def test_uploads_are_capped_before_parsing(monkeypatch):
    monkeypatch.setattr("twolayer.data.files.MAX_UPLOAD_BYTES", 2**20)
    message = refusal(load_upload, "big.csv", b"0" * (2**20 + 1))
    assert message == "big.csv: 1.0 MB is over the upload limit of 1 MB"


def test_upload_of_another_kind_is_refused():
    message = refusal(load_upload, "data.txt", b"1,2")
    assert (
        message == "data.txt: cannot read .txt files: upload a .npz or .csv file, or all four MNIST IDX files together"
    )
    assert refusal(load_upload, "README", b"").startswith("README: cannot read files without an extension")


@pytest.mark.parametrize("source", ["mnist", "/etc/passwd", "data.pkl", "https://example.com/mnist.npz.gz"])
def test_unknown_sources_are_refused_with_the_allowed_forms(source):
    message = refusal(load_data, source, 64, np.random.default_rng(0))
    assert message.startswith(f"unknown data source {source!r}: use 'random', 'digits', 'mnist5k', 'mnist:DIR'")


def test_random_data_is_the_lectures():
    data = load_data("random", 64, np.random.default_rng(0))
    assert (data.x_train.shape, data.y_train.shape) == ((64, 784), (64, 10))
    assert not data.is_classification and not data.has_test
