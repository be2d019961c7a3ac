"""twolayer in the browser: pick a lecture stage, press Train, watch the two-layer network learn."""

from __future__ import annotations

import logging
import os
import time

# Imported here, once, before any session's thread: Plotly looks pandas up in sys.modules, and two
# sessions drawing their first chart at once could otherwise see it half-imported and crash.
import pandas  # noqa: F401
import streamlit as st
import torch
from threadpoolctl import threadpool_limits

from twolayer import charts
from twolayer.config import MANUAL_STAGES, STAGE_TITLES, STAGES, ConfigError, TrainConfig, default_learning_rate
from twolayer.data import DataError, load_upload
from twolayer.devices import DeviceError, available_devices
from twolayer.history import MAX_SAMPLE
from twolayer.session import SlotPool, TrainingSession, run_slice
from twolayer.stages import stage_source
from twolayer.urlstate import BATCH_RANGE, HIDDEN_SIZES, LEARNING_RATES, nearest, parse_query, to_query
from views import (
    PAGE_CSS,
    PRESENTER_CSS,
    compare_stages,
    diverged_box,
    downloads,
    histogram_panel,
    label_panels,
    loss_panel,
    norm_panel,
    plot,
    status_line,
)

log = logging.getLogger("twolayer")
THREADS = int(os.environ.get("TWOLAYER_THREADS", 1))  # torch and BLAS threads for every training
SLICE_SECONDS = 0.1  # work between two chances to react to Pause: the page stays responsive
FRAME_SECONDS = 0.2  # at most five chart updates a second: over four once a draw's own time is added
HEAVY_SECONDS = 3.0  # histograms, norms and the rest change slowly: each redrawn every third second
# Those slow panels, by placeholder: one chart each, but for the labelled data's group.
PANELS = ("w1 now", "w1 over time", "w2 now", "w2 over time", "gradient norms", "update ratios", "labels")
MIN_SLICE_SECONDS = 0.02  # a slice never shorter: the slot pool and the lock have their own costs
DATA_LABELS = {"random": "Random (lecture)", "digits": "Handwritten digits 8x8", "upload": "Upload a file"}
STAGE_SHORT = {
    "numpy": "NumPy by hand",
    "tensor": "Tensors by hand",
    "autograd": "Autograd",
    "nn": "torch.nn",
    "optim": "torch.optim",
}
OPTIMIZER_LABELS = {"adam": "Adam", "sgd": "SGD", "momentum": "SGD + momentum", "rmsprop": "RMSprop"}


@st.cache_resource
def server_resources() -> SlotPool:
    """Process-wide set-up, done once: thread count and the pool of training slots."""
    slots = int(os.environ.get("TWOLAYER_SLOTS", os.cpu_count() or 1))
    # One BLAS thread per training slot: spinning BLAS threads of several runs on few cores slow all of them.
    threadpool_limits(THREADS)
    return SlotPool(slots)


def pin_torch_threads() -> None:
    """Give this script run's thread the server's one torch thread count."""
    # The count is the same constant for every session, so no session changes another's results;
    # it is set in each script thread because OpenMP keeps it per thread, and a thread left at the
    # default would sum in a different order and drift from the same run trained elsewhere.
    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)


def load_link_settings() -> None:
    """On a session's first run, copy the URL's settings into the widgets, keeping warnings for bad values."""
    if "settings_loaded" in st.session_state:
        return
    query = {key: st.query_params.get_all(key) for key in st.query_params}
    settings, warnings = parse_query(query)
    devices = available_devices()
    if settings["device"] not in devices:
        warnings.append(f"The link asks for device '{settings['device']}', which this server lacks; using cpu.")
        settings["device"] = "cpu"
    if settings["hidden"] not in HIDDEN_SIZES:
        snapped = nearest(HIDDEN_SIZES, settings["hidden"])
        warnings.append(f"Hidden size {settings['hidden']} is not on the slider; using {snapped}.")
        settings["hidden"] = snapped
    st.session_state.lr_touched = settings["lr"] is not None
    lr = settings["lr"] or default_learning_rate(settings["stage"], settings["init"])
    if lr not in LEARNING_RATES:
        warnings.append(f"Learning rate {lr:g} is not on the slider; using {nearest(LEARNING_RATES, lr):g}.")
    settings["lr"] = nearest(LEARNING_RATES, lr)
    st.session_state.update({key: value for key, value in settings.items() if key not in ("present", "hide")})
    st.session_state.presenter = settings["present"]
    st.session_state.hidden_controls = set(settings["hide"]) if settings["present"] else set()
    st.session_state.link_warnings = warnings
    st.session_state.settings_loaded = True


def follow_stage_default() -> None:
    """A new stage or initialisation brings its lecture learning rate, unless the person chose one."""
    if not st.session_state.lr_touched:
        st.session_state.lr = default_learning_rate(st.session_state.stage, st.session_state.init)


