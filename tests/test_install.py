"""Every `pip install` in the README resolves against the public package index alone.

pip runs with --isolated (this machine's pip configuration, local wheel folders and extra
indexes are ignored) and --dry-run --ignore-installed (nothing is installed, nothing already
installed counts). Each resolution takes tens of seconds of network and pip (40–100 s wall,
20–25 s CPU each on a 2-core machine, about 2.8 GB of wheels downloaded), so the test that runs
them is marked `network` and left out of the default run: `python -m pytest -m network`
(.ci/run runs it after the README's test command). The commands run concurrently.
"""
import atexit
import re
import shlex
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_INDEX = "https://pypi.org/simple"


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

    def __init__(self):
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


@pytest.mark.network
def test_every_readme_install_resolves_against_the_public_index():
    resolutions = Resolutions()
    try:
        reachable, failures = resolutions.wait()
    finally:
        resolutions.stop()
    if not reachable:
        pytest.skip(f"the public index ({PUBLIC_INDEX}) is unreachable from this machine")
    assert not failures, "README install commands that do not resolve on the public index:\n" + "\n".join(failures)
