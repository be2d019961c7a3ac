"""Every Plotly figure of the app: plain values in, a figure out."""
