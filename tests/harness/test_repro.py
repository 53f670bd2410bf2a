"""Repro bundles: the case with literal inputs, the expected outputs and tolerances, and a command
that replays it to the same verdict (lstm_conformance.harness.repro.write_bundle)."""
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_conformance.cli import main
from lstm_conformance.harness.repro import write_bundle
from lstm_conformance.spec.loader import load_file
from lstm_conformance.spec.materialize import materialize

SWAPPED = f"{Path(__file__).resolve().parents[1] / 'fixtures' / 'adapters.py'}:TextbookSwappedRows"


def replay(bundle, out):
    """Run the bundle's command (its words after `lstm-conformance`) and return its records."""
    argv = bundle.command.split()[1:] + ["--out", str(out), "--no-builtin-expectations"]
    status = main(argv)
    return status, json.loads((out / "results.json").read_text())["records"]


@pytest.mark.parametrize("case_id, impl, checks, verdict", [
    ("toy-memory-tanh", SWAPPED, ["forward"], {"forward": "fail"}),
    ("random/t5b3i4h7/bias/given-state", "numpy", ["forward", "gradients"], {"forward": "pass", "gradients": "pass"}),
])
def test_a_bundle_replays_to_the_same_verdict(library, tmp_path, capsys, case_id, impl, checks, verdict):
    case = next(c for c in library if c.id == case_id)
    bundle = write_bundle(case, impl, "float32", tmp_path / "bundle", checks=checks)
    assert {r["check"]: r["status"] for r in bundle.records} == verdict
    (replayed,) = load_file(bundle.case_file)
    assert replayed.id == case.id and replayed.dtypes == ("float32",)  # the same id: expectations still apply
    original, again = materialize(case, "float32"), materialize(replayed, "float32")
    assert np.array_equal(original.x, again.x) and original.params.keys() == again.params.keys()
    assert all(np.array_equal(original.params[k], again.params[k]) for k in original.params)
    status, records = replay(bundle, tmp_path / "replay")
    assert {r["check"]: r["status"] for r in records} == verdict and status == (1 if "fail" in verdict.values() else 0)
    expected = np.load(tmp_path / "bundle" / "expected.npz")
    assert expected["y"].shape == original.x.shape[:-1] + (case.shape["hidden_size"],)
    assert json.loads((tmp_path / "bundle" / "tolerances.json").read_text())["atol"] > 0
    assert bundle.command in (tmp_path / "bundle" / "README.md").read_text()
    assert json.loads((tmp_path / "bundle" / "verdict.json").read_text())[0]["status"] == verdict[checks[0]]


def test_a_dtype_the_case_lacks_is_refused(library, tmp_path):
    case = next(c for c in library if c.id == "toy-memory-tanh")
    with pytest.raises(ValueError, match="no dtype bfloat16"):
        write_bundle(case, "numpy", "bfloat16", tmp_path)
