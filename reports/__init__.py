"""Evidence a certification body can reproduce: reports, evidence bundles and re-runs.

Everything here reads a finished (or interrupted) run directory written by the plugin
(`summary.json`, `manifest.json`, the files under `tests/`) and never talks to a bench,
except `rerun`, which starts pytest again. Device-supplied strings stay data: escaped in
HTML and properties files, never used as paths.
"""

from __future__ import annotations
