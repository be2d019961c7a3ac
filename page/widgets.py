"""The page's controls, built from `twolayer.train.config.SETTINGS`: the sidebar, the link's settings, the buttons."""

from __future__ import annotations

import logging
import time
from functools import partial

import streamlit as st

from page import state
from twolayer.data.dataset import DataError, Dataset
from twolayer.data.uploads import ACCEPTED, read_uploads, upload_source
from twolayer.serve.links import VIEW_DEFAULTS, resolve_link, to_query
from twolayer.serve.session import TrainingSession
from twolayer.train.config import SETTINGS, ConfigError, Setting, TrainConfig, default_bias, default_learning_rate
from twolayer.train.devices import DeviceError, available_devices
from twolayer.train.stages import stage_spec
from twolayer.train.state import RunState

log = logging.getLogger("twolayer")
CONTROLS = tuple(spec for spec in SETTINGS if spec.control is not None)
LATE_SECONDS = 2.0  # settings that arrive this soon after Train was pressed are the ones it meant
LINK_PROBLEMS = "**Some of the link's settings could not be used; the page shows what it uses instead:**"


def load_link() -> None:
    """On a session's first run, put the link's settings into the widgets and keep its warnings."""
    if state.SETTINGS_LOADED.get():
        return
    link = resolve_link({key: st.query_params.get_all(key) for key in st.query_params}, available_devices())
    state.put_settings({key: value for key, value in link.values.items() if key not in VIEW_DEFAULTS})
    state.LR_TOUCHED.set(link.lr_chosen)
    state.PRESENTER.set(link.present)
    state.HIDDEN_CONTROLS.set(link.hidden_controls)
    state.LINK_WARNINGS.set(link.warnings)
    state.SETTINGS_LOADED.set(True)
    state.SWEEP_LINK.set(link.values["sweep"])
    if link.values["sweep"]:  # a handed-out sweep: its setting and values wait in the Sweep tab
        key, values = link.values["sweep"].split(":", 1)
        state.SWEEP_KEY.set(key)
        state.SWEEP_VALUES.set(", ".join(values.split(",")))


def link_warnings_box() -> None:
    """What the link asked for that could not be used: one box, dismissible, however many problems."""
    warnings = state.LINK_WARNINGS.get()
    if not warnings:
        return
    text = warnings[0] if len(warnings) == 1 else "\n".join([LINK_PROBLEMS, *(f"- {w}" for w in warnings)])
    box, close = st.columns([20, 1], vertical_alignment="center")
    box.warning(text)
    close.button(
        "✕",
        key="dismiss_link_warnings",
        help="Dismiss",
        on_click=state.LINK_WARNINGS.set,
        args=([],),
    )


def save_link(values: dict[str, object]) -> None:
    """Keep the URL in step with the controls, so the address bar is always a link to this run."""
    sweep = state.SWEEP_RUN.get()
    view = {"present": state.PRESENTER.get(), "hide": tuple(state.HIDDEN_CONTROLS.get()), "lead": state.LEAD_PAGE.get()}
    view["sweep"] = sweep.spec if sweep is not None else state.SWEEP_LINK.get()
    st.query_params.from_dict(to_query({**values, "lr": values["lr"] if state.LR_TOUCHED.get() else None, **view}))


def follow_stage_default() -> None:
    """A new stage or initialisation brings its lecture learning rate, unless the person chose one."""
    if not state.LR_TOUCHED.get():
        state.put_settings({"lr": default_learning_rate(state.setting("stage"), state.setting("init"))})


def settings_ui() -> dict[str, object]:
    """The sidebar: one control per setting the page offers; returns every setting's value by key."""
    with st.sidebar:
        st.header("Settings")
        for spec in CONTROLS:
            if spec.key not in state.HIDDEN_CONTROLS.get() and spec.control.shown_for(state.setting("stage")):
                _control(spec)
            if spec.key == "device" and not stage_spec(state.setting("stage")).uses_torch:
                st.caption("This stage computes with NumPy and always runs on the CPU; the device applies to PyTorch.")
            if spec.key == "data" and state.setting("data") == "upload":
                st.file_uploader("Data file(s)", key=state.UPLOAD.name, accept_multiple_files=True, help=ACCEPTED)
    return _settings()


def _settings() -> dict[str, object]:
    """Every control's value now, by setting key."""
    return {spec.key: state.setting(spec.key) for spec in CONTROLS}


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
            on_change=(lambda: state.LR_TOUCHED.set(True)) if lr else None,
            **common,
        )
    elif control.widget == "number":
        high = control.high if control.high is not None else spec.high
        st.number_input(control.label, min_value=spec.low, max_value=high, step=control.step, **common)
    else:
        st.checkbox(control.label, **common)


