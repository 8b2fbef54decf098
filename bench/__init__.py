"""Benchmarks: run each from the checkout as `python -m bench.<name>` (figures go into BENCHMARKS.md)."""
