"""Every value the page keeps in st.session_state, each named once with its type and default.

The page's other modules read and write session state only through these keys. A setting's control is a widget
keyed by the setting's own key (`twolayer.train.config.SETTINGS`: "stage", "lr", ...), read through `setting`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import streamlit as st

from page.panels import HistogramKind

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from page.state_types import LandscapeViews, Recorded, SweepRun
    from twolayer.data.dataset import Dataset
    from twolayer.serve.lecture import Lecture
    from twolayer.serve.session import TrainingSession
    from twolayer.teach.advice import Advice
    from twolayer.teach.compare import Comparison
    from twolayer.teach.rate_finder import RateFinding
    from twolayer.train.config import TrainConfig
    from twolayer.train.curvature import Sharpness
    from twolayer.train.trainer import Trainer

T = TypeVar("T")


@dataclass(frozen=True)
class Key(Generic[T]):
    """One value of the session state: its key there, and what it reads as until it is set."""

    name: str
    default: T

    def get(self) -> T:
        """The value now, or the default."""
        return st.session_state.get(self.name, self.default)

    def set(self, value: T) -> None:
        """Keep `value` for this and later script runs."""
        st.session_state[self.name] = value

    def pop(self) -> T:
        """The value now, or the default, and forget it."""
        return st.session_state.pop(self.name, self.default)


def setting(key: str) -> object:
    """The value of the control of setting `key` now."""
    return st.session_state[key]


def put_settings(values: Mapping[str, object]) -> None:
    """Set controls to `values`, by setting key: before the controls are drawn, or in a callback."""
    st.session_state.update(values)


# The browser and its runs (persist.py).
BROWSER_ID: Key[str | None] = Key("browser_id", None)  # from the browser's cookie, or new
SET_COOKIE: Key[bool] = Key("set_cookie", False)  # the browser came without a valid id: the page sets the cookie
SESSION: Key[TrainingSession | None] = Key("session", None)  # the page's runs, made on its first script run
INTERRUPTED_NOTE: Key[str | None] = Key("interrupted_note", None)  # the message about runs cut short
# The run resumed from its checkpoint, and the message about it.
RESUMED_NOTE: Key[tuple[Trainer, str] | None] = Key("resumed_note", None)
LIVE_REPORTED: Key[float] = Key("live_reported", 0.0)  # monotonic time the playing run last saved its progress
CHECKPOINT_SAVED: Key[float] = Key("checkpoint_saved", 0.0)  # monotonic time the playing run last saved its checkpoint

# The link and the controls (widgets.py).
SETTINGS_LOADED: Key[bool] = Key("settings_loaded", False)  # the link's settings went into the controls
PRESENTER: Key[bool] = Key("presenter", False)  # presenter mode, from the link
HIDDEN_CONTROLS: Key[Set[str]] = Key("hidden_controls", frozenset())  # controls presenter mode hides, from the link
LINK_WARNINGS: Key[Sequence[str]] = Key("link_warnings", ())  # what the link asked for that could not be used
LR_TOUCHED: Key[bool] = Key("lr_touched", False)  # the learning rate was chosen, not a stage's default
UPLOAD: Key[list[UploadedFile] | None] = Key("upload", None)  # the file uploader's widget: the uploaded files
# The upload last read: its files' ids, and the dataset in them or what is wrong with them.
UPLOAD_CACHE: Key[tuple[tuple[str, ...], Dataset | None, str | None] | None] = Key("upload_cache", None)
TRAIN_PRESSED_AT: Key[float | None] = Key("train_pressed_at", None)  # monotonic time Train was last pressed
ACTION_ERROR: Key[str | None] = Key("action_error", None)  # why a button's action failed, set in its callback

# The Training, Compare stages and Run history tabs (training_view.py, compare_view.py, history_view.py).
LOG_LOSS: Key[bool] = Key("log_loss", True)  # the "Log-scale loss" toggle's widget
CHART_CODE_SENT: Key[bool] = Key("live_chart_code_sent", False)  # page/live_chart.js went to this session's page
HIST_KIND: Key[HistogramKind] = Key("hist_kind", HistogramKind.WEIGHTS)  # the "Histograms of" radio's widget
ADVICE: Key[tuple[TrainConfig, Advice | None] | None] = Key("advice", None)  # settings on screen, their advice
COMPARISON: Key[Comparison | None] = Key("comparison", None)  # the last comparison of the stages

# The Inside a step tab (step_view.py).
STEP_RECORDED: Key[Recorded | None] = Key("step_view_recorded", None)  # the one recording kept: the run's next step
STEP_LINE: Key[int] = Key("step_view_line", 0)  # the highlighted line's index, kept across reruns and new steps
STEP_SLIDER: Key[int] = Key("step_view_slider", 1)  # the line slider's widget: STEP_LINE + 1
STEP_PARAM: Key[str | None] = Key("step_view_param", None)  # the parameter selectbox's widget (optimizer lines)

# The Sweep tab (sweep_view.py).
SWEEP_LINK: Key[str] = Key("sweep_link", "")  # the sweep a link handed out (KEY:V1,V2), else ""
SWEEP_KEY: Key[str | None] = Key("sweep_key", None)  # the "Setting to vary" selectbox's widget
SWEEP_VALUES: Key[str | None] = Key("sweep_values", None)  # the values text input's widget
SWEEP_RUN: Key[SweepRun | None] = Key("sweep_run", None)  # the session's sweep, once one started
SWEEP_ERROR: Key[str | None] = Key("sweep_error", None)  # why the sweep could not start, set in its callback

# The Draw tab (draw_view.py).
DRAW_SHOWN: Key[int | None] = Key("draw_test_shown", None)  # the data image on the pad, if any
DRAW_NEXT: Key[int] = Key("draw_test_next", 0)  # the data image the "Try a ..." button brings next

# The Landscape tab (landscape_view.py).
LANDSCAPE: Key[LandscapeViews | None] = Key(
    "landscape", None
)  # the views of the run shown, at the epoch they were made
# The settings the rate finder ran for, what it found, and the sharpness at their start (the edge 2/λ0, ...).
RATE_FINDING: Key[tuple[TrainConfig, RateFinding, Sharpness] | None] = Key("rate_finding", None)
HIDDEN_EPOCH: Key[int | None] = Key("hidden_epoch", None)  # the hidden units' epoch slider's widget

# The class board and naming one's runs on it (board_view.py).
BOARD_X: Key[str | None] = Key("board_x", None)  # the "Across: a setting" selectbox's widget
BOARD_Y: Key[str | None] = Key("board_y", None)  # the "Up: a result" selectbox's widget
BOARD_STAGES: Key[list[str]] = Key("board_stages", [])  # the stage filter's widget: none chosen shows every stage
BOARD_DATA: Key[list[str]] = Key("board_data", [])  # the data filter's widget: none chosen shows all data
LECTURER_KEY_GIVEN: Key[str] = Key("lecturer_key_given", "")  # the lecturer key field's widget, emptied once tried
ROUND_NOTE: Key[str | None] = Key("round_note", None)  # what became of a new round, set in its button's callback
BOARD_NAME: Key[str] = Key("board_name_text", "")  # the field naming one's own run on the board

# Leading a class and following its lecturer (lead_view.py).
FOLLOWING: Key[bool | None] = Key("following", None)  # the page follows the lecturer; None until the link is read
LEAD_PAGE: Key[bool] = Key("lead_page", False)  # the page was opened to lead (?lead=1)
LECTURE: Key[Lecture | None] = Key("lecture", None)  # this page's lead, once it gave the key
LEAD_KEY_GIVEN: Key[str] = Key("lead_key_given", "")  # the Lecturer key field's widget, emptied once tried
LEAD_NOTE: Key[str | None] = Key("lead_note", None)  # why the page does not lead (a wrong key, a lead taken over)
LEAD_COOKIE_TO_SET: Key[str | None] = Key("lead_cookie_to_set", None)  # the lead cookie, once the key was given
# The lecturer's loss curve (epochs, losses) when the page's run is one taken over from it: a reference line.
LEAD_REFERENCE: Key[tuple[list[float], list[float]] | None] = Key("lead_reference", None)
TAB: Key[str | None] = Key("tab", None)  # the tabs' widget on a leading page, which follows the tab shown
