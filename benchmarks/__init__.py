"""Benchmarks: each prints ratios measured in one run (see docs/performance.md)."""
