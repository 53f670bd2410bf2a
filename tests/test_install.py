"""Every `pip install` in the README resolves against the public package index alone.

pip runs with --isolated (this machine's pip configuration, local wheel folders and extra
indexes are ignored) and --dry-run --ignore-installed (nothing is installed, nothing already
installed counts). The commands run concurrently: each resolution takes tens of seconds of
network and pip (40–100 s wall, 20–25 s CPU each on a 2-core machine). So that they do not add
that to the suite's time, tests/conftest.py starts them in a background thread as soon as
collection is done (when this test is selected); the test waits for them. Under `pytest -n N`
the pytest-xdist controller starts them as soon as a worker has collected the test, and writes
their outcome to a file that the worker running the test reads.
"""
import atexit
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_INDEX = "https://pypi.org/simple"
RESOLUTIONS = pytest.StashKey()  # the Resolutions started at session start (tests/conftest.py)
REPORT_KEY = "readme_pip_report"  # workerinput key: the file of the controller's Resolutions (xdist)


def readme_pip_installs() -> list[list[str]]:
    """The arguments of each `pip install` in the README's shell blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```(?:bash|sh|shell|console)?\n(.*?)```", text, re.S):
        for part in re.split(r"&&|\n", block):
            part = part.strip().lstrip("$ ").strip()
            if re.match(r"(python3? -m )?pip install ", part):
                found.append(shlex.split(part.split("pip install", 1)[1]))
    return found


def test_the_readme_installs_are_found():
    installs = readme_pip_installs()
    assert len(installs) >= 2, "the README's two commands each install the project"
    assert any(args[-1] == "." for args in installs)
    assert any('.[test]' in args[-1] for args in installs)


def _index_reachable() -> bool:
    try:
        with urllib.request.urlopen(f"{PUBLIC_INDEX}/pip/", timeout=15) as response:
            return response.status == 200
    except OSError:
        return False


class Resolutions:
    """The README's installs resolved by pip, concurrently, in a background thread: `wait()`
    gives (index reachable, failures); `stop()` ends pip processes still running."""

    def __init__(self, report_to: Path | None = None):
        self._report_to = report_to  # where the outcome is written when done (xdist controller)
        self._lock = threading.Lock()
        self._processes: list[subprocess.Popen] = []
        self._stopped = False
        self.reachable, self.failures, self.error = None, [], None
        self._thread = threading.Thread(target=self._run, name="readme-pip-resolutions", daemon=True)
        self._thread.start()
        atexit.register(self.stop)  # a session that ends before the test (-x, Ctrl-C) leaves no pip behind

    def _run(self):
        try:
            self.reachable = _index_reachable()
            if self.reachable:
                self._resolve()
        except BaseException as err:  # noqa: BLE001 - reported by wait(), in the test
            self.error = err
        finally:
            if self._report_to is not None:
                outcome = {"reachable": self.reachable, "failures": self.failures,
                           "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}"}
                partial = self._report_to.with_suffix(".tmp")
                partial.write_text(json.dumps(outcome))
                os.replace(partial, self._report_to)  # the reader never sees half a file

    def _resolve(self):
        runs = []
        for args in readme_pip_installs():
            command = [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed",
                       "--index-url", PUBLIC_INDEX, "--disable-pip-version-check", "-q", *args]
            with self._lock:
                if self._stopped:
                    return
                process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)
                self._processes.append(process)
            runs.append((args, process))
        for args, process in runs:
            output, _ = process.communicate(timeout=900)
            if process.returncode != 0:
                lines = [l for l in output.splitlines() if "ERROR" in l or "conflict" in l or "depends" in l]
                self.failures.append(f"pip install {shlex.join(args)}:\n  "
                                     + "\n  ".join(lines[:8] or output.splitlines()[-8:]))

    def wait(self, timeout: float = 1000) -> tuple[bool, list[str]]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"pip still resolving after {timeout} s"
        if self.error is not None:
            raise self.error
        return self.reachable, self.failures

    def stop(self):
        with self._lock:
            self._stopped = True
            for process in self._processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def wait_for_report(path: Path, timeout: float = 1000) -> tuple[bool, list[str]]:
    """The outcome that Resolutions(report_to=path) in the pytest-xdist controller writes."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"pip still resolving after {timeout} s (in the pytest-xdist controller)"
        time.sleep(0.5)
    outcome = json.loads(path.read_text())
    if outcome["error"] is not None:
        raise RuntimeError(f"the README pip resolutions failed: {outcome['error']}")
    return outcome["reachable"], outcome["failures"]


def test_every_readme_install_resolves_against_the_public_index(request):
    report = getattr(request.config, "workerinput", {}).get(REPORT_KEY)
    if report is not None:  # started by the pytest-xdist controller (tests/conftest.py)
        reachable, failures = wait_for_report(Path(report))
    else:
        resolutions = request.config.stash.get(RESOLUTIONS, None) or Resolutions()
        try:
            reachable, failures = resolutions.wait()
        finally:
            resolutions.stop()
    if not reachable:
        pytest.skip(f"the public index ({PUBLIC_INDEX}) is unreachable from this machine")
    assert not failures, "README install commands that do not resolve on the public index:\n" + "\n".join(failures)
