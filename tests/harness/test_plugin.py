"""`pytest --lstm-impl ...` runs the spec cases as tests, in any directory."""
from pathlib import Path

# Imported here, before pytester's in-process runs snapshot sys.modules: NumPy cannot be
# loaded twice in one process, and the runs would otherwise import it afresh.
import numpy  # noqa: F401
import torch  # noqa: F401

import lstm_conformance.expectations  # noqa: F401
import lstm_conformance.runner  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "adapters.py"


def test_plugin_runs_spec_cases_with_readable_ids(pytester):
    result = pytester.runpytest("--lstm-impl",
                                f"{ROOT / 'examples' / 'vectorised_lstm.py'}:VectorisedLSTM", "-k", "toy", "-v", "-rs")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*toy-memory-tanh?float32?*PASSED*", "*unsupported: *"])


def test_plugin_reports_failures_with_location(pytester):
    result = pytester.runpytest("--lstm-impl",
                                f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh")
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
    result.stderr.fnmatch_lines(["*unknown implementation*"])