def settings_ui() -> dict[str, object]:
    """The sidebar controls; returns their values."""
    hidden = st.session_state.hidden_controls
    with st.sidebar:
        st.header("Settings")
        if "stage" not in hidden:
            st.selectbox(
                "Stage",
                STAGES,
                key="stage",
                format_func=lambda s: f"{STAGES.index(s) + 1}. {STAGE_SHORT[s]}",
                on_change=follow_stage_default,
            )
        if "hidden" not in hidden:
            st.select_slider("Hidden size", HIDDEN_SIZES, key="hidden", help="Neurons in the hidden layer (H).")
        if "lr" not in hidden:
            st.select_slider(
                "Learning rate",
                LEARNING_RATES,
                key="lr",
                format_func=lambda v: f"{v:.0e}",
                on_change=lambda: st.session_state.update(lr_touched=True),
                help="Log scale, 1e-8 to 1. Each stage starts at the lecture's value.",
            )
        if "epochs" not in hidden:
            st.number_input("Epochs", min_value=1, max_value=100_000, step=100, key="epochs")
        if "device" not in hidden:
            st.selectbox("Device", available_devices(), key="device")
            if st.session_state.stage == "numpy":
                st.caption("The NumPy stage always runs on the CPU; the device applies to the PyTorch stages.")
        if "seed" not in hidden:
            st.number_input("Seed", min_value=0, max_value=2**32 - 1, step=1, key="seed")
        if "batch" not in hidden:
            st.number_input(
                "Batch size",
                min_value=BATCH_RANGE[0],
                max_value=BATCH_RANGE[1],
                step=16,
                key="batch",
                help="N: rows of random data, or the mini-batch size for real data.",
            )
        if st.session_state.stage == "optim" and "optimizer" not in hidden:
            st.selectbox("Optimizer", list(OPTIMIZER_LABELS), key="optimizer", format_func=OPTIMIZER_LABELS.get)
        if st.session_state.stage not in MANUAL_STAGES and "bias" not in hidden:
            st.checkbox("Biases", key="bias")
        if "init" not in hidden:
            st.radio(
                "Initialisation",
                ["lecture", "shared"],
                key="init",
                on_change=follow_stage_default,
                help="lecture: as each lecture stage does; shared: every stage starts from the same weights.",
            )
        if "dtype" not in hidden:
            st.radio("Precision", ["float32", "float64"], key="dtype", horizontal=True)
        if "data" not in hidden:
            st.selectbox("Data", list(DATA_LABELS), key="data", format_func=DATA_LABELS.get)
            if st.session_state.data == "upload":
                st.file_uploader(
                    "Data file(s)",
                    key="upload",
                    accept_multiple_files=True,
                    help=".npz with x, y; .csv with a 'label' column; or the four MNIST IDX files.",
                )
    return {
        key: st.session_state[key]
        for key in (
            "stage",
            "hidden",
            "lr",
            "epochs",
            "device",
            "seed",
            "batch",
            "optimizer",
            "bias",
            "init",
            "dtype",
            "data",
        )
    }


def make_config(settings: dict[str, object]) -> tuple[TrainConfig | None, str | None]:
    """The run's config from the controls, or the reason there is none."""
    try:
        config = TrainConfig(
            stage=settings["stage"],
            hidden_size=int(settings["hidden"]),
            learning_rate=float(settings["lr"]),
            epochs=int(settings["epochs"]),
            batch_size=int(settings["batch"]),
            seed=int(settings["seed"]),
            device=settings["device"],
            dtype=settings["dtype"],
            optimizer=settings["optimizer"],
            bias=bool(settings["bias"]) if settings["stage"] not in MANUAL_STAGES else False,
            init=settings["init"],
            data=upload_label() if settings["data"] == "upload" else settings["data"],
        )
    except ConfigError as exc:
        return None, str(exc)
    return config, None


def upload_label() -> str:
    """Names the uploaded files in the config, so a different upload means a different run."""
    files = st.session_state.get("upload") or []
    return "upload:" + ",".join(f.name for f in files) if files else "upload"


def uploaded_dataset():
    """The dataset from the uploaded files (parsed once per upload), or None and a message."""
    files = st.session_state.get("upload") or []
    if not files:
        return None, "Upload a .npz or .csv file, or the four MNIST IDX files, to train on your own data."
    ids = tuple(f.file_id for f in files)
    cached = st.session_state.get("upload_cache")
    if cached and cached[0] == ids:
        return cached[1], cached[2]
    try:
        if len(files) == 1:
            dataset, error = load_upload(files[0].name, files[0].getvalue()), None
        else:
            from twolayer.data import load_mnist_files

            dataset, error = load_mnist_files({f.name: f.getvalue() for f in files}), None
    except DataError as exc:
        dataset, error = None, str(exc)
    st.session_state.upload_cache = (ids, dataset, error)
    return dataset, error


