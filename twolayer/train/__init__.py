"""The training engine: settings, the Trainer, the five stages, a run's history, weights, devices, a forward pass."""
