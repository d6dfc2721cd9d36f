"""Tally's measured performance: `make bench` writes out/bench.json.

Every figure that is a speed is also given as a ratio against a baseline measured in
the same run on the same machine, so numbers from different machines compare.
"""