def session() -> TrainingSession:
    return st.session_state.session


def guarded(action, *args) -> None:
    """Run a button's action; a bad setting or file becomes a message on the page, never a traceback."""
    try:
        action(*args)
    except (ConfigError, DataError, DeviceError) as exc:
        st.session_state.action_error = str(exc)
    except Exception:
        log.exception("action %s failed", getattr(action, "__name__", action))
        st.session_state.action_error = "Something went wrong on the server; the error was logged. Try Reset."


def buttons_ui(config: TrainConfig | None, data, blocked: bool) -> None:
    """Train, Pause, Step and Reset, acting through callbacks before the page redraws."""
    sess = session()
    cols = st.columns([1, 1, 1, 1, 4])
    running = sess.state == "running"
    cols[0].button(
        "Train",
        key="train",
        type="primary",
        disabled=config is None or blocked or running,
        on_click=guarded,
        args=(sess.train, config, data),
        use_container_width=True,
    )
    cols[1].button("Pause", key="pause", disabled=not running, on_click=sess.pause, use_container_width=True)
    cols[2].button(
        "Step",
        key="step",
        disabled=config is None or blocked or running,
        on_click=guarded,
        args=(sess.step, config, data),
        use_container_width=True,
    )
    cols[3].button("Reset", key="reset", on_click=sess.reset, use_container_width=True)


def restore_run_settings() -> None:
    """Put the controls back to the settings of the paused run."""
    config = session().trainer.config
    st.session_state.update(
        stage=config.stage,
        hidden=config.hidden_size,
        lr=config.learning_rate,
        epochs=config.epochs,
        batch=config.batch_size,
        seed=config.seed,
        device=config.device,
        optimizer=config.optimizer,
        init=config.init,
        dtype=config.dtype,
        lr_touched=True,
    )
    if config.stage not in MANUAL_STAGES:
        st.session_state.bias = config.bias


def confirmation_ui() -> None:
    st.warning(
        "You changed settings while a run is paused. Continuing would mix two sets of settings: "
        "start a new run with the new settings, or go back to the paused run's settings?"
    )
    left, right = st.columns(2)
    left.button("Reset and use the new settings", key="confirm_reset", on_click=session().reset)
    right.button("Back to the paused run's settings", key="confirm_restore", on_click=restore_run_settings)


def training_tab(config: TrainConfig | None, placeholders: dict) -> None:
    """The live view: status and loss beside the stage's code, then histograms, norms and label views."""
    sess = session()
    loss_col, code_col = st.columns(2, gap="large")
    with loss_col:
        placeholders["status"] = st.empty()
        placeholders["diverged"] = st.empty()
        st.toggle("Log-scale loss", value=True, key="log_loss")
        placeholders["loss"] = st.empty()
    with code_col:
        stage = sess.trainer.config.stage if sess.trainer is not None else (config.stage if config else "numpy")
        st.markdown(f"**The code that runs:** {STAGE_TITLES[stage]}")
        st.code(stage_source(stage), language="python")
    if sess.trainer is not None and sess.trainer.epoch > 0:
        downloads(sess)
    st.radio("Histograms of", ["weights", "gradients"], horizontal=True, key="hist_kind")
    st.caption(f"Counts of an evenly spaced sample of at most {MAX_SAMPLE:,} entries per array.")
    # Single-element placeholders: each redraw replaces their content instead of appending to it.
    # One placeholder per chart, so that each can be redrawn in a frame of its own.
    for column, name in zip(st.columns(2), ("w1", "w2"), strict=True):
        placeholders[f"{name} now"], placeholders[f"{name} over time"] = column.empty(), column.empty()
    left, right = st.columns(2)
    placeholders["gradient norms"], placeholders["update ratios"] = left.empty(), right.empty()
    placeholders["labels"] = st.empty()


def draw(placeholders: dict, frame: int, panels: tuple[str, ...] = ()) -> None:
    """Redraw the status and loss from the current run, and the slower-moving `panels` (some of PANELS)."""
    sess = session()
    with sess.lock:  # no slice of an overlapping script run may change the run mid-draw
        trainer = sess.trainer
        status_line(placeholders["status"], sess, trainer)
        loss_panel(placeholders["loss"], trainer, st.session_state.log_loss, key=f"loss-{frame}")
        if trainer is not None and trainer.status == "diverged":
            diverged_box(placeholders["diverged"], trainer)
        if trainer is None:
            return
        for panel in panels:
            key = f"{panel}-{frame}"
            if panel.startswith(("w1", "w2")):
                name, view = panel.split(" ", 1)
                histogram_panel(placeholders[panel], trainer, st.session_state.hist_kind, name, view, key=key)
            elif panel in ("gradient norms", "update ratios"):
                norm_panel(placeholders[panel], trainer, panel, key=key)
            elif trainer.data.is_classification:
                label_panels(placeholders[panel], trainer, key=key)


