"""Benchmarks of the training engine against bare lecture loops and the machine's matmul peak."""
