"""What the browser tests and the benchmarks share: serve the app (`python -m page.launch`) and drive it in Chromium."""
