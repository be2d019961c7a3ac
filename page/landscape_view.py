"""The Landscape tab: why a setting works. The sharpness against the edge of stability, the loss on the line and the
plane the run crossed with the path it took, the rate finder, and the hidden units over the run."""

from __future__ import annotations

import copy

import streamlit as st

from page import state
from page.plot import plot
from page.state_types import LandscapeViews
from twolayer.charts.curves import rate_finder_figure
from twolayer.charts.landscape import hidden_map_figure, line_figure, plane_figure, sharpness_figure
from twolayer.data.dataset import Dataset
from twolayer.serve.links import nearest
from twolayer.serve.session import SlotPool, TrainingSession
from twolayer.teach.hidden_map import hidden_map
from twolayer.teach.landscape import landscape
from twolayer.teach.rate_finder import find_rate
from twolayer.teach.why import (
    hidden_words,
    line_words,
    plane_words,
    rate_words,
    sharpness_cost_words,
    sharpness_spacing,
    sharpness_words,
)
from twolayer.train import curvature
from twolayer.train.config import BY_KEY, TrainConfig
from twolayer.train.probe import make_probe
from twolayer.train.trainer import Trainer

INTRO = (
    "Why a learning rate trains or blows up. Gradient descent is stable only while the loss's sharpness λmax (the "
    "largest curvature of the loss, the top eigenvalue of its Hessian) stays below 2/lr; training pushes it up to "
    "about that edge. The loss around the weights the run reached, and the path it took there, show the same by sight."
)


def landscape_tab(sess: TrainingSession, config: TrainConfig | None, data: Dataset | None, pool: SlotPool) -> None:
    """The Landscape tab: the run's views when it is paused or done, then the rate finder for the settings shown."""
    st.markdown(INTRO)
    trainer = sess.trainer
    if trainer is None or not trainer.started:
        st.info("Train a run (or take a Step), then pause it or let it finish: this tab draws the loss around it.")
    elif sess.playing:
        st.info("The landscape is drawn when the run is paused or done: press **Pause**, or wait for Done.")
    else:
        with sess.lock:  # a slice of an overlapping script run must not move the weights mid-view
            views = _views(trainer)
        _draw(views, trainer)
    _rate_finder(config, data, pool)


def sharpness_chart(where, trainer: Trainer, key: str, start: float | None = None) -> bool:
    """The run's recorded sharpness against its edge, with its sentence; False when nothing was recorded (and no
    `start` value given)."""
    epochs, values = trainer.sharpness.column("epoch"), trainer.sharpness.column("sharpness")
    if not epochs and start is None:
        return False
    if not epochs:
        epochs, values = [0], [start]
    edge, lr = curvature.edge(trainer.config), trainer.config.learning_rate
    quantity = "λmax of P⁻¹H" if edge.quantity is curvature.Quantity.ADAM_PRECONDITIONED else "λmax"
    figure = sharpness_figure(epochs, values, edge.threshold(lr), edge.rule, quantity=quantity)
    words = sharpness_words([int(e) for e in epochs], values, edge, lr)
    if len(trainer.sharpness):
        cost = (len(trainer.sharpness), trainer.sharpness_seconds, trainer.train_seconds)
        words += " " + sharpness_cost_words(*cost, sharpness_spacing(trainer.config))
    plot(where, figure, key, "Sharpness chart: " + words)
    return True


def _views(trainer: Trainer) -> LandscapeViews:
    """The landscape, the start's sharpness and the hidden units of the run as it stands, made once per epoch."""
    key = (id(trainer), trainer.epoch)
    cached = state.LANDSCAPE.get()
    if cached is not None and cached.key == key:
        return cached
    probe = make_probe(trainer.config, trainer.data)
    # The path the run kept ends at its last record: the weights it stands at now end the copy drawn here.
    path = copy.deepcopy(trainer.path)
    path.record(trainer.epoch, trainer.weights())
    start = _sharpness_at_start(trainer.config, trainer.data, trainer.initial_weights)
    hidden = hidden_map(path, probe, trainer.data) if trainer.data.is_classification else None
    views = LandscapeViews(key, landscape(path, probe), start, hidden)
    state.LANDSCAPE.set(views)
    return views


def _sharpness_at_start(config: TrainConfig, data: Dataset | None, weights: dict | None = None) -> curvature.Sharpness:
    """The sharpness a run of `config` has at its start (`weights`, else drawn from its seed), against its edge."""
    fresh = Trainer(config, data=data, weights=weights)
    return curvature.measure(fresh, make_probe(config, fresh.data))


def _draw(views: LandscapeViews, trainer: Trainer) -> None:
    """The sharpness, the line and the plane side by side, and the hidden units with their epoch slider."""
    sharpness_chart(st, trainer, "landscape-sharpness", start=views.start.value)
    if not len(trainer.sharpness):
        st.caption("Tick **Sharpness while training** in the sidebar to follow the sharpness through a run.")
    view = views.landscape
    left, right = st.columns(2)
    plot(left, line_figure(view.line_t, view.line_loss), "landscape-line", "Line chart: " + line_words(view))
    plane = plane_figure(view.plane_a, view.plane_b, view.plane_loss, view.path_a, view.path_b, view.path_epochs)
    plot(right, plane, "landscape-plane", "Plane chart: " + plane_words(view))
    if views.hidden is None:
        st.caption("The hidden units by digit need labelled data (digits, the MNIST sample or a labelled file).")
        return
    hidden = views.hidden
    if state.HIDDEN_EPOCH.get() not in hidden.epochs:
        state.HIDDEN_EPOCH.set(hidden.epochs[-1])
    epoch = st.select_slider("Epoch of the hidden units", hidden.epochs, key=state.HIDDEN_EPOCH.name)
    index = hidden.epochs.index(epoch)
    figure = hidden_map_figure(hidden.points[index], hidden.labels, epoch)
    plot(st, figure, "landscape-hidden", "Hidden units chart: " + hidden_words(hidden, index))


def _rate_finder(config: TrainConfig | None, data: Dataset | None, pool: SlotPool) -> None:
    """The learning-rate range test from the start of the settings on screen, its chart and its suggestion."""
    st.markdown("**Rate finder**: from the start of these settings, one step at each of a rising series of rates.")
    if st.button("Find a learning rate", key="find_rate", disabled=config is None):
        with st.spinner("Trying rates..."), pool.slot(timeout=60) as acquired:
            if not acquired:
                st.warning("The server is busy training other runs; try again in a moment.")
            else:
                start = _sharpness_at_start(config, data)
                state.RATE_FINDING.set((config, find_rate(config, data), start))
    kept = state.RATE_FINDING.get()
    if kept is None:
        return
    settings, found, start = kept
    figure = rate_finder_figure(
        found.lrs,
        found.losses,
        found.smoothed,
        suggested=found.suggested,
        diverged_at=found.diverged_at,
        edge=start.stable_rate,
        edge_rule=f"{start.edge.factor:g}/λ0",
    )
    plot(st, figure, "landscape-rates", "Rate finder chart: " + rate_words(found, start))
    if found.suggested is not None and settings == config:
        stops = BY_KEY["lr"].control.stops
        st.button(
            f"Use {nearest(stops, found.suggested):g} (the slider's nearest stop to the suggestion)",
            key="use_found_rate",
            on_click=_use_rate,
            args=(nearest(stops, found.suggested),),
        )


def _use_rate(rate: float) -> None:
    state.put_settings({"lr": rate})
    state.LR_TOUCHED.set(True)
