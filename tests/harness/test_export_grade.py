"""export writes golden data readable without Python; grade judges outputs written elsewhere
with run's comparison, records and diagnosis, and lists what it cannot judge."""
import json
import zipfile

import numpy as np
import pytest

from fixtures.golden import export_golden

from lstm_conformance.cli import main
from lstm_conformance.harness import export as exporting
from lstm_conformance.harness import grade as grading
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.report.results import Status

CASES = ["initial-state-distinct", "lengths-with-state", "err-h0-batch", "toy-memory-linear"]


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    return export_golden(tmp_path_factory.mktemp("golden"), CASES)


@pytest.fixture(scope="module")
def manifest(golden):
    return json.loads((golden / "manifest.json").read_text())


def entry_of(manifest, case, dtype="float32"):
    return next(e for e in manifest["cases"] if e["case"] == case and e["dtype"] == dtype)


def write_numpy_outputs(golden, manifest, outputs, gradients=True):
    """What an outside implementation would write: here the numpy adapter's outputs (and its
    gradients for the exported upstream gradient), read back from the exported files only."""
    outputs.mkdir()
    adapter = NumpyAdapter()
    for entry in manifest["cases"]:
        problem = grading.rebuild_problem(golden, entry)
        for name, value in adapter.prepare(problem)().items():
            np.save(outputs / entry["outputs"][name], value)
        if gradients and entry["upstream"]:
            upstream = {k: np.load(golden / v["file"]).astype(np.float64) for k, v in entry["upstream"].items()}
            for name, value in adapter.gradients(problem, upstream).items():
                np.save(outputs / entry["gradient_outputs"][name], value)


def test_the_manifest_lists_every_array_with_its_file_shape_and_dtype(golden, manifest):
    assert manifest["format"] == exporting.FORMAT and manifest["version"] == exporting.MANIFEST_VERSION
    assert {e["case"] for e in manifest["not_exported"]} == {"err-h0-batch"}
    entry = entry_of(manifest, "initial-state-distinct")
    assert entry["tolerance"] == {"atol": 2e-05, "rtol": 0.0001}
    assert entry["gradient_tolerance"]["note"] == exporting.GRADIENT_TOLERANCE_NOTE
    for section in ("inputs", "parameters", "expected", "upstream", "expected_gradients"):
        for name, spec in entry[section].items():
            array = np.load(golden / spec["file"])
            assert list(array.shape) == spec["shape"] and array.dtype.str == spec["dtype"], (section, name)
            assert array.flags.c_contiguous
    assert entry["inputs"]["x"]["dtype"] == "<f4" and entry["expected"]["y"]["dtype"] == "<f8"
    assert set(entry["inputs"]) == {"x", "h0", "c0"}
    lengths = entry_of(manifest, "lengths-with-state")["inputs"]["lengths"]
    assert lengths["dtype"] == "<i8"
    # one .npz per case holds every array of each of its dtypes
    with zipfile.ZipFile(golden / entry["npz"]) as npz:
        assert {"float32/x.npy", "float64/x.npy", "float32/expected_y.npy"} <= set(npz.namelist())
    config = dict(line.split(" ", 1) for line in (golden / entry["key"] / "config.txt").read_text().splitlines())
    assert config["activation_gate"] == "sigmoid" and config["h0"] == "1" and config["num_layers"] == "1"
    assert (golden / "cases.txt").read_text().split() == [e["key"] for e in manifest["cases"]]


def test_the_expected_outputs_are_the_reference_on_the_exported_inputs(golden, manifest):
    from lstm_conformance.reference import lstm_forward
    entry = entry_of(manifest, "lengths-with-state", "float64")
    problem = grading.rebuild_problem(golden, entry)
    ref = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0, problem.lengths)
    assert np.array_equal(np.load(golden / entry["expected"]["y"]["file"]), ref.y)


def test_correct_outputs_pass_and_live_checks_are_listed_as_not_run(golden, manifest, tmp_path):
    write_numpy_outputs(golden, manifest, tmp_path / "out")
    outcome = grading.grade(golden, tmp_path / "out", name="numpy-files")
    by_check = {}
    for record in outcome.records:
        by_check.setdefault(record["check"], set()).add(record["status"])
    assert by_check["forward"] == {Status.PASS} and by_check["gradients"] == {Status.PASS}
    assert by_check["determinism"] == {Status.SKIPPED} and by_check["errors"] == {Status.SKIPPED}
    assert any("not exported" in r["message"] for r in outcome.records if r["case"] == "err-h0-batch")
    assert outcome.exit_status(strict=False, allow_empty=False) == 0
    literals = next(r for r in outcome.records if r["case"] == "toy-memory-linear" and r["check"] == "forward")
    assert literals["literals"]  # the case's literal expectations travel in the manifest


def test_a_wrong_output_fails_with_the_same_located_message_as_run(golden, manifest, tmp_path):
    write_numpy_outputs(golden, manifest, tmp_path / "out", gradients=False)
    entry = entry_of(manifest, "initial-state-distinct")
    c_n = np.load(tmp_path / "out" / entry["outputs"]["c_n"])
    c_n[0, 1, 2] += 0.5
    np.save(tmp_path / "out" / entry["outputs"]["c_n"], c_n)
    outcome = grading.grade(golden, tmp_path / "out", patterns=["initial-state-distinct"], dtypes=["float32"])
    failed = [r for r in outcome.records if r["status"] == Status.FAIL]
    assert len(failed) == 1 and failed[0]["check"] == "forward"
    assert "c_n[layer_dir=0, b=1, unit=2]" in failed[0]["message"] and "diagnosis" in failed[0]
    gradients = next(r for r in outcome.records if r["check"] == "gradients")
    assert gradients["status"] == Status.UNSUPPORTED and "no gradients written" in gradients["message"]
    assert outcome.exit_status(strict=False, allow_empty=False) == 1


def test_missing_outputs_are_unsupported_with_the_reason_given(golden, manifest, tmp_path):
    outputs = tmp_path / "out"
    outputs.mkdir()
    entry = entry_of(manifest, "initial-state-distinct")
    (outputs / f"{entry['key']}.unsupported.txt").write_text("no initial states in this port\n")
    outcome = grading.grade(golden, outputs, patterns=["initial-state-distinct"])
    forward = {r["dtype"]: r for r in outcome.records if r["check"] == "forward"}
    assert forward["float32"]["message"] == "no initial states in this port"
    assert "did not run it" in forward["float64"]["message"]
    assert {r["status"] for r in forward.values()} == {Status.UNSUPPORTED}
    assert outcome.exit_status(strict=False, allow_empty=False) == 1
    assert outcome.exit_status(strict=False, allow_empty=True) == 0


def test_an_unreadable_output_is_an_error(golden, manifest, tmp_path):
    write_numpy_outputs(golden, manifest, tmp_path / "out", gradients=False)
    entry = entry_of(manifest, "initial-state-distinct")
    (tmp_path / "out" / entry["outputs"]["y"]).write_bytes(b"not numpy")
    outcome = grading.grade(golden, tmp_path / "out", patterns=["initial-state-distinct"], dtypes=["float32"])
    forward = next(r for r in outcome.records if r["check"] == "forward")
    assert forward["status"] == Status.ERROR


def test_grade_refuses_a_folder_that_is_not_golden_data(tmp_path, capsys):
    assert main(["grade", str(tmp_path), str(tmp_path)]) == 2
    assert "written by `lstm-conformance export`" in capsys.readouterr().err
