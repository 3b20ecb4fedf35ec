"""Benchmarks: ratios measured in one run against a floor or a baseline (never timed tests)."""
