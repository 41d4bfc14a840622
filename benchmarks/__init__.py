"""Benchmarks for the performance budgets (not part of the test suite).

    .venv/bin/python -m benchmarks            # the full run (a few minutes)
    .venv/bin/python -m benchmarks --quick    # a small version (seconds)

See benchmarks/README.md.
"""
