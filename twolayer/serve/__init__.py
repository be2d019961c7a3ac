"""Serving many viewers: one viewer's runs, the pool of training slots, the run store, and links to settings."""
