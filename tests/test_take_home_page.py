"""The page's take-home downloads, driven headless: the program before any training, the run's page and animation
once it has trained, and no program for settings the core refused."""

from streamlit.testing.v1 import AppTest

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


def test_the_program_downloads_come_before_training_and_the_runs_after_a_step(open_app):
    at = open_app({"epochs": "5", "hidden": "8"})
    assert not at.exception and downloads(at) == PROGRAM
    at.button(key="step").click().run()
    assert not at.exception and downloads(at) == PROGRAM + RUN


def test_settings_the_core_refuses_offer_no_program(open_app):
    at = open_app({"hidden": "4096", "batch": "4096", "epochs": "100000"})  # over the work cap
    assert not at.exception and downloads(at) == []
