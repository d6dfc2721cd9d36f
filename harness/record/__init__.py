"""The run's record: run directory and manifest, ledger, per-test evidence, plots, the run itself.

Written as the run goes so a crash keeps what was finished.
"""
