"""Benchmarks, run as scripts (`make bench-etl`, `make bench-ingestion`).

A package, so that type checking sees `bench.etl` and `bench.ingestion` beside the `etl` and `ingestion` packages.
"""
