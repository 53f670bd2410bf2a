"""`compare BASELINE CURRENT`: what is a regression, what is only listed, and the exit status."""
import copy
import json

import pytest

from lstm_conformance.cli import main
from lstm_conformance.report.compare import compare, parse_threshold, without_timings
from lstm_conformance.report.results import SCHEMA_VERSION


def rec(case, status, impl="numpy", dtype="float32", check="forward", seconds=0.1):
    return {"case": case, "group": "g", "dtype": dtype, "impl": impl, "check": check, "status": status,
            "message": f"{status} message", "seconds": seconds}


def speed(shape, impl, ratio, median=1e-3):
    return {"shape": shape, "mode": "forward", "impl": impl, "dtype": "float32", "status": "ok", "median": median,
            "iqr": 1e-5, "rounds": 10, "ratio": ratio, "baseline": "torch-lstm" if ratio is not None else None}


def document(records, speeds=(), cpu="cpu A"):
    return {"schema_version": SCHEMA_VERSION, "settings": {}, "environment": {"cpu": cpu, "torch": "2.13.0"},
            "records": list(records), "speed": list(speeds)}


BASE = document([rec("a", "pass"), rec("b", "pass"), rec("c", "fail"), rec("d", "pass"), rec("e", "unsupported"),
                 rec("gone", "pass")],
                [speed("t20b4i32h32", "numpy", 2.0), speed("t20b4i32h32", "torch-lstm", 1.0),
                 speed("t50b8i64h64", "numpy", 2.0)])


def kinds(comparison):
    return {(c.what, c.key[0], c.kind) for c in comparison.changes}


def test_identical_runs_have_no_change():
    result = compare(BASE, copy.deepcopy(BASE))
    assert result.changes == [] and result.exit_status() == 0 and result.summary() == "OK: no change"


def test_pass_to_fail_or_error_and_supported_to_unsupported_are_regressions():
    current = document([rec("a", "fail"), rec("b", "error"), rec("c", "fail"), rec("d", "unsupported"),
                        rec("e", "unsupported"), rec("gone", "pass")], BASE["speed"])
    result = compare(BASE, current)
    assert kinds(result) == {("case", "a", "regression"), ("case", "b", "regression"), ("case", "d", "regression")}
    assert result.exit_status() == 1
    table = result.text()
    assert "REGRESSION" in table and "passed in the baseline, now fail" in table and "now unsupported" in table
    assert result.summary().startswith("FAIL: 3 regressions")


def test_improvements_new_and_skipped_are_listed_but_do_not_fail():
    current = document([rec("a", "pass"), rec("b", "skipped"), rec("c", "pass"), rec("d", "pass"),
                        rec("e", "pass"), rec("new", "fail"), rec("gone", "pass")], BASE["speed"])
    result = compare(BASE, current)
    assert kinds(result) == {("case", "b", "changed"), ("case", "c", "improvement"), ("case", "e", "improvement"),
                             ("case", "new", "new")}
    assert result.exit_status() == 0


def test_a_record_missing_from_the_current_run_is_a_regression_unless_allowed():
    current = document([r for r in BASE["records"] if r["case"] != "gone"], BASE["speed"])
    result = compare(BASE, current)
    assert kinds(result) == {("case", "gone", "regression")} and result.exit_status() == 1
    assert "missing from the current run (--allow-missing to accept)" in result.text()
    allowed = compare(BASE, current, allow_missing=True)
    assert kinds(allowed) == {("case", "gone", "missing")} and allowed.exit_status() == 0
    # a run that selected nothing cannot pass as "no change"
    assert compare(BASE, document([], BASE["speed"])).exit_status() == 1


def test_xfail_of_a_passing_case_is_a_regression():
    current = copy.deepcopy(BASE)
    current["records"][0]["status"] = "xfail"
    assert compare(BASE, current).exit_status() == 1


def with_interval(entry, low, high, **extra):
    return dict(entry, ratio_ci=[low, high], **extra)


def test_a_speed_regression_needs_its_whole_interval_beyond_the_threshold():
    base = document([], [with_interval(speed("s", "numpy", 2.0), 1.96, 2.04)])
    slower = document([], [with_interval(speed("s", "numpy", 2.6), 2.55, 2.65)])  # +30 %, tight intervals
    result = compare(base, slower)
    assert kinds(result) == {("speed", "s", "regression")} and "95% interval" in result.text()
    noisy = document([], [with_interval(speed("s", "numpy", 2.3), 1.8, 2.9)])  # +15 %, but could be -10 %
    result = compare(base, noisy)
    assert kinds(result) == {("speed", "s", "changed")} and result.exit_status() == 0
    assert "within the measurement's noise, not gated" in result.text()


def test_an_unreliable_row_is_shown_never_gated():
    base = document([], [with_interval(speed("s", "numpy", 2.0), 1.96, 2.04)])
    loaded = document([], [with_interval(speed("s", "numpy", 4.0), 3.9, 4.1, reliable=False,
                                         noise={"reasons": ["load average 3.10 above the 2 cores"]})])
    result = compare(base, loaded)
    assert kinds(result) == {("speed", "s", "changed")} and result.exit_status() == 0
    assert "not gated, unreliable (current run: load average 3.10 above the 2 cores)" in result.text()


