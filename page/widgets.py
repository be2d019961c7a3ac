"""The page's controls, built from `twolayer.train.config.SETTINGS`: the sidebar, the link's settings, the buttons."""

from __future__ import annotations

import logging
import time

import streamlit as st

from twolayer.data.dataset import DataError, Dataset
from twolayer.data.uploads import ACCEPTED, read_uploads, upload_source
from twolayer.serve.links import VIEW_DEFAULTS, resolve_link, to_query
from twolayer.serve.session import TrainingSession
from twolayer.train.config import MANUAL_STAGES, SETTINGS, ConfigError, Setting, TrainConfig, default_learning_rate
from twolayer.train.devices import DeviceError, available_devices
from twolayer.train.state import RunState

log = logging.getLogger("twolayer")
CONTROLS = tuple(spec for spec in SETTINGS if spec.control is not None)
LATE_SECONDS = 2.0  # settings that arrive this soon after Train was pressed are the ones it meant
LINK_PROBLEMS = "**Some of the link's settings could not be used; the page shows what it uses instead:**"


def load_link() -> None:
    """On a session's first run, put the link's settings into the widgets and keep its warnings."""
    if "settings_loaded" in st.session_state:
        return
    link = resolve_link({key: st.query_params.get_all(key) for key in st.query_params}, available_devices())
    st.session_state.update({key: value for key, value in link.values.items() if key not in VIEW_DEFAULTS})
    st.session_state.update(
        lr_touched=link.lr_chosen,
        presenter=link.present,
        hidden_controls=link.hidden_controls,
        link_warnings=link.warnings,
        settings_loaded=True,
        sweep_link=link.values["sweep"],
    )
    if link.values["sweep"]:  # a handed-out sweep: its setting and values wait in the Sweep tab
        key, values = link.values["sweep"].split(":", 1)
        st.session_state.update(sweep_key=key, sweep_values=", ".join(values.split(",")))


def link_warnings_box() -> None:
    """What the link asked for that could not be used: one box, dismissible, however many problems."""
    warnings = st.session_state.link_warnings
    if not warnings:
        return
    text = warnings[0] if len(warnings) == 1 else "\n".join([LINK_PROBLEMS, *(f"- {w}" for w in warnings)])
    box, close = st.columns([20, 1], vertical_alignment="center")
    box.warning(text)
    close.button(
        "✕",
        key="dismiss_link_warnings",
        help="Dismiss",
        on_click=st.session_state.update,
        args=({"link_warnings": []},),
    )


def save_link(values: dict[str, object]) -> None:
    """Keep the URL in step with the controls, so the address bar is always a link to this run."""
    state = st.session_state
    sweep = state.get("sweep_run")
    view = {"present": state.presenter, "hide": tuple(state.hidden_controls)}
    view["sweep"] = sweep.spec if sweep is not None else state.sweep_link
    st.query_params.from_dict(to_query({**values, "lr": values["lr"] if state.lr_touched else None, **view}))


def follow_stage_default() -> None:
    """A new stage or initialisation brings its lecture learning rate, unless the person chose one."""
    if not st.session_state.lr_touched:
        st.session_state.lr = default_learning_rate(st.session_state.stage, st.session_state.init)


def settings_ui() -> dict[str, object]:
    """The sidebar: one control per setting the page offers; returns every setting's value by key."""
    with st.sidebar:
        st.header("Settings")
        for spec in CONTROLS:
            if spec.key not in st.session_state.hidden_controls and st.session_state.stage in spec.control.stages:
                _control(spec)
            if spec.key == "device" and st.session_state.stage == "numpy":
                st.caption("The NumPy stage always runs on the CPU; the device applies to the PyTorch stages.")
            if spec.key == "data" and st.session_state.data == "upload":
                st.file_uploader("Data file(s)", key="upload", accept_multiple_files=True, help=ACCEPTED)
    return {spec.key: st.session_state[spec.key] for spec in CONTROLS}


def _control(spec: Setting) -> None:
    """The widget for one setting, keyed by the setting's public key."""
    control = spec.control
    common = {"key": spec.key, "help": spec.help[0].upper() + spec.help[1:] + "."}
    if control.widget in ("select", "radio"):
        options = list(available_devices() if spec.key == "device" else control.choices or spec.choices)
        widget = st.selectbox if control.widget == "select" else st.radio
        extra = {"horizontal": True} if spec.key == "dtype" else {}
        on_change = follow_stage_default if spec.key in ("stage", "init") else None
        fmt = control.labels.get
        widget(control.label, options, format_func=lambda v: fmt(v, v), on_change=on_change, **common, **extra)
    elif control.widget == "stops":
        lr = spec.key == "lr"
        st.select_slider(
            control.label,
            control.stops,
            format_func=(lambda v: f"{v:.0e}") if lr else str,
            on_change=(lambda: st.session_state.update(lr_touched=True)) if lr else None,
            **common,
        )
    elif control.widget == "number":
        high = control.high if control.high is not None else spec.high
        st.number_input(control.label, min_value=spec.low, max_value=high, step=control.step, **common)
    else:
        st.checkbox(control.label, **common)


