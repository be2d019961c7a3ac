"""The "Draw" tab: draw a digit and ask the network that is training right now."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import streamlit as st
from PIL import Image, ImageOps

from page import state, widgets
from page.drawpad import CANVAS, drawpad
from page.plot import Words, plot
from twolayer.charts.draw import scores_figure, units_figure
from twolayer.data.drawing import prepare_with_caption
from twolayer.data.sources import holds_images
from twolayer.serve.session import TrainingSession
from twolayer.teach.describe_labels import scores_words, top_units_words
from twolayer.train.forward import scores, top_units
from twolayer.train.trainer import Trainer

TOP_UNITS = 8  # hidden units shown beside the scores
FRAME = 2  # grey frame around the input picture, in pixels
INPUT_PIXELS = 168  # the prepared input's side as shown, in CSS pixels: 21 per pixel of 8x8, 6 per pixel of 28x28
# Captions at body size, for the back of a lecture hall; scoped to this tab's container.
CSS = "<style>.st-key-draw-view [data-testid='stCaptionContainer'] { font-size: 1rem; }</style>"


def draw_tab(sess: TrainingSession) -> Callable[[], None] | None:
    """Draw the tab; returns a function the training loop calls each frame to refresh the scores, or None."""
    with sess.lock:
        trainer = sess.trainer
        shape = trainer.data.image_shape if trainer is not None else None
    if shape is None:
        _no_drawing(trainer)
        return None
    if shape[0] != shape[1]:
        st.info(f"The drawing pad is square, and this data's images are {shape[1]}x{shape[0]} pixels.")
        return None
    with st.container(key="draw-view"):
        st.html(CSS)
        return _drawing_view(sess, trainer, shape)


def _no_drawing(trainer: Trainer | None) -> None:
    """Why there is nothing to draw on: no image data, or no network yet."""
    if _chosen_data_has_images():
        # A hint of an empty tab, not an alert: plain text, so it is never mistaken for a problem.
        st.markdown(
            "Press **Train** or **Step** first: the network must exist before it can read a drawing. "
            "Then draw a digit here and watch its scores change as the network learns."
        )
        return
    which = "This run's data is" if trainer is not None else "The chosen data is"
    st.markdown(
        f"Drawing needs image data. {which} not made of images: choose **Data → Handwritten digits 8x8** "
        "in the sidebar (or upload images), then press Train or Step."
    )


def _chosen_data_has_images() -> bool:
    """Whether the sidebar's data, trained on next, holds images (scikit-learn's digits, MNIST, image uploads)."""
    config, data, _ = widgets.current_run()
    if data is not None:
        return data.image_shape is not None
    return config is not None and holds_images(config.data)


def _test_split(trainer: Trainer) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The images the button cycles through, their labels (None without), and what they are called."""
    data = trainer.data
    if data.has_test:
        return data.x_test, data.labels_test, "test image"
    return data.x_train, data.labels_train, "training image"


def _next_test_image() -> None:
    """The button's action: put the next image of the data on the pad."""
    shown = state.DRAW_NEXT.get()
    state.DRAW_SHOWN.set(shown)
    state.DRAW_NEXT.set(shown + 1)


def _drawing_view(sess: TrainingSession, trainer: Trainer, shape: tuple[int, int]) -> Callable[[], None]:
    side = shape[0]
    with sess.lock:
        x, _, kind = _test_split(trainer)
        shown = state.DRAW_SHOWN.get()
        index = None if shown is None else shown % len(x)
        image = None if index is None else np.clip(x[index], 0.0, 1.0).tolist()

    st.markdown(
        f"Draw one digit, large, on the pad: it is turned into the network's {side}x{side} input the way the "
        "data was made, and the network that is training right now scores it. Each stroke asks again."
    )
    # Fixed widths for the pad and the input, so neither is squeezed; on a narrow screen the scores wrap below.
    row = st.container(horizontal=True, gap="medium")
    pad_col = row.container(width=CANVAS + 10)
    input_col = row.container(width=INPUT_PIXELS + 2 * FRAME + 10)
    scores_col = row.container(width="stretch")
    with pad_col:
        drawing = drawpad(side, key=f"drawpad-{side}", image=image)
        if drawing is None and index is not None:
            # The pad was cleared: the test image is gone from it, and so is its line.
            state.DRAW_SHOWN.set(None)
            index = None
        # No tooltip: it would cover the pad's Clear button just above.
        st.button(f"Try a {kind}", key="draw_test_image", on_click=_next_test_image)
        test_line = st.empty()
    if drawing is None:
        x_in, caption = None, "the pad is empty"
    else:
        x_in, caption = prepare_with_caption(drawing, shape)
    with input_col:
        st.markdown("**The network's input**")
        if x_in is not None:
            picture = _input_picture(x_in)
            st.image(picture, width=picture.width, alt=f"The network's {side}x{side} input made from the drawing")
        st.caption(
            f"The drawing as the network reads it, {side}x{side} pixels, black = 1: {caption}."
            if x_in is not None
            else f"The drawing as the network reads it, {side}x{side} pixels: draw on the pad to see it."
        )
    with scores_col:
        scores_slot = st.empty()
    units_slot = st.empty()

    frames = itertools.count()

    def refresh() -> None:
        """Recompute the scores, top units and the test image's prediction from the current weights; redraw them."""
        with sess.lock:
            current = sess.trainer
            if current is None or current.data.image_shape != shape:
                return
            weights = current.weights()
            test = None
            if index is not None:
                images, labels, name = _test_split(current)
                i = index % len(images)
                label = None if labels is None else int(labels[i])
                test = (name, i, len(images), label, int(current.predict(images[i : i + 1]).argmax()))
        frame = next(frames)
        if test is not None:
            _test_text(test_line, *test)
        else:
            test_line.empty()
        if x_in is None:
            scores_slot.markdown(
                "**Scores**: draw a digit on the pad, and the network's ten scores for it appear here, "
                "with the digit it reads marked."
            )
            units_slot.empty()
            return
        _scores_panel(scores_slot, weights, x_in, key=f"draw-scores-{frame}")
        _units_panel(units_slot, weights, x_in, shape, key=f"draw-units-{frame}")

    refresh()
    return refresh