def current_run() -> tuple[TrainConfig | None, Dataset | None, str | None]:
    """The config and data the controls describe right now, or the reason there is no run to start."""
    values = _settings()
    data = None
    if values["data"] == "upload":
        files = state.UPLOAD.get() or []
        data, error = _uploaded(files)
        if data is None:
            return None, None, error
        values["data"] = upload_source([f.name for f in files])
    if not values["sharpness"]:
        values["sharpness_every"] = 0  # the spacing counts only while the sharpness box is ticked
    try:
        return TrainConfig.from_values(values), data, None
    except ConfigError as exc:
        return None, None, str(exc)


def _uploaded(files) -> tuple[Dataset | None, str | None]:
    """The dataset in the uploaded files, read once per upload, or None and what is wrong."""
    if not files:
        return None, "Upload a .npz or .csv file, or the four MNIST IDX files, to train on your own data."
    ids = tuple(f.file_id for f in files)
    cached = state.UPLOAD_CACHE.get()
    if cached and cached[0] == ids:
        return cached[1], cached[2]
    try:
        dataset, error = read_uploads({f.name: f.getvalue() for f in files}), None
    except DataError as exc:
        dataset, error = None, str(exc)
    state.UPLOAD_CACHE.set((ids, dataset, error))
    return dataset, error


def train(sess: TrainingSession, config: TrainConfig, data: Dataset | None) -> None:
    """Train's action: start or continue, noting when, so that a setting arriving just after still counts."""
    state.TRAIN_PRESSED_AT.set(time.monotonic())
    sess.train(config, data)


def after_press(action):
    """A button's action (Pause, Step, Reset) that answers a later press than Train's: no late setting is Train's."""

    def pressed(*args) -> None:
        state.TRAIN_PRESSED_AT.set(None)
        action(*args)

    return pressed


def late_settings(sess: TrainingSession, config: TrainConfig | None) -> bool:
    """True when settings changed within LATE_SECONDS of pressing Train: the press meant these settings."""
    # A slider sends its new value a moment after the key or drag that moved it; a click on Train in
    # that moment reaches the server first, and would start a run with the value the slider just left.
    pressed = state.TRAIN_PRESSED_AT.get()
    return (
        config is not None
        and pressed is not None
        and time.monotonic() - pressed < LATE_SECONDS
        and sess.trainer is not None
        and not sess.trainer.finished  # the late value interrupts the run it meant; a finished run stays as it is
        and sess.trainer.config != config
    )


def guarded(action) -> None:
    """Run a button's action on the settings on screen now; a bad one becomes a message, never a traceback."""
    # The config is built here, in the click's own script run, from the values that came with the click:
    # arguments bound when the button was drawn would hold the settings of the run before.
    config, data, error = current_run()
    if config is None:
        state.ACTION_ERROR.set(error)
        return
    try:
        action(config, data)
    except (ConfigError, DataError, DeviceError) as exc:
        state.ACTION_ERROR.set(str(exc))
    except Exception:
        log.exception("action %s failed", getattr(action, "__name__", action))
        state.ACTION_ERROR.set("Something went wrong on the server; the error was logged. Try Reset.")


def buttons_ui(sess: TrainingSession, ready: bool) -> None:
    """Train, Pause, Step and Reset, acting through callbacks before the page redraws."""
    cols = st.container(key="run-buttons").columns([1, 1, 1, 1, 4])  # one row on a phone too (training_view.PAGE_CSS)
    running = sess.state is RunState.RUNNING
    stretch = {"use_container_width": True}
    cols[0].button(
        "Train",
        key="train",
        type="primary",
        disabled=not ready or running,
        on_click=guarded,
        args=(partial(train, sess),),  # noting when Train was pressed, for settings that arrive just after
        **stretch,
    )
    cols[1].button("Pause", key="pause", disabled=not running, on_click=after_press(sess.pause), **stretch)
    step = after_press(sess.step)
    cols[2].button("Step", key="step", disabled=not ready or running, on_click=guarded, args=(step,), **stretch)
    cols[3].button("Reset", key="reset", on_click=after_press(sess.reset), **stretch)


def restore_run_settings(sess: TrainingSession) -> None:
    """Put the controls back to the settings of the paused run."""
    values = sess.trainer.config.values()
    state.put_settings({spec.key: values[spec.key] for spec in CONTROLS if spec.key not in ("data", "bias")})
    if default_bias(sess.trainer.config.stage):
        state.put_settings({"bias": values["bias"]})
    state.LR_TOUCHED.set(True)


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