def current_run() -> tuple[TrainConfig | None, Dataset | None, str | None]:
    """The config and data the controls describe right now, or the reason there is no run to start."""
    values = {spec.key: st.session_state[spec.key] for spec in CONTROLS}
    data = None
    if values["data"] == "upload":
        files = st.session_state.get("upload") or []
        data, error = _uploaded(files)
        if data is None:
            return None, None, error
        values["data"] = upload_source([f.name for f in files])
    try:
        return TrainConfig.from_values(values), data, None
    except ConfigError as exc:
        return None, None, str(exc)


def _uploaded(files) -> tuple[Dataset | None, str | None]:
    """The dataset in the uploaded files, read once per upload, or None and what is wrong."""
    if not files:
        return None, "Upload a .npz or .csv file, or the four MNIST IDX files, to train on your own data."
    ids = tuple(f.file_id for f in files)
    cached = st.session_state.get("upload_cache")
    if cached and cached[0] == ids:
        return cached[1], cached[2]
    try:
        dataset, error = read_uploads({f.name: f.getvalue() for f in files}), None
    except DataError as exc:
        dataset, error = None, str(exc)
    st.session_state.upload_cache = (ids, dataset, error)
    return dataset, error


def train(sess: TrainingSession, config: TrainConfig, data: Dataset | None) -> None:
    """Train's action: start or continue, noting when, so that a setting arriving just after still counts."""
    st.session_state.train_pressed_at = time.monotonic()
    sess.train(config, data)


def late_settings(sess: TrainingSession, config: TrainConfig | None) -> bool:
    """True when settings changed within LATE_SECONDS of pressing Train: the press meant these settings."""
    # A slider sends its new value a moment after the key or drag that moved it; a click on Train in
    # that moment reaches the server first, and would start a run with the value the slider just left.
    pressed = st.session_state.get("train_pressed_at")
    return (
        config is not None
        and pressed is not None
        and time.monotonic() - pressed < LATE_SECONDS
        and sess.trainer is not None
        and sess.trainer.config != config
    )


def guarded(action) -> None:
    """Run a button's action on the settings on screen now; a bad one becomes a message, never a traceback."""
    # The config is built here, in the click's own script run, from the values that came with the click:
    # arguments bound when the button was drawn would hold the settings of the run before.
    config, data, error = current_run()
    if config is None:
        st.session_state.action_error = error
        return
    try:
        action(config, data)
    except (ConfigError, DataError, DeviceError) as exc:
        st.session_state.action_error = str(exc)
    except Exception:
        log.exception("action %s failed", getattr(action, "__name__", action))
        st.session_state.action_error = "Something went wrong on the server; the error was logged. Try Reset."


def buttons_ui(sess: TrainingSession, ready: bool) -> None:
    """Train, Pause, Step and Reset, acting through callbacks before the page redraws."""
    cols = st.container(key="run-buttons").columns([1, 1, 1, 1, 4])  # one row on a phone too (views.PAGE_CSS)
    running = sess.state is RunState.RUNNING
    stretch = {"use_container_width": True}
    cols[0].button(
        "Train",
        key="train",
        type="primary",
        disabled=not ready or running,
        on_click=guarded,
        args=(sess.train,),
        **stretch,
    )
    cols[1].button("Pause", key="pause", disabled=not running, on_click=sess.pause, **stretch)
    cols[2].button("Step", key="step", disabled=not ready or running, on_click=guarded, args=(sess.step,), **stretch)
    cols[3].button("Reset", key="reset", on_click=sess.reset, **stretch)


def restore_run_settings(sess: TrainingSession) -> None:
    """Put the controls back to the settings of the paused run."""
    values = sess.trainer.config.values()
    st.session_state.update({spec.key: values[spec.key] for spec in CONTROLS if spec.key not in ("data", "bias")})
    if sess.trainer.config.stage not in MANUAL_STAGES:
        st.session_state.bias = values["bias"]
    st.session_state.lr_touched = True


def confirmation_ui(sess: TrainingSession) -> None:
    """Ask before a paused run would continue under settings it was not started with."""
    st.warning(
        "You changed settings while a run is paused. Continuing would mix two sets of settings: "
        "start a new run with the new settings, or go back to the paused run's settings?"
    )
    left, right = st.columns(2)
    left.button("Reset and use the new settings", key="confirm_reset", on_click=sess.reset)
    right.button(
        "Back to the paused run's settings", key="confirm_restore", on_click=restore_run_settings, args=(sess,)
    )
