"""The Training tab's slow panels: each has its drawing function."""

from page import state
from page.panels import Panel
from page.training_view import PANEL_DRAWERS


def test_every_panel_has_its_drawing():
    missing = set(Panel) - set(PANEL_DRAWERS)
    assert not missing, f"panels the Training tab would never draw: {sorted(panel.value for panel in missing)}"


def loss_tables(at) -> list:
    """The tables on the page that hold a loss curve."""
    return [frame.value for frame in at.dataframe if "training loss" in frame.value.columns]


def test_a_live_charts_table_is_built_once_opened_and_holds_the_runs_history(open_app):
    at = open_app({"epochs": "5"})
    at.button(key="train").click().run()
    assert loss_tables(at) == [], "the loss chart's table, closed, is not sent"
    at.session_state["tl-table-loss"] = True  # "Show as table" opened
    at.run()
    [table] = loss_tables(at)
    epochs, losses = at.session_state[state.SESSION.name].trainer.loss_curve()
    assert table["epoch"].tolist() == epochs.tolist() and table["training loss"].tolist() == losses.tolist()
