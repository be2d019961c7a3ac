"""The training engine: settings, the Trainer, the five stages, a run's history, starting weights and devices."""
