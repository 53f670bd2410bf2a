"""run -j N: the same records as a serial run, and a crashed worker costs only its case.

The test adapters are NumPy's: each worker loads every adapter, and a worker that imports
torch costs about 1.5 s more."""
import json
from pathlib import Path

import pytest

from lstm_conformance.cli import main
from lstm_conformance.report import results

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "robustness" / "bad_adapters.py"

# A wrong implementation that the diagnosis explains and one whose every call raises, both
# without torch (tests/fixtures/adapters_without_torch.py).
BROKEN = ROOT / "tests" / "fixtures" / "adapters_without_torch.py"


@pytest.fixture
def selection():
    return ["--impl", "numpy", "--impl", f"{BROKEN}:SwappedRows", "--impl", f"{BROKEN}:RaisingAdapter",
            "-k", "toy", "-k", "random/t5b3*", "--dtype", "float64", "-q"]


def comparable(folder: Path) -> list:
    document = results.read(folder / "results.json")
    return [json.dumps({k: v for k, v in r.items() if k not in results.RECORD_MEASURED}, sort_keys=True)
            for r in document["records"]]


def test_two_workers_give_the_records_of_a_serial_run(tmp_path, selection, capsys):
    serial = main(["run", "--out", str(tmp_path / "serial")] + selection)
    parallel = main(["run", "--out", str(tmp_path / "parallel"), "-j", "2"] + selection)
    assert serial == parallel == 1  # the broken adapters fail in both
    records = comparable(tmp_path / "serial")
    assert records == comparable(tmp_path / "parallel") and len(records) > 50
    statuses = {json.loads(r)["status"] for r in records}
    assert {"pass", "fail", "error"} <= statuses
    serial_md = (tmp_path / "serial" / "correctness.md").read_text()
    assert serial_md == (tmp_path / "parallel" / "correctness.md").read_text()
    capsys.readouterr()


def test_a_worker_that_crashes_costs_only_its_case(tmp_path, capsys):
    # three cases: the two workers start on the two one-step cases and both die, so the third
    # case can only run on a worker started after a crash
    code = main(["run", "--impl", f"{BAD}:SegfaultsOnT1", "-k", "random/t1b1i1h1/bias", "-k",
                 "random/t5b3i4h7/bias/zero-state", "--dtype", "float32", "--check", "forward", "-j", "2",
                 "--out", str(tmp_path), "-q"])
    assert code == 1
    records = results.read(tmp_path / "results.json")["records"]
    crashed = [r for r in records if r["case"].startswith("random/t1b1")]
    others = [r for r in records if r["case"].startswith("random/t5b3")]
    assert crashed and all(r["status"] == "error" and "worker process running this case died" in r["message"]
                           for r in crashed)
    assert others and all(r["status"] == "pass" for r in others)  # the run went on, on a new worker
    capsys.readouterr()
