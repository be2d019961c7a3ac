"""What a learner takes home from the page: the program of the run as set, as a script or a notebook (also before
any training), and a trained run as one page (.html) or as an animation for slides (.gif)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from twolayer.teach.program_file import MIME_TYPES, PROGRAM_FORMATS, program_file
from twolayer.train.config import TrainConfig
from twolayer.train.export import file_stem
from twolayer.train.trainer import Trainer

PROGRAM_LABELS = {".py": "Program (.py)", ".ipynb": "Notebook (.ipynb)"}


def program_downloads(config: TrainConfig, rows: int) -> None:
    """The code panel's program as a script and as a notebook, each built only when clicked."""
    stem = file_stem(config)
    for column, suffix in zip(st.columns(2), PROGRAM_FORMATS, strict=True):
        name = f"{stem}{suffix}"
        column.download_button(
            PROGRAM_LABELS[suffix],
            lambda name=name: program_file(config, rows, name),
            name,
            MIME_TYPES[suffix],
            key=f"download_{suffix[1:]}",
            on_click="ignore",
            help="The whole program above with this run's values: it runs on its own and prints every epoch's loss.",
        )


def run_downloads(trainer: Trainer) -> list[tuple[str, str, str, Callable[[], str | bytes]]]:
    """The run as one page and as an animation: (label, file name, MIME type, a function building the content)."""
    # imported when asked: the page's first paint needs neither Plotly's whole script nor matplotlib
    from twolayer.teach.animation import animation_gif
    from twolayer.teach.report import report_html

    stem = file_stem(trainer)
    return [
        ("Download this run as a page", f"{stem}.html", "text/html", lambda: report_html(trainer)),
        ("Animation for slides (.gif)", f"{stem}.gif", "image/gif", lambda: animation_gif(trainer)),
    ]
