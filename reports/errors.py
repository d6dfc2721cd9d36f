"""The one error the report commands raise: a problem the user can fix, said in one line."""

from __future__ import annotations


class ReportError(Exception):
    """A run directory, key or tool the command needs is missing or unusable."""
