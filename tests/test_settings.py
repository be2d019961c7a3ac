"""One declaration of the settings: the CLI's flags, the link's keys and the page's controls all come from it."""

import subprocess
import sys

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import build_parser
from twolayer.serve.links import DEFAULTS, PARSERS, resolve_link
from twolayer.teach.compare import compare_stages, comparison_configs
from twolayer.train.config import SETTINGS, ConfigError


def test_every_setting_is_a_cli_flag_whose_help_states_its_default():
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    flags = {action.dest: action for action in train._actions}
    for spec in SETTINGS:
        action = flags[spec.name]
        assert action.option_strings[0] == "--" + spec.key.replace("_", "-")
        assert action.default == spec.default
        assert "(default: " in action.help and spec.help in action.help


def test_every_linked_setting_is_a_link_key_with_the_page_default():
    for spec in SETTINGS:
        assert (spec.key in PARSERS) == spec.in_link
        if spec.in_link:
            assert DEFAULTS[spec.key] == spec.page_default


def test_page_caps_are_narrower_than_the_core_and_say_why():
    for spec in SETTINGS:
        control = spec.control
        if control is None:
            continue
        narrower = control.stops or (control.high is not None and control.high < spec.high) or control.choices
        if narrower:
            assert control.why, f"{spec.key}: the page allows less than the core without saying why"
        if control.high is not None:
            assert control.high <= spec.high
    batch = next(spec for spec in SETTINGS if spec.key == "batch")
    assert (batch.high, batch.control.high) == (65_536, 4096) and "memory" in batch.control.why


def test_values_round_trip_through_the_public_keys():
    config = TrainConfig(stage="nn", hidden_size=32, learning_rate=3e-4, batch_size=16, bias=False, seed=5)
    assert TrainConfig.from_values(config.values()) == config
    assert TrainConfig.from_values({"stage": "numpy", "bias": True}).bias is False, "the page's box is ignored there"
    with pytest.raises(ConfigError) as refused:
        TrainConfig.from_values({"hidden": 0})
    assert str(refused.value) == "hidden_size=0 is not allowed: a whole number from 1 to 4,096"


def test_a_link_is_resolved_to_the_page_with_a_warning_for_each_change():
    link = resolve_link({"stage": "tensor", "hidden": "7", "lr": "4e-4", "device": "cuda", "present": "1"}, ["cpu"])
    assert link.values["hidden"] == 8 and link.values["lr"] == 5e-4 and link.values["device"] == "cpu"
    assert link.lr_chosen and link.present and link.hidden_controls == set()
    assert link.warnings == [
        "The link asks for device 'cuda', which this server lacks; using cpu.",
        "Hidden size 7 is not on the slider; using 8.",
        "Learning rate 0.0004 is not on the slider; using 0.0005.",
    ]
    plain = resolve_link({"stage": "nn", "init": "shared"}, ["cpu"])
    assert plain.values["lr"] == 1e-4 and not plain.lr_chosen and plain.warnings == []
    assert TrainConfig.from_values(plain.values).learning_rate == 1e-4


def test_compare_gives_each_stage_its_own_run_from_the_same_start():
    config = TrainConfig(epochs=40, hidden_size=20, seed=2)
    result = compare_stages(config)
    for stage, stage_config in comparison_configs(config).items():
        own = Trainer(stage_config)
        own.advance(stage_config.epochs)
        assert result.curves[stage][1] == own.loss_curve()[1].tolist(), f"{stage}: not the stage's own run"
    assert all(row["largest relative gap to numpy"] < 1e-12 and row["agrees"] == "✓" for row in result.gaps)
    assert all(row["agrees"] == "✓" for row in result.gradcheck)
    epochs, gaps = result.gap_curves["nn"]
    assert len(epochs) == len(gaps) == 40 and min(gaps) >= 1e-17, "a gap of 0 is drawn at 1e-17 on the log scale"
    assert np.isfinite([row["max_rel_error"] for row in result.gradcheck]).all()


def test_light_imports_leave_torch_out():
    code = (
        "import sys, twolayer, twolayer.serve.links, twolayer.data.uploads, twolayer.data.drawing, "
        "twolayer.train.forward; "
        "from twolayer import TrainConfig, DataError; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
