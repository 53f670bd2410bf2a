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
    assert first["records"] and [r["seconds"] for r in first["records"]] != [None] * len(first["records"])
    assert without_timings(first) == without_timings(second)


def test_schema_version_environment_and_metrics(generated_report):
    document = generated_report.document
    assert document["schema_version"] == results.SCHEMA_VERSION
    env = document["environment"]
    for key in ("python", "numpy", "torch", "cpu", "cpu_count", "blas", "git_revision"):
        assert key in env, key
    forward = [r for r in document["records"] if r["check"] == "forward" and r["status"] in ("pass", "fail")]
    assert forward
    for record in forward:
        assert record["tolerance"]["atol"] > 0 and isinstance(record["seconds"], float)
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
