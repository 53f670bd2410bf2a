"""results.json: schema version, environment block, per-record metrics; the same run twice gives
the same file except for timings; files appear atomically and keep readable permissions."""
import json
import os
import stat

import pytest

from lstm_conformance.report import results
from lstm_conformance.cli import main
from lstm_conformance.report.compare import without_timings

RUN = ["run", "--impl", "numpy", "--impl", "torch-lstm", "-k", "random/t5b3i4h7/bias/given-state", "-k", "toy-memory-tanh"]


def run_into(folder):
    assert main(RUN + ["--out", str(folder)]) == 0
    return json.loads((folder / "results.json").read_text())


def test_the_same_seeds_give_the_same_file_except_timings(tmp_path, capsys):
    first, second = run_into(tmp_path / "a"), run_into(tmp_path / "b")
    assert first["records"] and not any("seconds" in r for r in first["records"])  # times: results.jsonl only
    journal, _ = results.read_journal(tmp_path / "a" / "results.jsonl")
    assert len(journal) == len(first["records"]) and all(isinstance(r["seconds"], float) for r in journal)
    assert without_timings(first) == without_timings(second)
    assert (tmp_path / "a" / "results.json").read_bytes() == (tmp_path / "b" / "results.json").read_bytes()


def test_passing_records_are_stored_in_brief_failing_ones_in_full(tmp_path):
    worst = {"index": {"t": 1}, "expected": 0.123456789, "got": 0.123456, "abs_error": 7.89e-07}
    comparison = {"output": "y", "max_abs": 7.891234e-07, "max_rel": 1e-5, "max_ulp": 12.0, "tolerance_used": 0.01,
                  "passed": True, "shape": [2, 3], "worst": worst}
    passed = {"case": "a", "group": "g", "about": "text", "check": "forward", "status": "pass", "seconds": 0.5,
              "max_abs": 7.891234e-07, "outputs": [comparison], "tolerance": {"atol": 1e-5, "rtol": 1e-4}}
    gradients = dict(passed, check="gradients", gradients=[comparison])
    failed = dict(passed, case="b", status="fail", outputs=[dict(comparison, passed=False)])
    skipped = [dict(passed, case=c, status="skipped", message="no GPU") for c in ("c", "d")]
    path = tmp_path / "results.json"
    results.write(path, results.build([passed, gradients, failed] + skipped, {}))
    stored = json.loads(path.read_text())
    assert stored["cases"]["a"] == {"group": "g", "about": "text"} and stored["reasons"] == ["no GPU"]
    brief, no_arrays, full, skip, _ = stored["records"]
    assert brief["outputs"] == [{"output": "y", "max_abs": 7.89e-07, "max_rel": 1e-5, "max_ulp": 12.0,
                                 "tolerance_used": 0.01, "passed": True}] and brief["max_abs"] == 7.89e-07
    assert "tolerance" not in brief and "gradients" not in no_arrays and no_arrays["check"] == "gradients"
    assert full["outputs"][0]["worst"] == worst and full["max_abs"] == 7.891234e-07 and full["tolerance"]
    assert skip["reason"] == 0 and "message" not in skip
    assert not any(k in r for r in stored["records"] for k in ("seconds", "about", "group"))
    again = results.read(path)["records"]  # put back on reading
    assert again[2]["about"] == "text" and again[2]["group"] == "g" and again[3]["message"] == "no GPU"
    assert len(path.read_text().splitlines()) > 5  # one record per line: a changed result is a changed line


def test_an_older_schema_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema_version": 1, "records": []}))
    with pytest.raises(ValueError, match="older lstm-conformance.*run the baseline again"):
        results.read(path)


def test_schema_version_environment_and_metrics(generated_report):
    document = generated_report.document
    assert document["schema_version"] == results.SCHEMA_VERSION
    env = document["environment"]
    for key in ("python", "numpy", "torch", "cpu", "cpu_count", "blas", "git_revision"):
        assert key in env, key
    forward = [r for r in document["records"] if r["check"] == "forward" and r["status"] in ("pass", "fail")]
    assert forward
    for record in forward:
        assert record["status"] == "pass" or record["tolerance"]["atol"] > 0  # a pass is stored in brief
        for output in record["outputs"]:
            assert {"output", "max_abs", "max_rel", "max_ulp", "passed"} <= set(output)
    assert document["settings"]["command"] == "report" and document["settings"]["interrupted"] is False
    assert document["coverage"]["rows"].keys() == {"numpy", "torch-lstm", "textbook-swapped-rows"}
    profiled = {r["case"] for r in forward if r.get("error_by_step")}
    assert "random/t20b4i16h32/bias/given-state" in profiled  # the error plot's data, in the records
    assert "plots" not in document  # nothing computed beside the records


def test_non_finite_metrics_stay_standard_json(tmp_path):
    path = tmp_path / "results.json"
    results.write(path, results.build([{"case": "a", "status": "fail", "max_abs": float("inf")}], {}))
    text = path.read_text()
    assert '"inf"' in text and json.loads(text)["records"][0]["max_abs"] == "inf"


def test_an_interrupted_write_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "report.txt"
    results.atomic_write_text(path, "old contents")

    def broken_replace(src, dst):
        raise KeyboardInterrupt  # Ctrl-C at the worst moment

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        results.atomic_write_text(path, "new contents")
    assert path.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]  # no temporary file left behind


def test_report_files_are_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        results.atomic_write_text(tmp_path / "r.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.txt").stat().st_mode) == 0o644
