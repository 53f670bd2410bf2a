"""`pytest --lstm-impl ...` runs the spec cases as tests, in any directory, through the same
engine as the CLI."""
import shlex
from pathlib import Path

# Imported here, before pytester's in-process runs snapshot sys.modules: NumPy cannot be
# loaded twice in one process, and the runs would otherwise import it afresh (and so would
# Hypothesis, whose pytest plugin imports it at every inner session's end: 0.2 s a run).
import hypothesis  # noqa: F401
import numpy  # noqa: F401
import pytest
import torch  # noqa: F401

import lstm_conformance.harness.expectations  # noqa: F401
import lstm_conformance.harness.runner  # noqa: F401
import lstm_conformance.harness.session  # noqa: F401
from lstm_conformance.cli import main as cli_main
from lstm_conformance.report import results

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "adapters.py"
WITHOUT_TORCH = FIXTURES.with_name("adapters_without_torch.py")
BAD_ADAPTERS = ROOT / "tests" / "robustness" / "bad_adapters.py"


def test_plugin_runs_spec_cases_with_readable_ids(pytester):
    result = pytester.runpytest("--lstm-impl",
                                f"{ROOT / 'examples' / 'vectorised_lstm.py'}:VectorisedLSTM", "-k", "toy", "-v", "-rs")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*toy.yaml::toy-memory-tanh?scratch-vectorised-float32? PASSED*", "*unsupported: *"])


def test_plugin_reports_failures_with_location(pytester):
    result = pytester.runpytest("--lstm-impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh",
                                "--lstm-dtype", "float64", "--lstm-dtype", "float32")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*fail: textbook-swapped-rows on toy-memory-tanh*check forward*",
                                 "*y?t=5, b=0, unit=0?*gate blocks i and f swapped*"])


def test_plugin_turns_shipped_known_defects_into_xfails(pytester):
    result = pytester.runpytest("--lstm-impl", "torch-lstm", "-k", "lengths-all-full", "--lstm-dtype", "float32", "-rx")
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(["*wrong feature size*"])


def test_plugin_is_inert_without_the_option(pytester):
    pytester.makepyfile("def test_ok(): pass")
    pytester.runpytest().assert_outcomes(passed=1)


def test_plugin_usage_error_for_unknown_impl(pytester):
    result = pytester.runpytest("--lstm-impl", "nope")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--lstm-impl nope: unknown implementation*"])
    assert "--impl" not in result.stderr.str().replace("--lstm-impl", "")


def test_plugin_counts_collected_and_deselected_items(pytester):
    result = pytester.runpytest("--lstm-impl", "numpy", "-k", "toy-memory-tanh")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["collected * items / * deselected / 2 selected"])
    assert "/ -" not in result.stdout.str() and "collected 0 items" not in result.stdout.str()


def test_a_failing_node_id_can_be_run_again(pytester):
    args = ["--lstm-impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh", "--lstm-dtype", "float64"]
    first = pytester.runpytest(*args)
    first.assert_outcomes(failed=1)
    rerun = next(line for line in first.stdout.lines if line.startswith("re-run: "))
    words = shlex.split(rerun[len("re-run: "):])
    assert words[:3] == ["pytest", "--lstm-impl", f"{FIXTURES}:TextbookSwappedRows"]
    summary = next(line for line in first.stdout.lines if line.startswith("FAILED "))
    assert summary.split()[1] == words[3]  # the short summary's node id is the one to pass back
    again = pytester.runpytest(*words[1:])
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["fail: textbook-swapped-rows on toy-memory-tanh ?float64?, check forward"])
    # the case without the [impl-dtype] part runs it in every dtype
    case_only = pytester.runpytest(*words[1:3], words[3].split("[")[0], "--lstm-dtype", "float32")
    case_only.assert_outcomes(failed=1)


