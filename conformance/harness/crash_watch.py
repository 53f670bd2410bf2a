"""Name the case after a hard crash. A segfault or abort in an implementation kills the whole
process, and nothing in it can speak afterwards; a small watcher process can. It waits on a
pipe from the run: a run that ends says "done", a crashed one just vanishes, and the watcher
then reads the journal (results.Journal) and tells the user which case was running, where the
results before it are, and that --isolate turns a crash into one error. faulthandler prints
the kind of crash and the Python stack to stderr before the process dies."""
from __future__ import annotations

import faulthandler
import subprocess
import sys


def crash_message(journal_path) -> str:
    from ..report.results import read_journal  # here: the watcher of a run that ends well never needs it

    try:
        records, running = read_journal(journal_path)
    except OSError:
        records, running = [], None
    what = (f"case {running['case']!r} [{running['dtype']}] on {running['impl']}" if running
            else "a case it had not yet named")
    return (f"lstm-conformance: the run crashed while running {what}; the {len(records)} results before it "
            f"are in {journal_path}\n"
            "lstm-conformance: run with --isolate to run each implementation in a process of its own: a crash "
            "(even a segfault) is then one error result and the run goes on\n")


def watch(journal_path: str) -> None:
    """The watcher: wait for the run to end; speak only when it did not say "done"."""
    if sys.stdin.read().strip() != "done":
        sys.stderr.write(crash_message(journal_path))


class CrashWatch:
    """A context in which a hard crash of this process is reported by a watcher process."""

    def __init__(self, journal_path):
        self.journal_path = str(journal_path)
        self._watcher = None
        self._enabled_faulthandler = False

    def __enter__(self):
        # in a session of its own: Ctrl-C at the terminal goes to the run, not to the watcher
        self._watcher = subprocess.Popen([sys.executable, "-m", "lstm_conformance.harness.crash_watch", self.journal_path],
                                         stdin=subprocess.PIPE, text=True, start_new_session=True)
        if not faulthandler.is_enabled():
            try:
                faulthandler.enable(file=sys.stderr)
                self._enabled_faulthandler = True
            except (AttributeError, ValueError, OSError):  # stderr replaced by something without a file
                pass
        return self

    def __exit__(self, *exc):
        if self._enabled_faulthandler:
            faulthandler.disable()
        try:
            self._watcher.communicate("done", timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - the watcher only reads a pipe
            self._watcher.kill()
            self._watcher.wait()


if __name__ == "__main__":
    watch(sys.argv[1])
