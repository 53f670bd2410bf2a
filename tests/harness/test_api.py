"""The public Python API: `from lstm_conformance import Adapter, Capabilities, load_cases, run`,
resolved lazily so that importing the package loads nothing."""
import subprocess
import sys

import pytest
from fixtures.adapters import TextbookSwappedRows

import lstm_conformance
import lstm_conformance.api
from lstm_conformance import Adapter, Capabilities, load_cases, run


def _modules_after(statement: str) -> list[str]:
    code = (f"import sys; {statement}; print(' '.join(sorted(m for m in sys.modules "
            "if m.startswith(('lstm_conformance', 'torch', 'numpy')))))")
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()


def test_importing_the_package_loads_no_harness_and_no_torch():
    assert _modules_after("import lstm_conformance") == ["lstm_conformance"]
    loaded = _modules_after("import lstm_conformance.reference")
    harness = ("runner", "session", "api", "registry", "checks", "isolation", "adapter", "implementations")
    assert not [m for m in loaded if m.startswith("torch") or m.split(".")[1:2] and m.split(".")[1] in harness]


def test_public_names_resolve_lazily_and_submodules_still_import():
    assert set(lstm_conformance.__all__) >= {"Adapter", "Capabilities", "load_cases", "run"}
    assert {"Adapter", "Capabilities", "load_cases", "run"} <= set(dir(lstm_conformance))
    assert Adapter.__module__ == "lstm_conformance.adapter" and Capabilities.__module__ == "lstm_conformance.adapter"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lstm_conformance.nope  # noqa: B018
    assert _modules_after("from lstm_conformance import spec; print(spec.__name__, file=sys.stderr)") == [
        "lstm_conformance", "lstm_conformance.spec"]


def test_run_returns_the_records_judged_like_the_cli():
    seen = []
    records = run(["numpy", TextbookSwappedRows()], filters=["toy-memory-tanh"], dtypes=["float64"],
                  checks=["forward"], on_record=seen.append, diagnose=False)
    assert [(r["impl"], r["status"]) for r in records] == [("numpy", "pass"), ("textbook-swapped-rows", "fail")]
    assert seen == records
    known = dict(filters=["lengths-all-full"], dtypes=["float32"], checks=["errors"], diagnose=False)
    assert [r["status"] for r in run("torch-lstm", **known)] == ["xfail"]  # shipped expectations
    assert [r["status"] for r in run("torch-lstm", builtin_expectations=False, **known)] == ["fail"]


def test_run_takes_cases_and_expectations_files(tmp_path):
    cases = [c for c in load_cases() if c.id == "toy-memory-tanh"]
    entry = "adapter: textbook-swapped-rows\nxfail:\n  - case: toy-memory-tanh\n    reason: rows written [f, i, g, o]\n"
    (tmp_path / "swapped.yaml").write_text(entry)
    records = run(TextbookSwappedRows(), cases=cases, dtypes=["float64"], checks=["forward"],
                  expectations=[tmp_path / "swapped.yaml"], diagnose=False)
    assert [r["status"] for r in records] == ["xfail"]
    assert run("numpy", cases=[], checks=["forward"]) == []


def test_run_rejects_bad_arguments_before_running():
    with pytest.raises(ValueError, match="unknown implementation"):
        run("nope")
    with pytest.raises(ValueError, match="instances"):
        run(TextbookSwappedRows(), isolate=True)
    with pytest.raises(ValueError):
        run("numpy", filters=["toy-memory-tanh"], checks=["no-such-check"])