def test_plugin_collects_only_the_spec_cases_unless_paths_are_given(pytester):
    pytester.makepyfile(test_own_xyz="def test_own_xyz(): pass")
    only_cases = pytester.runpytest("--lstm-impl", "numpy", "-k", "toy-memory-tanh or own_xyz")
    only_cases.assert_outcomes(passed=2)  # the case in two dtypes; the project's own test not collected
    assert "test_own_xyz" not in only_cases.stdout.str()
    own = pytester.runpytest("--lstm-impl", "numpy", "test_own_xyz.py")
    own.assert_outcomes(passed=1)


def test_plugin_runs_the_extra_half_precision_units(pytester):
    result = pytester.runpytest("--lstm-impl", "torch-cell", "-k", "toy-memory-tanh", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*toy-memory-tanh?torch-cell-float16? PASSED*",
                                 "*toy-memory-tanh?torch-cell-bfloat16? PASSED*"])


def test_plugin_applies_expectations_files_and_strict(pytester):
    pytester.makefile(".yaml", swapped="adapter: textbook-swapped-rows\n"
                                       "xfail:\n  - case: toy-memory-tanh\n    reason: rows written [f, i, g, o]\n")
    args = ["--lstm-impl", f"{FIXTURES}:TextbookSwappedRows", "--lstm-expectations", "swapped.yaml",
            "-k", "toy-memory-tanh", "--lstm-dtype", "float64", "-rx"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(["*rows written*"])
    pytester.makefile(".yaml", numpy="adapter: numpy\nxfail:\n  - case: toy-memory-tanh\n    reason: stale entry\n")
    xpass = ["--lstm-impl", "numpy", "--lstm-expectations", "numpy.yaml", "-k", "toy-memory-tanh",
             "--lstm-dtype", "float64", "--lstm-check", "forward"]
    pytester.runpytest(*xpass).assert_outcomes(passed=1)
    strict = pytester.runpytest(*xpass, "--lstm-strict")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["xpass: numpy on toy-memory-tanh*"])


def test_plugin_isolates_a_crashing_adapter(pytester):
    result = pytester.runpytest("--lstm-impl", f"{BAD_ADAPTERS}:Segfaults", "--lstm-isolate", "-k",
                                "toy-memory-tanh", "--lstm-dtype", "float64", "--lstm-check", "forward")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["error: segfaults on toy-memory-tanh*"])


def test_plugin_option_errors_name_the_plugin_options(pytester):
    result = pytester.runpytest("--lstm-impl", "numpy", "--lstm-expectations", "missing.yaml")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--lstm-expectations missing.yaml*"])


def _plugin_records(pytester, args) -> list:
    reprec = pytester.inline_run(*args)
    return [record for report in reprec.getreports("pytest_runtest_logreport") if report.when == "call"
            for name, records in report.user_properties if name == "lstm_records" for record in records]


def test_plugin_and_cli_give_the_same_records(pytester, tmp_path):
    impls = ["numpy", "torch-cell", "torch-lstm", f"{FIXTURES}:TextbookSwappedRows", f"{WITHOUT_TORCH}:RaisingAdapter"]
    assert cli_main(["run", *(w for i in impls for w in ("--impl", i)), "-k", "toy", "-k", "lengths-all-full",
                     "--out", str(tmp_path)]) == 1
    cli = results.read(tmp_path / "results.json")["records"]  # with the stored-apart reasons put back
    plugin = _plugin_records(pytester, [w for i in impls for w in ("--lstm-impl", i)] +
                             ["-k", "toy or lengths-all-full"])

    def key(r):
        return r["case"], r["dtype"], r["impl"], r["check"], r["status"], r["message"]
    assert sorted(map(key, plugin)) == sorted(map(key, cli))  # results.json stores them sorted
    statuses = {r["status"] for r in cli}
    assert {"pass", "fail", "error", "xfail", "unsupported"} <= statuses
    assert {"float16", "bfloat16"} <= {r["dtype"] for r in cli}
