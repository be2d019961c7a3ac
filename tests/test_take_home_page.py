"""The page's take-home downloads, driven headless: the program before any training, the run's page and animation
once it has trained, and no program for settings the core refused."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PROGRAM = ["Program (.py)", "Notebook (.ipynb)"]
RUN = [
    "History (CSV)",
    "History (JSON)",
    "Weights (.npz)",
    "Download this run as a page",
    "Animation for slides (.gif)",
]


def downloads(at: AppTest) -> list[str]:
    return [element.proto.label for element in at.get("download_button")]


def test_the_program_downloads_come_before_training_and_the_runs_after_a_step():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"epochs": "5", "hidden": "8"})
    at.run()
    assert not at.exception and downloads(at) == PROGRAM
    at.button(key="step").click().run()
    assert not at.exception and downloads(at) == PROGRAM + RUN


def test_settings_the_core_refuses_offer_no_program():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"hidden": "4096", "batch": "4096", "epochs": "100000"})  # over the work cap
    at.run()
    assert not at.exception and downloads(at) == []
