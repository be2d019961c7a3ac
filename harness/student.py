"""A simulated student: a client that speaks Streamlit's WebSocket protocol as the page does, without a browser.

It opens the app from a link (the first script run), finds the Train button among the elements the server sends,
presses it (a script run with the button's trigger set, as the frontend sends it) and reads every frame until the
status line says the run is Done, timing each status line it receives. Hundreds fit in one process, on one core.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

STATUS = re.compile(r"\*\*(Ready|Running|Paused|Done|Diverged)\*\*")


@dataclass
class Seen:
    """What one student received: bytes, and each status line with the moment it came (time.monotonic()) and its
    state's word."""

    bytes: int = 0
    frames: int = 0
    statuses: list[tuple[float, str, str]] = field(default_factory=list)  # (moment, word, the whole line)
    opened: float | None = None  # the first script run finished: the page is shown
    pressed: float | None = None
    done: float | None = None

    def updates_per_second(self) -> float | None:
        """Status lines a second from the press to Done: the run's frames as the student sees them."""
        if self.pressed is None or self.done is None or self.done <= self.pressed:
            return None
        during = [t for t, word, _ in self.statuses if self.pressed <= t <= self.done and word == "Running"]
        return len(during) / (self.done - self.pressed)


def run(coroutine: Coroutine):
    """Run `coroutine` to its end in an event loop on a thread of its own, and return its result: callable where a
    loop already runs in this thread (Playwright's sync API keeps one in the tests' process)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def rerun(query: str, widgets: list[WidgetState] = ()) -> bytes:
    """A script run request for the page at `query`, with these widgets' states."""
    message = BackMsg()
    message.rerun_script.query_string = query
    message.rerun_script.widget_states.widgets.extend(widgets)
    return message.SerializeToString()


class Student:
    """One page of the app at `url` opened from the link `query`; `seen` fills as frames arrive."""

    def __init__(self, url: str, query: str) -> None:
        self.url, self.query = url, query
        self.seen = Seen()
        self._train: str | None = None  # the Train button's widget id
        self._opened = asyncio.Event()
        self._done = asyncio.Event()
        self._socket = None

    async def connect(self) -> None:
        """Open the WebSocket and ask for the first script run."""
        stream = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self._socket = await websockets.connect(stream, subprotocols=["streamlit"], origin=self.url, max_size=None)
        self._reader = asyncio.create_task(self._read())
        await self._socket.send(rerun(self.query))

    async def opened(self, timeout: float) -> None:
        """Wait until the page is shown with its Train button."""
        await asyncio.wait_for(self._opened.wait(), timeout)

    async def train(self, timeout: float) -> None:
        """Press Train and wait until the status line says Done (or Diverged)."""
        self.seen.pressed = time.monotonic()
        await self._socket.send(rerun(self.query, [WidgetState(id=self._train, trigger_value=True)]))
        await asyncio.wait_for(self._done.wait(), timeout)

    async def close(self) -> None:
        """Leave the page, as a closed tab does."""
        if self._socket is not None:
            await self._socket.close()
            self._reader.cancel()

    async def _read(self) -> None:
        async for raw in self._socket:
            self.seen.bytes += len(raw)
            self.seen.frames += 1
            message = ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                self._element(message.delta.new_element)
            elif kind == "script_finished" and self._train is not None and not self._opened.is_set():
                self.seen.opened = time.monotonic()
                self._opened.set()

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "button" and element.button.label == "Train":
            self._train = element.button.id
        elif kind == "markdown" and (found := STATUS.match(element.markdown.body)):
            now = time.monotonic()
            self.seen.statuses.append((now, found[1], element.markdown.body))
            if self.seen.pressed is not None and found[1] in ("Done", "Diverged"):
                self.seen.done = self.seen.done or now
                self._done.set()
