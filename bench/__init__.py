"""Benchmark scripts (results in docs/BENCHMARKS.md)."""
