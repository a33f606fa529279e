"""Benchmarks against a real local control plane (run each with `python -m bench.<name>`)."""
