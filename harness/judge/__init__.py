"""Judgement without I/O: clauses and limits, verdicts, light traces, timelines and the
builders of measurements.

Pure functions over observations and statements: nothing here opens a port or a file, so
a lab's evidence can be judged again anywhere. Imports only `harness.spec`, `harness.errors`
and the wire's message types.
"""
