"""Serve app.py with its heavy modules imported before the first page: `python -m page.launch [streamlit options]`.

`streamlit run app.py` imports the app's modules on the first page's script run: torch, pandas, Plotly and the
page and core modules take seconds, and the first student to open a fresh server waits for them. Here they are
imported first, in this process, each stage is run once (`warm_up`), and then Streamlit serves app.py from it:
`streamlit run`'s options follow. Served by `streamlit run app.py`, the app's first script run in a process starts
the same work in a thread of its own (`preload_in_background`), so that every later page is as quick either way.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import pkgutil
import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
THREADS = int(os.environ.get("TWOLAYER_THREADS", 1))  # torch and BLAS threads for every training (app.py's too)
PRELOADED = threading.Event()  # set once `preload` has run in this process
_STARTED = threading.Event()  # set once `preload` has started in this process
_STARTING = threading.Lock()  # two sessions' first script runs at once start it once


def preload() -> list[str]:
    """Import what app.py imports: torch, pandas, threadpoolctl and every module of the page package (and through
    them the core and Plotly), warm up every stage and freeze the objects made so far; the page modules' names.
    tests/test_launch.py checks that app.py and first runs import nothing more."""
    _STARTED.set()
    import pandas  # noqa: F401  (before Plotly, which looks pandas up in sys.modules)
    import threadpoolctl  # noqa: F401
    import torch  # noqa: F401
    from streamlit.runtime.caching import cache_data_api

    import page
    from twolayer.train.trainer import warm_up

    # A cache declared outside a running server checks its settings against a stand-in store and says so; the
    # server's own store is used when the cache is first called, so the warning would only mislead.
    caching = logging.getLogger(cache_data_api.__name__)
    level = caching.level
    caching.setLevel(logging.ERROR)
    try:
        names = [f"page.{info.name}" for info in pkgutil.iter_modules(page.__path__) if info.name != "launch"]
        for name in names:
            importlib.import_module(name)
    finally:
        caching.setLevel(level)
    # A stage's first run pays for torch's lazy imports (about a second for Adam), the bundled digits for SciPy's
    # and scikit-learn's: paid here, before the server takes its first page, not on a student's first click.
    warm_up(THREADS)
    # Streamlit collects garbage in full after every script run, holding the GIL: over the half a million objects
    # made so far, that took 0.1-0.25 s a run, in which no session's messages went out. They live as long as the
    # server, so they are moved out of the collector's sight (the warm-up's garbage collected first, not kept for
    # good); what script runs make is still collected.
    gc.collect()
    gc.freeze()
    PRELOADED.set()
    return names


def preload_in_background() -> None:
    """Start `preload` in a daemon thread unless this process has started it: the launcher's work, for a server
    started by `streamlit run app.py`, done beside the first page rather than in its way (PRELOADED says when)."""
    with _STARTING:
        if _STARTED.is_set():
            return
        _STARTED.set()
    threading.Thread(target=preload, name="twolayer-preload", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Preload, then run `streamlit run app.py` with `argv` in this process."""
    preload()
    from streamlit.web import cli

    cli.main(["run", str(APP), *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
