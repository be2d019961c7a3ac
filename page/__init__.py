"""The Streamlit page's parts: widgets, panels and frame pacing (the only Streamlit code besides app.py)."""
