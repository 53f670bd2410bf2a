"""Ctrl-C (SIGINT) and SIGTERM during a run: the results so far are written (results.json,
correctness.md, JUnit), marked as interrupted, and the exit status is 128 + the signal."""
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BAD = Path(__file__).with_name("bad_adapters.py")


def start_run(tmp_path, *extra):
    command = [sys.executable, "-c", "import sys; from lstm_conformance.cli import console_main; sys.exit(console_main())",
               "run", "--impl", f"{BAD}:SlowButFine", "-k", "random", "--dtype", "float32",
               "--out", str(tmp_path), "--junit", str(tmp_path / "junit.xml"), "-v", *extra]  # -v: a line per result
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "CI": "1"})


def wait_for_results(process, count: int, limit: float = 120.0) -> list[str]:
    """Lines of output until `count` PASS lines were printed (the run is under way). The pipe is
    read with os.read, not readline: lines that arrive together would otherwise wait in the
    file object's buffer while select() waits for more output."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    lines, pending, deadline = [], b"", time.monotonic() + limit
    while sum(line.startswith("PASS") for line in lines) < count:
        assert time.monotonic() < deadline, f"the run printed no results: {lines}"
        if selector.select(timeout=1.0):
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            assert chunk, f"the run ended early: {lines} {process.stderr.read()}"
            *complete, pending = (pending + chunk).split(b"\n")
            lines += [line.decode() + "\n" for line in complete]
    return lines


@pytest.mark.parametrize("signum, status, extra", [
    (signal.SIGINT, 130, []),
    (signal.SIGTERM, 143, ["--isolate"]),  # the workers are stopped too, and nothing hangs
])
def test_an_interrupted_run_writes_the_results_so_far(tmp_path, signum, status, extra):
    process = start_run(tmp_path, *extra)
    try:
        wait_for_results(process, 2)
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, err
    assert "interrupted: keeping the" in err and "Traceback" not in err
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["settings"]["interrupted"] is True
    assert sum(r["status"] == "pass" for r in document["records"]) >= 2
    assert (tmp_path / "correctness.md").is_file()
    assert "testsuite" in (tmp_path / "junit.xml").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no half-written files