def _input_picture(x_in: np.ndarray) -> Image.Image:
    """The prepared input drawn as on the pad, dark ink on white, blown up with square pixels and framed."""
    grey = Image.fromarray(np.round(255 * (1.0 - x_in)).astype(np.uint8))  # 2-D uint8: greyscale
    scale = max(1, INPUT_PIXELS // max(grey.size))  # whole screen pixels per input pixel, so none blurs
    big = grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.NEAREST)
    return ImageOps.expand(big, border=FRAME, fill=160)


def _test_text(slot, kind: str, index: int, count: int, label: int | None, predicted: int) -> None:
    """One line under the pad: which image it shows, its label, and what the evaluation predicts for it."""
    said = "" if label is None else f"label **{label}** · "
    mark = "" if label is None else (" ✓" if label == predicted else " ✗")
    slot.markdown(f"On the pad: {kind} {index + 1} of {count} · {said}the evaluation predicts **{predicted}**{mark}")


def _scores_panel(slot, weights: dict[str, np.ndarray], x_in: np.ndarray, key: str) -> None:
    """The ten scores as bars, the predicted digit's highlighted, with a sentence saying what the network reads."""
    values = scores(weights, x_in)
    with slot.container():
        if not np.isfinite(values).all():
            st.warning("The weights are no longer finite numbers (the run diverged), so there are no scores.")
            return
        predicted = int(np.argmax(values))
        runner_up = int(np.argsort(-values, kind="stable")[1]) if len(values) > 1 else predicted
        st.markdown(
            f"The network **reads {predicted}** (score {values[predicted]:.2f}; "
            f"next best {runner_up} at {values[runner_up]:.2f})."
        )
        what = (
            f"the network's {len(values)} scores for the drawing, one bar per digit, the highest ({predicted}) "
            f"highlighted. Trained on one-hot targets, the right digit's score aims at 1. {scores_words(values)}"
        )
        table = {"digit": list(range(len(values))), "score": values.tolist()}
        plot(st, scores_figure(values, predicted), key, Words("Bar chart", what, lambda: table))


def _units_panel(slot, weights: dict[str, np.ndarray], x_in: np.ndarray, shape: tuple[int, int], key: str) -> None:
    """The hidden units adding most to the top score, each drawn as its incoming weights."""
    values = scores(weights, x_in)
    with slot.container():
        if not np.isfinite(values).all():
            return
        units = [(unit, c) for unit, c in top_units(weights, x_in, k=TOP_UNITS) if c > 0]
        if not units:
            st.markdown("No hidden unit adds to the top score: every unit is off for this drawing or pushes it down.")
            return
        predicted = int(np.argmax(values))
        what = (
            "each drawn as its incoming weights (a column of w1) in the input's shape: red where ink raises the unit, "
            "blue where ink lowers it. Under each: the unit's number and what it adds to the score (activation × its "
            f"weight to that output). {top_units_words(units, predicted)}"
        )
        table = {"unit": [unit for unit, _ in units], "adds to the score": [share for _, share in units]}
        words = Words("Hidden units chart", what, lambda: table)
        plot(st, units_figure(np.asarray(weights["w1"]), units, shape, predicted), key, words)