def test_change_interval_combines_both_runs():
    from lstm_conformance.report.compare import change_interval
    change, low, high = change_interval(1.0, [0.95, 1.05], 1.3, [1.235, 1.365])
    assert change == pytest.approx(0.3) and 0.10 < low < 0.3 < high
    assert change_interval(1.0, None, 1.2, None) == pytest.approx((0.2, 0.2, 0.2))


def test_speed_ratio_growth_past_the_threshold_is_a_regression():
    current = copy.deepcopy(BASE)
    current["speed"][0]["ratio"] = 2.3   # +15 %
    current["speed"][2]["ratio"] = 1.5   # -25 %: an improvement
    result = compare(BASE, current, threshold=0.10)
    assert kinds(result) == {("speed", "t20b4i32h32", "regression"), ("speed", "t50b8i64h64", "improvement")}
    assert result.exit_status() == 1
    assert "+15% (time relative to torch-lstm timed in the same run; threshold 10%)" in result.text()
    assert "the reference" not in result.text()  # the golden reference is not the timing baseline
    assert compare(BASE, current, threshold=0.20).exit_status() == 0


def test_timings_do_not_matter_only_ratios():
    current = copy.deepcopy(BASE)
    for s in current["speed"]:
        s["median"] *= 3  # a slower machine: every time triples, the ratios do not change
    for r in current["records"]:
        r["seconds"] *= 7
    assert compare(BASE, current).changes == []


def test_without_ratios_own_times_are_compared_and_say_so():
    base = document([], [speed("t20b4i32h32", "mine", None, median=0.0183)])
    slower = document([], [speed("t20b4i32h32", "mine", None, median=0.0345)])  # 1.9x slower, no torch-lstm
    result = compare(base, slower)
    assert kinds(result) == {("speed", "t20b4i32h32", "regression")} and result.exit_status() == 1
    assert "18.3 ms" in result.text() and "34.5 ms" in result.text()
    assert "holds only when both ran on the same machine" in result.text()


def test_environment_differences_are_noted():
    current = copy.deepcopy(BASE)
    current["environment"]["cpu"] = "cpu B"
    assert "cpu: 'cpu A' -> 'cpu B'" in compare(BASE, current).text()


def test_without_timings_drops_measured_times_only():
    stripped = without_timings(BASE)
    assert "seconds" not in stripped["records"][0] and stripped["records"][0]["status"] == "pass"
    assert "median" not in stripped["speed"][0] and stripped["speed"][0]["shape"] == "t20b4i32h32"
    assert "seconds" in BASE["records"][0]  # a copy


@pytest.mark.parametrize("text, value", [("10", 0.10), ("10%", 0.10), ("2.5", 0.025)])
def test_threshold_is_a_percentage(text, value):
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["0", "-5", "ten", "inf"])
def test_bad_thresholds_are_rejected(text):
    with pytest.raises(ValueError, match="--speed-threshold"):
        parse_threshold(text)


def write(path, doc):
    path.write_text(json.dumps(doc))
    return str(path)


def test_cli_compare_exit_status_and_markdown(tmp_path, capsys):
    base = write(tmp_path / "base.json", BASE)
    same = write(tmp_path / "same.json", BASE)
    worse_doc = copy.deepcopy(BASE)
    worse_doc["records"][0]["status"] = "fail"
    worse = write(tmp_path / "worse.json", worse_doc)
    assert main(["compare", base, same]) == 0
    assert "OK: no change" in capsys.readouterr().out
    assert main(["compare", base, worse, "--markdown", str(tmp_path / "cmp.md")]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    markdown = (tmp_path / "cmp.md").read_text()
    assert markdown.startswith("# Comparison with the baseline") and "| REGRESSION" in markdown


def test_cli_compare_empty_run_fails_unless_missing_records_are_allowed(tmp_path, capsys):
    base = write(tmp_path / "base.json", BASE)
    empty = write(tmp_path / "empty.json", document([], BASE["speed"]))
    assert main(["compare", base, empty]) == 1
    assert "FAIL: 6 regressions" in capsys.readouterr().out
    assert main(["compare", base, empty, "--allow-missing"]) == 0
    assert "OK: 6 missing" in capsys.readouterr().out


@pytest.mark.parametrize("content, words", [
    (None, "cannot read"),
    ("{not json", "not JSON"),
    ('{"records": []}', "schema_version None"),
    ('{"schema_version": 1, "records": []}', "older lstm-conformance"),  # says what changed and what to do
    ('[1, 2]', "not a results.json file"),
])
def test_cli_compare_bad_inputs_are_one_line_exit_2(tmp_path, capsys, content, words):
    base = write(tmp_path / "base.json", BASE)
    current = tmp_path / "current.json"
    if content is not None:
        current.write_text(content)
    assert main(["compare", base, str(current)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "CURRENT" in err


def test_cli_compare_bad_threshold_exit_2(tmp_path, capsys):
    base = write(tmp_path / "base.json", BASE)
    assert main(["compare", base, base, "--speed-threshold", "abc"]) == 2
    assert "--speed-threshold" in capsys.readouterr().err
