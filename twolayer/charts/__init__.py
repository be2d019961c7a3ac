"""Every Plotly figure of the app, plain values in and a figure out, each on the shared look of `base`."""
