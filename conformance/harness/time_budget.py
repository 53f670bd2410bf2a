"""`run --budget SECONDS`: a run of a slow implementation that ends in bounded time.

The units run in coverage-first order (planning.coverage_first: a cheap set reaching every
feature, activation, group, check and dtype on every implementation, then the rest cheapest
first). Before each unit starts, the clock is read: once SECONDS have passed since the run
began, no new unit starts; a unit already running finishes (its time is not cut short: use
--timeout for that). Each unit that did not start is recorded, check by check, as `skipped`
with the message REASON names (never as a pass), the run's settings say how many, and the
exit status is 1 unless --allow-incomplete is given (the CLI).
"""
from __future__ import annotations

import time
from typing import Callable


class Budget:
    """SECONDS of a clock (default: time.monotonic), counted from start()."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        if not 0 < seconds < float("inf"):
            raise ValueError(f"a budget is a positive number of seconds, got {seconds!r}")
        self.seconds, self.clock = seconds, clock
        self.started = None
        self.left_out = 0  # units not started because the budget was spent

    def start(self) -> None:
        self.started = self.clock()

    @property
    def spent(self) -> bool:
        if self.started is None:
            self.start()
        return self.clock() - self.started >= self.seconds

    @property
    def reason(self) -> str:
        return f"not run (--budget): the time budget of {self.seconds:g} s was spent before this unit could run"

    def note(self, units: int) -> str:
        """What the summary says about a run the budget cut short."""
        return (f"--budget {self.seconds:g} s spent: {self.left_out} of {units} units not run "
                "(recorded as skipped, with that reason)")
