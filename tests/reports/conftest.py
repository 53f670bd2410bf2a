"""One real `lstm-conformance report` run, shared by the report tests: numpy, torch-lstm and
an adapter with a gate-order defect. pytest-benchmark's timing (tested by the benchmark tests)
is replaced by a few plain timed calls, to keep these tests fast; the speed records have the
same form."""
import json
import statistics
import time
from pathlib import Path

import pytest

from lstm_conformance.bench import parse_shape, timing
from lstm_conformance.report import results
from lstm_conformance.cli import main
from lstm_conformance.spec.materialize import materialize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"
REPORT_ARGS = ["--impl", "numpy", "--impl", "torch-lstm", "--impl", f"{FIXTURES}:TextbookSwappedRows",
               "-k", "toy-memory-tanh", "-k", "random/t20b4i16h32/bias/given-state", "--dtype", "float32",
               "--check", "forward", "--check", "dtypes", "--shapes", "t3b2i4h5", "--quick", "--batch-sizes", "1,2"]


class GeneratedReport:
    def __init__(self, folder: Path, exit_status: int):
        self.folder, self.exit_status = folder, exit_status
        self.document = results.read(folder / "results.json")  # as every reader sees it (restored)
        self.html = (folder / "report.html").read_text(encoding="utf-8")


def quick_timings(adapters, shapes, dtype, json_path, quick=False, **_):
    """Speed records from five timed calls per shape and adapter (median), ratio to torch-lstm."""
    records = []
    for shape in shapes:
        problem = materialize(parse_shape(shape), dtype)
        medians = {}
        for adapter in adapters:
            run = adapter.prepare(problem)
            run()
            times = []
            for _ in range(5):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            medians[adapter.name] = statistics.median(times)
        for name, median in medians.items():
            records.append({"shape": shape, "mode": "forward", "impl": name, "dtype": dtype, "status": "ok",
                            "median": median, "iqr": 0.0, "rounds": 5, "ratio": median / medians["torch-lstm"]})
    return records


@pytest.fixture(scope="session")
def generated_report(tmp_path_factory) -> GeneratedReport:
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timing, "run_benchmarks", quick_timings)
        code = main(["report", "--out", str(folder), "--junit", str(folder / "junit.xml")] + REPORT_ARGS)
    return GeneratedReport(folder, code)
