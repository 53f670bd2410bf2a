"""A progress bar for long runs (tqdm), shown only to a person at a terminal.

In CI (the CI environment variable is set, as GitHub Actions, GitLab and most others do),
when stderr is not a terminal, or with LSTM_CONFORMANCE_PROGRESS=0, nothing is drawn and the
per-case lines are printed as before, so logs stay plain text.
"""
from __future__ import annotations

import os
import sys
from typing import Optional, TextIO

from tqdm import tqdm

from ..report.results import FAILED


def progress_wanted(stream: Optional[TextIO] = None, env=None) -> bool:
    stream = sys.stderr if stream is None else stream
    env = os.environ if env is None else env
    if env.get("LSTM_CONFORMANCE_PROGRESS", "").strip().lower() in ("0", "false", "no", "off"):
        return False
    if env.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """Counts case runs (case × dtype × implementation), however many records each gives."""

    def __init__(self, total: int, description: str = "cases", stream: Optional[TextIO] = None,
                 enabled: Optional[bool] = None, env=None, units: Optional[set] = None):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = progress_wanted(self.stream, env) if enabled is None else enabled
        self._units = units  # the (case, dtype, impl) counted in `total`; None: count every new one
        self._seen: set = set()
        self._bar = tqdm(total=total, desc=description, unit="case", file=self.stream, dynamic_ncols=True,
                         leave=False, disable=not self.enabled)
        self._counts: dict = {}

    def record(self, record: dict) -> None:
        """Advance once per new (case, dtype, impl); show how many failed so far."""
        key = (record.get("case"), record.get("dtype"), record.get("impl"))
        status = record.get("status")
        self._counts[status] = self._counts.get(status, 0) + 1
        if key in self._seen or (self._units is not None and key not in self._units):
            return
        self._seen.add(key)
        self._bar.update(1)
        bad = sum(self._counts.get(s, 0) for s in FAILED)
        self._bar.set_postfix_str(f"{record.get('impl')} | {bad} failed" if bad else str(record.get("impl")),
                                  refresh=False)

    def write(self, line: str) -> None:
        """Print a line above the bar (or plainly, when there is no bar)."""
        if self.enabled:
            self._bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
