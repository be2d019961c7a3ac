"""The Training tab's slow panels: each has its drawing function."""

from page.panels import Panel
from page.training_view import PANEL_DRAWERS


def test_every_panel_has_its_drawing():
    missing = set(Panel) - set(PANEL_DRAWERS)
    assert not missing, f"panels the Training tab would never draw: {sorted(panel.value for panel in missing)}"
