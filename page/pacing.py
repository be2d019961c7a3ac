"""When the training loop draws: the loss chart a few times a second, the slow panels one per frame in turn."""

from __future__ import annotations

import time
from collections.abc import Callable

SLICE_SECONDS = 0.1  # work between two chances to react to Pause: the page stays responsive
FRAME_SECONDS = 0.19  # a frame this often, on a fixed schedule: a little over five chart updates a second
HEAVY_SECONDS = 3.0  # histograms, norms and the rest change slowly: each redrawn every third second
MIN_SLICE_SECONDS = 0.02  # a slice never shorter: the slot pool and the lock have their own costs


class Pacer:
    """Decides how long each training slice runs and what each frame redraws; the clock is injectable for tests."""

    def __init__(
        self, panels: tuple[object, ...], clock: Callable[[], float] = time.perf_counter, starting: bool = False
    ) -> None:
        """`starting`: a run starts now: its first frame, the loss chart alone, comes after one short slice, and its
        slow panels follow one a frame at once, not HEAVY_SECONDS later."""
        self.panels = panels
        self.clock = clock
        self.frame = 0
        self._last_heavy = clock()
        # A pressed Train should show its run within a fraction of a second: the first frame is due at once.
        self._next_frame = self._last_heavy + (0 if starting else FRAME_SECONDS)
        self._loss_only = starting
        self._due: list[object] = list(panels) if starting else []  # slow panels still to redraw this round

    def slice_seconds(self) -> float:
        """The next slice's budget: it ends when the next frame is due, so the charts update at an even pace."""
        until_frame = self._next_frame - self.clock()
        return min(SLICE_SECONDS, max(MIN_SLICE_SECONDS, until_frame))

    def due(self, finished: bool) -> tuple[object, ...] | None:
        """None when no frame is due; else the slow panels to redraw with the loss chart in this frame."""
        now = self.clock()
        if now < self._next_frame and not finished:
            return None
        self.frame += 1
        # A frame drawn a little late (a slice ends after the epoch that crosses the time) does not put the next
        # ones off, so the pace holds; one late by a whole frame (a wait for a free slot) starts the schedule anew.
        self._next_frame += FRAME_SECONDS
        if self._next_frame <= now:
            self._next_frame = now + FRAME_SECONDS
        if now - self._last_heavy >= HEAVY_SECONDS:
            self._due, self._last_heavy = list(self.panels), now
        if self._loss_only:
            self._loss_only = False
            return ()
        # One slow panel a frame: the browser redraws two charts at a time, never eight at once, so the
        # loss chart keeps its pace. A finished run is redrawn whole by the script run after.
        return (self._due.pop(0),) if self._due and not finished else ()
