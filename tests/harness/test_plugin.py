"""`pytest --lstm-impl ...` runs the spec cases as tests, in any directory."""
from pathlib import Path

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
    result.stdout.fnmatch_lines(["*fail: textbook-swapped-rows on toy-memory-tanh*", "*y?t=5, b=0, unit=0?*"])


def test_plugin_is_inert_without_the_option(pytester):
    pytester.makepyfile("def test_ok(): pass")
    pytester.runpytest().assert_outcomes(passed=1)


def test_plugin_usage_error_for_unknown_impl(pytester):
    result = pytester.runpytest("--lstm-impl", "nope")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*unknown implementation*"])
