"""Benchmarks: run one with `.venv/bin/python -m bench.<name>`; results go to docs/benchmarks.md."""
