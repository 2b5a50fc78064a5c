"""Benchmarks for lcw-emulator: run ``python -m benchmarks.run`` from the repository root."""
