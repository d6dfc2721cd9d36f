"""The pytest glue: options, fixtures, hooks, Hypothesis profiles, Allure writing.

The only pytest-aware code of the harness besides the suites' helpers.
"""
