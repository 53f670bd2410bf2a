"""A crash of the implementation without --isolate (segfault, abort) kills the process; what it
leaves: results.jsonl with every record before the crash, and on stderr the case that was
running and the advice to use --isolate."""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_conformance.cli import main

BAD = Path(__file__).with_name("bad_adapters.py")
T1 = "random/t1b1i1h1/bias/zero-state"


def run_cli(*argv):
    return subprocess.run([sys.executable, "-c", "import sys; from lstm_conformance.cli import console_main; sys.exit(console_main())",
                           *argv], capture_output=True, text=True, timeout=300, env={**os.environ, "CI": "1"})


@pytest.mark.parametrize("adapter, signum, out", [
    ("SegfaultsOnT1", signal.SIGSEGV, False),  # without --out: the journal is a temporary file
    ("AbortsOnT1", signal.SIGABRT, True),  # with --out: OUT/results.jsonl, and no results.json
])
def test_a_crash_leaves_the_records_before_it_and_names_the_case(tmp_path, adapter, signum, out):
    done = run_cli("run", "--impl", "numpy", "--impl", f"{BAD}:{adapter}", "-k", T1, "--dtype", "float32",
                   *(["--out", str(tmp_path)] if out else []))
    assert done.returncode == -signum, done.stderr
    named = re.search(r"results before it are in (\S+)", done.stderr)
    assert named, done.stderr
    journal = Path(named.group(1))
    try:
        assert journal == tmp_path / "results.jsonl" if out else journal.is_file()
        lines = [json.loads(line) for line in journal.read_text().splitlines()]
    finally:
        if not out:
            journal.unlink(missing_ok=True)
    records = [line for line in lines if "status" in line]
    assert records and {r["impl"] for r in records} == {"numpy"}  # numpy ran T1 before the crash
    assert all(r["status"] == "pass" and r["case"] == T1 for r in records)
    crashed = adapter.replace("OnT1", "-on-t1").lower()
    assert lines[-1] == {"running": {"case": T1, "dtype": "float32", "impl": crashed}}
    assert f"the run crashed while running case '{T1}' [float32] on {crashed}" in done.stderr
    assert f"the {len(records)} results before it are in {journal}" in done.stderr
    assert "run with --isolate" in done.stderr
    assert not (tmp_path / "results.json").exists()


def test_a_run_that_ends_says_nothing_of_crashes_and_marks_its_journal_finished(tmp_path, capfd):
    # in this process, as nothing crashes; capfd also holds what the watcher process writes to stderr
    code = main(["run", "--impl", "numpy", "-k", T1, "--dtype", "float32", "--out", str(tmp_path)])
    err = capfd.readouterr().err
    assert code == 0 and "crash" not in err
    assert json.loads((tmp_path / "results.jsonl").read_text().splitlines()[-1]) == {"finished": True}
