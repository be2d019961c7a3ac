"""What the browser tests and the benchmarks share: serve the app with `streamlit run` and drive it in Chromium."""