def history_tab() -> None:
    sess = session()
    if not sess.runs:
        st.info("Finished and reset runs of this browser session appear here, to overlay and compare.")
        return
    st.dataframe(
        [
            {
                "run": r.label,
                "status": r.status,
                "epochs": len(r.epochs) and r.epochs[-1] + 1,
                "final loss": r.losses[-1] if r.losses else None,
            }
            for r in sess.runs
        ],
        hide_index=True,
    )
    chosen = st.multiselect("Overlay runs", [r.label for r in sess.runs], default=[r.label for r in sess.runs])
    curves = {r.label: (r.epochs, r.losses) for r in sess.runs if r.label in chosen}
    plot(st, charts.compare_figure(curves, log_y=st.session_state.get("log_loss", True)), "history")
    st.button("Clear run history", key="clear_runs", on_click=sess.clear_runs)


def main() -> None:
    st.set_page_config(page_title="twolayer", page_icon="🧠", layout="wide")
    pool = server_resources()
    pin_torch_threads()
    st.session_state.setdefault("session", TrainingSession())
    load_link_settings()
    st.html(PAGE_CSS)
    if st.session_state.presenter:
        st.html(PRESENTER_CSS)
    st.markdown("## twolayer · watch a two-layer network learn")
    for warning in st.session_state.link_warnings:
        st.warning(warning)

    settings = settings_ui()
    config, config_error = make_config(settings)
    data = None
    if settings["data"] == "upload":
        data, data_error = uploaded_dataset()
        if data is None:  # nothing uploaded yet (a hint), or a refused file (an error)
            (st.error if st.session_state.get("upload") else st.info)(data_error)
            config = None
    if config_error:
        st.error(config_error)
    st.query_params.from_dict(
        to_query(
            {
                **settings,
                "lr": settings["lr"] if st.session_state.lr_touched else None,
                "present": st.session_state.presenter,
                "hide": tuple(st.session_state.hidden_controls),
            }
        )
    )
    sess = session()
    blocked = config is not None and sess.needs_confirmation(config)
    if blocked:
        sess.pause()
        confirmation_ui()
    buttons_ui(config, data, blocked)
    if error := st.session_state.pop("action_error", None):
        st.error(error)

    train_tab, compare_tab, runs_tab = st.tabs(["Training", "Compare stages", "Run history"])
    placeholders: dict = {}
    with train_tab:
        training_tab(config, placeholders)
    with compare_tab:
        compare_stages(config, data, pool)
    with runs_tab:
        history_tab()
    draw(placeholders, frame=0, panels=PANELS)

    try:
        trained = training_loop(sess, pool, placeholders)
    except Exception:
        # A bug must not leave the page spinning on "Running": stop, keep what was computed, say so.
        log.exception("training failed; config: %s", sess.trainer.config if sess.trainer else None)
        sess.pause()
        st.error(
            "Something went wrong on the server while training; the error was logged. "
            "Everything computed so far is kept. Press Reset to start afresh."
        )
        return
    if trained:
        st.rerun()  # draw the finished run once more with every view and the buttons' new state


def training_loop(sess: TrainingSession, pool: SlotPool, placeholders: dict) -> bool:
    """Train in short slices between draws until done or paused; True if any slice ran."""
    # Slices are short so a Pause click (which interrupts the script at its next st.* call) lands quickly.
    frame, last_draw, last_heavy = 0, time.perf_counter(), time.perf_counter()
    due: list[str] = []  # slow panels still to redraw in this round, one per frame
    trained = False
    while sess.playing and sess.trainer is not None and not sess.trainer.finished:
        trained = True
        # Each slice ends when the next frame is due, so the charts update at an even pace.
        budget = min(SLICE_SECONDS, max(MIN_SLICE_SECONDS, last_draw + FRAME_SECONDS - time.perf_counter()))
        if not run_slice(sess, pool, budget):
            placeholders["status"].info(
                f"Waiting for a free training slot: {pool.size} runs are training on this "
                "server right now. Yours continues as soon as one finishes."
            )
            continue
        now = time.perf_counter()
        finished = sess.trainer is None or sess.trainer.finished
        if now - last_draw >= FRAME_SECONDS or finished:
            frame += 1
            if now - last_heavy >= HEAVY_SECONDS:
                due, last_heavy = list(PANELS), now
            # One slow panel a frame: the browser redraws two charts at a time, never eight at once,
            # so the loss chart keeps its pace. The finished run is redrawn whole by the rerun after.
            draw(placeholders, frame, panels=(due.pop(0),) if due and not finished else ())
            last_draw = now
    return trained


main()
