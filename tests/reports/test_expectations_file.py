"""Expectations files: parsing with clear errors, xfail / xpass applied after the run, and the
gate's exit status with and without --strict."""
from pathlib import Path

import pytest
import yaml

from lstm_conformance.harness import expectations
from lstm_conformance.cli import main
from lstm_conformance.harness.expectations import ExpectationsError, apply, case_matches, gate_status, parse, unused_entries

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"


def record(case, status, impl="torch-lstm", dtype="float32", check="forward", message="boom"):
    return {"case": case, "group": "g", "dtype": dtype, "impl": impl, "check": check, "status": status,
            "message": message}


def entries(*items, adapter="torch-lstm"):
    return parse({"adapter": adapter, "xfail": list(items)}, "exp.yaml")


@pytest.mark.parametrize("case_id, pattern, hit", [
    ("single-bias/ih-only", "single-bias", True),     # a prefix at a '/' covers the variants
    ("single-bias-2", "single-bias", False),          # ...but not another id that starts alike
    ("peepholes", "peepholes", True),
    ("random/t5b3i4h7/bias/zero-state", "random/*/zero-state", True),
    ("random/t5b3i4h7/bias/given-state", "random/*/zero-state", False),
])
def test_case_patterns(case_id, pattern, hit):
    assert case_matches(case_id, pattern) is hit


def test_fail_and_error_become_xfail_pass_becomes_xpass_others_unchanged():
    exp = entries({"case": "a*", "reason": "upstream issue 1"})
    records = [record("a1", "fail"), record("a2", "error"), record("a3", "pass"), record("a4", "unsupported"),
               record("b1", "fail"), record("a5", "fail", impl="numpy")]
    out = apply(records, [exp])
    assert [r["status"] for r in out] == ["xfail", "xfail", "xpass", "unsupported", "fail", "fail"]
    assert out[0]["expected_failure"] == {"reason": "upstream issue 1", "pattern": "a*", "file": "exp.yaml",
                                          "status": "fail"}
    assert "upstream issue 1" in out[0]["message"] and "boom" in out[0]["message"]
    assert "expected to fail" in out[2]["message"]
    assert records[0]["status"] == "fail"  # pure: the input records are not modified


def test_dtype_and_check_narrow_an_entry():
    exp = entries({"case": "a", "reason": "r", "dtype": "float16", "check": "gradients"})
    out = apply([record("a", "fail", dtype="float16", check="gradients"), record("a", "fail", dtype="float32",
                 check="gradients"), record("a", "fail", dtype="float16", check="forward")], [exp])
    assert [r["status"] for r in out] == ["xfail", "fail", "fail"]


def test_gate_status_strict_fails_on_xpass_only():
    assert gate_status([{"status": "xfail"}, {"status": "xpass"}]) == 0
    assert gate_status([{"status": "xpass"}], strict=True) == 1
    assert gate_status([{"status": "xfail"}, {"status": "unsupported"}], strict=True) == 0
    assert gate_status([{"status": "fail"}]) == 1


def test_unused_entries_are_reported():
    exp = entries({"case": "a", "reason": "r"}, {"case": "zzz", "reason": "stale"})
    unused = unused_entries([record("a", "fail")], [exp])
    assert [entry.pattern for _, entry in unused] == ["zzz"]


@pytest.mark.parametrize("document, words", [
    ({"xfail": []}, "adapter"),
    ("just text", "expected a mapping"),
    ({"adapter": "x", "xfail": [{"case": "a"}]}, "xfail[0].reason: expected a non-empty string"),
    ({"adapter": "x", "xfail": [{"case": "a", "reason": "r", "dtyp": "float32"}]}, "unknown keys ['dtyp']"),
    ({"adapter": "x", "xfail": {"case": "a"}}, "expected a list of entries"),
    ({"adapter": "x", "skip": []}, "unknown keys ['skip']"),
    ({"adapter": "x", "xfail": ["a"]}, "xfail[0]: expected a mapping"),
])
def test_malformed_files_name_file_entry_and_key(document, words):
    with pytest.raises(ExpectationsError) as info:
        parse(document, "exp.yaml")
    assert str(info.value).startswith("exp.yaml: ") and words in str(info.value)


def test_load_reports_bad_yaml_and_missing_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("adapter: [unclosed\n")
    with pytest.raises(ExpectationsError, match="not valid YAML at line"):
        expectations.load(bad)
    with pytest.raises(ExpectationsError, match="cannot read"):
        expectations.load(tmp_path / "missing.yaml")


def write_expectations(tmp_path, adapter, *items):
    path = tmp_path / f"{adapter}.yaml"
    path.write_text(yaml.safe_dump({"adapter": adapter, "xfail": list(items)}))
    return path


def test_cli_known_failure_is_xfail_and_the_run_passes(tmp_path, capsys):
    exp = write_expectations(tmp_path, "textbook-swapped-rows",
                             {"case": "toy-memory-tanh", "reason": "docs/TEXTBOOK.md §1: rows written [f, i, g, o]"})
    argv = ["run", "--impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh", "--dtype", "float64"]
    assert main(argv) == 1  # without the file, the defect fails the run
    capsys.readouterr()
    assert main(argv + ["--expectations", str(exp)]) == 0
    out = capsys.readouterr().out
    assert "expected failures (xfail, by reason): 1\n" in out and "rows written [f, i, g, o]" in out


def test_expected_failures_are_listed_in_correctness_md(tmp_path, capsys):
    exp = write_expectations(tmp_path, "textbook-swapped-rows", {"case": "toy-memory-tanh", "reason": "gate order"})
    assert main(["run", "--impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh", "--dtype", "float64",
                 "--check", "forward", "--expectations", str(exp), "--out", str(tmp_path / "out")]) == 0
    table = (tmp_path / "out" / "correctness.md").read_text()
    assert "## Expected failures" in table and "| xfail" in table and "gate order" in table


def test_cli_strict_fails_when_an_expected_failure_passes(tmp_path, capsys):
    exp = write_expectations(tmp_path, "numpy", {"case": "toy-memory-tanh", "reason": "was broken once"})
    argv = ["run", "--impl", "numpy", "-k", "toy-memory-tanh", "--dtype", "float64", "--expectations", str(exp)]
    assert main(argv) == 0
    assert f"      7  numpy: xfail entry 'toy-memory-tanh' of {exp}" in capsys.readouterr().out
    assert main(argv + ["--strict"]) == 1


def test_cli_bad_expectations_file_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("adapter: numpy\nxfail:\n  - case: a\n")
    assert main(["run", "--impl", "numpy", "-k", "toy-memory-tanh", "--expectations", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "xfail[0].reason" in err and str(bad) in err
