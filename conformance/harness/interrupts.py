"""Ctrl-C and SIGTERM during a run: stop, keep the results so far, and write them.

Both signals raise `Interrupted` (a KeyboardInterrupt, so every existing handler of Ctrl-C
sees it) and remember which signal it was, for the exit status (128 + signal number).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Optional


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class InterruptState:
    """Which signal stopped the run, if any (pytest, for one, swallows the KeyboardInterrupt)."""

    def __init__(self):
        self.signum: Optional[int] = None
        self.deferring = False

    @contextmanager
    def deferred(self):
        """Within the block a signal is only noted, not raised: for writing the results, which
        must not be cut short after the work that produced them is done."""
        self.deferring = True
        try:
            yield self
        finally:
            self.deferring = False

    @property
    def interrupted(self) -> bool:
        return self.signum is not None

    def exit_status(self) -> int:
        return 128 + (self.signum or signal.SIGINT)


@contextmanager
def interruptible():
    """Within the block, SIGINT and SIGTERM raise Interrupted; the old handlers come back after."""
    state = InterruptState()
    if threading.current_thread() is not threading.main_thread():  # signals go to the main thread only
        yield state
        return

    def handler(signum, frame):
        if state.signum is None:
            state.signum = signum
        if not state.deferring:
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
