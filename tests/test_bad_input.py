"""Bad input on every way in (CLI, page link, widgets, data files): the exact message, then the app still works."""

from __future__ import annotations

import numpy as np
import pytest

from page import state
from page.widgets import LINK_PROBLEMS
from tests.datafiles import npz_bytes
from twolayer.__main__ import main
from twolayer.data.dataset import MAX_UPLOAD_BYTES, DataError
from twolayer.data.files import load_upload
from twolayer.teach.advice import divergence_hint
from twolayer.train.devices import available_devices
from twolayer.train.state import RunState

LACKING = next((device for device in ("cuda", "mps") if device not in available_devices()), None)
PRESENT = ", ".join(available_devices())
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(100)  # the start of a real PNG image
PICKLE_ADVICE = "This file contains pickled (object) data"


GOOD_NPZ = npz_bytes(x=np.random.default_rng(0).standard_normal((32, 5)), y=np.arange(32) % 3)

# name, content, the exact message shown for it
BAD_FILES = [
    ("empty.npz", b"", "empty.npz: not a .npz file (a .npz is a zip archive of arrays, saved by numpy.savez)"),
    ("empty.csv", b"", "empty.csv: the file is empty"),
    (
        "truncated.npz",
        GOOD_NPZ[: len(GOOD_NPZ) // 2],
        "truncated.npz: not a readable .npz file (File is not a zip file)",
    ),
    (
        "flat.npz",
        npz_bytes(x=np.zeros(4), y=np.zeros(4)),
        "flat.npz: x must be a 2-D (rows, inputs) or 3-D (rows, height, width) array, non-empty; got shape (4,)",
    ),
    ("rows.npz", npz_bytes(x=np.zeros((4, 3)), y=np.zeros(5)), "rows.npz: x has 4 rows but y has 5"),
    ("nan.npz", npz_bytes(x=np.full((4, 3), np.nan), y=np.zeros(4)), "nan.npz: x holds NaN or infinite values"),
    (
        "nan.csv",
        b"label,a,b\n0,1,2\n1,3,nan\n",
        "nan.csv, line 3: column 'b' holds 'nan'; NaN and infinite values cannot be used",
    ),
    ("short.csv", b"label,a,b\n0,1\n", "short.csv, line 2: 2 cells, but the header names 3 columns"),
    (
        "objects.npz",
        npz_bytes(x=np.array([{}], dtype=object), y=np.zeros(1)),
        "objects.npz: array 'x' cannot be read: only plain numeric arrays are accepted, never pickled objects "
        "(Object arrays cannot be loaded when allow_pickle=False)",
    ),
    (
        "photo.png",
        PNG,
        "photo.png: cannot read .png files: upload a .npz or .csv file, or all four MNIST IDX files together",
    ),
    # A picture renamed to .npz: refused before anything is unpickled (only the start of the message is pinned,
    # see test_a_picture_named_npz_is_not_called_pickled_data).
    ("image.npz", PNG, "image.npz: not a .npz file (a .npz is a zip archive of arrays, saved by numpy.savez)"),
]


# --- the command line ----------------------------------------------------------------------------

NO_SUCH_DEVICE = f"error: device={LACKING!r} is not available on this machine: choose one of {PRESENT} or auto\n"
# args, exit code, the exact stderr
CLI_CASES = {
    "hidden 0": (["--hidden", "0"], 2, "error: --hidden 0 is not allowed: a whole number from 1 to 4,096\n"),
    "hidden negative": (["--hidden", "-3"], 2, "error: --hidden -3 is not allowed: a whole number from 1 to 4,096\n"),
    "hidden huge": (
        ["--hidden", "100000"],
        2,
        "error: --hidden 100000 is not allowed: a whole number from 1 to 4,096\n",
    ),
    "hidden not a number": (
        ["--hidden", "ten"],
        2,
        "error: argument --hidden: invalid int value: 'ten' (see --help)\n",
    ),
    "lr 0": (["--lr", "0"], 2, "error: --lr 0.0 is not allowed: a finite number greater than 0, e.g. 1e-6\n"),
    "lr negative": (["--lr", "-1"], 2, "error: --lr -1.0 is not allowed: a finite number greater than 0, e.g. 1e-6\n"),
    "lr nan": (["--lr", "nan"], 2, "error: --lr nan is not allowed: a finite number greater than 0, e.g. 1e-6\n"),
    "lr inf": (["--lr", "inf"], 2, "error: --lr inf is not allowed: a finite number greater than 0, e.g. 1e-6\n"),
    "lr not a number": (["--lr", "abc"], 2, "error: argument --lr: invalid float value: 'abc' (see --help)\n"),
    "epochs 0": (["--epochs", "0"], 2, "error: --epochs 0 is not allowed: a whole number from 1 to 100,000\n"),
    "epochs beyond the range": (
        ["--epochs", "200000"],
        2,
        "error: --epochs 200000 is not allowed: a whole number from 1 to 100,000\n",
    ),
    "work beyond the cap": (
        ["--hidden", "4096", "--batch", "4096", "--epochs", "1000"],
        2,
        "error: --epochs 1000 is not allowed: hidden size x rows per epoch x epochs must be at most 2,000,000,000 "
        "(here 4,096 x 4,096 x 1,000 = 16,777,216,000); use fewer epochs or a smaller network\n",
    ),
    "unknown stage": (
        ["--stage", "keras"],
        2,
        "error: argument --stage: invalid choice: 'keras' (choose from 'numpy', 'tensor', 'autograd', 'nn', 'optim')"
        " (see --help)\n",
    ),
    "unknown optimizer": (
        ["--stage", "optim", "--optimizer", "lbfgs"],
        2,
        "error: argument --optimizer: invalid choice: 'lbfgs' (choose from 'adam', 'sgd', 'momentum', 'rmsprop')"
        " (see --help)\n",
    ),
    "unknown device": (
        ["--device", "tpu"],
        2,
        "error: argument --device: invalid choice: 'tpu' (choose from 'auto', 'cpu', 'cuda', 'mps') (see --help)\n",
    ),
    "device the machine lacks": (["--stage", "tensor", "--device", str(LACKING)], 2, NO_SUCH_DEVICE),
    "data source that is no file type": (
        ["--data", "photo.png"],
        2,
        "error: unknown data source 'photo.png': use 'random', 'digits', 'mnist5k', 'mnist:DIR' (a folder holding "
        "the four MNIST IDX files) or a path to a .npz or .csv file\n",
    ),
    "data file missing": (["--data", "missing.npz"], 2, "error: missing.npz: no such file\n"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_refuses_bad_input_with_one_exact_line(case, capsys):
    args, code, message = CLI_CASES[case]
    if LACKING is None and "--device" in args and "tpu" not in args:
        pytest.skip("this machine has every device")
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(["train", *args]))  # argparse errors raise SystemExit(2) themselves
    assert exited.value.code == code
    assert capsys.readouterr().err == message
    assert main(["train", "--epochs", "5", "--quiet"]) == 0, "a normal run still succeeds afterwards"


def test_cli_learning_rate_1e3_diverges_with_exit_3_and_an_explanation(capsys):
    assert main(["train", "--lr", "1e3", "--epochs", "50", "--quiet"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("The loss became inf at epoch 1, so training stopped there; everything up to the last "), err
    assert "A learning rate of 1000 is too high for this initialisation and data scale" in err
    # The edge of stability at the start: λ0 of the lecture's 64 rows, and half the rate 2/λ0, confirmed by a trial.
    assert "unstable above a learning rate of 2/λ0 = 1.16e-06, and this run's 1000 is 8.62e+08 times that" in err
    assert err.endswith("set the learning rate to 5.8e-07.\n") and err.count("\n") == 1, "one hint"
    assert main(["train", "--epochs", "5", "--quiet"]) == 0


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_cli_refuses_bad_data_files_naming_the_file(name, content, message, tmp_path, capsys):
    path = tmp_path / name
    path.write_bytes(content)
    if path.suffix == ".png":
        expected = f"error: unknown data source '{path}': use 'random', 'digits'"
    else:
        expected = f"error: {tmp_path}/{message}"
    assert main(["train", "--data", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1, err


# --- the page: links, widgets and uploads ----------------------------------------------------------


def runs(at) -> list:
    return list(at.session_state[state.SESSION.name].runs)


def messages(at) -> dict[str, list[str]]:
    """Every message on the page by kind (a summary box's items one by one), but the run history tab's hint."""
    shown = {kind: [] for kind in ("warning", "error", "info")}
    for kind, texts in shown.items():
        for box in getattr(at, kind):
            if box.value.startswith(LINK_PROBLEMS):  # one box for several link problems, an item each
                texts += [line.removeprefix("- ") for line in box.value.splitlines()[1:]]
            elif not box.value.startswith("Finished and reset runs"):
                texts.append(box.value)
    return shown


def train_succeeds(at, epochs: int | None = None) -> None:
    """Press Train and check the run finished and went into the run history."""
    before = len(runs(at))
    at.button(key="train").click().run()
    assert not at.exception
    trainer = at.session_state[state.SESSION.name].trainer
    assert trainer.status is RunState.DONE, divergence_hint(trainer)
    assert epochs is None or trainer.epoch == epochs
    assert len(runs(at)) == before + 1


def link_warning(key: str, text: str, allowed: str) -> str:
    return f"The link's {key}={text!r} is not allowed ({allowed}); the default is used."


HIDDEN = "a whole number from 1 to 4,096"
LR = "a number from 1e-08 to 1"
EPOCHS = "a whole number from 1 to 100,000"
EVERY_KEY = {
    "stage": ["optim", "nn"],
    "hidden": ["8", "32"],
    "lr": ["0.5", "0.0001"],
    "epochs": ["7", "20"],
    "batch": ["1", "16"],
    "seed": ["1", "3"],
    "device": ["mps", "cpu"],
    "optimizer": ["sgd", "adam"],
    "init": ["shared", "lecture"],
    "data": ["digits", "random"],
    "dtype": ["float64", "float32"],
    "bias": ["1", "0"],
    "present": ["0", "1"],
    "hide": ["seed", "batch"],
}
# query, warnings, errors: exactly what the page shows
LINK_CASES = {
    "hidden 0": ({"hidden": "0"}, [link_warning("hidden", "0", HIDDEN)], []),
    "hidden negative": ({"hidden": "-5"}, [link_warning("hidden", "-5", HIDDEN)], []),
    "hidden huge": ({"hidden": "9" * 20}, [link_warning("hidden", "9" * 20, HIDDEN)], []),
    "hidden not a number": ({"hidden": "abc"}, [link_warning("hidden", "abc", HIDDEN)], []),
    "hidden off the slider": ({"hidden": "7"}, ["Hidden size 7 is not on the slider; using 8."], []),
    "lr 0": ({"lr": "0"}, [link_warning("lr", "0", LR)], []),
    "lr negative": ({"lr": "-1e-3"}, [link_warning("lr", "-1e-3", LR)], []),
    "lr nan": ({"lr": "nan"}, [link_warning("lr", "nan", LR)], []),
    "lr inf": ({"lr": "inf"}, [link_warning("lr", "inf", LR)], []),
    # The URL's range ends at 1: 1e3 is refused here, while the CLI accepts it and diverges (exit 3).
    "lr 1e3": ({"lr": "1e3"}, [link_warning("lr", "1e3", LR)], []),
    "epochs 0": ({"epochs": "0"}, [link_warning("epochs", "0", EPOCHS)], []),
    "epochs beyond the range": ({"epochs": "1000000"}, [link_warning("epochs", "1000000", EPOCHS)], []),
    "unknown stage": (
        {"stage": "keras"},
        [link_warning("stage", "keras", "one of numpy, tensor, autograd, nn, optim")],
        [],
    ),
    "unknown optimizer": (
        {"stage": "optim", "optimizer": "lbfgs"},
        [link_warning("optimizer", "lbfgs", "one of adam, sgd, momentum, rmsprop")],
        [],
    ),
    "unknown device": ({"device": "tpu"}, [link_warning("device", "tpu", "one of cpu, cuda, mps")], []),
    "a file on the server as data": (
        {"data": "/etc/passwd"},
        [link_warning("data", "/etc/passwd", "one of random, digits, mnist5k")],
        [],
    ),
    "unknown setting": ({"zoom": "9"}, ["Unknown link setting 'zoom' was ignored."], []),
    "every setting repeated": (
        EVERY_KEY,
        [f"The link gives '{key}' 2 times; the last one is used." for key in EVERY_KEY],
        [],
    ),
    "10,000 characters": (
        {"seed": "1" * 9996},
        ["The link's settings are 10,000 characters long (at most 2,000); all settings are at their defaults."],
        [],
    ),
}


@pytest.mark.parametrize("case", list(LINK_CASES))
def test_bad_link_shows_the_exact_warning_and_the_page_still_trains(case, open_app):
    query, warnings, errors = LINK_CASES[case]
    # A short run unless the link itself sets the epochs, so that a normal Train stays quick.
    at = open_app(query if "epochs" in query or "seed" in query else {**query, "epochs": "20"})
    assert not at.exception
    shown = messages(at)
    assert (shown["warning"], shown["error"]) == (warnings, errors)
    train_succeeds(at)


def test_every_setting_repeated_uses_the_last_of_each(open_app):
    at = open_app(EVERY_KEY)
    trainer_config = None
    train_succeeds(at, epochs=20)
    trainer_config = at.session_state[state.SESSION.name].trainer.config
    assert (trainer_config.stage, trainer_config.hidden_size, trainer_config.learning_rate) == ("nn", 32, 1e-4)
    assert (trainer_config.batch_size, trainer_config.seed, trainer_config.bias) == (16, 3, False)
    assert "Seed" in {w.label for w in at.number_input} and "Batch size" not in {w.label for w in at.number_input}


@pytest.mark.skipif(LACKING is None, reason="this machine has every device")
def test_link_to_a_device_the_server_lacks_falls_back_to_cpu(open_app):
    at = open_app({"device": LACKING, "stage": "tensor", "epochs": "20"})
    assert messages(at)["warning"] == [f"The link asks for device '{LACKING}', which this server lacks; using cpu."]
    assert at.selectbox(key="device").value == "cpu"
    train_succeeds(at)


def test_link_beyond_the_work_cap_is_refused_until_the_settings_fit(open_app):
    at = open_app({"hidden": "4096", "batch": "4096", "epochs": "1000"})
    assert messages(at)["error"] == [
        "epochs=1000 is not allowed: hidden size x rows per epoch x epochs must be at most 2,000,000,000 "
        "(here 4,096 x 4,096 x 1,000 = 16,777,216,000); use fewer epochs or a smaller network"
    ]
    assert at.button(key="train").disabled and at.button(key="step").disabled
    at.select_slider(key="hidden").set_value(8).run()
    at.number_input(key="batch").set_value(64).run()
    at.number_input(key="epochs").set_value(20).run()
    assert messages(at)["error"] == []
    train_succeeds(at, epochs=20)


@pytest.fixture
def trained(open_app):
    """A page with one finished 20-epoch run in its history, and that run."""
    at = open_app({"epochs": "20"})
    train_succeeds(at, epochs=20)
    return at, runs(at)[0]


def test_widgets_beyond_the_work_cap_refuse_and_keep_the_earlier_run(trained):
    at, first = trained
    at.select_slider(key="hidden").set_value(4096).run()
    at.number_input(key="batch").set_value(4096).run()
    at.number_input(key="epochs").set_value(1000).run()
    assert messages(at)["error"] == [
        "epochs=1000 is not allowed: hidden size x rows per epoch x epochs must be at most 2,000,000,000 "
        "(here 4,096 x 4,096 x 1,000 = 16,777,216,000); use fewer epochs or a smaller network"
    ]
    assert at.button(key="train").disabled
    at.select_slider(key="hidden").set_value(100).run()
    at.number_input(key="batch").set_value(64).run()
    at.number_input(key="epochs").set_value(20).run()
    train_succeeds(at, epochs=20)
    assert runs(at)[0] is first


def test_widget_learning_rate_1_diverges_with_the_explanation_and_keeps_the_earlier_run(trained):
    at, first = trained
    at.selectbox(key="stage").set_value("tensor").run()
    at.select_slider(key="lr").set_value(1.0).run()
    at.button(key="train").click().run()
    assert at.session_state[state.SESSION.name].trainer.status is RunState.DIVERGED
    [box] = messages(at)["error"]
    assert box.startswith("**The loss exploded.** The loss became inf at epoch 2, so training stopped there; ")
    assert "A learning rate of 1 is too high for this initialisation and data scale" in box
    assert [run.status for run in runs(at)] == [RunState.DONE, RunState.DIVERGED] and runs(at)[0] is first
    at.select_slider(key="lr").set_value(1e-6).run()
    train_succeeds(at, epochs=20)


def test_widget_epochs_0_sent_anyway_is_held_at_the_minimum(trained):
    at, first = trained
    # The browser's number box stops at 1; a value sent past it is put back by Streamlit, with no message.
    at.number_input(key="epochs").set_value(0).run()
    assert at.number_input(key="epochs").value == 1
    assert messages(at) == {"warning": [], "error": [], "info": []}
    train_succeeds(at, epochs=1)
    assert runs(at)[0] is first


def test_widget_change_while_paused_asks_before_mixing_settings(trained):
    at, first = trained
    at.button(key="step").click().run()
    at.select_slider(key="hidden").set_value(50).run()
    assert messages(at)["warning"] == [
        "You changed settings while a run is paused. Continuing would mix two sets of settings: "
        "start a new run with the new settings, or go back to the paused run's settings?"
    ]
    assert at.button(key="train").disabled
    at.button(key="confirm_reset").click().run()
    train_succeeds(at, epochs=20)
    assert runs(at)[0] is first
    assert [run.status for run in runs(at)] == [RunState.DONE, RunState.STOPPED, RunState.DONE]
    assert runs(at)[1].stopped_at == 1


def test_upload_chosen_without_a_file_asks_for_one(trained):
    at, first = trained
    at.selectbox(key="data").set_value("upload").run()
    assert messages(at)["info"] == [
        "Upload a .npz or .csv file, or the four MNIST IDX files, to train on your own data."
    ]
    assert at.button(key="train").disabled
    at.selectbox(key="data").set_value("random").run()
    train_succeeds(at, epochs=20)
    assert runs(at)[0] is first


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_bad_upload_shows_the_exact_error_and_a_good_one_then_trains(name, content, message, trained):
    at, first = trained
    at.selectbox(key="data").set_value("upload").run()
    at.file_uploader(key="upload").upload(name, content).run()
    assert not at.exception
    [error] = messages(at)["error"]
    assert error.startswith(message) if message.endswith("(") else error == message
    assert at.button(key="train").disabled
    at.file_uploader(key="upload").set_value(("good.npz", GOOD_NPZ, "application/octet-stream")).run()
    assert messages(at)["error"] == []
    train_succeeds(at, epochs=20)
    assert at.session_state[state.SESSION.name].trainer.data.name == "good.npz"
    assert runs(at)[0] is first


# --- the loader itself -----------------------------------------------------------------------------


def test_upload_over_the_size_cap_is_refused_before_parsing():
    with pytest.raises(DataError) as refused:
        load_upload("big.npz", bytes(MAX_UPLOAD_BYTES + 2**20))
    assert str(refused.value) == "big.npz: 201.0 MB is over the upload limit of 200 MB"


def test_a_picture_named_npz_is_not_called_pickled_data():
    with pytest.raises(DataError) as refused:
        load_upload("image.npz", PNG)
    # A visitor should hear that the file is not a .npz archive, not how to unpickle it "if you trust the file".
    assert PICKLE_ADVICE not in str(refused.value) and "allow_pickle" not in str(refused.value)


def test_several_link_problems_share_one_box_that_can_be_dismissed(open_app):
    at = open_app({"hidden": "0", "epochs": "0", "zoom": "2"})
    assert len(at.warning) == 1 and at.warning[0].value.startswith(LINK_PROBLEMS)
    assert messages(at)["warning"][2] == "Unknown link setting 'zoom' was ignored."
    at.button(key="dismiss_link_warnings").click().run()
    assert not at.warning and not at.exception
    train_succeeds(at, epochs=500)


def test_the_status_line_says_why_train_is_off(open_app):
    at = open_app({"hidden": "4096", "batch": "4096", "epochs": "1000"})
    assert at.button(key="train").disabled
    status = next(m.value for m in at.markdown if m.value.startswith("**Ready**"))
    assert status == "**Ready**: Train is off until the settings or data are fixed (see the message above)."
